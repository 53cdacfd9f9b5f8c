"""Fabricated depth scenes for the tracking and runtime tests: a hand of spheres (21 joints in the project's
layout, palm facing the camera, fingers up), an optional forearm reaching the image border, a background wall;
tapered capsules (arms) and planes (tables, walls) for the localiser's harder cases.

Spheres are rendered by exact ray-sphere intersection, each only inside its projected bounding box.
"""
from __future__ import annotations

import time

import numpy as np

from app.camera import Intrinsics
from app.sources.base import FrameSource, SourceInfo
from app.sources.spec import SourceKind
from app.types import DepthFrame

INTR = Intrinsics(640, 480, 475.0, 475.0, 319.5, 239.5, 1.0)

# Joint positions of a right hand in its own frame (mm): wrist at the origin, fingers along -y (up in the image),
# thumb towards -x (the image left for a right hand seen palm-on... the exact side does not matter for tests).
_FINGER_BASES_X = (-22.0, -10.0, 3.0, 15.0, 26.0)        # thumb, index, middle, ring, pinky (MCP/CMC x)
_FINGER_LENGTHS = ((30.0, 30.0, 25.0, 22.0), (68.0, 45.0, 26.0, 20.0), (68.0, 50.0, 30.0, 21.0),
                   (62.0, 46.0, 28.0, 20.0), (55.0, 36.0, 21.0, 18.0))


def hand_joints_mm(centre_mm=(0.0, 0.0, 500.0), spread=1.0, curl_mm: float = 0.0) -> np.ndarray:
    """The tests' fake hand: 21 x 3 camera-frame mm, wrist, then thumb, index, middle, ring, pinky x 4 (the
    project's layout), an open right hand palm to the camera with the fingers up (-y), translated so that the
    mean of the joints is centre_mm (the wrist sits about 80 mm below it). spread scales the fingers' fan;
    curl_mm brings each finger joint that much nearer the camera than the one before (0: a flat hand)."""
    joints = [np.zeros(3)]
    for f, (bx, lengths) in enumerate(zip(_FINGER_BASES_X, _FINGER_LENGTHS)):
        angle = np.deg2rad((-40.0 if f == 0 else (f - 2.5) * 6.0) * spread)
        direction = np.array([np.sin(angle), -np.cos(angle), 0.0])
        p = np.array([bx * 0.4 if f == 0 else bx, -12.0 if f == 0 else 0.0, 0.0])
        for k, seg in enumerate(lengths):
            p = p + direction * seg if k > 0 or f == 0 else p + np.array([bx - p[0], -seg, 0.0])
            joints.append(p - np.array([0.0, 0.0, curl_mm * k]))
    joints = np.array(joints)
    joints += np.asarray(centre_mm) - joints.mean(axis=0)
    return joints


def hand_spheres(joints: np.ndarray, forearm_to_v_px: float | None = None, intr: Intrinsics = INTR):
    """(centre_mm, radius_mm) spheres: bones sampled every 4 mm, a palm filled between wrist and MCPs, and a
    forearm from the wrist straight down (+y) to image row forearm_to_v_px."""
    spheres = []
    for finger in ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20)):
        chain = (0,) + finger if finger[0] == 1 else finger
        for a, b in zip(chain[:-1], chain[1:]):
            n = max(2, int(np.linalg.norm(joints[b] - joints[a]) / 4))
            for t in np.linspace(0, 1, n):
                spheres.append((joints[a] * (1 - t) + joints[b] * t, 9.0))
    for mcp in (5, 9, 13, 17):
        for t in np.linspace(0, 1, 14):
            spheres.append((joints[0] * (1 - t) + joints[mcp] * t, 13.0))
    if forearm_to_v_px is not None:
        wrist = joints[0]
        y_end = (forearm_to_v_px - intr.cy) * wrist[2] / intr.fy
        for y in np.arange(wrist[1], y_end + 30, 6.0):
            spheres.append((np.array([wrist[0], y, wrist[2] + 10]), 28.0))
    return spheres


def render(spheres, intr: Intrinsics = INTR, wall_mm: float | None = 1600.0) -> np.ndarray:
    """H x W float32 depth (mm, 0 = invalid) of the spheres in front of an optional wall."""
    depth = np.full((intr.height, intr.width), np.inf, np.float32)
    for c, r in spheres:
        c = np.asarray(c, dtype=np.float64)
        if c[2] - r <= 1:
            continue
        half_u, half_v = r / (c[2] - r) * intr.fx, r / (c[2] - r) * intr.fy
        cu, cv_ = intr.fx * c[0] / c[2] + intr.cx, intr.fy * c[1] / c[2] + intr.cy
        u0, u1 = max(0, int(cu - half_u)), min(intr.width, int(cu + half_u) + 2)
        v0, v1 = max(0, int(cv_ - half_v)), min(intr.height, int(cv_ + half_v) + 2)
        if u1 <= u0 or v1 <= v0:
            continue
        rx = (np.arange(u0, u1) - intr.cx) / intr.fx
        ry = (np.arange(v0, v1) - intr.cy) / intr.fy
        dx, dy = np.meshgrid(rx, ry)
        # Ray p = t (dx, dy, 1): |t d - c|^2 = r^2, nearest root; depth z = t.
        a = dx * dx + dy * dy + 1.0
        b = -2.0 * (dx * c[0] + dy * c[1] + c[2])
        disc = b * b - 4 * a * (c @ c - r * r)
        t = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf)
        depth[v0:v1, u0:u1] = np.minimum(depth[v0:v1, u0:u1], t.astype(np.float32))
    if wall_mm is not None:
        depth = np.minimum(depth, np.float32(wall_mm))
    depth[~np.isfinite(depth)] = 0.0
    return depth


def capsule_spheres(start_mm, end_mm, r_start_mm: float, r_end_mm: float, spacing_mm: float = 6.0):
    """(centre_mm, radius_mm) spheres along a tapered capsule (a forearm, an upper arm)."""
    start, end = np.asarray(start_mm, float), np.asarray(end_mm, float)
    n = max(2, int(np.linalg.norm(end - start) / spacing_mm) + 1)
    return [(start * (1 - t) + end * t, r_start_mm * (1 - t) + r_end_mm * t) for t in np.linspace(0, 1, n)]


def add_plane(depth: np.ndarray, normal, offset_mm: float, intr: Intrinsics = INTR) -> np.ndarray:
    """The depth with a plane n . X = offset_mm (a table, a wall) behind what is already there."""
    n = np.asarray(normal, float) / np.linalg.norm(normal)
    u = (np.arange(intr.width) - intr.cx) / intr.fx
    v = (np.arange(intr.height) - intr.cy) / intr.fy
    along = n[0] * u[None, :] + n[1] * v[:, None] + n[2]      # ray (u, v, 1) meets the plane at z = offset / along
    with np.errstate(divide="ignore"):
        z = np.where(along * offset_mm > 0, offset_mm / along, np.inf).astype(np.float32)
    out = np.where(depth > 0, np.minimum(depth, z), z)
    out[~np.isfinite(out)] = 0.0
    return out.astype(np.float32)


def hand_scene(centre_mm=(0.0, 0.0, 500.0), forearm: bool = True, intr: Intrinsics = INTR,
               wall_mm: float | None = 1600.0, flying_pixels: int = 0, seed: int = 0):
    """(depth_mm, joints_mm): a hand whose joint mean is centre_mm, forearm down to the bottom border."""
    joints = hand_joints_mm(centre_mm)
    depth = render(hand_spheres(joints, intr.height + 10 if forearm else None, intr), intr, wall_mm)
    if flying_pixels:
        rng = np.random.default_rng(seed)
        vs = rng.integers(0, intr.height, flying_pixels)
        us = rng.integers(0, intr.width, flying_pixels)
        depth[vs, us] = rng.uniform(160, 300, flying_pixels)
    return depth, joints


class ListSource(FrameSource):
    """A finite, seekable source over fabricated depth images (test helper implementing the real contract).
    live=True makes it behave like a camera: frames at `fps` in real time, never seekable."""

    def __init__(self, depths, intr: Intrinsics = INTR, gt=None, fps: float = 30.0, live: bool = False,
                 name: str = "fabricated") -> None:
        self._depths = [np.round(d).astype(np.uint16) for d in depths]
        self._gt = gt
        self._intr = intr
        self._live = live
        self._info = SourceInfo(SourceKind.SYNTHETIC, name, live, None if live else len(self._depths), not live, fps)
        self._next = 0
        self.opened = self.closed = False
        self._t0 = 0.0

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> None:
        self.opened = True
        self._t0 = time.perf_counter()

    def read(self, timeout_s: float = 1.0):
        if self.closed:
            return None
        i = self._next
        if i >= len(self._depths):
            if not self._live:
                return None
            i = i % len(self._depths)
        if self._live:   # a camera delivers at its own pace
            due = self._t0 + self._next / self._info.fps
            time.sleep(max(0.0, due - time.perf_counter()))
        self._next += 1
        gt = None if self._gt is None else self._gt[i]
        return DepthFrame(self._next - 1, self._next - 1, (self._next - 1) * 1000.0 / self._info.fps, 0.0,
                          self._depths[i], self._intr, gt, "right" if gt is not None else None)

    def seek(self, index: int) -> None:
        self._next = index

    def close(self) -> None:
        self.closed = True
