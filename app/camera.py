"""Pinhole camera geometry: intrinsics, pixels <-> millimetres. Imports numpy only.

Conventions used everywhere in the project:
- camera frame: x right, y down, z forward (away from the lens), millimetres;
- pixel coordinates (u_px, v_px): continuous, the centre of pixel column i is u_px = i;
- projection: u_px = fx * x / z + cx, v_px = fy * y / z + cy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.errors import InputError


# Plausibility bounds of intrinsics read from files (every real depth camera is far inside them).
MAX_IMAGE_PX = 16384
MIN_FOCAL_PX, MAX_FOCAL_PX = 1.0, 1e5
MIN_DEPTH_UNIT_MM, MAX_DEPTH_UNIT_MM = 1e-4, 1e4


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of a depth stream. width/height in px; fx, fy, cx, cy in px; depth_unit_mm = mm per
    raw depth unit (RealSense default 1.0; 0.1 on some D4xx presets)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    depth_unit_mm: float = 1.0

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.fx, self.fy, self.cx, self.cy, self.depth_unit_mm)):
            raise InputError(f"intrinsics: fx, fy, cx, cy and the depth scale must be finite numbers, got "
                             f"{self.fx}, {self.fy}, {self.cx}, {self.cy}, {self.depth_unit_mm}")
        if not (0 < self.width <= MAX_IMAGE_PX and 0 < self.height <= MAX_IMAGE_PX):
            raise InputError(f"intrinsics: image size must be 1..{MAX_IMAGE_PX} px, got {self.width}x{self.height}")
        if not (self.fx > 0 and self.fy > 0):
            raise InputError(f"intrinsics: focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if not self.depth_unit_mm > 0:
            raise InputError(f"intrinsics: depth scale must be positive mm per unit, got {self.depth_unit_mm}")
        # Far beyond any camera, and where float32 geometry would overflow: a damaged file, not a lens.
        if not (MIN_FOCAL_PX <= self.fx <= MAX_FOCAL_PX and MIN_FOCAL_PX <= self.fy <= MAX_FOCAL_PX):
            raise InputError(f"intrinsics: focal lengths must be {MIN_FOCAL_PX:g}..{MAX_FOCAL_PX:g} px, got "
                             f"fx={self.fx}, fy={self.fy}")
        if not (abs(self.cx) <= 10 * self.width and abs(self.cy) <= 10 * self.height):
            raise InputError(f"intrinsics: principal point ({self.cx}, {self.cy}) px is far outside the "
                             f"{self.width}x{self.height} image")
        if not MIN_DEPTH_UNIT_MM <= self.depth_unit_mm <= MAX_DEPTH_UNIT_MM:
            raise InputError(f"intrinsics: depth scale must be {MIN_DEPTH_UNIT_MM:g}..{MAX_DEPTH_UNIT_MM:g} mm per "
                             f"unit, got {self.depth_unit_mm}")

    @staticmethod
    def parse(text: str, width: int, height: int, depth_unit_mm: float = 1.0) -> "Intrinsics":
        """Parse 'fx,fy,cx,cy' (pixels) as given on the command line."""
        parts = text.replace(" ", "").split(",")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 4:
            raise InputError(f"--intrinsics expects four numbers fx,fy,cx,cy in pixels, got '{text}'")
        return Intrinsics(width, height, values[0], values[1], values[2], values[3], depth_unit_mm)

    def mirrored(self) -> "Intrinsics":
        """Intrinsics of the horizontally flipped image (column i -> width - 1 - i)."""
        return Intrinsics(self.width, self.height, self.fx, self.fy, self.width - 1 - self.cx, self.cy,
                          self.depth_unit_mm)

    def as_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "fx": self.fx, "fy": self.fy, "cx": self.cx,
                "cy": self.cy, "depth_unit_mm": self.depth_unit_mm}

    @staticmethod
    def from_dict(d: dict) -> "Intrinsics":
        return Intrinsics(int(d["width"]), int(d["height"]), float(d["fx"]), float(d["fy"]), float(d["cx"]),
                          float(d["cy"]), float(d.get("depth_unit_mm", 1.0)))


def project_mm_to_px(xyz_mm: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """(..., 3) camera-frame mm -> (..., 3) as (u_px, v_px, z_mm)."""
    xyz = np.asarray(xyz_mm, dtype=np.float64)
    z = xyz[..., 2]
    u = intr.fx * xyz[..., 0] / z + intr.cx
    v = intr.fy * xyz[..., 1] / z + intr.cy
    return np.stack([u, v, z], axis=-1)


def unproject_px_to_mm(uvz: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """(..., 3) (u_px, v_px, z_mm) -> (..., 3) camera-frame mm."""
    uvz = np.asarray(uvz, dtype=np.float64)
    z = uvz[..., 2]
    x = (uvz[..., 0] - intr.cx) * z / intr.fx
    y = (uvz[..., 1] - intr.cy) * z / intr.fy
    return np.stack([x, y, z], axis=-1)


def project_point(x_mm: float, y_mm: float, z_mm: float, intr: Intrinsics) -> tuple[float, float]:
    """One camera-frame point (mm) -> its (u_px, v_px): project_mm_to_px for a single point, on scalars (no
    array overhead: the localiser calls it per candidate)."""
    return intr.fx * x_mm / z_mm + intr.cx, intr.fy * y_mm / z_mm + intr.cy


def unproject_point(u_px: float, v_px: float, z_mm: float, intr: Intrinsics) -> tuple[float, float]:
    """One pixel (u_px, v_px) at depth z_mm -> its camera-frame (x_mm, y_mm): unproject_px_to_mm for a
    single point, on scalars."""
    return (u_px - intr.cx) * z_mm / intr.fx, (v_px - intr.cy) * z_mm / intr.fy


def ray_slopes(u_px, v_px, intr: Intrinsics, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates -> the slopes of their viewing rays, x/z = (u_px - cx) / fx and y/z = (v_px - cy) / fy
    (no unit), computed in dtype: the point at depth z_mm on the ray of (u_px, v_px) is (x/z * z, y/z * z, z) mm.
    u_px and v_px are independent (a row of columns and a column of rows give the rays of a whole grid)."""
    u = np.asarray(u_px, dtype=dtype)
    v = np.asarray(v_px, dtype=dtype)
    return (u - dtype(intr.cx)) / dtype(intr.fx), (v - dtype(intr.cy)) / dtype(intr.fy)


def slopes_to_px(x_per_z, y_per_z, intr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Ray slopes x/z, y/z (no unit) -> pixel coordinates (u_px, v_px) = (fx * x/z + cx, fy * y/z + cy)."""
    return intr.fx * x_per_z + intr.cx, intr.fy * y_per_z + intr.cy


def extent_px(length_mm, z_mm, intr: Intrinsics) -> tuple[float, float]:
    """Image size (px along u, px along v) of a length_mm segment facing the camera at depth z_mm."""
    return length_mm / z_mm * intr.fx, length_mm / z_mm * intr.fy


def depth_to_mm(depth_raw: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Raw depth units (uint16, 0 = invalid) -> float32 millimetres (0 = invalid), by the intrinsics' scale."""
    return raw_units_to_mm(depth_raw, intr.depth_unit_mm)


def raw_units_to_mm(depth_raw: np.ndarray, depth_unit_mm: float) -> np.ndarray:
    """Raw depth units -> float32 millimetres at depth_unit_mm mm per unit. The one place raw depth becomes
    millimetres."""
    return np.asarray(depth_raw).astype(np.float32) * np.float32(depth_unit_mm)


def mm_to_depth_raw(depth_mm: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Float millimetres (0 = invalid) -> uint16 raw depth units, rounded to the nearest unit and clipped to
    0..65535: what a camera with this depth scale would deliver."""
    return np.clip(np.rint(depth_mm / np.float32(intr.depth_unit_mm)), 0, 65535).astype(np.uint16)


def point_cloud_mm(depth_mm: np.ndarray, intr: Intrinsics, mask: np.ndarray | None = None,
                   step: int = 1) -> np.ndarray:
    """Back-project valid depth pixels (optionally inside mask, every step-th pixel) to an (N, 3) mm cloud."""
    d = depth_mm[::step, ::step]
    vs, us = np.nonzero((d > 0) if mask is None else ((d > 0) & mask[::step, ::step]))
    z = d[vs, us].astype(np.float64)
    uvz = np.stack([us * step, vs * step, z], axis=-1).astype(np.float64)
    return unproject_px_to_mm(uvz, intr)
