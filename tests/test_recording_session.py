"""Session recording round trip: SessionWriter -> folder -> SessionReader / SessionSource, bit-exact, with
metadata, results, ground truth, intrinsics changes, cut-off files and bad inputs."""
from __future__ import annotations

import json
import time
from dataclasses import replace

import cv2
import numpy as np
import pytest

from app.camera import Intrinsics
from app.errors import InputError, RecordingError
from app.recording.format import FRAMES_JSONL, SESSION_JSON
from app.recording.reader import SessionReader, is_session
from app.recording.writer import SessionWriter
from app.sources.session import SessionSource
from app.types import DepthFrame, HandGroundTruth, TrackingStatus

INTR = Intrinsics(96, 72, 90.5, 91.0, 47.25, 35.5, 0.125)
ZOOMED = Intrinsics(96, 72, 120.0, 120.0, 48.0, 36.0, 0.125)


def _depth(k: int, intr: Intrinsics = INTR) -> np.ndarray:
    rng = np.random.default_rng(k)
    depth = rng.integers(0, 65535, (intr.height, intr.width), dtype=np.uint16)  # the full 16-bit range
    depth[::7, ::5] = 0
    return depth


def _frame(k: int, intr: Intrinsics = INTR, gt: bool = False) -> DepthFrame:
    gt_xyz = np.arange(63, dtype=np.float64).reshape(21, 3) + k if gt else None
    return DepthFrame(index=k, frame_number=900 + 3 * k, timestamp_ms=12.5 + 33.25 * k,
                      arrival_s=time.perf_counter(), depth_raw=_depth(k, intr), intrinsics=intr,
                      gt_xyz_mm=gt_xyz, gt_hand="left" if gt else None)


def _result(k: int) -> dict | None:
    if k % 4 == 3:
        return None
    return {"status": TrackingStatus.TRACKING, "hand": "right", "joint_names": ("wrist", "thumb_cmc"),
            "joints_xyz_mm": np.array([[1.5, -2.25, 400.0 + k], [3.0, 4.0, 410.0]], np.float32),
            "confidence": np.array([0.5, 0.75]), "timings_ms": {"infer": 7.25}, "nan": float("nan")}


META = {"source": {"kind": "rs-file", "name": "take.bag", "fps": 15.0}, "device": {"serial": "42"},
        "model": {"name": "awr-lite", "cube_mm": 250.0}, "tracker": {"near_mm": 150.0}}


@pytest.fixture()
def session(tmp_path):
    path = tmp_path / "s1"
    with SessionWriter(path, META, min_free_mb=0) as writer:
        for k in range(12):
            intr = ZOOMED if k >= 9 else INTR
            assert writer.write(_frame(k, intr, gt=(k == 2)), _result(k))
    assert writer.status().frames == 12
    return path


def test_round_trip_is_bit_exact_with_metadata(session):
    assert is_session(session)
    reader = SessionReader(session)
    assert len(reader) == 12 and reader.skipped == 0
    meta = reader.meta
    assert meta["format"] == "awr-hand-session" and meta["format_version"] == 1
    assert meta["frame_count"] == 12 and meta["closed_utc"] is not None and meta["created_utc"]
    assert meta["intrinsics"] == INTR.as_dict() and meta["depth_unit_mm"] == 0.125
    assert meta["source"] == META["source"] and meta["model"] == META["model"]
    assert meta["tracker"] == META["tracker"] and meta["device"] == META["device"]
    for k in range(12):
        frame = reader.frame(k)
        assert frame.index == k
        assert (frame.frame_number, frame.timestamp_ms) == (900 + 3 * k, 12.5 + 33.25 * k)
        assert frame.depth_raw.dtype == np.uint16 and not frame.depth_raw.flags.writeable
        assert np.array_equal(frame.depth_raw, _depth(k, ZOOMED if k >= 9 else INTR))
        assert frame.intrinsics == (ZOOMED if k >= 9 else INTR)
    assert "intrinsics" not in reader.entry(8) and reader.entry(9)["intrinsics"] == ZOOMED.as_dict()
    # Standard tools open the depth PNGs as 16-bit images with the raw values.
    png = cv2.imread(str(session / reader.entry(4)["depth"]), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint16 and np.array_equal(png, _depth(4))


def test_results_and_ground_truth_are_stored(session):
    reader = SessionReader(session)
    assert reader.result(3) is None
    result = reader.result(5)
    assert result["status"] == "tracking" and result["joint_names"] == ["wrist", "thumb_cmc"]
    assert result["joints_xyz_mm"] == [[1.5, -2.25, 405.0], [3.0, 4.0, 410.0]]
    assert result["confidence"] == [0.5, 0.75] and result["timings_ms"] == {"infer": 7.25}
    assert result["nan"] is None  # JSON has no NaN
    gt = reader.frame(2).gt_xyz_mm
    assert gt.shape == (21, 3) and gt[0, 0] == 2.0 and reader.frame(2).gt_hand == "left"
    assert reader.frame(1).gt_xyz_mm is None
    entry = reader.entry(5)
    assert entry["depth"] == "depth/000005.png" and entry["index"] == 5
    assert entry["arrival_s"] >= 0.0


def test_session_source_replays_and_seeks(session):
    source = SessionSource(session)
    info = source.info
    assert (info.kind, info.frame_count, info.seekable, info.live, info.fps) == ("session", 12, True, False, 15.0)
    with source:
        numbers = []
        while (frame := source.read()) is not None:
            numbers.append(frame.frame_number)
        assert numbers == [900 + 3 * k for k in range(12)]
        source.seek(7)
        frame = source.read()
        assert (frame.index, frame.frame_number) == (7, 921)
        assert np.array_equal(frame.depth_raw, _depth(7))
        with pytest.raises(InputError, match="frame 12 out of range"):
            source.seek(12)
    assert source.read() is None  # closed


def test_cut_off_session_replays_up_to_last_complete_frame(session):
    jsonl = session / FRAMES_JSONL
    lines = jsonl.read_bytes().split(b"\n")
    # A line naming a PNG that never made it, then half a line: what a kill mid-append leaves.
    gone = json.loads(lines[11])
    gone["depth"] = "depth/000099.png"
    (session / "depth" / "000012.png").write_bytes(b"orphan")  # a PNG whose line was never written
    jsonl.write_bytes(b"\n".join(lines[:11]) + b"\n" + json.dumps(gone).encode() + b"\n" + lines[11][:40])
    reader = SessionReader(session)
    assert len(reader) == 11 and reader.skipped == 2
    assert np.array_equal(reader.frame(10).depth_raw, _depth(10, ZOOMED))
    (session / FRAMES_JSONL).write_bytes(b"")
    assert len(SessionReader(session)) == 0
    with pytest.raises(InputError, match="has no recorded frames"):
        SessionSource(session).open()


def test_writer_refuses_a_used_folder_and_stops_accepting_after_close(tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x.txt").write_text("x")
    with pytest.raises(RecordingError, match="exists and is not an empty folder"):
        SessionWriter(tmp_path / "used", {}, min_free_mb=0)
    writer = SessionWriter(tmp_path / "new", {}, min_free_mb=0)
    assert json.loads((tmp_path / "new" / SESSION_JSON).read_text())["intrinsics"] is None
    assert writer.write(_frame(0))
    status = writer.close()
    assert (status.frames, status.recording, status.error, status.queued) == (1, False, None, 0)
    assert status.bytes > 0 and status.path == str(tmp_path / "new")
    assert writer.write(_frame(1)) is False
    assert writer.close().frames == 1  # twice is fine
    bad = DepthFrame(0, 0, 0.0, 0.0, np.zeros((4, 4), np.float32), INTR)
    with SessionWriter(tmp_path / "n2", {}, min_free_mb=0) as w2:
        with pytest.raises(RecordingError, match="expected H x W uint16"):
            w2.write(bad)


def test_reader_rejects_what_is_not_a_session(tmp_path):
    with pytest.raises(InputError, match="session folder not found"):
        SessionReader(tmp_path / "missing")
    with pytest.raises(InputError, match=r"is not a recorded session \(no session.json\)"):
        SessionReader(tmp_path)
    (tmp_path / SESSION_JSON).write_text("{broken")
    with pytest.raises(InputError) as err:
        SessionReader(tmp_path)
    assert "session.json is unreadable" in str(err.value) and "\n" not in str(err.value)
    (tmp_path / SESSION_JSON).write_text(json.dumps({"format": "awr-hand-session", "format_version": 99}))
    with pytest.raises(InputError, match="session format 99"):
        SessionReader(tmp_path)


def test_every_hand_s_ground_truth_is_stored_and_replayed(tmp_path):
    truths = (HandGroundTruth("right", np.arange(63, dtype=np.float64).reshape(21, 3)),
              HandGroundTruth("left", -np.arange(63, dtype=np.float64).reshape(21, 3) - 0.25))
    with SessionWriter(tmp_path / "two", META, min_free_mb=0) as writer:
        assert writer.write(replace(_frame(0), gt_hands=truths), None)
        assert writer.write(_frame(1), None)
    reader = SessionReader(tmp_path / "two")
    got = reader.frame(0).gt_hands
    assert [g.hand for g in got] == ["right", "left"] and reader.frame(0).gt_xyz_mm is None
    for g, truth in zip(got, truths):
        assert np.array_equal(g.joints_xyz_mm, truth.joints_xyz_mm)
    assert reader.frame(1).gt_hands == () and [g.hand for g in reader.frame(0).ground_truths()] == ["right", "left"]
    lines = (tmp_path / "two" / FRAMES_JSONL).read_text().splitlines()
    bad = json.loads(lines[0])
    bad["gt_hands"] = [{"hand": "middle", "xyz_mm": bad["gt_hands"][0]["xyz_mm"]}]
    (tmp_path / "two" / FRAMES_JSONL).write_text(json.dumps(bad) + "\n" + lines[1] + "\n")
    assert len(SessionReader(tmp_path / "two")) == 1          # a malformed line is skipped like any other
