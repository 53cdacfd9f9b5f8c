"""RealSense-D4xx-like depth degradation of a clean rendered depth image (numpy + cv2).

Models (hands.md): z^2-scaled, spatially correlated axial noise sigma = z^2 s / (f B); the stereo-occlusion
shadow on the left of near objects (the left imager is the reference, the right one sits B mm to the right);
foreground fattening, flying pixels and dropped pixels at depth edges; dropout on grazing surfaces; small holes;
a ~0.3 % global scale error; range limits; 1 mm (one depth unit) quantisation. Parameters are drawn per frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.camera import Intrinsics

LABEL_HAND = 1


@dataclass(frozen=True)
class NoiseParams:
    """Per-frame sensor parameters. baseline_mm: stereo baseline; subpixel_px: disparity error on skin (other
    surfaces get other_subpixel_px); correlation_px: size of the noise blotches; scale_error: relative depth
    scale error; hole_fraction: share of pixels lost to holes; edge_*: probabilities per depth-edge pixel;
    grazing_cos: below this cosine between surface normal and view ray pixels start to drop out;
    min_depth_mm/max_depth_mm: valid range."""

    baseline_mm: float = 50.0
    subpixel_px: float = 0.1
    other_subpixel_px: float = 0.1
    correlation_px: float = 8.0
    scale_error: float = 0.0
    hole_fraction: float = 0.005
    edge_fatten: float = 0.5
    edge_flying: float = 0.15
    edge_drop: float = 0.3
    grazing_cos: float = 0.25
    min_depth_mm: float = 150.0
    max_depth_mm: float = 4000.0


def sample_noise_params(rng: np.random.Generator) -> NoiseParams:
    return NoiseParams(
        baseline_mm=float(rng.choice([50.0, 55.0])),
        subpixel_px=float(rng.uniform(0.05, 0.25)),
        other_subpixel_px=float(rng.uniform(0.05, 0.3)),
        correlation_px=float(rng.uniform(4.0, 14.0)),
        scale_error=float(np.clip(rng.normal(0.0, 0.003), -0.008, 0.008)),
        hole_fraction=float(rng.uniform(0.001, 0.02)),
        edge_fatten=float(rng.uniform(0.2, 0.8)),
        edge_flying=float(rng.uniform(0.05, 0.3)),
        edge_drop=float(rng.uniform(0.1, 0.5)),
        grazing_cos=float(rng.uniform(0.12, 0.35)),
        min_depth_mm=float(rng.uniform(110.0, 200.0)),
        max_depth_mm=float(rng.uniform(3000.0, 6000.0)),
    )


def correlated_field(rng: np.random.Generator, shape: tuple[int, int], cell_px: float) -> np.ndarray:
    """Zero-mean, unit-variance float32 noise that varies smoothly over about cell_px pixels."""
    h, w = shape
    small = rng.standard_normal((max(2, int(h / cell_px) + 2), max(2, int(w / cell_px) + 2))).astype(np.float32)
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    std = float(field.std())
    return field / std if std > 0 else field


def stereo_shadow(depth_mm: np.ndarray, fx: float, baseline_mm: float) -> np.ndarray:
    """Pixels the right imager cannot see: a surface point at column u, depth z appears at u - fx B / z there; it
    is hidden when some point to its right lands at or left of it in the right image."""
    w = depth_mm.shape[1]
    cols = np.arange(w, dtype=np.float32)[None, :]
    with np.errstate(divide="ignore"):
        shifted = cols - np.float32(fx * baseline_mm) / np.where(depth_mm > 0, depth_mm, np.inf)
    # Minimum over all columns strictly to the right (running minimum from the right edge).
    right_min = np.minimum.accumulate(shifted[:, ::-1], axis=1)[:, ::-1]
    right_min = np.concatenate([right_min[:, 1:], np.full((depth_mm.shape[0], 1), np.inf, np.float32)], axis=1)
    return (right_min < shifted - 0.5) & (depth_mm > 0)


def apply_sensor_noise(depth_mm: np.ndarray, label: np.ndarray, intr: Intrinsics, rng: np.random.Generator,
                       params: NoiseParams | None = None) -> np.ndarray:
    """Clean depth (float mm, 0 or inf = nothing) -> noisy uint16 raw depth in intr.depth_unit_mm units (0 =
    invalid). label marks the hand (LABEL_HAND) so skin gets its own disparity error."""
    p = params if params is not None else sample_noise_params(rng)
    h, w = depth_mm.shape
    z = np.where(np.isfinite(depth_mm), depth_mm, 0.0).astype(np.float32)
    valid = z > 0
    invalid = stereo_shadow(z, intr.fx, p.baseline_mm)

    # ---- depth edges: fattening (background pixel takes the foreground depth), flying pixels, drops ----
    far = np.where(valid, z, np.float32(1e5))
    near_neigh = cv2.erode(far, np.ones((3, 3), np.uint8))
    far_neigh = cv2.dilate(z, np.ones((3, 3), np.uint8))
    jump = 0.04 * z + 15.0
    behind_edge = valid & (z - near_neigh > jump)        # background next to foreground
    front_edge = valid & (far_neigh - z > jump)          # foreground next to background
    u = rng.random((h, w), dtype=np.float32)
    fatten = behind_edge & (u < p.edge_fatten)
    z = np.where(fatten, near_neigh, z)
    flying = (behind_edge & ~fatten & (u < p.edge_fatten + p.edge_flying)) | (front_edge & (u < p.edge_flying))
    mix = rng.random((h, w), dtype=np.float32)
    z = np.where(flying & behind_edge, near_neigh + mix * (z - near_neigh), z)
    z = np.where(flying & front_edge & ~behind_edge, z + mix * (far_neigh - z), z)
    invalid |= (front_edge | behind_edge) & ~fatten & ~flying & (u > 1.0 - p.edge_drop)
    # Fattened pixels outside the old silhouette (background was empty) come from the foreground too.
    grow = ~valid & (near_neigh < 1e5) & (u < 0.5 * p.edge_fatten)
    z = np.where(grow, near_neigh, z)
    valid = valid | grow

    # ---- grazing-angle dropout: slope of the surface in mm per mm from depth differences ----
    gx = cv2.Sobel(z, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(z, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    with np.errstate(divide="ignore", invalid="ignore"):
        slope2 = (gx * gx + gy * gy) * np.float32(intr.fx * intr.fy) / np.maximum(z * z, 1.0)
    cos_view = 1.0 / np.sqrt(1.0 + slope2)
    drop_prob = np.clip((p.grazing_cos - cos_view) / 0.1, 0.0, 1.0)
    invalid |= valid & ~(front_edge | behind_edge) & (rng.random((h, w), dtype=np.float32) < drop_prob)

    # ---- holes: blobs where a smooth random field is high, plus isolated pixels ----
    blobs = correlated_field(rng, (h, w), rng.uniform(3.0, 10.0))
    threshold = np.float32(np.quantile(blobs[::8, ::8], 1.0 - 0.7 * p.hole_fraction))
    invalid |= blobs > threshold
    invalid |= rng.random((h, w), dtype=np.float32) < 0.3 * p.hole_fraction

    # ---- axial noise: sigma = z^2 s / (f B), spatially correlated plus a little white noise ----
    s = np.where(label == LABEL_HAND, np.float32(p.subpixel_px), np.float32(p.other_subpixel_px))
    sigma = z * z * s / np.float32(intr.fx * p.baseline_mm)
    noise = 0.85 * correlated_field(rng, (h, w), p.correlation_px) + 0.53 * rng.standard_normal(
        (h, w), dtype=np.float32)
    z = (z + sigma * noise) * np.float32(1.0 + p.scale_error)

    invalid |= ~valid | (z < p.min_depth_mm) | (z > p.max_depth_mm)
    raw = np.rint(z / np.float32(intr.depth_unit_mm))
    raw[invalid] = 0
    return np.clip(raw, 0, 65535).astype(np.uint16)
