"""Network output -> joints in the camera frame, un-mirroring for the other hand, per-joint confidence.

Mirroring: a model trained on right hands sees a left hand as a right hand when its crop is flipped
horizontally (crop column i -> S-1-i). In normalised crop coordinates that flip is u -> -u (the grid is
symmetric about 0), so the outputs are un-mirrored by negating u and flipping the weight maps' columns; d and v
are unchanged. The crop geometry itself is never mirrored, so joints then map back through app.tracking.crop.

Confidence (per joint, in [0, 1]): the share of the joint's softmax weight map that lies within a disc of radius
rho = CONFIDENCE_RADIUS_FRACTION * T (T = the model's kernel radius, normalised crop units) around the joint's
aggregated (u, v). AWR's estimate is the weighted mean of per-pixel votes; when the weight sits near the
estimate the votes agree on a visible joint (confidence near 1); when it is spread over the hand, or parked on
distant pixels, the joint is occluded or ambiguous (weight of a uniform map over the crop gives about
pi rho^2 / 4, ~0.13 for T = 0.8). Overall confidence: the mean over joints.
Imports numpy and app foundation only.
"""
from __future__ import annotations

import numpy as np

from app.camera import Intrinsics, project_mm_to_px
from app.tracking.crop import crop_uvd_to_xyz_mm
from app.types import CropGeometry

CONFIDENCE_RADIUS_FRACTION = 0.5


def unmirror(joints_uvd: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undo a horizontal flip of the crop: joints (J, 3) u -> -u; weight maps (J, F, F) flipped left-right."""
    joints = np.array(joints_uvd, dtype=np.float64, copy=True)
    joints[..., 0] = -joints[..., 0]
    return joints, np.ascontiguousarray(weights[..., ::-1])


def unmirror_offsets(offsets: np.ndarray) -> np.ndarray:
    """Undo a horizontal flip for per-pixel vote offsets (J, 3, F, F): du negated, columns flipped."""
    out = np.array(offsets[..., ::-1], dtype=np.float32, copy=True)
    out[:, 0] = -out[:, 0]
    return out


def crop_to_camera(joints_uvd: np.ndarray, geom: CropGeometry, intr: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """(J, 3) normalised crop (u, v, d) -> ((J, 3) camera-frame mm, (J, 2) image pixels (u_px, v_px))."""
    xyz_mm = crop_uvd_to_xyz_mm(joints_uvd, geom, intr)
    return xyz_mm, project_mm_to_px(xyz_mm, intr)[:, :2]


def joint_confidence(weights: np.ndarray, joints_uvd: np.ndarray, kernel_radius: float) -> np.ndarray:
    """(J,) weight mass within CONFIDENCE_RADIUS_FRACTION * kernel_radius of each joint's (u, v).

    weights: (J, F, F) softmax maps in the same orientation as joints_uvd (each sums to 1);
    grid pixel i sits at 2 (i + 0.5) / F - 1 (as in the network's feature grid)."""
    j, f, _ = weights.shape
    axis = (np.arange(f, dtype=np.float32) + 0.5) * (2.0 / f) - 1.0
    rho2 = np.float32((CONFIDENCE_RADIUS_FRACTION * kernel_radius) ** 2)
    du2 = (axis[None, :] - joints_uvd[:, 0:1].astype(np.float32)) ** 2          # (J, F) along columns (u)
    dv2 = (axis[None, :] - joints_uvd[:, 1:2].astype(np.float32)) ** 2          # (J, F) along rows (v)
    near = (dv2[:, :, None] + du2[:, None, :]) <= rho2                           # (J, F, F)
    mass = np.sum(np.where(near, weights, np.float32(0.0)), axis=(1, 2), dtype=np.float64)
    total = np.sum(weights, axis=(1, 2), dtype=np.float64)
    return np.clip(mass / np.maximum(total, 1e-12), 0.0, 1.0)


def overall_confidence(confidence: np.ndarray) -> float:
    return float(np.mean(confidence)) if len(confidence) else 0.0
