"""Find the hand in a depth frame without ground truth: centre (u_px, v_px, z_mm), a hand mask and a status.

Method (all on a depth image downsampled by striding to about 160 px wide, so one frame costs well under 1.5 ms
on one core; the mask is then computed at full resolution inside the hand's box only):
1. The nearest object in the depth band [near_mm, far_mm]. A 3x3 max filter before taking the minimum makes a
   pixel count only if its whole neighbourhood is that near, so single flying pixels and thin edge fringes never
   win.
2. Its connected component within a depth slab behind that nearest point (a body or desk further back is a
   different component).
3. The centre: mean-shift of a 3-D ball (radius ball_radius_mm) over that component's back-projected points,
   started at the nearest point. A forearm entering from the border only pulls the ball until the ball's own
   mean balances, so the centre stays on the hand instead of sliding to the elbow; the visible surface is the
   front of the hand, so the centre is pushed surface_offset_mm along the viewing ray towards the palm's middle.
4. Status: TOO_NEAR (a sizeable object nearer than near_mm), TOO_FAR (nothing in the band but a hand-sized
   object just beyond it), NO_HAND (nothing hand-like; a wall or desk filling the whole ball is not a hand),
   AT_BORDER (the hand's points reach the image border, so the hand is cut off; a crop box that merely runs
   off the image is normal at short range and is padded by the crop), else TRACKING.
Tracking: with previous_centre_uvz the search first runs in a window around the previous centre (it keeps the
same hand when another object comes nearer elsewhere, and is cheaper); it falls back to the whole image.

Imports numpy, cv2 and app foundation only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from app.camera import Intrinsics
from app.errors import InputError
from app.tracking.hand_shape import (arm_crossing, dist2, dominant_plane, fills_disc, mean_shift, solidity,
                                     squared_norms)
from app.types import HandLocation, TrackingStatus

_TARGET_WIDTH_PX = 160      # width of the downsampled search image
_KERNEL3 = np.ones((3, 3), np.uint8)
_BORDER_SAMPLES = 4         # "at the border" for the nearest point of a surface, in samples
_MAX_CANDIDATES = 6         # objects tried, nearest first, before giving up
_MIN_CROSSING_SAMPLES = 4  # samples in the shell that make an arm crossing (a forearm far away gives 30+)
_MAX_PLANES = 2             # planes removed per search (a table and a wall or the front of a body)
_MAX_POINTS = 800          # mean-shift samples (more adds time, not accuracy)
_FLYING_TOLERANCE_MM = 25.0  # the robust minimum may sit a little behind the true nearest surface


@dataclass(frozen=True)
class LocaliserConfig:
    """Hand finding parameters (all distances along the optical axis or in 3-D, mm; pixels at full resolution).

    near_mm / far_mm: the depth band where a hand is looked for; cube_mm: side of the crop cube (sets the box
    used for the border test and the tracking window); min_hand_pixels: smallest hand, in full-resolution pixels;
    border_margin_px: the hand counts as at the border when its points come this close to the image edge;
    ball_radius_mm: mean-shift ball radius (None = 0.35 * cube_mm, about half a hand length);
    slab_mm: depth range behind the nearest point that can belong to the hand and arm;
    surface_offset_mm: push from the visible surface towards the middle of the hand (half a palm's thickness);
    max_fill_fraction: a "hand" that fills more of the ball's projected disc (clipped to the image) than this
        is a wall or desk -> NO_HAND;
    max_arm_width_mm: an object entering the image across a wider stretch of border is a surface, not an arm;
    max_solidity: an object filling more of its silhouette's convex hull than this is a convex blob (ball,
        box, mug), tried after the objects behind it (measured on rendered scenes: hands 0.6-0.9);
    edge_jump_mm: depth step between neighbouring samples that separates two objects;
    too_far_margin_mm: how far beyond far_mm an object is still reported as TOO_FAR rather than NO_HAND;
    reach_mm: only points this close to the hand's free end (fingertips) take part (about a hand's length);
    mean_shift_iterations: at most this many steps (stops earlier when the centre moves < 0.5 mm);
    compute_mask: produce the full-resolution hand mask (the GUI's point cloud uses it; training does not).
    """

    near_mm: float = 150.0
    far_mm: float = 1000.0
    cube_mm: float = 250.0
    min_hand_pixels: int = 300
    border_margin_px: int = 3
    ball_radius_mm: float | None = None
    slab_mm: float = 300.0
    surface_offset_mm: float = 10.0
    max_fill_fraction: float = 0.85
    max_arm_width_mm: float = 250.0
    max_solidity: float = 0.8
    edge_jump_mm: float = 40.0
    too_far_margin_mm: float = 500.0
    reach_mm: float = 120.0
    mean_shift_iterations: int = 6
    compute_mask: bool = True
    hand_reach_mm: float = 180.0
    shell_mm: float = 50.0
    max_crossing_rms_mm: float = 70.0
    min_sidedness: float = 0.7
    depth_weight_per_mm: float = 0.001
    min_hand_area_mm2: float = 2000.0
    lone_penalty: float = 0.15
    anchored_penalty: float = 0.1
    small_penalty: float = 0.3
    not_end_penalty: float = 1.0
    prior_weight_per_mm: float = 0.002
    stop_shape_score: float = 1.0
    plane_tolerance_mm: float = 12.0
    min_plane_area_mm2: float = 60000.0
    min_plane_width_mm: float = 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.near_mm < self.far_mm:
            raise InputError(f"localiser: need 0 <= near_mm < far_mm, got near={self.near_mm}, far={self.far_mm}")
        if not self.cube_mm > 0:
            raise InputError(f"localiser: cube_mm must be positive, got {self.cube_mm}")
        if self.min_hand_pixels < 1:
            raise InputError(f"localiser: min_hand_pixels must be >= 1, got {self.min_hand_pixels}")

    @property
    def radius_mm(self) -> float:
        return float(self.ball_radius_mm) if self.ball_radius_mm is not None else 0.35 * self.cube_mm


@dataclass(frozen=True)
class _Frame:
    """One downsampled search image and what every object examined in it shares (see _search)."""

    d: np.ndarray           # depth samples, mm
    robust: np.ndarray      # 3x3 maximum of the band's depth (inf outside the band)
    solid: np.ndarray       # the band without the far side of depth jumps
    front: np.ndarray       # next to samples just nearer than the band
    min_samples: int
    step: int
    origin: tuple[int, int]
    intr: Intrinsics
    prior_mm: np.ndarray | None = None   # the previous frame's centre (x, y, z mm) when tracking


@dataclass(frozen=True)
class _Found:
    """A located hand inside a (sub)image: centre in full-image (u_px, v_px, z_mm) and status."""

    status: TrackingStatus
    centre_uvz: tuple[float, float, float] | None
    box_px: tuple[int, int, int, int] | None = None   # (u0, v0, u1, v1) of the hand's samples, exclusive end
    score: float = 0.0   # lower is more hand-like (see _examine)
    sure: bool = False   # a hand-shaped free end of an arm: no need to look further
    component: np.ndarray | None = None    # its samples, to exclude it while looking further
    nearest_idx: int = -1


class HandLocaliser:
    """Stateless hand finder (the caller keeps the previous centre). Safe to share between threads."""

    def __init__(self, config: LocaliserConfig | None = None) -> None:
        self.config = config if config is not None else LocaliserConfig()

    def locate(self, depth_mm: np.ndarray, intr: Intrinsics,
               previous_centre_uvz: tuple[float, float, float] | None = None) -> HandLocation:
        """depth_mm: H x W float32 millimetres (0 = invalid); intr: the frame's intrinsics; previous_centre_uvz:
        last frame's centre to track from, or None for a global search."""
        if depth_mm.ndim != 2 or depth_mm.shape != (intr.height, intr.width):
            raise InputError(f"localiser: depth is {depth_mm.shape}, intrinsics say {intr.height}x{intr.width}")
        step = max(1, int(round(intr.width / _TARGET_WIDTH_PX)))
        found = None
        if previous_centre_uvz is not None and previous_centre_uvz[2] > 0:
            window = self._window(previous_centre_uvz, intr, step)
            if window is not None:
                cu, cv_, cz = previous_centre_uvz
                prior = np.array([(cu - intr.cx) * cz / intr.fx, (cv_ - intr.cy) * cz / intr.fy, cz])
                found = self._search(depth_mm, intr, step, window, prior)
                if found.centre_uvz is None:
                    found = None
        if found is None:
            found = self._search(depth_mm, intr, step, (0, 0, intr.width, intr.height))
        mask = None
        if found.centre_uvz is not None and self.config.compute_mask:
            mask = self._mask(depth_mm, intr, found.centre_uvz, found.box_px)
        return HandLocation(found.status, found.centre_uvz, mask)

    # ---- search -------------------------------------------------------------------------------------------
    def _window(self, centre_uvz, intr: Intrinsics, step: int) -> tuple[int, int, int, int] | None:
        """Pixel window (u0, v0, u1, v1) around the previous centre: the crop box grown by half (hands move
        up to ~60 mm between frames at 30 Hz), aligned to the sampling step."""
        cu, cv_, cz = centre_uvz
        half_u = 0.75 * self.config.cube_mm / cz * intr.fx
        half_v = 0.75 * self.config.cube_mm / cz * intr.fy
        u0 = max(0, int(cu - half_u) // step * step)
        v0 = max(0, int(cv_ - half_v) // step * step)
        u1, v1 = min(intr.width, int(cu + half_u) + 1), min(intr.height, int(cv_ + half_v) + 1)
        if u1 - u0 < 4 * step or v1 - v0 < 4 * step:
            return None
        return u0, v0, u1, v1

    def _search(self, depth_mm: np.ndarray, intr: Intrinsics, step: int, window,
                prior_mm: np.ndarray | None = None) -> _Found:
        cfg = self.config
        u0, v0, u1, v1 = window
        d = np.ascontiguousarray(depth_mm[v0:v1:step, u0:u1:step], dtype=np.float32)
        # Full-resolution pixels per sample, to express min_hand_pixels on the downsampled grid.
        min_samples = max(3, int(np.ceil(cfg.min_hand_pixels / (step * step))))
        valid = d > 0
        near = (valid & (d < cfg.near_mm)).astype(np.uint8)
        # Something sizeable nearer than near_mm: the hand, too near, unless a hand is found in the band anyway
        # (then it is another object: a cable, a cup in front of the camera).
        too_near = cv2.countNonZero(cv2.erode(near, _KERNEL3)) >= min_samples
        band = valid & (d >= cfg.near_mm) & (d <= cfg.far_mm)
        # Per frame, shared by every object examined: the 3x3 maximum of the band's depth (the robust nearest
        # point), the band without the far side of depth jumps (see _split), and where an object runs on
        # towards the camera out of the band.
        jump = np.float32(cfg.edge_jump_mm)
        robust = cv2.dilate(np.where(band, d, np.float32(np.inf)), _KERNEL3)
        solid = self._split(d, band)
        in_front = valid & (d < np.float32(cfg.near_mm)) & (d >= np.float32(cfg.near_mm) - jump)
        frame = _Frame(d, robust, solid, cv2.dilate(in_front.view(np.uint8), _KERNEL3) > 0, min_samples, step,
                       (u0, v0), intr, prior_mm)
        excluded = np.zeros_like(band)
        surfaces = None
        # Objects are examined nearest first. The first one with a hand at the end of an arm wins (a hand held up
        # is the nearest hand-sized object attached to an arm); the others are excluded and the next nearest
        # tried, the best of them kept in case no arm end turns up (a hand whose arm is hidden, or a ball).
        # A surface (table, wall, the front of a body) loses its dominant plane over the whole image, so that a
        # hand resting on it falls apart from it; a surface without one is excluded whole.
        best = None
        planes_left = _MAX_PLANES
        for _ in range(_MAX_CANDIDATES):
            found = self._examine(frame, band & ~excluded)
            if found is None:
                break
            if isinstance(found, _Found):
                if best is None or found.score < best.score:
                    best = found
                if found.sure:
                    break
                excluded |= found.component
                continue
            kind, component, idx, plane = found
            if plane is not None:
                # Only the plane goes: what stands on it or touches it (a hand on a table) is looked at next.
                on_plane = band & (np.abs(self._plane_depth_gap(d, plane, step, (u0, v0), intr))
                                   < np.float32(cfg.plane_tolerance_mm))
                if planes_left > 0 and cv2.countNonZero((on_plane & ~excluded).view(np.uint8)) >= min_samples:
                    planes_left -= 1
                    excluded |= on_plane
                    continue
            excluded |= component
            if kind == "surface":
                if surfaces is None:
                    surfaces = cv2.connectedComponents(solid.view(np.uint8), connectivity=8)[1]
                if surfaces.flat[idx]:
                    excluded |= surfaces == surfaces.flat[idx]
        else:   # every candidate was tried: too many non-hand objects in front to tell
            if too_near and not (best is not None and best.sure):
                return _Found(TrackingStatus.TOO_NEAR, None)
            return best if best is not None else _Found(TrackingStatus.NO_HAND, None)
        if too_near and not (best is not None and best.sure):
            return _Found(TrackingStatus.TOO_NEAR, None)
        return best if best is not None else self._beyond_far(d, valid, min_samples, step, intr)

    def _split(self, d: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The mask without pixels on the far side of a depth jump, so that objects touching in the image
        (a hand in front of a wall or body) fall apart into separate components. A pixel with a neighbour more
        than edge_jump_mm nearer is dropped; the near side (the silhouette, thin fingers) is kept whole."""
        nearest_neighbour = cv2.erode(np.where(mask, d, np.float32(np.inf)), _KERNEL3)
        return mask & (d - nearest_neighbour <= self.config.edge_jump_mm)

    def _examine(self, frame: _Frame, allowed: np.ndarray):
        """The nearest object among the allowed samples: a _Found hand candidate with its score; or (kind,
        component mask, nearest sample index, plane or None) for an object to exclude, kind 'small' or
        'surface'; or None when nothing is left."""
        cfg = self.config
        d, min_samples, step, origin, intr = frame.d, frame.min_samples, frame.step, frame.origin, frame.intr
        # The robust minimum over the allowed samples: a sample counts when its whole 3x3 neighbourhood is
        # allowed (the frame's 3x3 maximum is then its own), so single flying pixels never win.
        z_near, _, (iu, iv), _ = cv2.minMaxLoc(frame.robust, cv2.erode(allowed.view(np.uint8), _KERNEL3))
        if iu < 0 or not np.isfinite(z_near):
            return None
        idx = iv * d.shape[1] + iu
        # Pixels clearly nearer than the robust minimum are flying pixels: they stay out of the slab.
        slab = allowed & frame.solid & (d >= np.float32(z_near - _FLYING_TOLERANCE_MM)) \
            & (d <= np.float32(z_near + cfg.slab_mm))
        slab.flat[idx] = True     # the nearest sample itself is on a solid surface (robust minimum)
        _, labels = cv2.connectedComponents(slab.view(np.uint8), connectivity=8)
        component = labels == labels.flat[idx]
        flat = np.flatnonzero(component)
        vs, us = np.divmod(flat, d.shape[1])
        if vs.size < min_samples:
            return "small", component, idx, None
        # The object's box (one sample more all round): masks below are computed there only.
        r0, r1 = max(0, int(vs.min()) - 1), min(d.shape[0], int(vs.max()) + 2)
        c0, c1 = max(0, int(us.min()) - 1), min(d.shape[1], int(us.max()) + 2)
        d_box, comp_box = d[r0:r1, c0:c1], component[r0:r1, c0:c1]
        core_box = cv2.erode(comp_box.view(np.uint8), _KERNEL3) > 0
        # Large near hands give thousands of samples; a regular subset gives the same mean, faster.
        thin = max(1, vs.size // _MAX_POINTS + 1)
        if thin > 1:
            vs, us, flat = vs[::thin], us[::thin], flat[::thin]
        z = d[vs, us]
        u_px = us.astype(np.float32) * step + origin[0]
        v_px = vs.astype(np.float32) * step + origin[1]
        points = np.empty((3, vs.size), np.float32)
        np.multiply((u_px - np.float32(intr.cx)) / np.float32(intr.fx), z, out=points[0])
        np.multiply((v_px - np.float32(intr.cy)) / np.float32(intr.fy), z, out=points[1])
        points[2] = z
        # Where the object continues out of view: the image border, the back of the slab (an arm that runs
        # on, without a depth jump, behind the slab's far face towards the body) and the front of the band.
        jump = np.float32(cfg.edge_jump_mm)
        limit = np.float32(z_near + cfg.slab_mm)
        behind = (d_box > limit) & (d_box <= limit + jump)
        exits = comp_box & (d_box >= limit - jump) & (cv2.dilate(behind.view(np.uint8), _KERNEL3) > 0)
        exits_front = comp_box & frame.front[r0:r1, c0:c1]
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
                    plane = self._surface_plane(points, sample_area)
                    if plane is not None:
                        return "surface", component, idx, plane
                else:
                    seed_entry = None
        core = core_box[vb, ub]
        best, surface = None, False
        inner, outer = cfg.hand_reach_mm, cfg.hand_reach_mm + cfg.shell_mm
        enters = bool(on_border.any())
        centres = []
        uv = np.stack((us, vs), axis=1).astype(np.int32)
        sq = squared_norms(points)
        for start in self._seeds(points, sq, us, vs, flat, core, seed_entry, idx):
            centre, inside = mean_shift(points, sq, start, cfg.radius_mm, cfg.reach_mm, cfg.mean_shift_iterations)
            if inside.size * thin < min_samples or any(math.dist(c, centre) < 20.0 for c in centres):
                continue    # too few points, or the same place as an earlier seed (within 20 mm)
            centres.append(centre)
            if fills_disc(inside.size * thin, centre, cfg.radius_mm, intr.fx, intr.fy, intr.cx, intr.cy, step,
                          origin, d.shape, cfg.max_fill_fraction):
                surface = True     # a wall or desk filling the ball
                continue
            d2 = dist2(points, centre, sq)
            crossing, sidedness = arm_crossing(d2, points, sq, centre, inner, outer, _MIN_CROSSING_SAMPLES)
            # Hand-likeness, lower is better; every term is a property of hands, not of this frame:
            # a hand is not convex (fingers and the gaps between them; a ball, a box, an elbow or the rounded
            # end of an upper arm is), is held nearer than the rest, hangs on an arm (that crosses the shell or
            # leaves the view), is an end (not the middle of an arm, not a surface running on all round), is
            # hand-sized, and its arm leaves the view beyond the hand, not within it (an elbow at the border).
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
            if frame.prior_mm is not None:
                # Tracking: the hand moves little between frames, so nearness to where it was counts, and an
                # arm end far from there is no reason to stop looking.
                moved_mm = float(np.sqrt(np.sum((centre - frame.prior_mm) ** 2)))
                score += cfg.prior_weight_per_mm * moved_mm
                sure = sure and moved_mm < cfg.hand_reach_mm
            if best is None or score < best[0]:
                best = (score, sure, not_end, centre, inside)
        if best is None or (surface and not best[1]):
            plane = self._surface_plane(points, sample_area) if surface else None
            if best is None or plane is not None:
                return ("surface" if surface else "small"), component, idx, plane
        score, sure, _, centre, inside = best
        centre = centre + centre / np.linalg.norm(centre) * cfg.surface_offset_mm
        cu = intr.fx * centre[0] / centre[2] + intr.cx
        cv_ = intr.fy * centre[1] / centre[2] + intr.cy
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
        return _Found(status, (float(cu), float(cv_), float(centre[2])), box, score, sure, component, idx)

    @staticmethod
    def _seeds(points: np.ndarray, sq: np.ndarray, us: np.ndarray, vs: np.ndarray, flat: np.ndarray,
               core: np.ndarray, on_border: np.ndarray | None, nearest_idx: int) -> list[np.ndarray]:
        """Where the hand may be: the free ends of the object. When the component touches the border of the
        search image (or runs on out of the slab) an arm enters there, and the hand is the point farthest, in
        the image plane, from where it enters. Otherwise the nearest point (a hand held towards the camera, or
        its arm outside the slab), and the far end seen from it (an arm lying across the view, its hand not
        the nearest part); then the far end seen from the first one. Only core points (the component eroded by one sample) are candidates: edge fringes
        and flying pixels behind the silhouette would otherwise be the farthest points."""
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
        # The other end, seen from there (in mm): an arm that bends or runs on out of view has two ends.
        other = int(np.argmax(np.where(core, dist2(points, points[:, far], sq), np.float32(-1.0))))
        columns = points[:, [far, nearest, other]].T.astype(np.float64)
        seeds = [columns[0]]
        for c in columns[1:]:
            if all(math.dist(c, s) > 60.0 for s in seeds):   # a seed 60 mm from the others
                seeds.append(c)
        return seeds

    def _surface_plane(self, points: np.ndarray, sample_area: np.float32):
        """The dominant plane of a surface-like object, when it is a large flat surface (table, wall, front of a
        body): at least min_plane_area_mm2 of it within plane_tolerance_mm (area seen by the camera, a lower
        bound of the true one). None otherwise. sample_area * z^2: the area one sample covers at depth z."""
        cfg = self.config
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

    @staticmethod
    def _plane_depth_gap(d: np.ndarray, plane, step: int, origin, intr: Intrinsics) -> np.ndarray:
        """Distance (mm, signed) of every sample's 3-D point from the plane n . X = c."""
        (nx, ny, nz), c = plane
        h, w = d.shape
        ray_u = (np.arange(w, dtype=np.float32) * step + origin[0] - np.float32(intr.cx)) / np.float32(intr.fx)
        ray_v = (np.arange(h, dtype=np.float32) * step + origin[1] - np.float32(intr.cy)) / np.float32(intr.fy)
        along = np.float32(nx) * ray_u[None, :] + np.float32(ny) * ray_v[:, None] + np.float32(nz)
        return d * along - np.float32(c)

    def _beyond_far(self, d, valid, min_samples, step, intr: Intrinsics) -> _Found:
        """Nothing in the band: TOO_FAR when a compact (hand-sized, not wall-sized) object lies just beyond it."""
        cfg = self.config
        beyond = valid & (d > cfg.far_mm) & (d <= cfg.far_mm + cfg.too_far_margin_mm)
        d_far = cv2.dilate(np.where(beyond, d, np.float32(np.inf)), _KERNEL3)
        idx = int(np.argmin(d_far))
        z_near = float(d_far.flat[idx])
        if not np.isfinite(z_near):
            return _Found(TrackingStatus.NO_HAND, None)
        slab = (beyond & (d <= z_near + cfg.cube_mm)).astype(np.uint8)
        _, labels, stats, _ = cv2.connectedComponentsWithStats(slab, connectivity=8)
        x, y, w, h, area = stats[labels.flat[idx]]
        extent_mm = max(w, h) * step * z_near / min(intr.fx, intr.fy)
        if area >= min_samples * (z_near / cfg.far_mm) ** -2 * 0.5 and extent_mm < 3.0 * cfg.cube_mm:
            return _Found(TrackingStatus.TOO_FAR, None)
        return _Found(TrackingStatus.NO_HAND, None)

    # ---- mask ---------------------------------------------------------------------------------------------
    def _mask(self, depth_mm: np.ndarray, intr: Intrinsics, centre_uvz, box_px) -> np.ndarray:
        """Full-resolution pixels whose 3-D point lies within cube_mm / 2 of the centre, computed only inside
        the box of the hand's samples (a sample step around it). The ball is the one inscribed in the crop
        cube: what the network sees of the hand."""
        r = 0.5 * self.config.cube_mm
        cu, cv_, cz = centre_uvz
        u0, v0, u1, v1 = box_px
        mask = np.zeros(depth_mm.shape, dtype=bool)
        if u1 <= u0 or v1 <= v0:
            return mask
        z = depth_mm[v0:v1, u0:u1].astype(np.float32)
        cx_mm = (cu - intr.cx) * cz / intr.fx
        cy_mm = (cv_ - intr.cy) * cz / intr.fy
        dx = (np.arange(u0, u1, dtype=np.float32) - np.float32(intr.cx)) / np.float32(intr.fx)
        dy = (np.arange(v0, v1, dtype=np.float32) - np.float32(intr.cy)) / np.float32(intr.fy)
        dist2 = (z * dx[None, :] - cx_mm) ** 2 + (z * dy[:, None] - cy_mm) ** 2 + (z - cz) ** 2
        mask[v0:v1, u0:u1] = (dist2 < r * r) & (z > 0)
        return mask

