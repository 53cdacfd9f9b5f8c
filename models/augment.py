"""AWR training augmentation on normalised crops (torch), moving the labels with the image.

One op per sample, chosen uniformly among {none, translate N(0, sigma_mm) per axis, scale |1 + N(0, 0.1)| of the
cube, in-plane rotation U(-180, 180) deg} (awr.md). Each op is an affine map of normalised crop space:
  labels   u'v' = L uv + t,   d' = a d + c
  image    sampled at L^-1 (p' - t) with nearest neighbour, then d' = a d + c; background stays +1.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(n: int, cube_mm: torch.Tensor, generator: torch.Generator, translate_sigma_mm: float = 10.0,
                  scale_sigma: float = 0.1, rotate_deg: float = 180.0, ops: tuple[str, ...] = (
                      "none", "translate", "scale", "rotate")) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                                        torch.Tensor]:
    """Per-sample (L (n,2,2), t (n,2), a (n,), c (n,)) in normalised crop units."""
    choice = torch.randint(len(ops), (n,), generator=generator)
    L = torch.eye(2).repeat(n, 1, 1)
    t = torch.zeros(n, 2)
    a = torch.ones(n)
    c = torch.zeros(n)
    half = (cube_mm / 2.0).float()
    for k, op in enumerate(ops):
        sel = choice == k
        m = int(sel.sum())
        if m == 0 or op == "none":
            continue
        if op == "translate":
            shift = torch.randn(m, 3, generator=generator) * translate_sigma_mm / half[sel, None]
            t[sel] = shift[:, :2]
            c[sel] = shift[:, 2]
        elif op == "scale":
            s = (1.0 + scale_sigma * torch.randn(m, generator=generator)).abs().clamp(min=0.5)
            L[sel] = torch.eye(2) / s[:, None, None]
            a[sel] = 1.0 / s
        elif op == "rotate":
            th = (torch.rand(m, generator=generator) * 2 - 1) * math.radians(rotate_deg)
            cos, sin = torch.cos(th), torch.sin(th)
            L[sel] = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
        else:
            raise ValueError(f"unknown augmentation op '{op}'")
    return L, t, a, c


def apply_affine(crops: torch.Tensor, joints_uvd: torch.Tensor, L: torch.Tensor, t: torch.Tensor,
                 a: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """crops (n,1,S,S) normalised with background +1; joints_uvd (n,J,3). Returns the transformed pair."""
    inv = torch.linalg.inv(L)
    theta = torch.cat([inv, -(inv @ t[:, :, None])], dim=2)               # (n,2,3): output -> input location
    grid = F.affine_grid(theta.to(crops), list(crops.shape), align_corners=False)
    # Shift so that zero padding outside the crop means background (+1).
    sampled = F.grid_sample(crops - 1.0, grid, mode="nearest", padding_mode="zeros", align_corners=False) + 1.0
    background = sampled >= 0.999
    out = sampled * a.to(crops)[:, None, None, None] + c.to(crops)[:, None, None, None]
    out = torch.where(background | (out > 1.0), torch.ones_like(out), out.clamp(min=-1.0))
    uv = torch.einsum("nij,nkj->nki", L.to(joints_uvd), joints_uvd[..., :2]) + t.to(joints_uvd)[:, None, :]
    d = joints_uvd[..., 2] * a.to(joints_uvd)[:, None] + c.to(joints_uvd)[:, None]
    return out, torch.cat([uv, d[..., None]], dim=-1)
