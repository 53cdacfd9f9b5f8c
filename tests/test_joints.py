"""The 21-joint layout and its dataset mappings."""
import numpy as np

from app import joints


def test_layout_is_complete_and_bones_form_a_tree():
    assert joints.NUM_JOINTS == 21 and len(set(joints.JOINT_NAMES)) == 21
    assert len(joints.BONES) == 20
    children = [c for _, c in joints.BONES]
    assert sorted(children) == list(range(1, 21))       # every joint but the wrist has exactly one parent
    assert all(p < c for p, c in joints.BONES)
    assert joints.TIP_JOINTS == (4, 8, 12, 16, 20)


def test_hands2017_and_msra_mappings_are_permutations_with_the_right_names():
    for mapping in (joints.FROM_HANDS2017, joints.FROM_MSRA):
        assert sorted(mapping) == list(range(21))
    # HANDS2017 order: Wrist, TMCP, IMCP, MMCP, RMCP, PMCP, TPIP, TDIP, TTIP, IPIP, ...
    h17 = ["Wrist", "TMCP", "IMCP", "MMCP", "RMCP", "PMCP", "TPIP", "TDIP", "TTIP", "IPIP", "IDIP", "ITIP",
           "MPIP", "MDIP", "MTIP", "RPIP", "RDIP", "RTIP", "PPIP", "PDIP", "PTIP"]
    mapped = [h17[i] for i in joints.FROM_HANDS2017]
    assert mapped[joints.JOINT_INDEX["thumb_tip"]] == "TTIP"
    assert mapped[joints.JOINT_INDEX["index_mcp"]] == "IMCP"
    assert mapped[joints.JOINT_INDEX["pinky_dip"]] == "PDIP"
    src = np.arange(21 * 3, dtype=float).reshape(21, 3)
    out = joints.from_layout(src, joints.FROM_MSRA)
    assert np.array_equal(out[joints.JOINT_INDEX["thumb_tip"]], src[20])      # MSRA thumb TIP is last
    assert np.array_equal(out[joints.JOINT_INDEX["index_mcp"]], src[1])


def test_approximate_mappings_are_marked_and_in_range():
    assert len(joints.TO_NYU14_APPROX) == 14 and len(joints.TO_ICVL_APPROX) == 16
    assert joints.TO_NYU14_APPROX[-3:] == (-1, -1, -1)       # wrist sides and palm centre have no counterpart
    assert all(-1 <= j < 21 for j in joints.TO_NYU14_APPROX + joints.TO_ICVL_APPROX)


def test_mirror_is_an_involution():
    rng = np.random.default_rng(1)
    j = rng.normal(size=(21, 3))
    assert np.array_equal(joints.mirror_x(joints.mirror_x(j)), j)
    assert np.array_equal(joints.mirror_x(j)[:, 1:], j[:, 1:])
