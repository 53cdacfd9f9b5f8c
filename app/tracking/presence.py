"""Is there a hand at this place? A small learned check of a found location (issue #14: the second hand).

The hand finder (app.tracking.localise) takes the free ends of objects for hands. Looking for a second hand,
it often finds a piece of the first hand's own arm (a forearm, an elbow, an upper arm's end), and the AWR network,
trained on hands only, draws a confident hand there. The presence model (models/train_presence.py, shipped as
models/hand_presence.onnx) scores a small depth crop at the location: the probability that a hand is centred
there. The tracker runs it, batched, on every location found when tracking several hands.

The crop (presence_crop; training uses the same function): the AWR crop (app.tracking.crop) of a cube_mm cube at
crop_px pixels, area-averaged to input_size x input_size, normalised depth in [-1, 1] (background +1). The
model file carries these constants (PresenceInfo as JSON in its metadata under PRESENCE_METADATA_KEY).

Imports numpy, cv2 and app code only (onnxruntime stays inside estimator.py: open_session).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from app.camera import Intrinsics
from app.errors import InputError, TrackerError
from app.tracking.crop import crop_depth, crop_geometry
from app.tracking.estimator import open_session, session_metadata

PRESENCE_METADATA_KEY = "hand_presence"
PRESENCE_INPUT = "depth"        # float32 N x 1 x s x s
PRESENCE_OUTPUT = "presence"    # float32 N, probability of a hand


@dataclass(frozen=True)
class PresenceInfo:
    """input_size: s (px) of the model's input; crop_px: the crop is cut at this size, then area-averaged to s;
    cube_mm: the crop's cube; threshold: the probability the model was tuned to separate at (a suggestion:
    TrackerConfig.min_presence is the setting); trained_on / version: provenance."""

    input_size: int = 32
    crop_px: int = 64
    cube_mm: float = 300.0
    threshold: float = 0.5
    trained_on: str = ""
    version: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_json(text: str) -> "PresenceInfo":
        try:
            d = json.loads(text)
            if not isinstance(d, dict):
                raise TypeError("expected a JSON object")
            info = PresenceInfo(**d)
        except (ValueError, TypeError) as exc:
            raise InputError(f"presence model metadata is malformed: {str(exc)[:200]}") from None
        ok = (isinstance(info.input_size, int) and isinstance(info.crop_px, int) and 4 <= info.input_size
              <= info.crop_px <= 1024 and isinstance(info.cube_mm, (int, float)) and math.isfinite(info.cube_mm)
              and 0 < info.cube_mm <= 2000 and isinstance(info.threshold, (int, float)) and 0 < info.threshold < 1)
        if not ok:
            raise InputError(f"presence model metadata is implausible: {text[:200]}")
        return info


def presence_crop(depth_mm: np.ndarray, intr: Intrinsics, centre_uvz, info: PresenceInfo) -> np.ndarray:
    """The model's input for a location (u_px, v_px, z_mm): float32 s x s normalised depth."""
    crop = crop_depth(depth_mm, crop_geometry(centre_uvz, info.cube_mm, info.crop_px, intr))
    if info.crop_px == info.input_size:
        return crop
    return cv2.resize(crop, (info.input_size, info.input_size), interpolation=cv2.INTER_AREA)


class HandPresence:
    """One onnxruntime CPU session of a presence model (tiny: a fraction of a millisecond per batch). Not
    thread-safe: owned by the tracker thread."""

    def __init__(self, model_path: str | Path) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise InputError(f"presence model not found: {path}")
        self.session = open_session(path, ["CPUExecutionProvider"], 1, what="presence model")
        self.info = PresenceInfo.from_json(session_metadata(self.session, path, PRESENCE_METADATA_KEY,
                                                            "presence model", "python -m models.train_presence"))
        names = ([i.name for i in self.session.get_inputs()], [o.name for o in self.session.get_outputs()])
        if names != ([PRESENCE_INPUT], [PRESENCE_OUTPUT]):
            raise InputError(f"not a presence model: {path}: expected '{PRESENCE_INPUT}' -> "
                             f"'{PRESENCE_OUTPUT}', got {names[0]} -> {names[1]}")
        self.model_path = str(path)

    def crops(self, depth_mm: np.ndarray, intr: Intrinsics, centres_uvz) -> np.ndarray:
        """N x s x s model inputs for the given locations."""
        s = self.info.input_size
        if not len(centres_uvz):
            return np.zeros((0, s, s), np.float32)
        return np.stack([presence_crop(depth_mm, intr, c, self.info) for c in centres_uvz])

    def score_crops(self, crops: np.ndarray) -> np.ndarray:
        """N probabilities (float64) that each crop is centred on a hand."""
        crops = np.asarray(crops, np.float32)
        s = self.info.input_size
        if crops.ndim != 3 or crops.shape[1:] != (s, s):
            raise InputError(f"presence: expected N x {s} x {s} crops, got {crops.shape}")
        if not len(crops):
            return np.zeros(0)
        try:
            out = self.session.run([PRESENCE_OUTPUT], {PRESENCE_INPUT: np.ascontiguousarray(crops[:, None])})[0]
        except Exception as exc:
            raise TrackerError(f"presence model failed: {str(exc).strip().splitlines()[0][:200]}") from None
        return np.asarray(out, np.float64).reshape(len(crops))

    def scores(self, depth_mm: np.ndarray, intr: Intrinsics, centres_uvz) -> np.ndarray:
        """N probabilities that a hand is centred at each location (u_px, v_px, z_mm)."""
        return self.score_crops(self.crops(depth_mm, intr, centres_uvz))
