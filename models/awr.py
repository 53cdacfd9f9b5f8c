"""AWR dense targets and adaptive-weighting aggregation (shared notes awr.md), as differentiable torch code.

Everything here works in normalised crop space: u, v in [-1, 1] across the crop, d = (z - cz) / (cube/2),
background +1. A dense map has 4J channels on an F x F grid: 3J unit offsets, joint-major (channels 3k..3k+2
are joint k's du, dv, dd), then J closeness heatmaps. `aggregate` is written with broadcasting, Softmax, Mul
and ReduceSum only (no Expand of the batch, no data-dependent shapes) so that it exports to ONNX inside the
model graph and runs in onnxruntime unchanged (models/export.py).
"""
from __future__ import annotations

import torch

BACKGROUND_THRESHOLD = 0.99   # a feature pixel is hand (valid) when its depth is below this
SQRT_EPS = 1e-8               # added inside the sqrt of the offset length (authors' value)


def feature_grid(feature_size: int, device: torch.device | None = None,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Pixel-centre coordinates of the F x F grid: a 2 x F x F tensor, [0] = u (varies along columns),
    [1] = v (varies along rows), x_i = 2 (i + 0.5) / F - 1."""
    f = int(feature_size)
    if f < 1:
        raise ValueError(f"feature size must be positive, got {f}")
    axis = (torch.arange(f, device=device, dtype=dtype) + 0.5) * (2.0 / f) - 1.0
    v, u = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack((u, v))


def downsample_depth(depth: torch.Tensor, feature_size: int | None = None) -> torch.Tensor:
    """Nearest-neighbour downsampling N x 1 x S x S -> N x 1 x F x F (F = S/2 by default).

    Feature pixel i takes input pixel floor(i * S / F): for 128 -> 64 this is depth[:, :, ::2, ::2] exactly,
    as in the authors' code (the top-left pixel of each 2 x 2 block, not its centre).
    """
    size = depth.shape[-1]
    f = int(feature_size) if feature_size is not None else size // 2
    if size % f == 0:
        step = size // f
        return depth[:, :, ::step, ::step]
    index = (torch.arange(f, device=depth.device) * size) // f
    return depth.index_select(2, index).index_select(3, index)


def _check_dense(dense: torch.Tensor, depth: torch.Tensor) -> int:
    if dense.dim() != 4 or dense.shape[1] % 4 != 0 or dense.shape[2] != dense.shape[3]:
        raise ValueError(f"dense map must be N x 4J x F x F, got {tuple(dense.shape)}")
    if depth.dim() != 4 or depth.shape[1] != 1 or depth.shape[2] != depth.shape[3]:
        raise ValueError(f"depth must be N x 1 x S x S, got {tuple(depth.shape)}")
    return dense.shape[1] // 4


def dense_targets(depth: torch.Tensor, joints_uvd: torch.Tensor, kernel_radius: float,
                  feature_size: int | None = None) -> torch.Tensor:
    """Training targets N x 4J x F x F for crops `depth` (N x 1 x S x S) and joints (N x J x 3, normalised).

    For joint k and feature pixel p = (u, v, d_p): off = J_k - p, dist = sqrt(|off|^2 + 1e-8), unit offset
    U = off / dist, closeness H = (T - dist) / T. Valid where H >= 0 and d_p < 0.99; targets are U * mask and
    H * mask, zero elsewhere.
    """
    if joints_uvd.dim() != 3 or joints_uvd.shape[-1] != 3 or joints_uvd.shape[0] != depth.shape[0]:
        raise ValueError(f"joints must be N x J x 3 with N = {depth.shape[0]}, got {tuple(joints_uvd.shape)}")
    t = float(kernel_radius)
    d = downsample_depth(depth, feature_size)[:, 0]                    # N x F x F
    n, f, _ = d.shape
    j = joints_uvd.shape[1]
    grid = feature_grid(f, depth.device, depth.dtype)                  # 2 x F x F
    joints = joints_uvd.to(depth.dtype)[:, :, :, None, None]           # N x J x 3 x 1 x 1
    # Per-component N x J x F x F tensors: fewer full-size temporaries than one N x J x 3 x F x F offset
    # (this runs on every training batch).
    du = joints[:, :, 0] - grid[0]
    dv = joints[:, :, 1] - grid[1]
    dd = joints[:, :, 2] - d[:, None]
    dist = torch.sqrt(du * du + dv * dv + dd * dd + SQRT_EPS)
    closeness = (t - dist) / t
    mask = ((closeness >= 0) & (d[:, None] < BACKGROUND_THRESHOLD)).to(depth.dtype)
    scale = mask / dist
    unit = torch.stack((du * scale, dv * scale, dd * scale), dim=2).reshape(n, 3 * j, f, f)
    return torch.cat((unit, closeness * mask), dim=1)


def aggregate(dense: torch.Tensor, depth: torch.Tensor, kernel_radius: float,
              beta: float = 30.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Adaptive weighting: dense map N x 4J x F x F and its input crop N x 1 x S x S -> (joints N x J x 3,
    weights N x J x F x F).

    m = (d_p < 0.99); U = U_pred * m, H = H_pred * m (background keeps logit 0, it is not excluded);
    w = softmax over the F^2 pixels of beta * H; each pixel votes p + U * T (1 - H) (U not re-normalised);
    the joint is the w-weighted sum of the votes. Each weight map sums to 1.
    """
    j = _check_dense(dense, depth)
    f = dense.shape[-1]
    t = float(kernel_radius)
    d = downsample_depth(depth, f)                                     # N x 1 x F x F
    m = (d < BACKGROUND_THRESHOLD).to(dense.dtype)
    # -1 (not N) in the reshapes keeps the exported graph free of shape arithmetic on the batch size.
    unit = dense[:, :3 * j].reshape(-1, j, 3, f, f) * m[:, :, None]    # N x J x 3 x F x F
    heat = dense[:, 3 * j:] * m                                        # N x J x F x F
    weights = torch.softmax(beta * heat.reshape(-1, j, f * f), dim=-1).reshape(-1, j, f, f)
    dist = t * (1.0 - heat)
    grid = feature_grid(f, dense.device, dense.dtype)                  # 2 x F x F
    # Votes split into (u, v) and d so the grid broadcasts instead of being expanded to the batch.
    step = unit * dist[:, :, None]                                     # N x J x 3 x F x F
    w = weights[:, :, None]                                            # N x J x 1 x F x F
    uv = (w * (grid + step[:, :, :2])).sum(dim=(-2, -1))               # N x J x 2
    dd = (w * (d[:, None] + step[:, :, 2:])).sum(dim=(-2, -1))         # N x J x 1
    return torch.cat((uv, dd), dim=-1), weights
