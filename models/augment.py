"""AWR training augmentation on normalised crops (torch), moving the labels with the image.

One op per sample, chosen uniformly among {none, translate N(0, sigma_mm) per axis, scale |1 + N(0, 0.1)| of the
cube, in-plane rotation U(-180, 180) deg} (awr.md). Each op is an affine map of normalised crop space:
  labels   u'v' = L uv + t,   d' = a d + c
  image    sampled at L^-1 (p' - t) with nearest neighbour, then d' = a d + c; background stays +1.

Everything runs on the device of the generator it is given (the training device), with no host synchronisation:
the random draws are made for every sample and the chosen op is selected with torch.where, so a batch costs the
same few kernels whatever ops it draws.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

OPS = ("none", "translate", "scale", "rotate")


def random_affine(n: int, cube_mm: torch.Tensor, generator: torch.Generator, translate_sigma_mm: float = 10.0,
                  scale_sigma: float = 0.1, rotate_deg: float = 180.0, ops: tuple[str, ...] = OPS
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sample (L (n,2,2), t (n,2), a (n,), c (n,)) in normalised crop units, on the generator's device."""
    unknown = [op for op in ops if op not in OPS]
    if unknown:
        raise ValueError(f"unknown augmentation op '{unknown[0]}' (known: {', '.join(OPS)})")
    dev = generator.device
    kw = {"generator": generator, "device": dev}
    half = cube_mm.to(dev, torch.float32) / 2.0
    choice = torch.randint(len(ops), (n,), **kw)
    shift = torch.randn(n, 3, **kw) * translate_sigma_mm / half[:, None]
    s = (1.0 + scale_sigma * torch.randn(n, **kw)).abs().clamp(min=0.5)
    th = (torch.rand(n, **kw) * 2 - 1) * math.radians(rotate_deg)
    eye = torch.eye(2, device=dev).expand(n, 2, 2)
    L, t = eye.clone(), torch.zeros(n, 2, device=dev)
    a, c = torch.ones(n, device=dev), torch.zeros(n, device=dev)
    for k, op in enumerate(ops):
        sel = choice == k
        if op == "translate":
            t = torch.where(sel[:, None], shift[:, :2], t)
            c = torch.where(sel, shift[:, 2], c)
        elif op == "scale":
            L = torch.where(sel[:, None, None], eye / s[:, None, None], L)
            a = torch.where(sel, 1.0 / s, a)
        elif op == "rotate":
            cos, sin = torch.cos(th), torch.sin(th)
            rot = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
            L = torch.where(sel[:, None, None], rot, L)
    return L, t, a, c


def apply_affine(crops: torch.Tensor, joints_uvd: torch.Tensor, L: torch.Tensor, t: torch.Tensor,
                 a: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """crops (n,1,S,S) normalised with background +1; joints_uvd (n,J,3). Returns the transformed pair."""
    L, t, a, c = (x.to(crops) for x in (L, t, a, c))
    det = L[:, 0, 0] * L[:, 1, 1] - L[:, 0, 1] * L[:, 1, 0]
    inv = torch.stack([torch.stack([L[:, 1, 1], -L[:, 0, 1]], -1),
                       torch.stack([-L[:, 1, 0], L[:, 0, 0]], -1)], -2) / det[:, None, None]
    theta = torch.cat([inv, -(inv @ t[:, :, None])], dim=2)               # (n,2,3): output -> input location
    grid = F.affine_grid(theta, list(crops.shape), align_corners=False)
    # Shift so that zero padding outside the crop means background (+1).
    sampled = F.grid_sample(crops - 1.0, grid, mode="nearest", padding_mode="zeros", align_corners=False) + 1.0
    background = sampled >= 0.999
    out = sampled * a[:, None, None, None] + c[:, None, None, None]
    out = torch.where(background | (out > 1.0), torch.ones_like(out), out.clamp(min=-1.0))
    Lj, tj, aj, cj = (x.to(joints_uvd) for x in (L, t, a, c))
    uv = torch.einsum("nij,nkj->nki", Lj, joints_uvd[..., :2]) + tj[:, None, :]
    d = joints_uvd[..., 2] * aj[:, None] + cj[:, None]
    return out, torch.cat([uv, d[..., None]], dim=-1)
