"""The tracker's resolved configuration: frozen dataclasses filled by the command line (app/cli.py), changed
live through HandTracker.update(), and written as a dict into every recording and JSONL header.

The model's own constants (input size, cube, kernel radius, trained hand) are NOT here: they live in the ONNX
metadata (app/model_info.py). cube_mm here only overrides the model's cube when set.
Imports app foundation and the tracking config dataclasses only (numpy-level code, no onnxruntime, no Qt).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from app.errors import InputError
from app.tracking.localise import LocaliserConfig
from app.tracking.smoothing import SmoothingConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_PATH = str(REPO_ROOT / "models" / "awr_lite.onnx")
HANDS = ("right", "left")
PROVIDERS = ("auto", "cuda", "cpu", "tensorrt")

__all__ = ["DEFAULT_MODEL_PATH", "HANDS", "PROVIDERS", "LocaliserConfig", "SmoothingConfig", "TrackerConfig"]


@dataclass(frozen=True)
class TrackerConfig:
    """model_path: .onnx model (default models/awr_lite.onnx in the repository); provider: 'auto' | 'cuda' |
    'cpu' | 'tensorrt'; hand: 'right' | 'left' (the hand being tracked; the crop is mirrored when the model
    was trained on the other hand); localiser: hand finding (depth band, cube for the search window);
    cube_mm: crop cube side in mm, None = the model's own (recommended); smoothing: One Euro parameters;
    recentre: run a second pass on a crop re-centred on the first pass's joints when they sit more than
    recentre_min_mm from the crop centre; min_confidence: below this overall confidence the status is
    LOW_CONFIDENCE (the pose is still reported); intra_op_threads: onnxruntime CPU threads."""

    model_path: str = DEFAULT_MODEL_PATH
    provider: str = "auto"
    hand: str = "right"
    localiser: LocaliserConfig = field(default_factory=LocaliserConfig)
    cube_mm: float | None = None
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    recentre: bool = False
    recentre_min_mm: float = 15.0
    min_confidence: float = 0.3
    intra_op_threads: int = 1

    def __post_init__(self) -> None:
        if self.hand not in HANDS:
            raise InputError(f"--hand must be right or left, got '{self.hand}'")
        if self.provider not in PROVIDERS:
            raise InputError(f"--provider must be one of {', '.join(PROVIDERS)}, got '{self.provider}'")
        if self.cube_mm is not None and not 50.0 <= self.cube_mm <= 600.0:
            raise InputError(f"cube size must be 50..600 mm, got {self.cube_mm}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise InputError(f"min_confidence must be in [0, 1], got {self.min_confidence}")
        if self.intra_op_threads < 1:
            raise InputError(f"intra-op threads must be >= 1, got {self.intra_op_threads}")

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (nested dataclasses become dicts)."""
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "TrackerConfig":
        """Inverse of to_dict; unknown keys are ignored (files written by newer versions still load)."""
        known = {f.name for f in fields(TrackerConfig)}
        kwargs = {k: v for k, v in d.items() if k in known}
        if isinstance(kwargs.get("localiser"), dict):
            kwargs["localiser"] = _sub(LocaliserConfig, kwargs["localiser"])
        if isinstance(kwargs.get("smoothing"), dict):
            kwargs["smoothing"] = _sub(SmoothingConfig, kwargs["smoothing"])
        return TrackerConfig(**kwargs)

    def with_changes(self, **changes) -> "TrackerConfig":
        """A copy with live-changeable settings replaced. Keys: hand, model-independent tracking settings
        (recentre, recentre_min_mm, min_confidence, cube_mm), localiser fields (near_mm, far_mm, ...) and
        smoothing fields (min_cutoff_hz, beta, d_cutoff_hz) plus smoothing_enabled."""
        top = {f.name for f in fields(TrackerConfig)} - {"model_path", "provider", "intra_op_threads",
                                                           "localiser", "smoothing"}
        loc_names = {f.name for f in fields(LocaliserConfig)} - {"cube_mm"}
        smooth_names = {f.name for f in fields(SmoothingConfig)} - {"enabled"}
        own, loc, smooth = {}, {}, {}
        for key, value in changes.items():
            if key in top:
                own[key] = value
            elif key in loc_names:
                loc[key] = value
            elif key in smooth_names:
                smooth[key] = value
            elif key == "smoothing_enabled":
                smooth["enabled"] = bool(value)
            else:
                raise InputError(f"cannot change '{key}' while running (known: "
                                 f"{', '.join(sorted(top | loc_names | smooth_names | {'smoothing_enabled'}))})")
        return replace(self, localiser=replace(self.localiser, **loc), smoothing=replace(self.smoothing, **smooth),
                       **own)


def _sub(cls, d: dict):
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in known})
