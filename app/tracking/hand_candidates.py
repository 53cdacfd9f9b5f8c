"""One object of a depth frame as the hand localiser sees it: the nearest object left in the search image, its
connected surface, where it leaves the view, and the most hand-like place on it with a score; or why it is no
hand (a speck; a surface, with its dominant plane). Used by app.tracking.localise (search order, statuses,
mask); the geometric tests themselves are in app.tracking.hand_shape.

Every term of the score is a property of hands, not of a renderer: a hand is not convex (fingers and the gaps
between them; a ball, a box, an elbow or the rounded end of an upper arm is), is usually held nearer than the
rest, hangs on an arm (that crosses a shell beyond the fingers' reach, or leaves the view), is an end (not the
middle of an arm, not a surface running on all round), is hand-sized in mm, and its arm leaves the view beyond
the hand rather than within it (an elbow at the border). Imports numpy, cv2 and app foundation only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from app.camera import Intrinsics, project_mm_to_px, ray_slopes
from app.config import LocaliserConfig
from app.tracking.hand_shape import (arm_crossing, dist2, dominant_plane, fills_disc, mean_shift, solidity,
                                     squared_norms)
from app.types import TrackingStatus

KERNEL3 = np.ones((3, 3), np.uint8)
_BORDER_SAMPLES = 4          # "at the border" for the nearest point of a surface, in samples
_MIN_CROSSING_SAMPLES = 4    # samples in the shell that make an arm crossing (a forearm far away gives 30+)
_MAX_POINTS = 800            # samples per object for the shape tests (more adds time, not accuracy)
_FLYING_TOLERANCE_MM = 25.0  # the robust minimum may sit a little behind the true nearest surface


@dataclass(frozen=True)
class SearchImage:
    """One downsampled search image and what every object examined in it shares."""

    d: np.ndarray            # depth samples, mm (0 = invalid)
    robust: np.ndarray       # 3x3 maximum of the band's depth (inf outside the band)
    solid: np.ndarray        # the band without the far side of depth jumps
    front: np.ndarray        # next to samples just nearer than the band (an object running on towards the lens)
    min_samples: int         # smallest hand, in samples
    step: int                # full-resolution pixels per sample
    origin: tuple[int, int]  # full-resolution (u_px, v_px) of sample (0, 0)
    intr: Intrinsics
    prior_mm: np.ndarray | None = None   # the previous frame's centre (x, y, z mm) when tracking


@dataclass(frozen=True)
class Candidate:
    """The most hand-like place on one object (or only a status): centre in full-image (u_px, v_px, z_mm)."""

    status: TrackingStatus
    centre_uvz: tuple[float, float, float] | None
    box_px: tuple[int, int, int, int] | None = None   # (u0, v0, u1, v1) of the hand's samples, exclusive end
    score: float = 0.0   # lower is more hand-like
    sure: bool = False   # a hand-shaped free end of an arm: no need to look further
    component: np.ndarray | None = None    # its samples, to exclude it while looking further


@dataclass(frozen=True)
class Rejected:
    """An object that is no hand. kind: 'small' (a speck, a cable) or 'surface'; plane: (normal, offset) of
    its dominant plane n . X = offset when it is a large flat surface (then only the plane is excluded)."""

    kind: str
    component: np.ndarray
    nearest_idx: int
    plane: tuple[np.ndarray, float] | None = None


def split_at_jumps(d: np.ndarray, mask: np.ndarray, edge_jump_mm: float) -> np.ndarray:
    """The mask without pixels on the far side of a depth jump, so that objects touching in the image
    (a hand in front of a wall or body) fall apart into separate components. A pixel with a neighbour more
    than edge_jump_mm nearer is dropped; the near side (the silhouette, thin fingers) is kept whole."""
    nearest_neighbour = cv2.erode(np.where(mask, d, np.float32(np.inf)), KERNEL3)
    return mask & (d - nearest_neighbour <= edge_jump_mm)


def examine(image: SearchImage, allowed: np.ndarray, cfg: LocaliserConfig) -> Candidate | Rejected | None:
    """The nearest object among the allowed samples of the search image: a Candidate (the most hand-like
    place on it, scored), a Rejected object to exclude, or None when nothing is left."""
    d, min_samples, step, origin, intr = image.d, image.min_samples, image.step, image.origin, image.intr
    # The robust minimum over the allowed samples: a sample counts when its whole 3x3 neighbourhood is
    # allowed (the frame's 3x3 maximum is then its own), so single flying pixels never win.
    z_near, _, (iu, iv), _ = cv2.minMaxLoc(image.robust, cv2.erode(allowed.view(np.uint8), KERNEL3))
    if iu < 0 or not np.isfinite(z_near):
        return None
    idx = iv * d.shape[1] + iu
    # Pixels clearly nearer than the robust minimum are flying pixels: they stay out of the slab.
    slab = allowed & image.solid & (d >= np.float32(z_near - _FLYING_TOLERANCE_MM)) \
        & (d <= np.float32(z_near + cfg.slab_mm))
    slab.flat[idx] = True     # the nearest sample itself is on a solid surface (robust minimum)
    _, labels = cv2.connectedComponents(slab.view(np.uint8), connectivity=8)
    component = labels == labels.flat[idx]
    flat = np.flatnonzero(component)
    vs, us = np.divmod(flat, d.shape[1])
    if vs.size < min_samples:
        return Rejected("small", component, idx)
    # The object's box (one sample more all round): masks below are computed there only.
    r0, r1 = max(0, int(vs.min()) - 1), min(d.shape[0], int(vs.max()) + 2)
    c0, c1 = max(0, int(us.min()) - 1), min(d.shape[1], int(us.max()) + 2)
    d_box, comp_box = d[r0:r1, c0:c1], component[r0:r1, c0:c1]
    core_box = cv2.erode(comp_box.view(np.uint8), KERNEL3) > 0
    # Large near hands give thousands of samples; a regular diagonal lattice of them gives the same shape,
    # faster. Columns are counted from the nearer image side, so that the subset of a left-right flipped
    # image is the flipped subset (a left hand is found exactly as the mirrored right hand).
    thin = max(1, vs.size // _MAX_POINTS + 1)
    if thin > 1:
        keep = np.flatnonzero((vs + np.minimum(us, d.shape[1] - 1 - us)) % thin == 0)
        vs, us, flat = vs[keep], us[keep], flat[keep]
    z = d[vs, us]
    u_px = us.astype(np.float32) * step + origin[0]
    v_px = vs.astype(np.float32) * step + origin[1]
    points = np.empty((3, vs.size), np.float32)
    x_per_z, y_per_z = ray_slopes(u_px, v_px, intr)
    np.multiply(x_per_z, z, out=points[0])
    np.multiply(y_per_z, z, out=points[1])
    points[2] = z
    # Where the object continues out of view: the image border, the back of the slab (an arm that runs
    # on, without a depth jump, behind the slab's far face towards the body) and the front of the band.
    jump = np.float32(cfg.edge_jump_mm)
    limit = np.float32(z_near + cfg.slab_mm)
    behind = (d_box > limit) & (d_box <= limit + jump)
    exits = comp_box & (d_box >= limit - jump) & (cv2.dilate(behind.view(np.uint8), KERNEL3) > 0)
    exits_front = comp_box & image.front[r0:r1, c0:c1]
    vb, ub = vs - r0, us - c0
    on_border = (us == 0) | (vs == 0) | (us == d.shape[1] - 1) | (vs == d.shape[0] - 1)
    on_border |= exits[vb, ub] | exits_front[vb, ub]
    sample_area = np.float32(step * step * thin / (intr.fx * intr.fy))   # x z^2: mm^2 per (thinned) sample
    seed_entry = on_border
    if on_border.any():
        entry = points[:, on_border]
        if float(np.linalg.norm(entry.max(axis=1) - entry.min(axis=1))) > cfg.max_arm_width_mm:
            # Enters the image wider than any forearm: a body or a surface. When its nearest point is at
            # the border too, or it runs on towards the camera out of the band, it is likely a table or
            # wall running out of view: its plane goes. Otherwise the hand may be its nearest part (a hand
            # in front of the body) rather than the far end from where it enters.
            iv, iu = divmod(idx, d.shape[1])
            m = _BORDER_SAMPLES   # a few samples: the outermost rows are often missing depth
            if iv < m or iu < m or iv >= d.shape[0] - m or iu >= d.shape[1] - m or exits_front.any():
                plane = surface_plane(points, sample_area, cfg)
                if plane is not None:
                    return Rejected("surface", component, idx, plane)
            else:
                seed_entry = None
    core = core_box[vb, ub]
    best, surface = None, False
    inner, outer = cfg.hand_reach_mm, cfg.hand_reach_mm + cfg.shell_mm
    enters = bool(on_border.any())
    centres = []
    uv = np.stack((us, vs), axis=1).astype(np.int32)
    sq = squared_norms(points)
    for start in _seeds(points, sq, us, vs, flat, core, seed_entry, idx):
        if any(math.dist(c, start) < 0.5 * cfg.radius_mm for c in centres):
            continue    # starts inside a ball already found: it would end there too
        centre, inside = mean_shift(points, sq, start, cfg.radius_mm, cfg.reach_mm, cfg.mean_shift_iterations)
        if inside.size * thin < min_samples or any(math.dist(c, centre) < 20.0 for c in centres):
            continue    # too few points, or the same place as an earlier seed (within 20 mm)
        centres.append(centre)
        if fills_disc(inside.size * thin, centre, cfg.radius_mm, intr, step, origin, d.shape,
                      cfg.max_fill_fraction):
            surface = True     # a wall or desk filling the ball
            continue
        d2 = dist2(points, centre, sq)
        crossing, sidedness = arm_crossing(d2, points, sq, centre, inner, outer, _MIN_CROSSING_SAMPLES)
        # Hand-likeness, lower is better (see the module docstring for why each term).
        fill = solidity(uv[inside], thin)
        z_in = points[2, inside]
        area_mm2 = float(np.dot(z_in, z_in)) * float(sample_area)
        attached = crossing > 0 or enters
        not_end = crossing > cfg.max_crossing_rms_mm and sidedness < cfg.min_sidedness
        anchored = bool(on_border[d2 < np.float32(cfg.radius_mm ** 2)].any())
        small = area_mm2 < cfg.min_hand_area_mm2
        score = (fill + cfg.depth_weight_per_mm * centre[2] + cfg.lone_penalty * (not attached)
                 + cfg.anchored_penalty * anchored + cfg.small_penalty * small + cfg.not_end_penalty * not_end)
        surface |= crossing > cfg.max_crossing_rms_mm     # wide: maybe a surface (a table seen to its edge)
        # Sure: an end of an arm seen beyond the hand's reach, or a hand-shaped object that leaves the view.
        sure = (0 < crossing <= cfg.max_crossing_rms_mm or (enters and fill <= cfg.max_solidity)) \
            and not (anchored or small or not_end)
        if image.prior_mm is not None:
            # Tracking: the hand moves little between frames, so nearness to where it was counts, and an
            # arm end far from there is no reason to stop looking.
            moved_mm = float(np.sqrt(np.sum((centre - image.prior_mm) ** 2)))
            score += cfg.prior_weight_per_mm * moved_mm
            sure = sure and moved_mm < cfg.hand_reach_mm
        if best is None or score < best[0]:
            best = (score, sure, not_end, centre, inside)
    if best is None or (surface and not best[1]):
        plane = surface_plane(points, sample_area, cfg) if surface else None
        if best is None or plane is not None:
            return Rejected("surface" if surface else "small", component, idx, plane)
    score, sure, _, centre, inside = best
    centre = centre + centre / np.linalg.norm(centre) * cfg.surface_offset_mm
    cu, cv_, _ = project_mm_to_px(centre, intr)
    status = TrackingStatus.TRACKING
    m = cfg.border_margin_px
    u_min, u_max = int(u_px[inside].min()), int(u_px[inside].max())
    v_min, v_max = int(v_px[inside].min()), int(v_px[inside].max())
    if u_min <= m or v_min <= m or u_max >= intr.width - 1 - m or v_max >= intr.height - 1 - m:
        status = TrackingStatus.AT_BORDER
    # The mask's box: the component's samples within the crop cube's inscribed ball (cube_mm / 2).
    seen = dist2(points, centre, sq) < np.float32((0.5 * cfg.cube_mm) ** 2)
    box = (max(0, int(u_px[seen].min()) - step), max(0, int(v_px[seen].min()) - step),
           min(intr.width, int(u_px[seen].max()) + step + 1), min(intr.height, int(v_px[seen].max()) + step + 1))
    return Candidate(status, (float(cu), float(cv_), float(centre[2])), box, score, sure, component)


def _seeds(points: np.ndarray, sq: np.ndarray, us: np.ndarray, vs: np.ndarray, flat: np.ndarray,
           core: np.ndarray, on_border: np.ndarray | None, nearest_idx: int) -> list[np.ndarray]:
    """Where the hand may be: the free ends of the object. When the component touches the border of the
    search image (or runs on out of the slab) an arm enters there, and the hand is the point farthest, in
    the image plane, from where it enters. Otherwise the nearest point (a hand held towards the camera, or
    its arm outside the slab), and the far end seen from it (an arm lying across the view, its hand not
    the nearest part); then the far end seen from the first one (in mm: an arm that bends or runs on out of
    view has two ends). Only core points (the component eroded by one sample) are candidates: edge fringes and
    flying pixels behind the silhouette would otherwise be the farthest points."""
    hits = np.flatnonzero(flat == nearest_idx)
    nearest = int(hits[0]) if hits.size else int(np.argmin(points[2]))   # the nearest may be thinned out
    if not core.any():
        return [points[:, nearest].astype(np.float64)]
    if on_border is not None and on_border.any():
        n = np.count_nonzero(on_border)
        du = us - float(us[on_border].sum()) / n
        dv = vs - float(vs[on_border].sum()) / n
    else:
        du, dv = us - us[nearest], vs - vs[nearest]
    far = int(np.argmax(np.where(core, du * du + dv * dv, -1)))
    other = int(np.argmax(np.where(core, dist2(points, points[:, far], sq), np.float32(-1.0))))
    columns = points[:, [far, nearest, other]].T.astype(np.float64)
    seeds = [columns[0]]
    for c in columns[1:]:
        if all(math.dist(c, s) > 60.0 for s in seeds):   # a seed 60 mm from the others
            seeds.append(c)
    return seeds


def surface_plane(points: np.ndarray, sample_area: np.float32, cfg: LocaliserConfig):
    """The dominant plane of a surface-like object, when it is a large flat surface (table, wall, front of a
    body): at least min_plane_area_mm2 of it within plane_tolerance_mm, and min_plane_width_mm wide.
    (normal, offset) or None. sample_area * z^2: the image-plane area one sample covers at depth z."""
    found = dominant_plane(points, cfg.plane_tolerance_mm)
    if found is None:
        return None
    normal, offset, inliers, width_mm = found
    if width_mm < cfg.min_plane_width_mm:
        return None     # a long narrow plane: a flat hand and forearm, not a table or a body
    # A sample covers (step z / f)^2 of the image plane's area; on a plane seen at a slant, 1 / cos more.
    p = points[:, inliers]
    z2 = np.einsum("ij,ij->j", p, p)    # |X|^2, and |X| cos = |n . X| = |offset|
    ray_cos = np.maximum(abs(offset) / np.sqrt(z2), np.float32(0.1))
    if float(np.sum(p[2] * p[2] / ray_cos)) * sample_area < cfg.min_plane_area_mm2:
        return None
    return normal, offset


def plane_gap_mm(d: np.ndarray, plane, step: int, origin, intr: Intrinsics) -> np.ndarray:
    """Distance (mm, signed) of every sample's 3-D point from the plane n . X = c."""
    (nx, ny, nz), c = plane
    h, w = d.shape
    ray_u, ray_v = ray_slopes(np.arange(w, dtype=np.float32) * step + origin[0],
                              np.arange(h, dtype=np.float32) * step + origin[1], intr)
    along = np.float32(nx) * ray_u[None, :] + np.float32(ny) * ray_v[:, None] + np.float32(nz)
    return d * along - np.float32(c)
