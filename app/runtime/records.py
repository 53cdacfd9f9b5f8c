"""One tracker result as a JSON-ready dict: the per-frame record of the --output JSONL file, of recordings and
of the --stream outputs (record version 2).

Record fields (units in the names; camera frame x right, y down, z forward):
  frame: the frame's 0-based index in this run; frame_number: the source's own counter; timestamp_ms: device
  clock; timings_ms: per stage; status: TrackingStatus value ('tracking', 'no_hand', 'too_near', 'too_far',
  'at_border', 'low_confidence'), the primary hand's, or why there is none;
  hands: one object per hand found, the primary hand first ([] when none), each with
    id: stable while that hand is tracked (a hand found anew gets a new one); hand: 'right' | 'left';
    status: 'tracking' | 'low_confidence' | 'at_border'; joints_xyz_mm: 21 x [x, y, z] smoothed;
    joints_uv_px: 21 x [u, v] of the smoothed joints in image pixels; confidence: 21 values in [0, 1]
    (weight-map mass near each joint, see app/tracking/postprocess.py); overall_confidence; centre_uvz: hand
    centre (u_px, v_px, z_mm) found by the hand finder; gt_xyz_mm: 21 x 3 ground truth when the source has it
    (key absent otherwise);
  and, exactly as in version 1, the primary hand's fields at the top level: hand (the hand being tracked, on
  every frame), joint_names (the 21 names in order, layout mediapipe21), joints_xyz_mm, joints_xyz_raw_mm
  (before smoothing), joints_uv_px, confidence, overall_confidence, centre_uvz, gt_xyz_mm; joint fields are
  null on frames without a pose (status says why). So a version-1 reader reads version-2 lines unchanged.
Provider and model are in the header record (header_record, with "version"), written once as the first line.
Imports the standard library and app foundation only.
"""
from __future__ import annotations

import json
import math
import sys

import numpy as np

from app.errors import InputError, RecordingError
from app.joints import JOINT_NAMES, LAYOUT_NAME
from app.recording.format import jsonable
from app.types import TrackedHand, TrackerResult

RECORD_VERSION = 2   # 2: frames carry 'hands' (version 1 had the top-level fields only)


def _rounded(a, digits: int):
    if a is None:
        return None
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def result_record(result: TrackerResult) -> dict:
    """The JSONL/recording record of one result (see the module docstring for the fields)."""
    frame, pose = result.frame, result.pose
    posed = pose is not None
    hands = [hand_record(hand) for hand in result.hands]
    if hands and result.hands[0].pose is pose and result.hands[0].location is result.location:
        shared = hands[0]                      # the primary hand's fields, rounded once
    else:
        shared = _pose_fields(pose, result.location)
    record = {
        "frame": int(frame.index),
        "frame_number": int(frame.frame_number),
        "timestamp_ms": round(float(frame.timestamp_ms), 3),
        "status": result.status.value,
        "hand": _plain_str(pose.hand if posed else result.extra.get("hand")),
        "joint_names": list(pose.joint_names) if posed else list(JOINT_NAMES),
        "joints_xyz_mm": shared["joints_xyz_mm"],
        "joints_xyz_raw_mm": _rounded(pose.joints_xyz_raw_mm, 2) if posed else None,
        "joints_uv_px": shared["joints_uv_px"],
        "confidence": shared["confidence"],
        "overall_confidence": round(float(result.extra.get("confidence", math.nan)), 4) if posed else None,
        "centre_uvz": shared["centre_uvz"],
        "timings_ms": result.timings.as_dict(),
    }
    if frame.gt_xyz_mm is not None:
        record["gt_xyz_mm"] = _rounded(frame.gt_xyz_mm, 2)
    record["hands"] = hands
    return record


def hand_record(hand: TrackedHand) -> dict:
    """One entry of a record's 'hands' (see the module docstring)."""
    fields = _pose_fields(hand.pose, hand.location)
    entry = {
        "id": int(hand.hand_id),
        "hand": _plain_str(hand.hand),
        "status": hand.status.value,
        "joints_xyz_mm": fields["joints_xyz_mm"],
        "joints_uv_px": fields["joints_uv_px"],
        "confidence": fields["confidence"],
        "overall_confidence": round(float(hand.confidence), 4) if hand.confidence is not None else None,
        "centre_uvz": fields["centre_uvz"],
    }
    if hand.gt_xyz_mm is not None:
        entry["gt_xyz_mm"] = _rounded(hand.gt_xyz_mm, 2)
    return entry


def _pose_fields(pose, location) -> dict:
    """The rounded joint fields a frame's top level and a hand's entry share (None without a pose)."""
    posed = pose is not None
    return {"joints_xyz_mm": _rounded(pose.joints_xyz_mm, 2) if posed else None,
            "joints_uv_px": _rounded(pose.joints_uv_px, 2) if posed else None,
            "confidence": _rounded(pose.confidence, 4) if posed else None,
            "centre_uvz": _rounded(location.centre_uvz, 2) if location.centre_uvz is not None else None}


def header_record(*, provider: str, model: str, model_info: dict, source: dict, config: dict) -> dict:
    """First line of a JSONL file: what produced the records that follow."""
    return {"header": True, "version": RECORD_VERSION, "joint_layout": LAYOUT_NAME,
            "joint_names": list(JOINT_NAMES), "units": {"xyz": "mm", "uv": "px", "time": "ms"},
            "camera_frame": "x right, y down, z forward (away from the lens)", "provider": provider,
            "model": model, "model_info": model_info, "source": source, "config": config}


def run_header(tracker, source_info) -> dict:
    """The header of a run, from its HandTracker and the source's SourceInfo: what the --output file and the
    --stream servers send first (one function, so the two never differ)."""
    est, info = tracker.estimator, source_info
    return header_record(provider=est.provider, model=est.model_path, model_info=json.loads(est.info.to_json()),
                         source={"kind": str(info.kind), "name": info.name, "live": info.live,
                                 "frame_count": info.frame_count, "fps": info.fps},
                         config=tracker.config.to_dict())


_COMPACT = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_JSON_LEAVES = frozenset({str, int, float, bool, type(None)})


def to_json_line(obj: dict) -> str:
    """One record as compact JSON text without the newline (the JSONL line, the WebSocket message). NaN and
    infinities become null, numpy values and enums their plain value (app.recording.format.jsonable).

    A record made only of plain JSON types (result_record's, every frame) goes straight to the C encoder, about
    4x faster than converting it first; one holding anything else, or a NaN/inf (the encoder refuses those), takes
    the converting path. Both give the same text for the same record (tests/test_streaming.py checks this)."""
    if _plain_json(obj):
        try:
            return _COMPACT.encode(obj)
        except ValueError:
            pass   # NaN or an infinity: null, through jsonable
    return _COMPACT.encode(jsonable(obj))


def _plain_str(value) -> str | None:
    """A str-valued enum (Hand) as its plain str, so the record stays on the encoder's direct path."""
    return None if value is None else str(value)


def _plain_json(obj) -> bool:
    """True when obj is made of dicts with str keys, lists, tuples, str, int, float, bool and None only (exact
    types: subclasses, numpy values and enums are jsonable's to convert)."""
    kind = type(obj)
    if kind is dict:
        if not all(type(key) is str for key in obj):
            return False
        values = obj.values()
    elif kind is list or kind is tuple:
        values = obj
    else:
        return kind in _JSON_LEAVES
    for value in values:
        if type(value) not in _JSON_LEAVES and not _plain_json(value):
            return False
    return True


class JsonlWriter:
    """Pipeline consumer writing the header, then one record per result, one JSON object per line, flushed
    per line (a crash loses at most the line being written). path '-' writes to stdout. (--max-frames is the
    pipeline's: it passes exactly that many results.)"""

    def __init__(self, path: str, header: dict) -> None:
        self.path = path
        self.count = 0
        try:
            self._file = sys.stdout if path == "-" else open(path, "w", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write --output {path}: {exc.strerror or exc}") from None
        self._write(header)

    def __call__(self, result: TrackerResult) -> None:
        self._write(result_record(result))
        self.count += 1

    def _write(self, obj: dict) -> None:
        try:
            # NaN/inf (a damaged model's output) become null: every line stays valid JSON.
            self._file.write(to_json_line(obj) + "\n")
            self._file.flush()
        except OSError as exc:
            raise RecordingError(f"writing {self.path} failed: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self._file is not sys.stdout:
            self._file.close()
