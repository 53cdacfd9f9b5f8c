"""Two-hand synthetic scenes (#14 groundwork): the left hand is true mirrored geometry, both hands have ground
truth, and each arrangement puts them where it says."""
from __future__ import annotations

import numpy as np
import pytest

from app.camera import Intrinsics, project_mm_to_px
from app.errors import InputError
from app.joints import JOINT_INDEX
from app.synth.hand_model import hand_geometry, sample_shape
from app.synth.poses import sample_pose
from app.synth.raycast import DepthCanvas
from app.synth.scene import SceneConfig, place_hand
from app.synth.two_hand_motion import TwoHandAnimator
from app.synth.two_hands import TWO_HAND_ARRANGEMENTS, mirrored_geometry, render_two_hands

INTR = Intrinsics(320, 240, 200.0, 200.0, 161.0, 118.5)


def chirality(joints: np.ndarray) -> float:
    """Signed volume of the rigid palm triad (index MCP, pinky MCP, thumb CMC) seen from the wrist: its sign is a
    hand's handedness, whatever the pose (a reflection flips it)."""
    w = joints[JOINT_INDEX["wrist"]]
    a, b, c = (joints[JOINT_INDEX[n]] - w for n in ("index_mcp", "pinky_mcp", "thumb_cmc"))
    return float(np.dot(np.cross(a, b), c))


def test_the_mirrored_geometry_renders_exactly_what_the_mirrored_camera_shows():
    """Reflecting the hand (x -> -x) and rendering it equals rendering the hand through the mirrored camera and
    flipping the picture (how single left hands are rendered), so the left hand is a true left hand."""
    rng = np.random.default_rng(5)
    geom = place_hand(rng, hand_geometry(sample_shape(rng), sample_pose(rng)), INTR.mirrored(), SceneConfig())
    through_mirror = DepthCanvas(INTR.mirrored())
    through_mirror.sphere_mesh(geom.spheres, geom.cones, geom.triangles, 1)
    reflected = DepthCanvas(INTR)
    left = mirrored_geometry(geom)
    reflected.sphere_mesh(left.spheres, left.cones, left.triangles, 1)
    a, b = through_mirror.depth[:, ::-1], reflected.depth
    assert np.array_equal(np.isfinite(a), np.isfinite(b)) and np.isfinite(a).sum() > 300
    assert np.abs(a[np.isfinite(a)] - b[np.isfinite(b)]).max() < 0.01   # mm
    assert np.allclose(left.joints_mm[:, 0], -geom.joints_mm[:, 0])
    assert np.sign(chirality(left.joints_mm)) == -np.sign(chirality(geom.joints_mm))


@pytest.mark.parametrize("arrangement", TWO_HAND_ARRANGEMENTS)
def test_each_arrangement_shows_both_hands_where_it_says(arrangement):
    for seed in range(6):
        sample = render_two_hands(np.random.default_rng([seed, 3]), INTR, arrangement)
        right, left = sample.truth("right"), sample.truth("left")
        assert (right.hand, left.hand) == ("right", "left") and sample.arrangement == arrangement
        # True handedness in the ground truth: opposite chirality, the right hand's the same as a right hand's.
        assert chirality(right.joints_xyz_mm) * chirality(left.joints_xyz_mm) < 0
        rng = np.random.default_rng(1)
        reference = hand_geometry(sample_shape(rng), sample_pose(rng)).joints_mm
        assert chirality(right.joints_xyz_mm) * chirality(reference) > 0
        gap = np.linalg.norm(right.joints_xyz_mm.mean(axis=0) - left.joints_xyz_mm.mean(axis=0))
        du = right.centre_uvz[0] - left.centre_uvz[0]
        if arrangement == "apart":
            assert 150.0 <= gap <= 400.0 + 1e-6 and du < 0          # facing the camera: right hand at the left
        elif arrangement == "crossed":
            assert du > 0
        elif arrangement == "close":
            assert 90.0 <= gap <= 150.0 + 1e-6
        else:
            assert abs(right.centre_uvz[2] - left.centre_uvz[2]) >= 60.0 - 1e-6
        # Both hands are seen: depth near each hand's projected joints matches the hand (or what is in front).
        depth = sample.clean_depth_raw.astype(np.float32) * INTR.depth_unit_mm
        for truth in (right, left):
            uv = np.rint(project_mm_to_px(truth.joints_xyz_mm, INTR)[:, :2]).astype(int)
            inside = (uv[:, 0] >= 0) & (uv[:, 0] < INTR.width) & (uv[:, 1] >= 0) & (uv[:, 1] < INTR.height)
            seen = depth[uv[inside, 1], uv[inside, 0]]
            assert inside.sum() >= 15 and np.mean((seen > 0) & (seen < truth.joints_xyz_mm[:, 2].max() + 30)) > 0.6


def test_two_hand_scenes_are_deterministic_and_noisy_like_single_ones():
    a = render_two_hands(np.random.default_rng(11), INTR)
    b = render_two_hands(np.random.default_rng(11), INTR)
    assert np.array_equal(a.depth_raw, b.depth_raw) and a.arrangement == b.arrangement
    assert not np.array_equal(a.depth_raw, a.clean_depth_raw)          # sensor noise applied
    clean = render_two_hands(np.random.default_rng(11), INTR, noise=False, background=False)
    assert np.array_equal(clean.depth_raw, clean.clean_depth_raw)
    with pytest.raises(InputError, match="arrangement must be one of"):
        render_two_hands(np.random.default_rng(0), INTR, "stacked")


def test_the_animated_hands_cross_and_separate_smoothly_and_deterministically():
    animator = TwoHandAnimator(seed=4, intrinsics=INTR)
    period = animator.period_s
    u = {}
    for t in (0.0, period / 2, period):
        right, left = animator.frame(t).hands
        assert (right.hand, left.hand) == ("right", "left")
        u[t] = (right.centre_uvz[0], left.centre_uvz[0])
    assert u[0.0][0] < u[0.0][1] and u[period / 2][0] > u[period / 2][1]      # crossed at half a period
    assert u[period] == pytest.approx(u[0.0])                                 # and back
    a, b = animator.frame(1.0), animator.frame(1.0 + 1 / 30)
    for h0, h1 in zip(a.hands, b.hands):                                      # 33 ms later: a few mm further
        step = np.linalg.norm(h1.joints_xyz_mm.mean(axis=0) - h0.joints_xyz_mm.mean(axis=0))
        assert 0.5 < step < 25.0
    again = TwoHandAnimator(seed=4, intrinsics=INTR).frame(1.0)
    assert np.array_equal(again.depth_raw, a.depth_raw)
    for truth in a.hands:                                                    # both hands in view, with depth
        u_px, v_px, z_mm = truth.centre_uvz
        assert 0 <= u_px < INTR.width and 0 <= v_px < INTR.height and 300 < z_mm < 800
