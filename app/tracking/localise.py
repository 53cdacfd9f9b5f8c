"""Find the hand in a depth frame without ground truth: centre (u_px, v_px, z_mm), a hand mask and a status.

Method (on a depth image downsampled by striding to about 160 px wide; the mask is then computed at full
resolution inside the hand's box only):
1. Objects are examined nearest first (app.tracking.hand_candidates). The nearest point is taken after a 3x3
   max filter, so single flying pixels and thin edge fringes never win; the object is its connected component
   within a depth slab behind that point, split at depth jumps (a hand in front of a body or a wall is a
   different object from them).
2. On each object the free ends (far from where it enters the view, the nearest point, the far end from
   there) are mean-shifted into a ball of ball_radius_mm and scored as hands by shape in mm
   (app.tracking.hand_shape): convexity, nearness, an arm attached (crossing a shell beyond the fingers' reach,
   or leaving the view), an end rather than the middle of an arm or a surface, a hand-sized area, an elbow
   at the border; when tracking, closeness to the previous centre. The first sure hand (a hand-shaped free
   end of an arm) ends the search; else the best of up to six objects wins (a ball or a box only when
   nothing better is seen).
3. A large flat surface (table, wall, front of a body) loses its dominant plane over the whole image, so a
   hand resting on it or touching it is seen on its own; a curved surface is excluded whole.
4. The centre is pushed surface_offset_mm along the viewing ray (the visible surface is the front of the hand).
5. Status: TOO_NEAR (a sizeable object nearer than near_mm and no sure hand in the band), TOO_FAR (nothing in
   the band but a hand-sized object just beyond it), NO_HAND (nothing hand-like), AT_BORDER (the hand's points
   reach the image border, so the hand is cut off; a crop box that merely runs off the image is normal at
   short range and is padded by the crop), else TRACKING.
Tracking: with previous_centre_uvz the search first runs in a window around the previous centre (it keeps the
same hand when another object comes nearer elsewhere, and is cheaper), scoring distance from that centre;
it falls back to the whole image.
More hands (locate_hands): the first is locate()'s. Each further one is looked for, nearest first as above,
after the hands already found have claimed their samples (their fingers within hand_claim_radius_mm and the
surface they lie on without a depth jump: wrist, forearm, elbow; hand_candidates.claimed_by_hands), in a band
that ends further_hand_depth_gap_mm behind the nearest hand found, and must lie min_hand_separation_mm from each
of them. Found anew (no previous centre for it) it must be a sure hand or hand-shaped by the score's shape terms
alone (further_hand_max_shape_score: rejects the lone convex objects, balls, boxes, elbows, that the one-hand
search only passes over when something better is seen); when tracking, the best candidate within hand_reach_mm
of its previous centre (the same rule as the first hand's) is taken, and the claim of a found hand stops half-way
to that centre, so that two touching hands keep apart.

Imports numpy, cv2 and app foundation only.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from app.camera import Intrinsics, extent_px, ray_slopes, unproject_point
from app.config import LocaliserConfig
from app.errors import InputError
from app.tracking.hand_candidates import (KERNEL3, Candidate, SearchImage, claimed_by_hands, examine,
                                          plane_gap_mm, split_at_jumps)
from app.types import HandLocation, TrackingStatus

_TARGET_WIDTH_PX = 160      # width of the downsampled search image
_MAX_CANDIDATES = 6         # objects tried, nearest first, before giving up
_MAX_PLANES = 2             # planes removed per search (a table and a wall or the front of a body)
_NEW_HAND_COARSENING = 2    # a further hand found anew is looked for on a search image this much coarser
_MAX_NON_HANDS = 2          # locate_hands with presence: places that are no hand taken besides max_hands hands


class HandLocaliser:
    """Stateless hand finder (the caller keeps the previous centre). Safe to share between threads."""

    def __init__(self, config: LocaliserConfig | None = None) -> None:
        self.config = config if config is not None else LocaliserConfig()

    def locate(self, depth_mm: np.ndarray, intr: Intrinsics,
               previous_centre_uvz: tuple[float, float, float] | None = None) -> HandLocation:
        """depth_mm: H x W float32 millimetres (0 = invalid); intr: the frame's intrinsics; previous_centre_uvz:
        last frame's centre to track from, or None for a global search."""
        return self._location(depth_mm, intr, self.find_first(depth_mm, intr, previous_centre_uvz))

    def find_first(self, depth_mm: np.ndarray, intr: Intrinsics,
                   previous_centre_uvz: tuple[float, float, float] | None = None) -> Candidate:
        """The first place locate_hands finds (what locate() finds) for previous_centres[0], as a candidate to
        give it later (first=): a caller can start on that hand while the further places are looked for."""
        return self._find_first(depth_mm, intr, self._sample_step(depth_mm, intr), previous_centre_uvz)

    def locate_hands(self, depth_mm: np.ndarray, intr: Intrinsics, max_hands: int,
                     previous_centres: tuple = (), search_new: bool = True, presence=None,
                     min_presence: float = 0.5, coarse_new: bool = False,
                     first: Candidate | None = None) -> list[HandLocation]:
        """Up to max_hands hands, none overlapping another. previous_centres: last frame's hand centres (u_px,
        v_px, z_mm), in any order, to track from (() for a global search). The first entry is exactly what
        locate() gives for previous_centres[0] (a hand, or only a status such as NO_HAND: then it is the only
        entry). Every further entry is a hand (centre and mask), found after the hands before it have claimed
        their samples (hand_candidates.claimed_by_hands), near the first previous centre that no hand found so
        far explains (_unexplained), else by a global search (only with search_new: without it, further hands are
        looked for near the previous centres only, which is cheaper); it must be hand-shaped (_is_further_hand)
        and lie at most further_hand_depth_gap_mm behind the nearest hand found.
        presence: None, or a function scoring a centre (u_px, v_px, z_mm) as the probability that a hand is there
        (app.tracking.presence): every place found is then scored (HandLocation.presence; the first one only
        when more places are looked for, else None). A further hand found
        anew must then score at least min_presence (instead of the shape test); a place scoring below it (a
        forearm or an elbow tracked from the last frame, or the first place) claims only the samples near it,
        not its arm (the hand at the arm's end can still be found), and does not count towards max_hands (up to
        _MAX_NON_HANDS more places are taken). coarse_new: a further hand found anew (no previous centre) is
        looked for on a search image _NEW_HAND_COARSENING times coarser: about a third of the cost, for a second
        hand coming into view while one is tracked (found, it is tracked at full resolution from the next frame).
        first: find_first's candidate for these depth and previous centres when the caller has it already."""
        if max_hands < 1:
            raise InputError(f"localiser: max_hands must be >= 1, got {max_hands}")
        step = self._sample_step(depth_mm, intr)
        previous = [p for p in previous_centres if p is not None and p[2] > 0]
        scored: dict[tuple, float] = {}

        def score(centre_uvz) -> float | None:
            if presence is None or centre_uvz is None:
                return None
            if centre_uvz not in scored:
                scored[centre_uvz] = float(presence(centre_uvz))
            return scored[centre_uvz]

        def counts(s: float | None) -> bool:   # a place counts as a hand unless scored below min_presence
            return s is None or s >= min_presence

        likely = None if presence is None else (lambda centre_uvz: counts(score(centre_uvz)))

        hands = [first if first is not None else
                 self._find_first(depth_mm, intr, step, previous_centres[0] if previous_centres else None)]
        found_mm = () if hands[0].centre_uvz is None else (centre_mm(hands[0].centre_uvz, intr),)
        pending = self._unexplained(previous, found_mm, intr)
        # The first place is scored only when more are looked for (what it claims depends on it).
        more = bool(found_mm) and max_hands > 1 and (search_new or bool(pending))
        scores = [score(hands[0].centre_uvz) if more else None]
        while hands[-1].centre_uvz is not None and sum(map(counts, scores)) < max_hands \
                and len(hands) < max_hands + _MAX_NON_HANDS:
            if not (pending or search_new):
                break
            further = self._find_further(depth_mm, intr, step, pending[0] if pending else None, found_mm,
                                         search_new, tuple(map(counts, scores)), likely, coarse_new)
            if further.centre_uvz is None:
                break
            hands.append(further)
            scores.append(score(further.centre_uvz))
            found_mm += (centre_mm(further.centre_uvz, intr),)
            pending = self._unexplained(previous, found_mm, intr)
        return [self._location(depth_mm, intr, h, s) for h, s in zip(hands, scores)]

    def _unexplained(self, previous_centres: list, found_mm: tuple[np.ndarray, ...], intr: Intrinsics) -> list:
        """The previous centres (u_px, v_px, z_mm) whose hands are still to be found: each found hand explains
        the nearest previous centre within hand_reach_mm of it that no hand before it explained."""
        pending = list(previous_centres)
        for f in found_mm:
            gaps = [math.dist(centre_mm(p, intr), f) for p in pending]
            if gaps and min(gaps) < self.config.hand_reach_mm:
                pending.pop(gaps.index(min(gaps)))
        return pending

    def _sample_step(self, depth_mm: np.ndarray, intr: Intrinsics) -> int:
        """Full-resolution pixels per sample of the search image; InputError when the depth image does not match
        the intrinsics."""
        if depth_mm.ndim != 2 or depth_mm.shape != (intr.height, intr.width):
            raise InputError(f"localiser: depth is {depth_mm.shape}, intrinsics say {intr.height}x{intr.width}")
        return max(1, int(round(intr.width / _TARGET_WIDTH_PX)))

    def _find_first(self, depth_mm: np.ndarray, intr: Intrinsics, step: int, previous_centre_uvz) -> Candidate:
        """The one hand of locate()."""
        return self._near_previous_first(
            intr, step, previous_centre_uvz,
            lambda window, prior_mm: self._search(depth_mm, intr, step, window, prior_mm))

    def _find_further(self, depth_mm: np.ndarray, intr: Intrinsics, step: int, previous_centre_uvz,
                      found_mm: tuple[np.ndarray, ...], search_new: bool = True, hands: tuple | None = None,
                      likely=None, coarse_new: bool = False) -> Candidate:
        """One more hand besides the places at found_mm (camera-frame centres, mm); hands: whether each of them
        is a hand (None: all); likely: None, or whether a hand found anew is one (by its centre); coarse_new:
        look for a hand found anew on a search image _NEW_HAND_COARSENING times coarser (cheaper)."""
        coarse_step = step * _NEW_HAND_COARSENING if coarse_new else step   # for a hand found anew only
        return self._near_previous_first(
            intr, step, previous_centre_uvz,
            lambda window, prior_mm: self._search_further(
                depth_mm, intr, step if prior_mm is not None else coarse_step, window, found_mm, prior_mm, hands,
                likely),
            search_new)

    def _near_previous_first(self, intr: Intrinsics, step: int, previous_centre_uvz, search,
                             search_new: bool = True) -> Candidate:
        """search(window, prior_mm) in a window around the previous centre (u_px, v_px, z_mm) when tracking;
        over the whole image without one, or when nothing is found there (unless search_new is False)."""
        if previous_centre_uvz is not None and previous_centre_uvz[2] > 0:
            window = self._window(previous_centre_uvz, intr, step)
            if window is not None:
                found = search(window, centre_mm(previous_centre_uvz, intr))
                if found.centre_uvz is not None or not search_new:
                    return found
        if not search_new:
            return Candidate(TrackingStatus.NO_HAND, None)
        return search((0, 0, intr.width, intr.height), None)

    def _location(self, depth_mm: np.ndarray, intr: Intrinsics, found: Candidate,
                  presence: float | None = None) -> HandLocation:
        mask = None
        if found.centre_uvz is not None and self.config.compute_mask:
            mask = self._mask(depth_mm, intr, found.centre_uvz, found.box_px)
        return HandLocation(found.status, found.centre_uvz, mask, presence)

    # ---- search -------------------------------------------------------------------------------------------
    def _window(self, centre_uvz, intr: Intrinsics, step: int) -> tuple[int, int, int, int] | None:
        """Pixel window (u0, v0, u1, v1) around the previous centre: the crop box grown by half (hands move
        up to ~60 mm between frames at 30 Hz), aligned to the sampling step."""
        cu, cv_, cz = centre_uvz
        half_u, half_v = extent_px(0.75 * self.config.cube_mm, cz, intr)
        u0 = max(0, int(cu - half_u) // step * step)
        v0 = max(0, int(cv_ - half_v) // step * step)
        u1, v1 = min(intr.width, int(cu + half_u) + 1), min(intr.height, int(cv_ + half_v) + 1)
        if u1 - u0 < 4 * step or v1 - v0 < 4 * step:
            return None
        return u0, v0, u1, v1

    def _search_image(self, depth_mm: np.ndarray, intr: Intrinsics, step: int, window,
                      prior_mm: np.ndarray | None) -> tuple[SearchImage, np.ndarray, np.ndarray, bool]:
        """The downsampled search image of the window and what every object examined in it shares; also the
        band (samples between near_mm and far_mm), the valid samples, and whether something sizeable is nearer
        than near_mm."""
        cfg = self.config
        u0, v0, u1, v1 = window
        d = np.ascontiguousarray(depth_mm[v0:v1:step, u0:u1:step], dtype=np.float32)
        # Full-resolution pixels per sample, to express min_hand_pixels on the downsampled grid.
        min_samples = max(3, int(np.ceil(cfg.min_hand_pixels / (step * step))))
        valid = d > 0
        near = (valid & (d < cfg.near_mm)).astype(np.uint8)
        # Something sizeable nearer than near_mm: the hand, too near, unless a hand is found in the band anyway
        # (then it is another object: a cable, a cup in front of the camera).
        too_near = cv2.countNonZero(cv2.erode(near, KERNEL3)) >= min_samples
        band = valid & (d >= cfg.near_mm) & (d <= cfg.far_mm)
        # Per frame, shared by every object examined: the 3x3 maximum of the band's depth (the robust nearest
        # point), the band without the far side of depth jumps (split_at_jumps), and where an object runs on
        # towards the camera out of the band.
        jump = np.float32(cfg.edge_jump_mm)
        robust = cv2.dilate(np.where(band, d, np.float32(np.inf)), KERNEL3)
        solid = split_at_jumps(d, band, cfg.edge_jump_mm)
        in_front = valid & (d < np.float32(cfg.near_mm)) & (d >= np.float32(cfg.near_mm) - jump)
        image = SearchImage(d, robust, solid, cv2.dilate(in_front.view(np.uint8), KERNEL3) > 0, min_samples,
                            step, (u0, v0), intr, prior_mm)
        return image, band, valid, too_near

    def _search(self, depth_mm: np.ndarray, intr: Intrinsics, step: int, window,
                prior_mm: np.ndarray | None = None) -> Candidate:
        image, band, valid, too_near = self._search_image(depth_mm, intr, step, window, prior_mm)
        best, tried_all = self._examine_objects(image, band, np.zeros_like(band))
        if too_near and not (best is not None and best.sure):
            return Candidate(TrackingStatus.TOO_NEAR, None)
        if best is not None:
            return best
        if tried_all:   # too many non-hand objects in front to tell
            return Candidate(TrackingStatus.NO_HAND, None)
        return self._beyond_far(image.d, valid, image.min_samples, step, intr)

    def _search_further(self, depth_mm: np.ndarray, intr: Intrinsics, step: int, window,
                        found_mm: tuple[np.ndarray, ...], prior_mm: np.ndarray | None = None,
                        hands: tuple | None = None, likely=None) -> Candidate:
        """One more hand in the window, besides the places at found_mm (hands: whether each is a hand, None:
        all): the band ends further_hand_depth_gap_mm behind the nearest hand (what lies far behind the hands is
        an elbow, an upper arm or the body), the found places' samples are claimed (hand_candidates.
        claimed_by_hands: a hand's with its arm, a place that is no hand only near it), and only a further hand
        counts (_is_further_hand). NO_HAND when there is none."""
        image, band, _, _ = self._search_image(depth_mm, intr, step, window, prior_mm)
        hands = hands if hands is not None else (True,) * len(found_mm)
        nearest_mm = min(float(c[2]) for c, h in zip(found_mm, hands) if h) if any(hands) \
            else min(float(c[2]) for c in found_mm)
        band &= image.d <= np.float32(nearest_mm + self.config.further_hand_depth_gap_mm)
        claimed = claimed_by_hands(image, band, found_mm, self.config, prior_mm, hands)
        best, _ = self._examine_objects(image, band, claimed,
                                        lambda c: self._is_further_hand(c, image, found_mm, likely))
        return best if best is not None else Candidate(TrackingStatus.NO_HAND, None)

    def _is_further_hand(self, found: Candidate, image: SearchImage, found_mm: tuple[np.ndarray, ...],
                         likely=None) -> bool:
        """A hand besides those at found_mm: at least min_hand_separation_mm from each of them (not a piece of
        one of them); when tracking, within hand_reach_mm of where this hand was; found anew, likely to be a
        hand by the presence model (likely(centre)), or without one a sure hand or hand-shaped (shape score at
        most further_hand_max_shape_score: a lone convex object, a box, a ball or an elbow, scores more)."""
        cfg = self.config
        here = centre_mm(found.centre_uvz, image.intr)
        if any(np.linalg.norm(here - c) < cfg.min_hand_separation_mm for c in found_mm):
            return False
        if image.prior_mm is not None:
            return bool(np.linalg.norm(here - image.prior_mm) < cfg.hand_reach_mm)
        if likely is not None:
            return bool(likely(found.centre_uvz))
        return found.sure or found.shape_score <= cfg.further_hand_max_shape_score

    def _examine_objects(self, image: SearchImage, band: np.ndarray, excluded: np.ndarray,
                         accept=None) -> tuple[Candidate | None, bool]:
        """Objects are examined nearest first. The first sure hand (a hand-shaped free end of an arm) wins; other
        objects are excluded and the next nearest tried, the best-scored kept in case no sure hand turns up
        (a hand whose arm is hidden, or only a ball). A surface (table, wall, the front of a body) loses its
        dominant plane over the whole image, so that a hand resting on it falls apart from it; a surface
        without one is excluded whole. excluded: samples not to look at (updated in place); accept(candidate):
        whether a candidate may be chosen at all (None: every one). Returns the best candidate (or None) and
        whether every one of _MAX_CANDIDATES objects was tried."""
        cfg = self.config
        d, step, origin, intr = image.d, image.step, image.origin, image.intr
        surfaces = None
        best = None
        planes_left = _MAX_PLANES
        for _ in range(_MAX_CANDIDATES):
            found = examine(image, band & ~excluded, cfg)
            if found is None:
                return best, False
            if isinstance(found, Candidate):
                if accept is None or accept(found):
                    if best is None or found.score < best.score:
                        best = found
                    if found.sure:
                        return best, False
                excluded |= found.component
                continue
            if found.plane is not None:
                # Only the plane goes: what stands on it or touches it (a hand on a table) is looked at next.
                on_plane = band & (np.abs(plane_gap_mm(d, found.plane, step, origin, intr))
                                   < np.float32(cfg.plane_tolerance_mm))
                if planes_left > 0 and cv2.countNonZero((on_plane & ~excluded).view(np.uint8)) >= image.min_samples:
                    planes_left -= 1
                    excluded |= on_plane
                    continue
            excluded |= found.component
            if found.kind == "surface":     # no plane to take away: the whole connected surface goes
                if surfaces is None:
                    surfaces = cv2.connectedComponents(image.solid.view(np.uint8), connectivity=8)[1]
                label = surfaces.flat[found.nearest_idx]
                if label:
                    excluded |= surfaces == label
        return best, True

    def _beyond_far(self, d, valid, min_samples, step, intr: Intrinsics) -> Candidate:
        """Nothing in the band: TOO_FAR when a compact (hand-sized, not wall-sized) object lies just beyond it."""
        cfg = self.config
        beyond = valid & (d > cfg.far_mm) & (d <= cfg.far_mm + cfg.too_far_margin_mm)
        d_far = cv2.dilate(np.where(beyond, d, np.float32(np.inf)), KERNEL3)
        idx = int(np.argmin(d_far))
        z_near = float(d_far.flat[idx])
        if not np.isfinite(z_near):
            return Candidate(TrackingStatus.NO_HAND, None)
        slab = (beyond & (d <= z_near + cfg.cube_mm)).astype(np.uint8)
        _, labels, stats, _ = cv2.connectedComponentsWithStats(slab, connectivity=8)
        x, y, w, h, area = stats[labels.flat[idx]]
        extent_mm = max(w, h) * step * z_near / min(intr.fx, intr.fy)
        if area >= min_samples * (z_near / cfg.far_mm) ** -2 * 0.5 and extent_mm < 3.0 * cfg.cube_mm:
            return Candidate(TrackingStatus.TOO_FAR, None)
        return Candidate(TrackingStatus.NO_HAND, None)

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
        cx_mm, cy_mm = unproject_point(cu, cv_, cz, intr)
        dx, dy = ray_slopes(np.arange(u0, u1, dtype=np.float32), np.arange(v0, v1, dtype=np.float32), intr)
        dist2 = (z * dx[None, :] - cx_mm) ** 2 + (z * dy[:, None] - cy_mm) ** 2 + (z - cz) ** 2
        mask[v0:v1, u0:u1] = (dist2 < r * r) & (z > 0)
        return mask


def centre_mm(centre_uvz, intr: Intrinsics) -> np.ndarray:
    """(x, y, z) camera-frame mm of a centre (u_px, v_px, z_mm)."""
    cu, cv_, cz = centre_uvz
    return np.array([*unproject_point(cu, cv_, cz, intr), cz])
