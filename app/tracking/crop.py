"""The one hand crop used by training and runtime alike (AWR crop, see shared notes awr.md).

A metric cube of side cube_mm centred on the hand centre (u_px, v_px, z_mm) becomes an S x S image of
normalised depth: u, v in [-1, 1] across the crop, d = (z - cz) / (cube/2), background and missing depth +1.
The 3x3 matrix image_to_crop maps original pixel coordinates to crop pixel coordinates (OpenCV convention:
integer = pixel centre). Imports numpy and cv2 only.
"""
from __future__ import annotations

import cv2
import numpy as np

from app.camera import Intrinsics, extent_px, project_mm_to_px, unproject_px_to_mm
from app.types import CropGeometry


def crop_geometry(centre_uvz: tuple[float, float, float], cube_mm: float, size_px: int,
                  intr: Intrinsics) -> CropGeometry:
    """Crop box centred on the hand: half-size (cube/2)/z * f px per axis; the longer side is scaled to S
    (aspect ratio kept) and the box is pasted centred into the S x S crop."""
    cu, cv_, cz = (float(c) for c in centre_uvz)
    half_w, half_h = extent_px(0.5 * cube_mm, cz, intr)
    scale = size_px / (2.0 * max(half_w, half_h))
    centre_crop = (size_px - 1) / 2.0
    m = np.array([[scale, 0.0, centre_crop - scale * cu],
                  [0.0, scale, centre_crop - scale * cv_],
                  [0.0, 0.0, 1.0]])
    return CropGeometry((cu, cv_, cz), float(cube_mm), int(size_px), m)


def crop_depth(depth_mm: np.ndarray, geom: CropGeometry) -> np.ndarray:
    """Cut and normalise the crop: float32 S x S in [-1, 1], background and missing depth = +1.

    Pixels nearer than the cube's front face are clamped to -1; pixels behind its back face, invalid pixels
    (0) and pixels outside the image are background (+1).
    """
    s = geom.size_px
    patch = cv2.warpAffine(depth_mm.astype(np.float32, copy=False), geom.image_to_crop[:2].astype(np.float64),
                           (s, s), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    cz = geom.centre_uvz[2]
    half = geom.cube_mm / 2.0
    d = (patch - np.float32(cz)) / np.float32(half)
    background = (patch <= 0) | (d > 1.0)
    d = np.maximum(d, -1.0)
    d[background] = 1.0
    return d.astype(np.float32, copy=False)


def crop_px_to_norm(uv_crop_px: np.ndarray, size_px: int) -> np.ndarray:
    """Crop pixel coordinates -> normalised [-1, 1] (pixel i's centre -> 2 (i + 0.5) / S - 1)."""
    return (np.asarray(uv_crop_px, dtype=np.float64) + 0.5) * (2.0 / size_px) - 1.0


def norm_to_crop_px(uv_norm: np.ndarray, size_px: int) -> np.ndarray:
    return (np.asarray(uv_norm, dtype=np.float64) + 1.0) * (size_px / 2.0) - 0.5


def xyz_mm_to_crop_uvd(xyz_mm: np.ndarray, geom: CropGeometry, intr: Intrinsics) -> np.ndarray:
    """(..., 3) camera-frame mm -> (..., 3) normalised crop (u, v, d)."""
    uvz = project_mm_to_px(xyz_mm, intr)
    uv_h = np.concatenate([uvz[..., :2], np.ones_like(uvz[..., :1])], axis=-1)
    uv_crop = (uv_h @ geom.image_to_crop.T)[..., :2]
    uv_norm = crop_px_to_norm(uv_crop, geom.size_px)
    d = (uvz[..., 2:] - geom.centre_uvz[2]) / (geom.cube_mm / 2.0)
    return np.concatenate([uv_norm, d], axis=-1)


def crop_uvd_to_image_uvz(uvd: np.ndarray, geom: CropGeometry) -> np.ndarray:
    """(..., 3) normalised crop (u, v, d) -> (..., 3) original (u_px, v_px, z_mm)."""
    uvd = np.asarray(uvd, dtype=np.float64)
    uv_crop = norm_to_crop_px(uvd[..., :2], geom.size_px)
    uv_h = np.concatenate([uv_crop, np.ones_like(uv_crop[..., :1])], axis=-1)
    uv_img = (uv_h @ geom.crop_to_image.T)[..., :2]
    z = uvd[..., 2:] * (geom.cube_mm / 2.0) + geom.centre_uvz[2]
    return np.concatenate([uv_img, z], axis=-1)


def crop_uvd_to_xyz_mm(uvd: np.ndarray, geom: CropGeometry, intr: Intrinsics) -> np.ndarray:
    """(..., 3) normalised crop (u, v, d) -> (..., 3) camera-frame mm."""
    return unproject_px_to_mm(crop_uvd_to_image_uvz(uvd, geom), intr)
