"""Left or right hand, from the depth around the hand: the person the arm belongs to (issue #14, item 2).

A hand's own shape barely tells its side in a depth image (the shipped right-hand network on the crop and on its
mirror, chosen by confidence, is right for about half the hands; see app/runtime/bench_handedness.py). The arm
does: it joins the person's body on that side. For a person facing the camera (HandednessConfig.facing_camera)
the right hand, arm and shoulder are on the image's left. Cues, each a signed log-odds contribution (> 0: right):

- position: the hand's side of the body's centre (the body: the large surface facing the camera that the arm
  reaches behind the hand: a torso). Wrong when the arms are crossed.
- attach: the side of the body's centre where the arm ends, i.e. where it joins the body (the shoulder). The arm
  is followed along the visible surface from the hand, also behind a strip of something nearer (another arm, the
  hand in front of its own wrist); it is kept out when the trace runs into another hand's (crossed or touching
  arms: which end is whose is then unknown).
- pair: the hands' order across the image (right hand on the left), when several hands are given.
- frame: only when no body is seen: the hand's side of the optical axis (the person stands in front of the
  camera). Weak.

Method, on the depth block-sampled (minimum of each block: thin near parts stay whole, small holes close) to
about grid_mm at the nearest hand: 3-D points; links between neighbouring samples nearer than link_mm to each
other in 3-D (one surface) plus bridges over nearer strips (occluders); geodesic distance from the hand centre
over those links; the body is the dominant plane (trimmed least squares) of what the arm reaches behind the
hand; the arm is what the hand reaches without entering the body, its end the farthest part along it.
Mirror-symmetric: the sample columns are symmetric about the image middle, so a left-right flipped frame (with
cx -> width - 1 - cx) gives the opposite label.

HandednessVote keeps a label steady over frames (exponential log-odds with hysteresis).

Imports numpy, cv2 and app foundation only.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from app.camera import Intrinsics, ray_slopes, unproject_point
from app.config import Hand, HandednessConfig
from app.errors import InputError

_TARGET_WIDTH_PX = 160       # at most about this many samples across the image
_KERNEL3 = np.ones((3, 3), np.uint8)
_DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))   # neighbour links (each used both ways)
_FAR_END_MM = 50.0           # the arm's end: the samples within this of the farthest along the arm
_MAX_ROUNDS = 200            # geodesic scan rounds at most (about ten on rendered frames)
_NO_DEPTH = np.float32(1e9)  # mm: stands for 'no depth' while block-sampling


@dataclass(frozen=True)
class ArmTrace:
    """What the depth shows around one hand. centre_mm: the hand centre (3,), camera frame; body_centre_mm:
    area-weighted centre of the body surface the arm reaches (None: no body seen); arm_end_mm: the farthest
    point along the arm from the hand (the shoulder when it is followed that far), None without an arm;
    arm_length_mm: the geodesic distance to it; on_body: the hand lies on the body surface itself; merged: the
    arm's trace runs into another given hand."""

    centre_mm: np.ndarray
    body_centre_mm: np.ndarray | None = None
    arm_end_mm: np.ndarray | None = None
    arm_length_mm: float = 0.0
    on_body: bool = False
    merged: bool = False


@dataclass(frozen=True)
class SideEvidence:
    """One hand's evidence. right_log_odds: > 0 for a right hand, < 0 for a left one, 0 for none; cues: each
    cue's signed contribution (the sum is right_log_odds); trace: what it was computed from (None: no depth at
    the hand)."""

    right_log_odds: float
    cues: dict[str, float] = field(default_factory=dict)
    trace: ArmTrace | None = None

    @property
    def hand(self) -> Hand:
        """The side the evidence favours (right on a tie: the label then carries no information)."""
        return Hand.LEFT if self.right_log_odds < 0 else Hand.RIGHT

    @property
    def score(self) -> float:
        """The strength of the evidence for that side, log-odds (>= 0)."""
        return abs(self.right_log_odds)


# ---- the sampled frame ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Grid:
    d: np.ndarray            # (h, w) float32 depth of each sample, mm (0 = none)
    valid: np.ndarray        # (h, w) bool
    points: np.ndarray       # (3, h, w) float32 camera-frame mm
    area: np.ndarray         # (h, w) float32 image-plane area of a sample at its depth, mm^2 (0 = none)
    links: list              # [(slice pair a, slice pair b, (.., ..) float32 length or inf)]
    bridges: tuple | None    # (from flat index, sorted to-index, costs, unique to-indices, their starts)


def _sample(depth_mm: np.ndarray, intr: Intrinsics, z_ref_mm: float, cfg: HandednessConfig) -> _Grid:
    """Block-minimum samples at about cfg.grid_mm spacing at depth z_ref_mm (at most ~160 across), columns
    symmetric about the image middle."""
    w, h = intr.width, intr.height
    step = max(1, int(round(w / _TARGET_WIDTH_PX)), int(round(cfg.grid_mm * intr.fx / max(z_ref_mm, 1.0))))
    # No depth = far beyond anything (a finite stand-in: cv2's erosion pads with FLT_MAX, not inf).
    near = np.where(depth_mm > 0, depth_mm, _NO_DEPTH).astype(np.float32)
    k = step | 1
    if k > 1:
        near = cv2.erode(near, np.ones((k, k), np.uint8))
    left = np.arange(step // 2, (w + 1) // 2, step)
    cols = np.unique(np.concatenate([left, w - 1 - left]))
    rows = np.arange(step // 2, h, step)
    d = near[np.ix_(rows, cols)]
    d = np.where(d < _NO_DEPTH, d, np.float32(0.0)).astype(np.float32)
    for _ in range(2):          # close holes up to ~4 samples across with the nearest neighbour's depth
        hole = d <= 0
        if not hole.any():
            break
        nearest = cv2.erode(np.where(hole, _NO_DEPTH, d), _KERNEL3)
        d = np.where(hole & (nearest < _NO_DEPTH), nearest, d).astype(np.float32)
    valid = d > 0
    # Slopes in float64: a mirrored frame's x are then exactly the negated x (float32 slopes round differently).
    sx, sy = ray_slopes(cols, rows, intr, dtype=np.float64)
    points = np.stack([d * sx[None, :], d * sy[:, None], d]).astype(np.float32)
    spacing = d * np.float32(step / intr.fx)
    area = np.where(valid, spacing * spacing, np.float32(0.0)).astype(np.float32)
    links = []
    for dv, du in _DIRECTIONS:
        (va, vb), (ua, ub) = _pair_slices(d.shape[0], dv), _pair_slices(d.shape[1], du)
        diff = points[:, vb, ub] - points[:, va, ua]
        length = np.sqrt(np.einsum("ijk,ijk->jk", diff, diff))
        ok = valid[va, ua] & valid[vb, ub] & (length <= np.float32(cfg.link_mm))
        links.append(((va, ua), (vb, ub), np.where(ok, length, np.float32(np.inf)).astype(np.float32)))
    max_gap = int(np.clip(math.ceil(cfg.max_occluder_mm / cfg.grid_mm), 2, 16))
    return _Grid(d, valid, points, area, links, _bridges(d, points, spacing, max_gap, cfg))


def _pair_slices(n: int, offset: int) -> tuple[slice, slice]:
    return (slice(0, n - offset), slice(offset, n)) if offset >= 0 else (slice(-offset, n), slice(0, n + offset))


def _bridges(d: np.ndarray, points: np.ndarray, spacing: np.ndarray, max_gap: int, cfg: HandednessConfig):
    """Links over occluders: sample p to p + g * direction (g = 2..max_gap) when every sample between is at
    least occluder_margin_mm nearer than both ends (or has no depth), and the ends are no farther apart in 3-D
    than 1.5 times their lateral spacing plus link_mm (one surface going on behind). Cost: 1.2 x the 3-D
    distance (a seen path is preferred). Returned sorted by target for a fast minimum per target."""
    h, w = d.shape
    k = max_gap
    padded = np.zeros((h + 2 * k, w + 2 * k), np.float32)
    padded[k:k + h, k:k + w] = d
    index = np.full(padded.shape, -1, np.int64)
    index[k:k + h, k:k + w] = np.arange(h * w).reshape(h, w)
    flat_points, flat_spacing = points.reshape(3, -1), spacing.reshape(-1)
    margin = np.float32(cfg.occluder_margin_mm)
    sources, targets, costs = [], [], []
    for dv, du in _DIRECTIONS + tuple((-a, -b) for a, b in _DIRECTIONS):
        def shifted(arr, g):
            return arr[k + g * dv:k + g * dv + h, k + g * du:k + g * du + w]
        between = np.zeros((h, w), np.float32)    # the largest depth of the samples between (0 = none)
        diagonal = 1.4142 if dv and du else 1.0
        for g in range(2, max_gap + 1):
            np.maximum(between, shifted(padded, g - 1), out=between)
            far = shifted(padded, g)
            ok = (d > 0) & (far > 0) & (between < np.minimum(d, far) - margin)
            if not ok.any():
                continue
            a = np.flatnonzero(ok)
            b = shifted(index, g).reshape(-1)[a]
            diff = flat_points[:, a] - flat_points[:, b]
            length = np.sqrt(np.einsum("ij,ij->j", diff, diff))
            lateral = g * diagonal * np.maximum(flat_spacing[a], flat_spacing[b])
            keep = length <= 1.5 * lateral + cfg.link_mm
            sources.append(a[keep])
            targets.append(b[keep])
            costs.append(1.2 * length[keep])
    if not sources or not sum(s.size for s in sources):
        return None
    a, b, c = np.concatenate(sources), np.concatenate(targets), np.concatenate(costs).astype(np.float32)
    order = np.argsort(b, kind="stable")
    a, b, c = a[order], b[order], c[order]
    unique, starts = np.unique(b, return_index=True)
    return a, b, c, unique, starts


def _geodesic(grid: _Grid, seeds: np.ndarray, allowed: np.ndarray, reach_mm: float) -> np.ndarray:
    """Geodesic distance (mm, inf = not reached within reach_mm) from the seed samples over the links and
    bridges between allowed samples: the exact shortest paths of that graph. Each round scans every line of
    samples in each link direction, both ways (a min-plus prefix scan, _line_scans: a distance runs the whole
    length of a line in one step), then relaxes the bridges; rounds repeat until nothing changes (about ten
    on rendered frames, where a sweep over single links took up to hundreds)."""
    h, w = grid.d.shape
    flat_allowed = allowed.reshape(-1)
    dist = np.where(flat_allowed & seeds.reshape(-1), 0.0, np.inf)
    scans = []
    for (order, same), ((va, ua), (vb, ub), length) in zip(_lines(h, w), grid.links):
        step = np.full((h, w), np.inf)     # the link from each sample to its neighbour in this direction
        step[va, ua] = np.where(allowed[va, ua] & allowed[vb, ub], length, np.inf)
        edges = np.where(same, step.reshape(-1)[order[:-1]], np.inf)
        scans.append((order, _scan_shift(edges, reach_mm)))
        scans.append((order[::-1].copy(), _scan_shift(edges[::-1], reach_mm)))
    bridges = None
    if grid.bridges is not None:
        a, b, c, unique, starts = grid.bridges
        keep = flat_allowed[a] & flat_allowed[b]
        if keep.all():
            bridges = (a, c.astype(np.float64), unique, starts)
        elif keep.any():   # the bridges between allowed samples only
            a, b, c = a[keep], b[keep], c[keep]
            unique, starts = np.unique(b, return_index=True)
            bridges = (a, c.astype(np.float64), unique, starts)
    blocked = ~flat_allowed
    for _ in range(_MAX_ROUNDS):
        before = dist.copy()
        for order, shift in scans:
            along = dist[order]
            best = np.minimum.accumulate(along + shift)
            best -= shift
            dist[order] = np.minimum(along, best)
        if bridges is not None:
            a, c, unique, starts = bridges
            dist[unique] = np.minimum(dist[unique], np.minimum.reduceat(dist[a] + c, starts))
        dist[blocked] = np.inf
        dist[dist > reach_mm] = np.inf
        if np.array_equal(before, dist):
            break
    return dist.reshape(h, w).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _lines(h: int, w: int) -> tuple:
    """For each of _DIRECTIONS on an h x w grid: (the flat sample indices line after line, each line in the
    direction's order; whether each one and the next lie on the same line)."""
    r, c = np.mgrid[0:h, 0:w]
    out = []
    for dv, du in _DIRECTIONS:
        line, pos = {(0, 1): (r, c), (1, 0): (c, r), (1, 1): (c - r, r), (1, -1): (c + r, r)}[(dv, du)]
        order = np.lexsort((pos.ravel(), line.ravel()))
        ids = line.ravel()[order]
        out.append((order, ids[1:] == ids[:-1]))
    return tuple(out)


def _scan_shift(edges: np.ndarray, reach_mm: float) -> np.ndarray:
    """shift such that, for distances x along a chain of samples with edge lengths edges (inf: no link),
    minimum.accumulate(x + shift) - shift is each sample's best distance from any sample before it on an
    unbroken run of links: x[j] + the lengths from j to it, wherever that is <= reach_mm. shift = the run's
    offset - the length walked along the run so far; each earlier run's offset is larger by more than the
    longest run plus reach_mm, so what it carries into a later run is beyond reach_mm (cleared afterwards)."""
    linked = np.isfinite(edges)
    walked = np.zeros(edges.size + 1)
    np.cumsum(np.where(linked, edges, 0.0), out=walked[1:])
    starts = np.ones(edges.size + 1, bool)
    starts[1:] = ~linked
    run = np.cumsum(starts)
    run_start = walked[np.flatnonzero(starts)][run - 1]
    along_run = walked - run_start
    separation = float(along_run.max()) + float(reach_mm) + 1.0
    return (run[-1] - run) * separation - along_run


def _seeds(grid: _Grid, intr: Intrinsics, centre_uvz, cfg: HandednessConfig):
    """(seed mask, centre mm): the samples within seed_radius_mm of the centre, else the nearest one within
    twice that; (None, centre) when there is no depth there."""
    u, v, z = (float(x) for x in centre_uvz)
    centre = np.array([*unproject_point(u, v, z, intr), z])
    diff = grid.points - centre.astype(np.float32)[:, None, None]
    dist = np.sqrt(np.einsum("ijk,ijk->jk", diff, diff))
    dist[~grid.valid] = np.inf
    seeds = dist < np.float32(cfg.seed_radius_mm)
    if not seeds.any():
        nearest = float(dist.min()) if dist.size else math.inf
        if not nearest < 2.0 * cfg.seed_radius_mm:
            return None, centre
        seeds = dist <= np.float32(nearest)
    return seeds, centre


# ---- the body ---------------------------------------------------------------------------------------------------
def _plane(points: np.ndarray, weights: np.ndarray, tolerance_mm: float):
    """Trimmed weighted least-squares plane through (3, N) points: (unit normal pointing away from the camera,
    offset) with normal . X = offset for the surface holding most of the weight, or None. Order-independent
    (no random draws), so a mirrored frame gives the mirrored plane."""
    keep = np.ones(points.shape[1], bool)
    normal = offset = None
    for it in range(6):
        w = weights * keep
        total = float(w.sum())
        if total <= 0 or np.count_nonzero(keep) < 3:
            return None
        mean = points @ w / total
        centred = points - mean[:, None]
        cov = (centred * w) @ centred.T / total
        normal = np.linalg.eigh(cov)[1][:, 0]
        if normal[2] < 0:
            normal = -normal
        offset = float(normal @ mean)
        residual = np.abs(normal @ points - offset)
        limit = tolerance_mm if it == 5 else max(tolerance_mm, 2.5 * float(np.median(residual[keep])))
        keep = residual < limit
    return normal, offset


def _body(grid: _Grid, reached: np.ndarray, centre: np.ndarray, cfg: HandednessConfig):
    """The body the arm reaches: (mask of its samples, area-weighted centre mm, signed distance in front of its
    plane per sample), or None. It is the dominant plane of what the hand's trace reaches at least
    body_behind_mm behind the hand, facing the camera, at least min_body_area_mm2 and min_body_width_mm wide."""
    behind = reached & (grid.d > np.float32(centre[2] + cfg.body_behind_mm))
    if float(grid.area[behind].sum()) < cfg.min_body_area_mm2:
        return None
    found = _plane(grid.points[:, behind].astype(np.float64), grid.area[behind].astype(np.float64),
                   cfg.body_plane_tolerance_mm)
    if found is None:
        return None
    normal, offset = found
    if normal[2] < cfg.body_facing_cos:
        return None     # a table or a floor seen from the side, not a body facing the camera
    front = np.float32(offset) - np.einsum("i,ijk->jk", normal.astype(np.float32), grid.points)
    on_plane = grid.valid & (np.abs(front) < np.float32(cfg.body_plane_tolerance_mm))
    _, labels = cv2.connectedComponents(on_plane.view(np.uint8), connectivity=8)
    touched = np.unique(labels[on_plane & reached])
    body = np.isin(labels, touched[touched > 0]) & on_plane
    area = grid.area[body]
    if float(area.sum()) < cfg.min_body_area_mm2:
        return None
    xs = grid.points[0][body]
    lo, hi = np.percentile(xs, [5.0, 95.0])
    if hi - lo < cfg.min_body_width_mm:
        return None     # a strip (an upper arm lying flat), not a body
    centre_mm = grid.points[:, body].astype(np.float64) @ area.astype(np.float64) / float(area.sum())
    return body, centre_mm, front


def _trace(grid: _Grid, seeds: np.ndarray, centre: np.ndarray, others: list[np.ndarray],
           cfg: HandednessConfig) -> ArmTrace:
    reached = np.isfinite(_geodesic(grid, seeds, grid.valid, cfg.reach_mm))
    body = _body(grid, reached, centre, cfg)
    if body is None:
        arm, body_centre, on_body = grid.valid, None, False
    else:
        mask, body_centre, front = body
        on_body = np.count_nonzero(seeds & mask) * 2 > np.count_nonzero(seeds)
        arm = grid.valid & ~mask & (front > 0)
    if on_body:
        return ArmTrace(centre, body_centre, None, 0.0, True, False)
    along = _geodesic(grid, seeds, arm, cfg.reach_mm)
    seen = np.isfinite(along)
    if not seen.any():
        return ArmTrace(centre, body_centre)
    length = float(along[seen].max())
    end = seen & (along >= np.float32(length - _FAR_END_MM))
    arm_end = grid.points[:, end].astype(np.float64).mean(axis=1)
    merged = any(bool((seen & s).any()) for s in others)
    return ArmTrace(centre, body_centre, arm_end, length, False, merged)


# ---- evidence -------------------------------------------------------------------------------------------------
def _own_cues(trace: ArmTrace, cfg: HandednessConfig) -> dict[str, float]:
    s = cfg.lateral_scale_mm
    cues = {}
    c = trace.centre_mm
    if trace.body_centre_mm is not None:
        b = trace.body_centre_mm
        cues["position"] = cfg.position_weight * math.tanh((b[0] - c[0]) / s)
        if trace.arm_end_mm is not None and trace.arm_length_mm >= cfg.min_arm_mm and not trace.merged:
            cues["attach"] = cfg.attach_weight * math.tanh((b[0] - trace.arm_end_mm[0]) / s)
    elif c[2] > 0:
        cues["frame"] = cfg.frame_weight * math.tanh(-(c[0] / c[2]) / cfg.frame_slope)
    return cues


def side_evidence(depth_mm: np.ndarray, intr: Intrinsics, centres_uvz, config: HandednessConfig | None = None
                  ) -> list[SideEvidence]:
    """Evidence for every given hand (centres_uvz: a sequence of (u_px, v_px, z_mm) hand centres in this frame,
    e.g. HandLocation.centre_uvz). depth_mm: H x W float32 millimetres (0 = invalid). With one_person and two
    hands the two get opposite labels (the pair's evidence is shared)."""
    cfg = config if config is not None else HandednessConfig()
    if depth_mm.ndim != 2 or depth_mm.shape != (intr.height, intr.width):
        raise InputError(f"handedness: depth is {depth_mm.shape}, intrinsics say {intr.height}x{intr.width}")
    centres = [tuple(float(x) for x in c) for c in centres_uvz]
    if not centres:
        return []
    z_ref = min((c[2] for c in centres if c[2] > 0), default=0.0)
    if not z_ref > 0:
        return [SideEvidence(0.0) for _ in centres]
    grid = _sample(np.asarray(depth_mm, np.float32), intr, z_ref, cfg)
    seeded = [_seeds(grid, intr, c, cfg) for c in centres]
    sign = 1.0 if cfg.facing_camera else -1.0
    traces: list[ArmTrace | None] = []
    cues: list[dict[str, float]] = []
    for i, (seeds, centre) in enumerate(seeded):
        if seeds is None:
            traces.append(None)
            cues.append({})
            continue
        others = [s for j, (s, _) in enumerate(seeded) if j != i and s is not None]
        trace = _trace(grid, seeds, centre, others, cfg)
        traces.append(trace)
        cues.append({k: sign * v for k, v in _own_cues(trace, cfg).items()})
    # The pair cue: the hand on the image's left is the right one (x in mm, camera frame).
    mm = [centre for _, centre in seeded]
    n = len(centres)
    for i in range(n):
        if n > 1:
            pair = sum(cfg.pair_weight * math.tanh((mm[j][0] - mm[i][0]) / cfg.lateral_scale_mm)
                       for j in range(n) if j != i)
            cues[i]["pair"] = sign * pair / (n - 1)
    totals = [sum(c.values()) for c in cues]
    if n == 2 and cfg.one_person:
        # One person: one right and one left hand; the pair decides by the difference of the evidence.
        half = 0.5 * (totals[0] - totals[1])
        totals = [half, -half]
    return [SideEvidence(float(t), c, tr) for t, c, tr in zip(totals, cues, traces)]


def hand_sides(depth_mm: np.ndarray, intr: Intrinsics, centres_uvz, config: HandednessConfig | None = None
               ) -> list[tuple[Hand, float]]:
    """(hand, score) for every given hand centre: the side and the strength of its evidence (log-odds, >= 0;
    0 = no evidence, the label is then RIGHT by convention)."""
    return [(e.hand, e.score) for e in side_evidence(depth_mm, intr, centres_uvz, config)]


def hand_side(depth_mm: np.ndarray, intr: Intrinsics, centre_uvz, others=(),
              config: HandednessConfig | None = None) -> tuple[Hand, float]:
    """(hand, score) of the hand at centre_uvz (u_px, v_px, z_mm); others: the other hands' centres in the
    same frame (their arms and their order across the image are evidence too)."""
    return hand_sides(depth_mm, intr, [centre_uvz, *others], config)[0]


# ---- over time ------------------------------------------------------------------------------------------------
class HandednessVote:
    """One tracked hand's label over frames: the sum of the evidence, each frame's clipped to vote_max_step and
    the past decayed by vote_decay per frame. No label until the sum first reaches vote_switch either way; then
    the label changes only when the sum reaches vote_switch the other way, so one bad frame never flips it
    (with the defaults a held label needs about 9 frames of full contrary evidence)."""

    def __init__(self, config: HandednessConfig | None = None) -> None:
        self.config = config if config is not None else HandednessConfig()
        self.reset()

    def reset(self) -> None:
        """Forget the hand (it was lost, or another hand took its place)."""
        self._sum = 0.0
        self._hand: Hand | None = None

    @property
    def hand(self) -> Hand | None:
        return self._hand

    @property
    def log_odds(self) -> float:
        """The accumulated evidence, > 0 for right."""
        return self._sum

    def assume(self, hand: Hand | str) -> None:
        """Take this label as if the evidence had just reached it (the other hand of the same person has the
        other side): later evidence can still change it, past the switch level the other way."""
        self._hand = Hand(hand)
        self._sum = self.config.vote_switch if self._hand is Hand.RIGHT else -self.config.vote_switch

    def update(self, evidence: SideEvidence | float) -> Hand | None:
        """Add one frame's evidence (a SideEvidence or its right_log_odds); returns the label (None: not yet
        decided)."""
        cfg = self.config
        value = evidence.right_log_odds if isinstance(evidence, SideEvidence) else float(evidence)
        if not math.isfinite(value):
            value = 0.0
        step = max(-cfg.vote_max_step, min(cfg.vote_max_step, value))
        self._sum = cfg.vote_decay * self._sum + step
        if self._hand is not Hand.RIGHT and self._sum >= cfg.vote_switch:
            self._hand = Hand.RIGHT
        elif self._hand is not Hand.LEFT and self._sum <= -cfg.vote_switch:
            self._hand = Hand.LEFT
        return self._hand
