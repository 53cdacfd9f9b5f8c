"""HandIdentities: ids kept while hands move, cross and briefly vanish; new ids for new hands; never reused."""
import numpy as np

from app.config import IdentityConfig
from app.tracking.identity import HandIdentities

FPS = 30.0

def crossing(t_s: float, swing_mm=150.0, gap_mm=80.0, period_s=2.0):
    """Two hands swinging sideways in opposite directions (crossing twice a period), one gap_mm nearer."""
    dx = swing_mm * np.cos(2 * np.pi * t_s / period_s)
    return np.array([-dx, 0.0, 500.0]), np.array([dx, 0.0, 500.0 - gap_mm])

def test_two_crossing_hands_keep_their_ids_through_every_crossing():
    ids = HandIdentities()
    seen = []
    for k in range(int(6 * FPS)):            # three periods: six crossings at up to 470 mm/s
        right, left = crossing(k / FPS)
        order = [right, left] if k % 2 else [left, right]    # the finder's order carries no identity
        got = ids.assign(order, k / FPS)
        seen.append(got if k % 2 else got[::-1])
    assert sorted(seen[0]) == [1, 2] and all(s == seen[0] for s in seen)

def test_a_briefly_missed_hand_keeps_its_id_and_a_long_lost_one_gets_a_new_one():
    cfg = IdentityConfig()
    ids = HandIdentities(cfg)

    for k in range(10):
        assert ids.assign([np.array([10.0 * k, 0.0, 500.0])], k / FPS) == [1]
    gap = cfg.max_missed_frames
    for k in range(10, 10 + gap):            # not found for max_missed_frames frames
        assert ids.assign([], k / FPS) == []
    k = 10 + gap
    assert ids.assign([np.array([10.0 * k, 0.0, 500.0])], k / FPS) == [1]   # where it was heading: the same
    for j in range(k + 1, k + 2 + gap):      # now lost for one frame too many
        ids.assign([], j / FPS)
    j = k + 2 + gap
    assert ids.assign([np.array([10.0 * j, 0.0, 500.0])], j / FPS) == [2]
    t = j / FPS
    assert ids.assign([np.array([10.0 * j + 10, 0.0, 500.0]), np.array([-300.0, 0.0, 600.0])], t + 1 / FPS) == [2, 3]

def test_a_hand_appearing_far_away_is_a_new_hand_and_ids_are_never_reused():
    ids = HandIdentities()
    assert ids.assign([np.array([0.0, 0.0, 500.0])], 0.0) == [1]
    assert ids.assign([np.array([400.0, 0.0, 500.0])], 1 / FPS) == [2]     # a 400 mm jump in 33 ms: another hand
    ids.reset()
    assert ids.known == [] and ids.assign([np.array([400.0, 0.0, 500.0])], 2 / FPS) == [3]
    assert [hand.hand_id for hand in ids.known] == [3]

def test_three_found_two_known_the_nearest_two_keep_their_ids():
    ids = HandIdentities()
    a, b = np.array([-100.0, 0.0, 500.0]), np.array([100.0, 0.0, 500.0])
    assert ids.assign([a, b], 0.0) == [1, 2]
    assert ids.assign([b + 5, np.array([0.0, 0.0, 480.0]), a - 5], 1 / FPS) == [2, 3, 1]


def test_one_hand_follows_the_same_rule_as_several():
    """The one-hand shortcut (no arrays) decides as the general matching does: within the gate, within
    rematch_mm of the prediction (a centre that jumped for a frame), and a new id beyond both."""
    cfg = IdentityConfig()
    for jump_mm, same in ((cfg.max_jump_mm - 1.0, True), (cfg.rematch_mm - 1.0, True), (cfg.rematch_mm + 60.0, False)):
        one, two = HandIdentities(cfg), HandIdentities(cfg)
        far = np.array([900.0, 0.0, 500.0])          # a second hand far away: the general matching runs
        assert one.assign([np.zeros(3)], 0.0) == [1] and two.assign([np.zeros(3), far], 0.0) == [1, 2]
        moved = np.array([jump_mm, 0.0, 0.0])
        got_one = one.assign([moved], 1.0 / FPS)
        got_two = two.assign([moved, far], 1.0 / FPS)
        assert (got_one == [1]) is same and (got_two[0] == 1) is same, jump_mm
        # the speed estimate moves identically
        assert np.allclose(one.known[0].velocity_mm_s, two.known[0].velocity_mm_s)


def test_swap_exchanges_two_ids_and_each_place_is_then_followed_under_its_new_id():
    ids = HandIdentities()
    a, b = np.array([-100.0, 0.0, 500.0]), np.array([100.0, 0.0, 500.0])
    assert ids.assign([a, b], 0.0) == [1, 2]
    ids.swap(1, 2)                                    # the tracker recognised hand 1 as the hand that had id 2
    assert ids.assign([a + 5, b - 5], 1 / FPS) == [2, 1]
    ids.swap(2, 7)                                    # an id no known hand has is simply taken
    assert ids.assign([a + 10, b - 10], 2 / FPS) == [7, 1]
    assert ids.assign([np.array([0.0, 300.0, 500.0])], 3 / FPS) == [3]   # new ids go on counting
