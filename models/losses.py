"""AWR training losses: smooth-L1 (Huber) with delta 0.01, mean-reduced, on dense maps and on joints.

torch's smooth_l1_loss with beta = delta equals the Huber loss divided by delta: the same minimiser and the same
relative weighting, with unit gradient for large errors (which suits Adam better than gradients of size delta).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

HUBER_DELTA = 0.01   # normalised crop units (1.25 mm for a 250 mm cube)


def _check_same_shape(pred: torch.Tensor, target: torch.Tensor, what: str) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"{what}: prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ")


def dense_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Loss over the whole N x 4J x F x F dense map (offsets and heatmaps, masked pixels included)."""
    _check_same_shape(pred, target, "dense loss")
    return F.smooth_l1_loss(pred, target, beta=HUBER_DELTA, reduction="mean")


def joint_loss(pred_uvd: torch.Tensor, gt_uvd: torch.Tensor) -> torch.Tensor:
    """Loss on aggregated joints, N x J x 3 in normalised crop units."""
    _check_same_shape(pred_uvd, gt_uvd, "joint loss")
    return F.smooth_l1_loss(pred_uvd, gt_uvd, beta=HUBER_DELTA, reduction="mean")
