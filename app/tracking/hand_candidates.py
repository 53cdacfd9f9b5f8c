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

from app.camera import Intrinsics, project_point, ray_slopes
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
    shape_score: float = 0.0   # the score's hand-shape terms only (no nearness, no tracking term)


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


@dataclass(frozen=True)
class _Object:
    """One object's samples as the shape tests see them: its connected component in the search image, and a
    regular subset of its samples (all of them for small objects) with their camera-frame points."""

    component: np.ndarray    # bool over the search image: every sample of the object
    nearest_idx: int         # flat index (in the search image) of its robust nearest sample
    z_near: float            # mm: the robust nearest depth
    box: tuple[int, int, int, int]   # (r0, r1, c0, c1) in samples: the component's box, one sample more all round
    vs: np.ndarray           # rows (samples) of the subset
    us: np.ndarray           # columns (samples) of the subset
    flat: np.ndarray         # flat indices (in the search image) of the subset
    thin: int                # one sample of every `thin` is in the subset
    core: np.ndarray         # (N,) bool: inside the component eroded by one sample (no fringe)
    u_px: np.ndarray         # (N,) float32 full-resolution column of each sample, px
    v_px: np.ndarray         # (N,) float32 full-resolution row, px
    points: np.ndarray       # (3, N) float32 camera-frame points, mm
    sq: np.ndarray           # (N,) squared_norms(points), mm^2
    uv: np.ndarray           # (N, 2) int32 (column, row) in samples, for the convexity test
    sample_area: np.float32  # image-plane area of one subset sample, mm^2 per mm^2 of depth (x z^2)


@dataclass(frozen=True)
class _End:
    """A free end of the object with a hand-sized ball mean-shifted onto it, scored as a hand."""

    score: float             # lower is more hand-like
    sure: bool               # a hand-shaped free end of an arm
    shape: float             # the score's shape terms only (convexity and the penalties; no depth, no prior)
    wide: bool               # the object around it is wider than an arm (maybe a surface)
    centre: np.ndarray       # (3,) float64 ball centre, mm (on the visible surface)
    inside: np.ndarray       # indices (into the subset) of the samples in the ball


def examine(image: SearchImage, allowed: np.ndarray, cfg: LocaliserConfig) -> Candidate | Rejected | None:
    """The nearest object among the allowed samples of the search image: a Candidate (the most hand-like
    place on it, scored), a Rejected object to exclude, or None when nothing is left. The steps: the robust
    nearest sample, its object (connected within the slab), where the object leaves the view, a surface
    entering wider than an arm, the best-scored free end, the decision."""
    nearest = _robust_nearest(image, allowed)
    if nearest is None:
        return None
    z_near, idx = nearest
    component = _object_component(image, allowed, z_near, idx, cfg)
    flat = np.flatnonzero(component)
    if flat.size < image.min_samples:
        return Rejected("small", component, idx)
    obj = _object_samples(image, component, flat, z_near, idx)
    on_border, runs_to_front = _where_it_leaves_view(image, obj, cfg)
    seed_entry = on_border
    if _enters_wider_than_an_arm(obj, on_border, cfg):
        # A body or a surface. When its nearest point is at the border too, or it runs on towards the camera
        # out of the band, it is likely a table or wall running out of view: its plane goes. Otherwise the
        # hand may be its nearest part (a hand in front of the body) rather than the far end from where it
        # enters.
        if _at_border(image, idx) or runs_to_front:
            plane = surface_plane(obj.points, obj.sample_area, cfg)
            if plane is not None:
                return Rejected("surface", component, idx, plane)
        else:
            seed_entry = None
    best, surface = _best_end(image, obj, on_border, seed_entry, cfg)
    if best is None or (surface and not best.sure):
        plane = surface_plane(obj.points, obj.sample_area, cfg) if surface else None
        if best is None or plane is not None:
            return Rejected("surface" if surface else "small", component, idx, plane)
    return _candidate(image, obj, best, cfg)


def _robust_nearest(image: SearchImage, allowed: np.ndarray) -> tuple[float, int] | None:
    """(z_mm, flat sample index) of the robust minimum over the allowed samples, or None when none is left.
    A sample counts when its whole 3x3 neighbourhood is allowed (the frame's 3x3 maximum is then its own),
    so single flying pixels never win."""
    z_near, _, (iu, iv), _ = cv2.minMaxLoc(image.robust, cv2.erode(allowed.view(np.uint8), KERNEL3))
    if iu < 0 or not np.isfinite(z_near):
        return None
    return z_near, iv * image.d.shape[1] + iu


def _object_component(image: SearchImage, allowed: np.ndarray, z_near: float, idx: int,
                      cfg: LocaliserConfig) -> np.ndarray:
    """The object of the nearest sample idx (at z_near mm): its 8-connected component among the allowed solid
    samples within the slab from z_near to z_near + slab_mm. Samples clearly nearer than z_near (more than
    _FLYING_TOLERANCE_MM) are flying pixels and stay out."""
    d = image.d
    slab = allowed & image.solid & (d >= np.float32(z_near - _FLYING_TOLERANCE_MM)) \
        & (d <= np.float32(z_near + cfg.slab_mm))
    slab.flat[idx] = True     # the nearest sample itself is on a solid surface (robust minimum)
    _, labels = cv2.connectedComponents(slab.view(np.uint8), connectivity=8)
    return labels == labels.flat[idx]


def _object_samples(image: SearchImage, component: np.ndarray, flat: np.ndarray, z_near: float,
                    idx: int) -> _Object:
    """The object's samples for the shape tests: at most about _MAX_POINTS of them, on a regular diagonal
    lattice (large near hands give thousands of samples; the lattice gives the same shape, faster), with their
    full-resolution pixels (px) and camera-frame points (mm). Lattice columns are counted from the nearer
    image side, so that the subset of a left-right flipped image is the flipped subset (a left hand is found
    exactly as the mirrored right hand)."""
    d, step, origin = image.d, image.step, image.origin
    vs, us = np.divmod(flat, d.shape[1])
    r0, r1 = max(0, int(vs.min()) - 1), min(d.shape[0], int(vs.max()) + 2)
    c0, c1 = max(0, int(us.min()) - 1), min(d.shape[1], int(us.max()) + 2)
    core_box = cv2.erode(component[r0:r1, c0:c1].view(np.uint8), KERNEL3) > 0
    thin = max(1, vs.size // _MAX_POINTS + 1)
    if thin > 1:
        keep = np.flatnonzero((vs + np.minimum(us, d.shape[1] - 1 - us)) % thin == 0)
        vs, us, flat = vs[keep], us[keep], flat[keep]
    z = d[vs, us]
    u_px = us.astype(np.float32) * step + origin[0]
    v_px = vs.astype(np.float32) * step + origin[1]
    points = np.empty((3, vs.size), np.float32)
    x_per_z, y_per_z = ray_slopes(u_px, v_px, image.intr)
    np.multiply(x_per_z, z, out=points[0])
    np.multiply(y_per_z, z, out=points[1])
    points[2] = z
    intr = image.intr
    return _Object(component=component, nearest_idx=idx, z_near=z_near, box=(r0, r1, c0, c1), vs=vs, us=us,
                   flat=flat, thin=thin, core=core_box[vs - r0, us - c0], u_px=u_px, v_px=v_px, points=points,
                   sq=squared_norms(points), uv=np.stack((us, vs), axis=1).astype(np.int32),
                   sample_area=np.float32(step * step * thin / (intr.fx * intr.fy)))


def _where_it_leaves_view(image: SearchImage, obj: _Object, cfg: LocaliserConfig) -> tuple[np.ndarray, bool]:
    """Where the object continues out of view: (N,) bool over its subset samples, true at the image border, at
    the back of the slab (an arm that runs on, without a depth jump, behind the slab's far face towards the
    body) and at the front of the band; and whether it runs on towards the camera out of the band anywhere."""
    d = image.d
    r0, r1, c0, c1 = obj.box
    d_box, comp_box = d[r0:r1, c0:c1], obj.component[r0:r1, c0:c1]
    jump = np.float32(cfg.edge_jump_mm)
    limit = np.float32(obj.z_near + cfg.slab_mm)
    behind = (d_box > limit) & (d_box <= limit + jump)
    exits = comp_box & (d_box >= limit - jump) & (cv2.dilate(behind.view(np.uint8), KERNEL3) > 0)
    exits_front = comp_box & image.front[r0:r1, c0:c1]
    us, vs = obj.us, obj.vs
    vb, ub = vs - r0, us - c0
    on_border = (us == 0) | (vs == 0) | (us == d.shape[1] - 1) | (vs == d.shape[0] - 1)
    on_border |= exits[vb, ub] | exits_front[vb, ub]
    return on_border, bool(exits_front.any())


def _enters_wider_than_an_arm(obj: _Object, on_border: np.ndarray, cfg: LocaliserConfig) -> bool:
    """Whether the samples where the object leaves the view span more than max_arm_width_mm (3-D box
    diagonal, mm): then it is a body or a surface, not a forearm."""
    if not on_border.any():
        return False
    entry = obj.points[:, on_border]
    return float(np.linalg.norm(entry.max(axis=1) - entry.min(axis=1))) > cfg.max_arm_width_mm


def _at_border(image: SearchImage, idx: int) -> bool:
    """Whether sample idx lies within _BORDER_SAMPLES of the search image's border (a few samples: the
    outermost rows are often missing depth)."""
    iv, iu = divmod(idx, image.d.shape[1])
    m = _BORDER_SAMPLES
    return iv < m or iu < m or iv >= image.d.shape[0] - m or iu >= image.d.shape[1] - m


def _best_end(image: SearchImage, obj: _Object, on_border: np.ndarray, seed_entry: np.ndarray | None,
              cfg: LocaliserConfig) -> tuple[_End | None, bool]:
    """Mean-shift a ball of radius_mm from each free end of the object (_seeds; seed_entry: where an arm
    enters, or None to start from the nearest point) and score each place it settles. Returns the best-scored
    end (None when no ball holds a hand's worth of samples) and whether any ball looked like a surface (it
    fills its disc, or the object around it is wider than an arm)."""
    best, surface = None, False
    enters = bool(on_border.any())
    centres = []
    for start in _seeds(obj.points, obj.sq, obj.us, obj.vs, obj.flat, obj.core, seed_entry, obj.nearest_idx):
        if any(math.dist(c, start) < 0.5 * cfg.radius_mm for c in centres):
            continue    # starts inside a ball already found: it would end there too
        centre, inside = mean_shift(obj.points, obj.sq, start, cfg.radius_mm, cfg.reach_mm,
                                    cfg.mean_shift_iterations)
        if inside.size * obj.thin < image.min_samples or any(math.dist(c, centre) < 20.0 for c in centres):
            continue    # too few points, or the same place as an earlier seed (within 20 mm)
        centres.append(centre)
        if fills_disc(inside.size * obj.thin, centre, cfg.radius_mm, image.intr, image.step, image.origin,
                      image.d.shape, cfg.max_fill_fraction):
            surface = True     # a wall or desk filling the ball
            continue
        end = _score_end(image, obj, centre, inside, on_border, enters, cfg)
        surface |= end.wide
        if best is None or end.score < best.score:
            best = end
    return best, surface


def _score_end(image: SearchImage, obj: _Object, centre: np.ndarray, inside: np.ndarray, on_border: np.ndarray,
               enters: bool, cfg: LocaliserConfig) -> _End:
    """Hand-likeness of the ball at centre (mm), lower is better (see the module docstring for why each term):
    convexity, depth (per mm), no arm attached, anchored at the border (an elbow), smaller than a hand (mm^2),
    the middle of an arm rather than an end; when tracking, distance (mm) from the previous centre."""
    points, sq = obj.points, obj.sq
    d2 = dist2(points, centre, sq)
    crossing, sidedness = arm_crossing(d2, points, sq, centre, cfg.hand_reach_mm, cfg.hand_reach_mm + cfg.shell_mm,
                                       _MIN_CROSSING_SAMPLES)
    fill = solidity(obj.uv[inside], obj.thin)
    z_in = points[2, inside]
    area_mm2 = float(np.dot(z_in, z_in)) * float(obj.sample_area)
    attached = crossing > 0 or enters
    not_end = crossing > cfg.max_crossing_rms_mm and sidedness < cfg.min_sidedness
    anchored = bool(on_border[d2 < np.float32(cfg.radius_mm ** 2)].any())
    small = area_mm2 < cfg.min_hand_area_mm2
    score = (fill + cfg.depth_weight_per_mm * centre[2] + cfg.lone_penalty * (not attached)
             + cfg.anchored_penalty * anchored + cfg.small_penalty * small + cfg.not_end_penalty * not_end)
    shape = (fill + cfg.lone_penalty * (not attached) + cfg.anchored_penalty * anchored + cfg.small_penalty * small
             + cfg.not_end_penalty * not_end)
    wide = crossing > cfg.max_crossing_rms_mm     # wide: maybe a surface (a table seen to its edge)
    # Sure: an end of an arm seen beyond the hand's reach, or a hand-shaped object that leaves the view.
    sure = (0 < crossing <= cfg.max_crossing_rms_mm or (enters and fill <= cfg.max_solidity)) \
        and not (anchored or small or not_end)
    if image.prior_mm is not None:
        # Tracking: the hand moves little between frames, so nearness to where it was counts, and an arm end
        # far from there is no reason to stop looking.
        moved_mm = float(np.sqrt(np.sum((centre - image.prior_mm) ** 2)))
        score += cfg.prior_weight_per_mm * moved_mm
        sure = sure and moved_mm < cfg.hand_reach_mm
    return _End(score, sure, shape, wide, centre, inside)


def _candidate(image: SearchImage, obj: _Object, end: _End, cfg: LocaliserConfig) -> Candidate:
    """The Candidate of the chosen end: its centre pushed surface_offset_mm along the viewing ray (the visible
    surface is the front of the hand) as full-image (u_px, v_px, z_mm); AT_BORDER when the ball's samples come
    within border_margin_px of the image border; the mask's box (px) of the samples within the crop cube's
    inscribed ball (cube_mm / 2)."""
    intr, step = image.intr, image.step
    centre = end.centre + end.centre / np.linalg.norm(end.centre) * cfg.surface_offset_mm
    cu, cv_ = project_point(centre[0], centre[1], centre[2], intr)
    u_px, v_px, inside = obj.u_px, obj.v_px, end.inside
    status = TrackingStatus.TRACKING
    m = cfg.border_margin_px
    u_min, u_max = int(u_px[inside].min()), int(u_px[inside].max())
    v_min, v_max = int(v_px[inside].min()), int(v_px[inside].max())
    if u_min <= m or v_min <= m or u_max >= intr.width - 1 - m or v_max >= intr.height - 1 - m:
        status = TrackingStatus.AT_BORDER
    seen = dist2(obj.points, centre, obj.sq) < np.float32((0.5 * cfg.cube_mm) ** 2)
    box = (max(0, int(u_px[seen].min()) - step), max(0, int(v_px[seen].min()) - step),
           min(intr.width, int(u_px[seen].max()) + step + 1), min(intr.height, int(v_px[seen].max()) + step + 1))
    return Candidate(status, (float(cu), float(cv_), float(centre[2])), box, end.score, end.sure, obj.component,
                     end.shape)


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


def sample_xy_mm(image: SearchImage) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame x and y (mm) of every sample of the search image (z is image.d)."""
    h, w = image.d.shape
    ray_u, ray_v = ray_slopes(np.arange(w, dtype=np.float32) * image.step + image.origin[0],
                              np.arange(h, dtype=np.float32) * image.step + image.origin[1], image.intr)
    return image.d * ray_u[None, :], image.d * ray_v[:, None]


def claimed_by_hands(image: SearchImage, band: np.ndarray, centres_mm, cfg: LocaliserConfig,
                     sought_mm: np.ndarray | None = None, surfaces: tuple | None = None) -> np.ndarray:
    """The samples that hands already found take with them, so that the search for one more hand finds neither
    them again nor their arms: for each centre (x, y, z mm), every sample within hand_claim_radius_mm of it
    (its fingers, also where a depth jump cuts them off) and the whole connected surface it lies on within the
    band without crossing a depth jump (its wrist, forearm and elbow, as far as they stay in the band). A second
    hand touching the first one or its arm without a depth jump between them is claimed with it. surfaces: for
    each centre, whether it claims its surface (None: all do); a place known to be no hand (a forearm, an elbow)
    claims only the samples near it, so the hand at the end of that arm can still be found."""
    x_mm, y_mm = sample_xy_mm(image)
    surface = image.solid & band
    count, labels = cv2.connectedComponents(surface.view(np.uint8), connectivity=8)
    r2 = np.float32(cfg.hand_claim_radius_mm ** 2)
    claimed = np.zeros(band.shape, bool)
    d2_sought = None
    if sought_mm is not None:
        d2_sought = (x_mm - np.float32(sought_mm[0])) ** 2 + (y_mm - np.float32(sought_mm[1])) ** 2 \
            + (image.d - np.float32(sought_mm[2])) ** 2
    for k, (cx, cy, cz) in enumerate(centres_mm):
        d2 = (x_mm - np.float32(cx)) ** 2 + (y_mm - np.float32(cy)) ** 2 + (image.d - np.float32(cz)) ** 2
        near = d2 < r2
        claimed |= near
        if surfaces is not None and not surfaces[k]:
            continue
        own = np.zeros(count, bool)   # a table by label: the surfaces the centre's near samples lie on
        own[labels[near & surface]] = True
        own[0] = False                # (0: no surface)
        if own.any():
            mine = own[labels]
            if d2_sought is not None:
                mine &= d2 < d2_sought
            claimed |= mine
    return claimed
