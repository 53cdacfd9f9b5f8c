"""What a model file says about itself: the preprocessing constants stored in the ONNX metadata.

The exporter (models/export.py) writes ModelInfo.to_json() under the metadata key METADATA_KEY; the runtime
reads it back from the onnxruntime session and needs nothing else. Imports the standard library only.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from app.errors import InputError

METADATA_KEY = "awr"
INPUT_NAME = "depth"            # float32 N x 1 x S x S normalised crop
OUTPUT_JOINTS = "joints_uvd"    # float32 N x J x 3, normalised crop coordinates
OUTPUT_WEIGHTS = "weights"      # float32 N x J x F x F, softmax weight maps (each sums to 1)
# Optional: float32 N x J x 3 x F x F, each feature pixel's vote as an offset (du, dv, dd) from the pixel
# (u, v, its depth d) in normalised crop units: the pixel votes for pixel + offset, and joints_uvd is the
# weights-weighted mean of the votes. Models exported before this output existed lack it.
OUTPUT_OFFSETS = "offsets"


@dataclass(frozen=True)
class ModelInfo:
    """Preprocessing constants that travel with the weights.

    input_size: S (px); feature_size: F (px); cube_mm: side of the crop cube; kernel_radius: T in normalised
    units; beta: softmax sharpness; hand: the hand the network was trained for ('right' or 'left'; the other is
    mirrored); joint_layout / joint_names: output order; depth_range_mm: hand distances seen in training.
    """

    config_name: str
    input_size: int
    feature_size: int
    cube_mm: float
    kernel_radius: float
    beta: float
    joint_layout: str
    joint_names: tuple[str, ...]
    hand: str = "right"
    depth_range_mm: tuple[float, float] = (250.0, 800.0)
    background_value: float = 1.0
    trained_on: str = ""
    version: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        d = asdict(self)
        d["joint_names"] = list(self.joint_names)
        d["depth_range_mm"] = list(self.depth_range_mm)
        return json.dumps(d, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> "ModelInfo":
        try:
            d = json.loads(text)
            d["joint_names"] = tuple(d["joint_names"])
            d["depth_range_mm"] = tuple(float(x) for x in d.get("depth_range_mm", (250.0, 800.0)))
            return ModelInfo(**d)
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"model metadata '{METADATA_KEY}' is malformed: {exc}") from None

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)
