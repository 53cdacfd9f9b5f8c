"""Shape tests that tell a hand from the other things in a depth frame, all on back-projected points in mm
(so they hold at any distance and focal length): mean-shift onto the hand, the arm-end test, convexity, and
the dominant plane of a surface (table, wall, the front of a body). Used by app.tracking.localise.

Points are (3, N) float32 arrays with rows x, y, z in mm (camera frame): row-wise vector ops are fast.
Imports numpy, cv2 and app.camera only.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from app.camera import Intrinsics, project_point

_PLANE_HYPOTHESES = 24     # RANSAC draws; the plane sought covers most of its component, so few are needed
_PLANE_POINTS = 400        # points scored per hypothesis (a regular subset)
# Fixed draws in [0, 1), scaled to the number of points: the same frame always gives the same plane.
_PLANE_DRAWS = np.random.default_rng(0).random((_PLANE_HYPOTHESES, 3))


def squared_norms(points: np.ndarray) -> np.ndarray:
    """|p|^2 (N,) of (3, N) points, to pass to dist2 when many distances are taken from the same points."""
    return np.einsum("ij,ij->j", points, points)


def dist2(points: np.ndarray, centre: np.ndarray, sq: np.ndarray | None = None) -> np.ndarray:
    """Squared distances (N,) of (3, N) float32 points from a 3-vector. With sq = squared_norms(points):
    |p|^2 - 2 p.c + |c|^2, one matrix-vector product (float32 keeps ~0.1 mm^2 at a metre)."""
    c = np.asarray(centre, np.float64)
    if sq is not None:
        return sq - (2.0 * c).astype(np.float32) @ points + np.float32(c @ c)
    dx = points[0] - np.float32(c[0])
    dy = points[1] - np.float32(c[1])
    dz = points[2] - np.float32(c[2])
    return dx * dx + dy * dy + dz * dz


def mean_shift(points: np.ndarray, sq: np.ndarray, start: np.ndarray, radius_mm: float, reach_mm: float,
               iterations: int):
    """Flat-kernel mean-shift of a ball over the points within reach_mm of start (the hand's free end): the cap
    keeps a dense forearm from pulling the ball along the arm. sq: squared_norms(points). Returns the centre
    (3,) float64 and the indices of the points inside the final ball."""
    reach = np.flatnonzero(dist2(points, start, sq) < np.float32(reach_mm ** 2))
    near = points[:, reach]
    # |p - c|^2 = |p|^2 - 2 p.c + |c|^2: one small matrix product per step instead of three rows.
    near_sq = sq[reach]
    r2 = radius_mm ** 2
    centre = np.asarray(start, np.float64)
    inside = near_sq - 2.0 * (centre.astype(np.float32) @ near) < np.float32(r2 - centre @ centre)
    for _ in range(iterations):
        count = np.count_nonzero(inside)
        if count == 0:
            break
        new_centre = (near @ inside.astype(np.float32)).astype(np.float64) / count
        delta = new_centre - centre
        centre = new_centre
        inside = near_sq - 2.0 * (centre.astype(np.float32) @ near) < np.float32(r2 - centre @ centre)
        if delta @ delta < 4.0:     # moved less than 2 mm
            break
    return centre, reach[inside]


def arm_crossing(points_d2: np.ndarray, points: np.ndarray, sq: np.ndarray, centre: np.ndarray, inner_mm: float,
                 outer_mm: float, min_points: int) -> tuple[float, float]:
    """How the object leaves a ball around a hand candidate, seen in the shell inner_mm < distance < outer_mm
    beyond the reach of any finger: (rms_mm, sidedness). rms_mm: RMS radius of the shell's points; sidedness:
    |mean direction| of the shell's points seen from the centre, 1 when they all lie on one side.
    A hand is the end of an arm: only the forearm crosses the shell (one patch: RMS radius ~20-45 mm,
    sidedness ~0.95; a folded arm adds the upper arm on the same side) or nothing does (the arm hidden or out of
    the depth band) -> (0, 0). The middle of an arm (two patches on opposite sides), a table, a wall or a body
    (a ring all round) give 100-190 mm and sidedness near 0.
    points_d2: squared distances of the points from the centre; sq: squared_norms(points)."""
    shell = np.flatnonzero((points_d2 > np.float32(inner_mm ** 2)) & (points_d2 < np.float32(outer_mm ** 2)))
    n = shell.size
    if n < min_points:
        return 0.0, 0.0
    mean = points[:, shell].sum(axis=1, dtype=np.float64) / n
    # Mean squared distance from their mean: mean |p|^2 - |mean|^2.
    rms = math.sqrt(max(float(sq[shell].sum(dtype=np.float64)) / n - float(mean @ mean), 0.0))
    mean_distance = float(np.sqrt(points_d2[shell]).sum(dtype=np.float64)) / n
    return rms, math.dist(mean, centre) / mean_distance


def solidity(uv: np.ndarray, thin: int = 1) -> float:
    """Samples (N x 2 int32 image positions, each standing for `thin` samples when thinned) / lattice points
    of their convex hull (Pick's theorem: area + boundary / 2 + 1), in [0, 1]. Balls, boxes, mugs and the
    rounded end of an arm fill their hull; an open hand does not."""
    if uv.shape[0] < 3:
        return 1.0
    hull = cv2.convexHull(np.ascontiguousarray(uv, dtype=np.int32))
    area = cv2.contourArea(hull)
    boundary = cv2.arcLength(hull, True)
    return float(min(1.0, uv.shape[0] * thin / (area + boundary / 2.0 + 1.0)))


def dominant_plane(points: np.ndarray, tolerance_mm: float):
    """RANSAC plane through (3, N) points: (unit normal n, offset c, inliers, width_mm) with n . X = c for the
    plane holding most points within tolerance_mm, inliers the (N,) mask of those points, width_mm the standard
    deviation of the inliers across their longest direction in the plane (a strip as wide as a forearm: ~25 mm;
    a table or a body: 100 mm or more). None when fewer than 3 points. Deterministic (fixed draws)."""
    n_points = points.shape[1]
    if n_points < 3:
        return None
    sub = points[:, :: max(1, n_points // _PLANE_POINTS)].astype(np.float64)
    triples = (_PLANE_DRAWS * sub.shape[1]).astype(np.intp)
    a, b, c = sub[:, triples[:, 0]], sub[:, triples[:, 1]], sub[:, triples[:, 2]]
    normals = np.cross((b - a).T, (c - a).T)                         # (H, 3)
    length = np.sqrt(np.einsum("hj,hj->h", normals, normals))
    good = length > 1e-6
    if not good.any():
        return None
    normals = normals[good] / length[good, None]
    offsets = np.einsum("hj,jh->h", normals, a[:, good])
    counts = np.count_nonzero(np.abs(normals @ sub - offsets[:, None]) < tolerance_mm, axis=1)
    best = int(np.argmax(counts))
    normal, offset = normals[best], offsets[best]
    # Refit on the inliers (least squares through their centroid: the covariance's smallest eigenvector) for
    # a plane not tied to three noisy points.
    inl = sub[:, np.abs(normal @ sub - offset) < tolerance_mm]
    width = 0.0
    if inl.shape[1] >= 3:
        mean = inl.mean(axis=1)
        centred = inl - mean[:, None]
        values, vectors = np.linalg.eigh(centred @ centred.T / inl.shape[1])
        normal = vectors[:, 0]
        offset = float(normal @ mean)
        width = float(np.sqrt(max(values[1], 0.0)))
    gap = points[0] * np.float32(normal[0]) + points[1] * np.float32(normal[1]) + points[2] * np.float32(normal[2])
    return normal, float(offset), np.abs(gap - np.float32(offset)) < np.float32(tolerance_mm), width


def fills_disc(samples_inside: int, centre: np.ndarray, radius_mm: float, intr: Intrinsics, step: int, origin,
               shape, max_fraction: float) -> bool:
    """A hand covers about a third of the disc a ball around it projects to; a wall or desk covers all of it.
    The disc is clipped to the search image, so a wall is recognised wherever the ball sits. centre: (3,) mm;
    step: full-resolution px per sample; origin: full-resolution (u_px, v_px) of sample (0, 0); shape: the
    search image's (rows, columns) in samples."""
    r_samples = radius_mm / centre[2] * np.sqrt(intr.fx * intr.fy) / step
    u_px, v_px = project_point(centre[0], centre[1], centre[2], intr)
    cu = (u_px - origin[0]) / step
    cv_ = (v_px - origin[1]) / step
    h, w = shape
    if r_samples <= cu <= w - 1 - r_samples and r_samples <= cv_ <= h - 1 - r_samples:
        return samples_inside > max_fraction * np.pi * r_samples * r_samples    # the whole disc is in view
    # Row by row: the chord of the disc in each row, clipped to the image's columns.
    dv = np.arange(max(0, int(np.ceil(cv_ - r_samples))), min(h - 1, int(cv_ + r_samples)) + 1) - cv_
    half = np.sqrt(np.maximum(r_samples * r_samples - dv * dv, 0.0))
    lo = np.maximum(np.ceil(cu - half), 0.0)
    hi = np.minimum(np.floor(cu + half), w - 1.0)
    disc = float(np.maximum(hi - lo + 1.0, 0.0).sum())
    return samples_inside > max_fraction * max(disc, 1.0)
