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

from dataclasses import dataclass

import cv2
import numpy as np

from app.camera import Intrinsics
from app.errors import InputError
from app.types import HandLocation, TrackingStatus

_TARGET_WIDTH_PX = 160      # width of the downsampled search image
_KERNEL3 = np.ones((3, 3), np.uint8)
_BORDER_SAMPLES = 4         # "at the border" for the nearest point of a surface, in samples
_MAX_CANDIDATES = 6         # objects tried, nearest first, before giving up
_MAX_POINTS = 2500          # mean-shift samples (more adds time, not accuracy)
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
    max_solidity: float = 0.85
    edge_jump_mm: float = 40.0
    too_far_margin_mm: float = 500.0
    reach_mm: float = 120.0
    mean_shift_iterations: int = 6
    compute_mask: bool = True

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
class _Found:
    """A located hand inside a (sub)image: centre in full-image (u_px, v_px, z_mm) and status."""

    status: TrackingStatus
    centre_uvz: tuple[float, float, float] | None
    box_px: tuple[int, int, int, int] | None = None   # (u0, v0, u1, v1) of the hand's samples, exclusive end
    solidity: float = 0.0   # share of its silhouette's convex hull that the object fills (hands: 0.6-0.9)
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
                found = self._search(depth_mm, intr, step, window)
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

    def _search(self, depth_mm: np.ndarray, intr: Intrinsics, step: int, window) -> _Found:
        cfg = self.config
        u0, v0, u1, v1 = window
        d = np.ascontiguousarray(depth_mm[v0:v1:step, u0:u1:step], dtype=np.float32)
        # Full-resolution pixels per sample, to express min_hand_pixels on the downsampled grid.
        min_samples = max(3, int(np.ceil(cfg.min_hand_pixels / (step * step))))
        valid = d > 0
        near = (valid & (d < cfg.near_mm)).astype(np.uint8)
        if cv2.countNonZero(cv2.erode(near, _KERNEL3)) >= min_samples:
            return _Found(TrackingStatus.TOO_NEAR, None)
        band = valid & (d >= cfg.near_mm) & (d <= cfg.far_mm)
        excluded = np.zeros_like(band)
        surfaces = None
        # A nearest object that is no hand (a speck, a cable, a table or wall) is excluded and the next
        # nearest one tried; a surface is excluded whole, beyond the slab it was found in.
        # A convex blob (ball, box, bottle, mug: fills its hull) is kept as a fallback while the objects behind
        # it are tried for one shaped like a hand (fingers and the gaps between them leave the hull part empty).
        fallback = None
        for _ in range(_MAX_CANDIDATES):
            found = self._nearest_component(d, band & ~excluded, min_samples, step, (u0, v0), intr)
            if found is None:
                break
            if isinstance(found, _Found):
                if found.centre_uvz is None or found.solidity <= cfg.max_solidity:
                    return found
                fallback = fallback or found
                found = ("blob", found.component, found.nearest_idx)
            kind, component, idx = found
            excluded |= component
            if kind == "surface":
                if surfaces is None:
                    surfaces = cv2.connectedComponents(self._split(d, band).astype(np.uint8), connectivity=8)[1]
                if surfaces.flat[idx]:
                    excluded |= surfaces == surfaces.flat[idx]
        else:   # every candidate was tried: too many non-hand objects in front to tell
            return fallback if fallback is not None else _Found(TrackingStatus.NO_HAND, None)
        return fallback if fallback is not None else self._beyond_far(d, valid, min_samples, step, intr)

    def _split(self, d: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The mask without pixels on the far side of a depth jump, so that objects touching in the image
        (a hand in front of a wall or body) fall apart into separate components. A pixel with a neighbour more
        than edge_jump_mm nearer is dropped; the near side (the silhouette, thin fingers) is kept whole."""
        nearest_neighbour = cv2.erode(np.where(mask, d, np.float32(np.inf)), _KERNEL3)
        return mask & (d - nearest_neighbour <= self.config.edge_jump_mm)

    def _nearest_component(self, d, band, min_samples, step, origin, intr: Intrinsics):
        """_Found; or (kind, component mask, nearest sample index) for an object to exclude, kind 'small' or
        'surface'; or None when the band is empty."""
        cfg = self.config
        d_band = np.where(band, d, np.float32(np.inf))
        robust = cv2.dilate(d_band, _KERNEL3)   # max over 3x3: only solid surfaces can be the minimum
        idx = int(np.argmin(robust))
        z_near = float(robust.flat[idx])
        if not np.isfinite(z_near):
            return None
        # Pixels clearly nearer than the robust minimum are flying pixels: they stay out of the slab.
        slab = self._split(d, band & (d >= z_near - _FLYING_TOLERANCE_MM) & (d <= z_near + cfg.slab_mm))
        if not slab.flat[idx]:
            slab.flat[idx] = True     # the nearest sample itself is on a solid surface (robust minimum)
        _, labels = cv2.connectedComponents(slab.astype(np.uint8), connectivity=8)
        component = labels == labels.flat[idx]
        vs, us = np.nonzero(component)
        if vs.size < min_samples:
            return "small", component, idx
        # Large near hands give thousands of samples; a regular subset gives the same mean, faster.
        thin = max(1, vs.size // _MAX_POINTS + 1)
        if thin > 1:
            vs, us = vs[::thin], us[::thin]
        z = d[vs, us]
        u_px = us.astype(np.float32) * step + origin[0]
        v_px = vs.astype(np.float32) * step + origin[1]
        points = np.empty((3, vs.size), np.float32)    # (3, N) rows x, y, z in mm: vector ops per row are fast
        np.multiply((u_px - np.float32(intr.cx)) / np.float32(intr.fx), z, out=points[0])
        np.multiply((v_px - np.float32(intr.cy)) / np.float32(intr.fy), z, out=points[1])
        points[2] = z
        # Where the object continues out of view: the image border, and the back of the slab (an arm that
        # runs on, without a depth jump, behind the slab's far face towards the body).
        jump = np.float32(cfg.edge_jump_mm)
        limit = np.float32(z_near + cfg.slab_mm)
        behind = (d > limit) & (d <= limit + jump)
        in_front = (d > 0) & (d < np.float32(cfg.near_mm)) & (d >= np.float32(cfg.near_mm) - jump)
        exits = component & (d >= limit - jump) & (cv2.dilate(behind.astype(np.uint8), _KERNEL3) > 0)
        exits_front = component & (cv2.dilate(in_front.astype(np.uint8), _KERNEL3) > 0)
        on_border = (us == 0) | (vs == 0) | (us == d.shape[1] - 1) | (vs == d.shape[0] - 1)
        on_border |= exits[vs, us] | exits_front[vs, us]
        if on_border.any():
            entry = points[:, on_border]
            if float(np.linalg.norm(entry.max(axis=1) - entry.min(axis=1))) > cfg.max_arm_width_mm:
                # Enters the image wider than any forearm: a body or a surface. When its nearest point is at
                # the border too, or it runs on towards the camera out of the band, it is a table or wall
                # running out of view: not a hand. Otherwise the hand is its nearest part (a hand in front of
                # the body), not its far end.
                iv, iu = divmod(idx, d.shape[1])
                m = _BORDER_SAMPLES   # a few samples: the outermost rows are often missing depth
                if iv < m or iu < m or iv >= d.shape[0] - m or iu >= d.shape[1] - m or exits_front.any():
                    return "surface", component, idx
                on_border = np.zeros_like(on_border)
        core = cv2.erode(component.astype(np.uint8), _KERNEL3)[vs, us] > 0
        start = self._extremity(points, us, vs, core, on_border, idx, d.shape[1])
        centre, inside = self._mean_shift(points, start, cfg.reach_mm)
        if inside.size * thin < min_samples:
            return "small", component, idx
        if self._fills_ball(inside.size * thin, centre, step, origin, d.shape, intr):
            return "surface", component, idx   # a wall or desk filling the ball
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
        seen = _dist2(points, centre) < np.float32((0.5 * cfg.cube_mm) ** 2)
        box = (max(0, int(u_px[seen].min()) - step), max(0, int(v_px[seen].min()) - step),
               min(intr.width, int(u_px[seen].max()) + step + 1), min(intr.height, int(v_px[seen].max()) + step + 1))
        return _Found(status, (float(cu), float(cv_), float(centre[2])), box, _solidity(us[inside], vs[inside], thin),
                      component, idx)

    @staticmethod
    def _extremity(points: np.ndarray, us: np.ndarray, vs: np.ndarray, core: np.ndarray, on_border: np.ndarray,
                   nearest_idx: int, width: int) -> np.ndarray:
        """Where the hand is: the free end of the object. When the component touches the border of the search
        image an arm enters there, and the hand is the point farthest, in the image plane, from where it
        enters; otherwise the nearest point (a hand held towards the camera, or its arm outside the slab).
        Only core points (the component eroded by one sample) are candidates: edge fringes and flying pixels
        behind the silhouette would otherwise be the farthest points."""
        if on_border.any() and core.any():
            # Image-plane distance in sample units: what the image shows, blind to depth noise at the edges.
            du = us - us[on_border].mean()
            dv = vs - vs[on_border].mean()
            return points[:, int(np.argmax(np.where(core, du * du + dv * dv, -1.0)))].astype(np.float64)
        iv, iu = divmod(nearest_idx, width)
        hits = np.flatnonzero((vs == iv) & (us == iu))
        if hits.size == 0:   # the nearest sample was thinned out: take the nearest remaining one
            hits = [int(np.argmin(points[2]))]
        return points[:, int(hits[0])].astype(np.float64)

    def _mean_shift(self, points: np.ndarray, start: np.ndarray, reach_mm: float):
        """Flat-kernel mean-shift of a ball over the points within reach_mm of the hand's free end: the cap
        keeps a dense forearm from pulling the ball along the arm. points: (3, N) mm. Returns the centre (3,)
        and the indices of the points inside the final ball."""
        cfg = self.config
        reach = np.flatnonzero(_dist2(points, start) < reach_mm ** 2)
        points = points[:, reach]
        r2 = np.float32(cfg.radius_mm ** 2)
        centre = start
        inside = _dist2(points, centre) < r2
        for _ in range(cfg.mean_shift_iterations):
            count = np.count_nonzero(inside)
            if count == 0:
                break
            new_centre = (points @ inside.astype(np.float32)).astype(np.float64) / count
            moved = float(np.linalg.norm(new_centre - centre))
            centre = new_centre
            inside = _dist2(points, centre) < r2
            if moved < 0.5:
                break
        return centre, reach[inside]

    def _fills_ball(self, samples_inside: int, centre: np.ndarray, step: int, origin, shape,
                    intr: Intrinsics) -> bool:
        """A hand covers about a third of the disc the ball projects to; a wall or desk covers all of it. The
        disc is clipped to the search image, so a wall is recognised wherever the ball sits."""
        r_samples = self.config.radius_mm / centre[2] * np.sqrt(intr.fx * intr.fy) / step
        cu = (intr.fx * centre[0] / centre[2] + intr.cx - origin[0]) / step
        cv_ = (intr.fy * centre[1] / centre[2] + intr.cy - origin[1]) / step
        h, w = shape
        u = np.arange(max(0, int(cu - r_samples)), min(w, int(cu + r_samples) + 1)) - cu
        v = np.arange(max(0, int(cv_ - r_samples)), min(h, int(cv_ + r_samples) + 1)) - cv_
        disc = np.count_nonzero(u[None, :] ** 2 + v[:, None] ** 2 <= r_samples ** 2)
        return samples_inside > self.config.max_fill_fraction * max(disc, 1)

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


def _dist2(points: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Squared distances (N,) of (3, N) float32 points from a 3-vector, row by row (no (3, N) temporaries)."""
    dx = points[0] - np.float32(centre[0])
    dy = points[1] - np.float32(centre[1])
    dz = points[2] - np.float32(centre[2])
    return dx * dx + dy * dy + dz * dz


def _solidity(us: np.ndarray, vs: np.ndarray, thin: int = 1) -> float:
    """Samples (each standing for `thin` when thinned) / lattice points of their convex hull (Pick's theorem:
    area + boundary / 2 + 1), in [0, 1]."""
    if us.size < 3:
        return 1.0
    hull = cv2.convexHull(np.stack([us, vs], axis=1).astype(np.int32))
    area = cv2.contourArea(hull)
    boundary = cv2.arcLength(hull, True)
    return float(min(1.0, us.size * thin / (area + boundary / 2.0 + 1.0)))
