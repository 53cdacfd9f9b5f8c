"""Left or right from the depth (app.tracking.handedness, issue #14 item 2): accuracy floors on fixed-seed rendered
scenes (measured when written: apart 1.00 as a pair and 0.96 each hand alone, close and front 1.00 as a pair,
the arm-end cue 0.75 where it speaks on crossed arms), mirror symmetry, and the vote's hysteresis."""
from __future__ import annotations

import math

import numpy as np
import pytest

from app.camera import depth_to_mm, project_mm_to_px
from app.config import Hand, HandednessConfig
from app.errors import InputError
from app.synth.scene import SceneConfig, render_scene
from app.synth.two_hands import render_two_hands
from app.tracking.handedness import HandednessVote, SideEvidence, hand_side, hand_sides, side_evidence


def two_hand_scenes(arrangement: str, count: int):
    for i in range(count):
        sample = render_two_hands(np.random.default_rng([14, 2, i]), arrangement=arrangement)
        yield sample, depth_to_mm(sample.depth_raw, sample.intrinsics)


@pytest.fixture(scope="module")
def apart():
    """40 scenes of two hands apart: (truths, depth, intrinsics)."""
    return [(s.hands, d, s.intrinsics) for s, d in two_hand_scenes("apart", 40)]


def share(hits) -> float:
    return float(np.mean(list(hits)))


def test_two_hands_apart_are_labelled_as_a_pair(apart):
    hits = [h == truth.hand for truths, d, intr in apart
            for truth, (h, _) in zip(truths, hand_sides(d, intr, [t.centre_uvz for t in truths]))]
    assert share(hits) >= 0.95


@pytest.mark.parametrize("hand", [Hand.RIGHT, Hand.LEFT])
def test_a_single_hand_in_front_of_the_body_is_labelled_from_its_arm_and_body(apart, hand):
    """Each hand on its own (no other hand given): the body its arm reaches and where the arm joins it."""
    hits = []
    for truths, d, intr in apart:
        truth = next(t for t in truths if t.hand == hand)
        hits.append(hand_side(d, intr, truth.centre_uvz)[0] == hand)
    assert share(hits) >= 0.85


@pytest.mark.parametrize("arrangement", ["close", "front"])
def test_two_hands_close_or_one_in_front_are_labelled_as_a_pair(arrangement):
    hits = [e.hand == t.hand for s, d in two_hand_scenes(arrangement, 20)
            for t, e in zip(s.hands, side_evidence(d, s.intrinsics, [t.centre_uvz for t in s.hands]))]
    assert share(hits) >= 0.95


@pytest.fixture(scope="module")
def crossed():
    return [(s.hands, side_evidence(d, s.intrinsics, [t.centre_uvz for t in s.hands]))
            for s, d in two_hand_scenes("crossed", 40)]


def test_on_crossed_arms_the_arm_end_cue_mostly_points_to_the_true_side(crossed):
    """Where the arms' traces stay apart, where each arm joins the body is evidence of its side even when the
    hands are on the other sides of the image (measured 0.75 over 16 hands)."""
    hits = [(e.cues["attach"] > 0) == (t.hand == Hand.RIGHT)
            for truths, evidence in crossed for t, e in zip(truths, evidence) if "attach" in e.cues]
    assert len(hits) >= 8 and share(hits) >= 0.6


@pytest.mark.xfail(strict=True, reason="crossed arms: the traces merge where the arms cross and the hands' "
                                       "order decides (0 of 80 hands right when written)")
def test_crossed_arms_are_labelled(crossed):
    assert share(e.hand == t.hand for truths, evidence in crossed for t, e in zip(truths, evidence)) >= 0.9


# ---- symmetry -------------------------------------------------------------------------------------------------
def mirrored(depth: np.ndarray, intr, centres):
    w = intr.width
    return depth[:, ::-1].copy(), intr.mirrored(), [(w - 1 - u, v, z) for u, v, z in centres]


def test_the_mirrored_frame_gets_the_opposite_label():
    cases = []
    for i in range(4):
        hand = Hand.LEFT if i % 2 else Hand.RIGHT
        s = render_scene(np.random.default_rng([14, 3, i]), None, SceneConfig(hand=hand))
        centre = tuple(float(x) for x in project_mm_to_px(s.joints_xyz_mm.mean(axis=0), s.intrinsics))
        cases.append((depth_to_mm(s.depth_raw, s.intrinsics), s.intrinsics, [centre]))
    for arrangement in ("apart", "crossed"):
        s, d = next(two_hand_scenes(arrangement, 1))
        cases.append((d, s.intrinsics, [t.centre_uvz for t in s.hands]))
    spoke = 0
    for depth, intr, centres in cases:
        original = side_evidence(depth, intr, centres)
        flipped = side_evidence(*mirrored(depth, intr, centres))
        for a, b in zip(original, flipped):
            assert math.isclose(a.right_log_odds, -b.right_log_odds, rel_tol=1e-3, abs_tol=1e-3)
            if a.score > 1e-3:
                spoke += 1
                assert a.hand != b.hand
    assert spoke >= 6


def test_a_camera_looking_the_way_the_person_looks_flips_every_cue(apart):
    truths, d, intr = apart[0]
    centres = [t.centre_uvz for t in truths]
    facing = side_evidence(d, intr, centres)
    behind = side_evidence(d, intr, centres, HandednessConfig(facing_camera=False))
    for a, b in zip(facing, behind):
        assert a.right_log_odds == pytest.approx(-b.right_log_odds) and a.score > 0


# ---- edge cases ---------------------------------------------------------------------------------------------
def test_no_depth_at_the_hand_is_no_evidence():
    s, d = next(two_hand_scenes("apart", 1))
    empty = np.zeros_like(d)
    (e,) = side_evidence(empty, s.intrinsics, [s.hands[0].centre_uvz])
    assert e.right_log_odds == 0.0 and e.trace is None and hand_side(empty, s.intrinsics, (10.0, 10.0, 500.0))[1] == 0
    assert side_evidence(d, s.intrinsics, []) == []
    assert side_evidence(d, s.intrinsics, [(100.0, 100.0, 0.0)])[0].score == 0.0


def test_bad_input_is_refused_in_one_line():
    s, d = next(two_hand_scenes("apart", 1))
    with pytest.raises(InputError, match="handedness: depth"):
        side_evidence(d[:-1], s.intrinsics, [s.hands[0].centre_uvz])
    with pytest.raises(InputError, match="grid_mm"):
        HandednessConfig(grid_mm=0)
    with pytest.raises(InputError, match="vote_decay"):
        HandednessConfig(vote_decay=1.0)


# ---- over time ------------------------------------------------------------------------------------------------
def test_the_vote_decides_after_steady_evidence_and_ignores_one_bad_frame():
    vote = HandednessVote()
    assert vote.hand is None
    assert vote.update(1.6) is None            # 1.6 < 3: not yet
    assert vote.update(1.6) is Hand.RIGHT      # 0.9 * 1.6 + 1.6 >= 3
    for _ in range(40):
        vote.update(SideEvidence(2.0))         # steady full evidence: the sum nears 2 / (1 - 0.9) = 20
    held = vote.log_odds
    assert vote.update(-50.0) is Hand.RIGHT    # one wild frame counts as one clipped step only
    assert vote.log_odds == pytest.approx(0.9 * held - 2.0)
    changed_at = None
    for frame in range(1, 30):                 # the hand really is a left one from now on
        if vote.update(-2.0) is Hand.LEFT:
            changed_at = frame
            break
    assert changed_at is not None and 6 <= changed_at <= 9   # about 9 frames of contrary evidence, one given
    vote.reset()
    assert vote.hand is None and vote.log_odds == 0.0
    assert vote.update(float("nan")) is None


def test_the_vote_keeps_the_label_over_a_rendered_sequence_with_a_mirrored_frame():
    """Frames of a right hand (each a new rendering of two hands apart) with one frame mirrored: the vote says
    right throughout once decided."""
    vote = HandednessVote()
    labels = []
    for i, (s, d) in enumerate(two_hand_scenes("apart", 8)):
        centres = [t.centre_uvz for t in s.hands]
        if i == 4:
            d, intr, centres = mirrored(d, s.intrinsics, centres)
        else:
            intr = s.intrinsics
        labels.append(vote.update(side_evidence(d, intr, centres)[0]))
    assert labels[0] is None or labels[0] is Hand.RIGHT
    assert labels[2:] == [Hand.RIGHT] * 6


def test_the_benchmark_prints_the_context_shares(capsys):
    import json

    from app.runtime.bench_handedness import main

    assert main(["--frames", "4", "--seed", "3", "--no-network"]) == 0
    result = json.loads(capsys.readouterr().out)["context"]
    assert result["single"]["scenes"] == 4 and 0.0 <= result["single"]["ground truth"] <= 1.0
    assert set(result["two_hands"]) >= {"apart", "close", "front", "crossed", "all", "scenes_per_arrangement"}
    assert result["two_hands"]["all"]["pair"] is not None and "pair" in result["cues"]
    assert main(["--frames", "1"]) == 2


def _dijkstra(grid, seeds: np.ndarray, allowed: np.ndarray, reach_mm: float) -> np.ndarray:
    """The oracle: textbook Dijkstra over the same graph (links both ways, bridges one way), in float64."""
    import heapq
    h, w = grid.d.shape
    ok = allowed.reshape(-1)
    edges: dict[int, list[tuple[int, float]]] = {}
    index = np.arange(h * w).reshape(h, w)
    for (va, ua), (vb, ub), length in grid.links:
        for a, b, c in zip(index[va, ua].ravel(), index[vb, ub].ravel(), length.ravel()):
            if np.isfinite(c) and ok[a] and ok[b]:
                edges.setdefault(int(a), []).append((int(b), float(c)))
                edges.setdefault(int(b), []).append((int(a), float(c)))
    if grid.bridges is not None:
        a, b, c, _, _ = grid.bridges
        for x, y, z in zip(a, b, c):
            if ok[x] and ok[y]:
                edges.setdefault(int(x), []).append((int(y), float(z)))
    dist = np.full(h * w, np.inf)
    heap = [(0.0, int(i)) for i in np.flatnonzero(seeds.reshape(-1) & ok)]
    for _, i in heap:
        dist[i] = 0.0
    while heap:
        d, i = heapq.heappop(heap)
        if d > dist[i]:
            continue
        for j, c in edges.get(i, ()):
            if d + c < dist[j]:
                dist[j] = d + c
                heapq.heappush(heap, (d + c, j))
    dist[dist > reach_mm] = np.inf
    return dist.reshape(h, w)


@pytest.mark.parametrize("arrangement", ["crossed", "front"])
def test_the_geodesic_distance_is_the_exact_shortest_path_over_links_and_bridges(arrangement):
    from app.tracking import handedness
    sample = render_two_hands(np.random.default_rng([31, len(arrangement)]), arrangement=arrangement)
    intr = sample.intrinsics
    depth = depth_to_mm(sample.depth_raw, intr)
    cfg = HandednessConfig()
    grid = handedness._sample(depth, intr, min(h.centre_uvz[2] for h in sample.hands), cfg)
    assert grid.bridges is not None
    seeds, _ = handedness._seeds(grid, intr, sample.hands[0].centre_uvz, cfg)
    arm = grid.valid & (grid.d < np.float32(sample.hands[0].centre_uvz[2] + 150.0))   # a partial mask too
    for allowed, reach in ((grid.valid, cfg.reach_mm), (arm, cfg.reach_mm), (grid.valid, 300.0)):
        got = handedness._geodesic(grid, seeds, allowed, reach)
        want = _dijkstra(grid, seeds, allowed, reach)
        assert np.array_equal(np.isfinite(got), np.isfinite(want))
        reached = np.isfinite(want)
        assert reached.sum() > 100
        assert np.abs(got[reached] - want[reached]).max() < 0.01   # mm
