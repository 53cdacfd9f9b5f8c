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
        other_subpixel_px=float(rng.uniform(0.05, 0.2)),
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


_WHITE_TABLES: dict[tuple[int, int], np.ndarray] = {}


def white_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Unit Gaussian white noise: a random window of a fixed table twice the image size (drawing a fresh
    full-frame Gaussian costs more than all the rest of the noise model; the window offset comes from rng, so
    frames stay deterministic per seed)."""
    h, w = shape
    table = _WHITE_TABLES.get(shape)
    if table is None:
        table = np.random.default_rng(0x5EED).standard_normal((2 * h, 2 * w), dtype=np.float32)
        table.setflags(write=False)
        _WHITE_TABLES[shape] = table
    y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
    window = table[y0:y0 + h, x0:x0 + w]
    return window[::-1] if rng.uniform() < 0.5 else window


def correlated_field(rng: np.random.Generator, shape: tuple[int, int], cell_px: float,
                     std: float = 1.0) -> np.ndarray:
    """Zero-mean float32 noise with about the given standard deviation that varies smoothly over about cell_px
    pixels (a coarse Gaussian grid, bicubically enlarged; the variance the enlargement loses is measured on a
    subsample and restored)."""
    h, w = shape
    small = rng.standard_normal((max(2, int(h / cell_px) + 2), max(2, int(w / cell_px) + 2))).astype(np.float32)
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    measured = float(field[::7, ::7].std())
    if measured > 0:
        field *= np.float32(std / measured)
    return field


def stereo_shadow(depth_mm: np.ndarray, fx: float, baseline_mm: float) -> np.ndarray:
    """Pixels the right imager cannot see: a surface point at column u, depth z appears at u - fx B / z there; it
    is hidden when some point to its right lands at or left of it in the right image. depth_mm: 0 = nothing."""
    h, w = depth_mm.shape
    cols = np.arange(w, dtype=np.float32)[None, :]
    with np.errstate(divide="ignore"):
        shifted = cols - np.float32(fx * baseline_mm) / depth_mm   # nothing (z = 0) -> -inf, fixed below
    np.copyto(shifted, np.float32(np.inf), where=depth_mm <= 0)
    right_min = np.empty_like(shifted)
    right_min[:, -1] = np.inf
    # Minimum over all columns strictly to the right (running minimum from the right edge).
    np.minimum.accumulate(shifted[:, :0:-1], axis=1, out=right_min[:, -2::-1])
    return right_min < shifted - 0.5


def _edge_effects(rng: np.random.Generator, z: np.ndarray, p: NoiseParams) -> tuple[np.ndarray, np.ndarray]:
    """Foreground fattening, flying pixels and dropped pixels at depth discontinuities. Works on the (few)
    edge pixels only. Returns the new depth and the flat indices of dropped pixels."""
    kernel = np.ones((3, 3), np.uint8)
    far = z + (z <= 0) * np.float32(1e5)      # nothing = very far
    near_neigh = cv2.erode(far, kernel)
    far_neigh = cv2.dilate(z, kernel)
    jump = 0.04 * z + 15.0
    behind = np.flatnonzero((far - near_neigh) > jump)      # pixel next to a nearer one (or empty next to a surface)
    front = np.flatnonzero((far_neigh - z) > jump)          # surface pixel next to a farther one
    front = front[z.ravel()[front] > 0]
    out = z.ravel().copy()
    nn, fn = near_neigh.ravel(), far_neigh.ravel()
    u = rng.random(behind.size)
    mix = rng.random(behind.size).astype(np.float32)
    fatten = u < p.edge_fatten
    flying = ~fatten & (u < p.edge_fatten + p.edge_flying) & (out[behind] > 0)
    out[behind[fatten]] = nn[behind[fatten]]
    fly = behind[flying]
    out[fly] = nn[fly] + mix[flying] * (out[fly] - nn[fly])
    uf = rng.random(front.size)
    fly = front[uf < p.edge_flying]
    out[fly] += rng.random(fly.size).astype(np.float32) * (fn[fly] - out[fly])
    drop = np.concatenate([behind[~fatten & ~flying & (u > 1.0 - p.edge_drop)],
                           front[(uf >= p.edge_flying) & (uf > 1.0 - p.edge_drop)]])
    return out.reshape(z.shape), drop


def apply_sensor_noise(depth_mm: np.ndarray, label: np.ndarray, intr: Intrinsics, rng: np.random.Generator,
                       params: NoiseParams | None = None) -> np.ndarray:
    """Clean depth (float mm, 0 = nothing) -> noisy uint16 raw depth in intr.depth_unit_mm units (0 = invalid).
    label marks the hand (LABEL_HAND) so skin gets its own disparity error."""
    p = params if params is not None else sample_noise_params(rng)
    h, w = depth_mm.shape
    z = np.asarray(depth_mm, dtype=np.float32)
    invalid = stereo_shadow(z, intr.fx, p.baseline_mm)
    z, dropped = _edge_effects(rng, z, p)
    invalid.ravel()[dropped] = True

    # ---- grazing-angle dropout: slopes from a half-resolution image (4x cheaper) ----
    half = z[::2, ::2]
    gx = cv2.Sobel(half, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(half, cv2.CV_32F, 0, 1, ksize=3)
    # cos(view angle)^2 = 1 / (1 + slope^2), slope^2 = |grad z|^2 f^2 / z^2 (Sobel = 8 x the difference, on
    # pixels twice as wide).
    slope2 = (gx * gx + gy * gy) * np.float32(intr.fx * intr.fy / 256.0) / (half * half + 1.0)
    cos2_limit = (p.grazing_cos + 0.05 * white_noise(rng, half.shape)) ** 2
    # Slopes beyond ~85 degrees are depth discontinuities (or the edge of nothing), left to the edge model.
    # The margin is enlarged smoothly and thresholded at full resolution, so dropout regions have no blocks.
    margin = np.where(slope2 < 150.0, (1.0 + slope2) * cos2_limit - 1.0, np.float32(-1.0))
    invalid |= cv2.resize(margin, (w, h), interpolation=cv2.INTER_LINEAR) > 0

    # ---- holes: blobs where a smooth random field is high, plus isolated pixels ----
    blobs = correlated_field(rng, (h, w), rng.uniform(3.0, 10.0))
    threshold = np.float32(np.quantile(blobs[::8, ::8], 1.0 - 0.7 * p.hole_fraction))
    invalid |= blobs > threshold
    invalid.ravel()[rng.integers(0, h * w, size=int(0.3 * p.hole_fraction * h * w))] = True

    # ---- axial noise: sigma = z^2 s / (f B), spatially correlated plus a little white noise ----
    k = 1.0 / (intr.fx * p.baseline_mm)
    s_hand, s_other = np.float32(p.subpixel_px * k), np.float32(p.other_subpixel_px * k)
    s = s_other + (label == LABEL_HAND) * (s_hand - s_other)
    noise = correlated_field(rng, (h, w), p.correlation_px, 0.85) + 0.53 * white_noise(rng, (h, w))
    z = (z + (z * z) * s * noise) * np.float32((1.0 + p.scale_error) / intr.depth_unit_mm)

    lo, hi = p.min_depth_mm / intr.depth_unit_mm, min(p.max_depth_mm / intr.depth_unit_mm, 65535.0)
    keep = (z >= lo) & (z <= hi) & ~invalid
    # +0.5 then truncation = rounding for the positive values kept.
    return ((z + np.float32(0.5)) * keep).astype(np.uint16)
