"""Each hand keeps its id from frame to frame: the hands found in a frame are matched to the hands already known
by their 3-D centres (camera frame, mm), each known hand predicted forward at its own speed, so two hands that
cross in the image (one passing in front of the other) keep their ids when they separate.

    ids = HandIdentities()
    ids.assign([right_centre_mm, left_centre_mm], t_s=0.033)   # -> [1, 2]; next frame: the same ids, if matched

Rule (IdentityConfig in app/config.py): the matching maximises the number of hands matched, then minimises the
sum of distances from prediction to centre; a pair further apart than max_jump_mm + max_speed_mm_s * (time
since that hand was last seen) is never matched; then a hand still without a match takes a known hand not yet
matched within rematch_mm (a centre that jumped for a frame). A hand found without a match gets a new id (ids
start at 1 and are not given twice; the tracker may swap two known hands' ids, swap(), when it recognises one
person's hand that came back); a known hand unmatched for more than max_missed_frames frames is forgotten. Imports numpy and
app foundation only.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from app.config import IdentityConfig

_MAX_EXACT = 6   # up to this many hands on either side the best matching is found exactly (6! = 720 orders)


@dataclass
class KnownHand:
    """A hand being tracked: hand_id, centre_mm (x, y, z), velocity_mm_s (x, y, z), last_seen_s, missed (frames
    since). Three-vectors are tuples of floats: this runs every frame on one or two hands, where numpy's
    per-call cost is most of the time (the same float64 arithmetic, element by element)."""

    hand_id: int
    centre_mm: tuple[float, float, float]
    velocity_mm_s: tuple[float, float, float]
    last_seen_s: float
    missed: int = 0

    def predicted_mm(self, t_s: float) -> tuple[float, float, float]:
        dt = max(0.0, t_s - self.last_seen_s)
        return tuple(c + v * dt for c, v in zip(self.centre_mm, self.velocity_mm_s))


class HandIdentities:
    """The known hands of one run; not thread-safe (the tracker thread owns it)."""

    def __init__(self, config: IdentityConfig | None = None) -> None:
        self.config = config if config is not None else IdentityConfig()
        self.known: list[KnownHand] = []
        self._next_id = 1

    def reset(self) -> None:
        """Forget every known hand (a seek, a new source); ids go on counting."""
        self.known = []

    def swap(self, a: int, b: int) -> None:
        """The known hands with ids a and b exchange their ids (the tracker recognised hand a as the hand that
        had b, come back); an id no known hand has is simply taken."""
        for hand in self.known:
            if hand.hand_id in (a, b):
                hand.hand_id = b if hand.hand_id == a else a

    def assign(self, centres_mm: list[np.ndarray], t_s: float) -> list[int]:
        """The id of each hand found at t_s (centres_mm: camera-frame mm, one per hand), in the given order."""
        centres = [_xyz(c) for c in centres_mm]
        pairs = self._match(centres, t_s)
        ids: list[int] = []
        for k, centre in enumerate(centres):
            j = pairs.get(k)
            if j is None:
                hand = KnownHand(self._next_id, centre, (0.0, 0.0, 0.0), t_s)
                self._next_id += 1
                self.known.append(hand)
            else:
                hand = self.known[j]
                self._update(hand, centre, t_s)
            ids.append(hand.hand_id)
        seen = set(ids)
        for hand in self.known:
            if hand.hand_id not in seen:
                hand.missed += 1
        self.known = [hand for hand in self.known if hand.missed <= self.config.max_missed_frames]
        return ids

    def _update(self, hand: KnownHand, centre: tuple[float, float, float], t_s: float) -> None:
        dt = t_s - hand.last_seen_s
        if dt > 0:
            a = self.config.speed_smoothing
            hand.velocity_mm_s = tuple((1.0 - a) * v + a * (c - p) / dt
                                       for v, c, p in zip(hand.velocity_mm_s, centre, hand.centre_mm))
        hand.centre_mm, hand.last_seen_s, hand.missed = centre, t_s, 0

    def _match(self, centres: list[tuple[float, float, float]], t_s: float) -> dict[int, int]:
        """{index of a found hand: index of the known hand it is}, by the rule of the module docstring."""
        if not centres or not self.known:
            return {}
        cfg = self.config
        if len(centres) == 1 and len(self.known) == 1:   # the common case, one hand: the same rule, no arrays
            hand = self.known[0]
            distance = math.dist(centres[0], hand.predicted_mm(t_s))
            gate = cfg.max_jump_mm + cfg.max_speed_mm_s * max(0.0, t_s - hand.last_seen_s)
            return {0: 0} if distance <= gate or distance <= cfg.rematch_mm else {}
        cost = np.full((len(centres), len(self.known)), np.inf)
        for j, hand in enumerate(self.known):
            gate = cfg.max_jump_mm + cfg.max_speed_mm_s * max(0.0, t_s - hand.last_seen_s)
            prediction = hand.predicted_mm(t_s)
            for k, centre in enumerate(centres):
                distance = math.dist(centre, prediction)
                if distance <= gate:
                    cost[k, j] = distance
        pairs = _best_exact(cost) if 1 < max(cost.shape) <= _MAX_EXACT else greedy_pairs(cost)   # (1 x 1: the same)
        if len(pairs) == min(cost.shape):   # every found or every known hand paired: no second chance to give
            return pairs
        # Second chance: a hand found with no match takes a known hand not found this frame when it is within
        # rematch_mm of that hand's prediction (the finder's centre jumped, e.g. onto the wrist, for a frame).
        loose = np.full(cost.shape, np.inf)
        for j, hand in enumerate(self.known):
            if j in pairs.values():
                continue
            prediction = hand.predicted_mm(t_s)
            for k, centre in enumerate(centres):
                distance = math.dist(centre, prediction)
                if k not in pairs and distance <= cfg.rematch_mm:
                    loose[k, j] = distance
        pairs.update(greedy_pairs(loose))
        return pairs


def _xyz(centre_mm) -> tuple[float, float, float]:
    """A centre (any 3-sequence of numbers, mm) as a tuple of three floats; ValueError for another shape."""
    x, y, z = map(float, centre_mm)
    return x, y, z


def _best_exact(cost: np.ndarray) -> dict[int, int]:
    """The matching with the most pairs, then the least total cost (every assignment tried)."""
    n_found, n_known = cost.shape
    if n_found <= n_known:      # each found hand takes a different known one
        orders = (dict(enumerate(order)) for order in itertools.permutations(range(n_known), n_found))
    else:                       # each known hand takes a different found one
        orders = ({k: j for j, k in enumerate(order)} for order in itertools.permutations(range(n_found), n_known))
    best: tuple[int, float] = (0, 0.0)
    best_pairs: dict[int, int] = {}
    for order in orders:
        pairs = {k: j for k, j in order.items() if np.isfinite(cost[k, j])}
        score = (len(pairs), -sum(cost[k, j] for k, j in pairs.items()))
        if score > best:
            best, best_pairs = score, pairs
    return best_pairs


def greedy_pairs(cost: np.ndarray) -> dict[int, int]:
    """{row: column}, the cheapest finite pairs first, each row and column at most once (inf: never paired)."""
    if cost.shape == (1, 1):   # (the common case: one hand)
        return {0: 0} if np.isfinite(cost[0, 0]) else {}
    pairs: dict[int, int] = {}
    for flat in np.argsort(cost, axis=None):
        k, j = np.unravel_index(flat, cost.shape)
        if not np.isfinite(cost[k, j]):
            break
        if k not in pairs and j not in pairs.values():
            pairs[int(k)] = int(j)
    return pairs
