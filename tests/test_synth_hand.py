"""Synthetic hand model: anthropometry, joint limits of every sampler, thumb opposition, and joints consistent
with the rendered geometry (tips on the surface, other joints about one finger radius behind it)."""
import numpy as np
import pytest

from app.camera import Intrinsics, project_mm_to_px
from app.joints import FINGER_JOINTS, TIP_JOINTS
from app.synth import poses
from app.synth.hand_model import (HAND_LENGTH_RANGE_MM, LIMITS_DEG, SEGMENT_FRACTIONS, default_shape,
                                  finger_chain, hand_geometry, sample_shape, thumb_chain, within_limits)
from app.synth.raycast import DepthCanvas

INTR = Intrinsics(320, 240, 300.0, 300.0, 160.0, 120.0)


def test_bone_lengths_stay_in_anthropometric_ranges():
    rng = np.random.default_rng(0)
    lengths = []
    for _ in range(200):
        shape = sample_shape(rng)
        assert HAND_LENGTH_RANGE_MM[0] <= shape.hand_length_mm <= HAND_LENGTH_RANGE_MM[1]
        assert 0.85 <= shape.radius_scale <= 1.2
        joints = hand_geometry(shape, np.zeros(len(LIMITS_DEG))).joints_mm
        for finger, ids in enumerate(FINGER_JOINTS):
            seg = np.linalg.norm(np.diff(joints[list(ids)], axis=0), axis=1)
            fractions = SEGMENT_FRACTIONS[finger, 1:] if finger else SEGMENT_FRACTIONS[0, :3]
            ratio = seg / (fractions * shape.hand_length_mm)
            assert np.all((ratio > 0.969) & (ratio < 1.031)), (finger, ratio)
        lengths.append(shape.hand_length_mm)
        # Middle finger wrist -> tip is the hand length up to the carpal approximation (within 6 %).
        middle = joints[[0, 9, 10, 11, 12]]
        assert abs(np.linalg.norm(np.diff(middle, axis=0), axis=1).sum() / shape.hand_length_mm - 1.0) < 0.06
    assert 175 < np.mean(lengths) < 189 and np.std(lengths) > 6


@pytest.mark.parametrize("sampler", [poses.sample_template, poses.sample_synergy, poses.sample_uniform,
                                     poses.sample_pose])
def test_samplers_respect_joint_limits_and_dip_coupling(sampler):
    rng = np.random.default_rng(1)
    samples = np.array([sampler(rng) for _ in range(300)])
    assert all(within_limits(p) for p in samples)
    assert np.all(samples >= LIMITS_DEG[:, 0] - 1e-9) and np.all(samples <= LIMITS_DEG[:, 1] + 1e-9)
    # DIP within 8 degrees of two thirds of PIP for all four fingers.
    for base in (7, 11, 15, 19):
        assert np.all(np.abs(samples[:, base + 3] - samples[:, base + 2] * 2 / 3) <= 8.0 + 1e-9)
    # Samplers cover their ranges: not all poses alike.
    assert samples.std(axis=0)[2:].min() > 2.0


def test_every_template_is_within_limits_and_pinches_touch():
    shape = default_shape()
    for name in poses.TEMPLATE_NAMES:
        assert within_limits(poses.template_pose(name)), name
    for name, finger in (("pinch", 1), ("pinch_middle", 2), ("pinch_ring", 3), ("thumb_little", 4)):
        p = poses.template_pose(name)
        gap = np.linalg.norm(thumb_chain(shape, p)[3] - finger_chain(shape, finger, p)[3])
        assert gap - shape.radii_mm[0, 3] - shape.radii_mm[finger, 3] < 6.0, name


@pytest.mark.parametrize("seed", [0, 1])
def test_thumb_can_oppose_every_fingertip(seed):
    shape = default_shape() if seed == 0 else sample_shape(np.random.default_rng(seed))
    for finger in range(1, 5):
        p = poses.template_pose("relaxed")
        p[7 + 4 * (finger - 1): 7 + 4 * finger] = (40.0, 0.0, 45.0, 30.0)
        solved = poses.solve_thumb_to_finger(shape, p, finger)
        assert within_limits(solved)
        gap = np.linalg.norm(thumb_chain(shape, solved)[3] - finger_chain(shape, finger, solved)[3])
        assert gap - shape.radii_mm[0, 3] - shape.radii_mm[finger, 3] < 2.0, finger


def render_hand(shape, pose, rotation, distance_mm=350.0):
    geom = hand_geometry(shape, pose)
    geom = geom.transformed(rotation, np.array([0.0, 0.0, distance_mm]) - rotation @ geom.joints_mm.mean(0))
    canvas = DepthCanvas(INTR)
    canvas.sphere_mesh(geom.spheres, geom.cones, geom.triangles, 1)
    return geom, canvas.depth


def palm_towards_camera():
    # Hand frame (radial, distal, palmar) -> camera: distal up (-y), palmar towards the lens (-z).
    y, z = np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, -1.0])
    return np.stack([np.cross(y, z), y, z], axis=1)


def test_non_tip_joints_lie_about_one_radius_behind_the_visible_surface():
    shape = default_shape()
    geom, depth = render_hand(shape, poses.template_pose("flat"), palm_towards_camera())
    uv = np.rint(project_mm_to_px(geom.joints_mm, INTR)[:, :2]).astype(int)
    for finger, ids in enumerate(FINGER_JOINTS):
        for k, joint in enumerate(ids[1:3], start=1):   # PIP and DIP (thumb: MCP and IP)
            behind = geom.joints_mm[joint, 2] - depth[uv[joint, 1], uv[joint, 0]]
            radius = shape.radii_mm[finger, k]
            assert 0.85 * radius < behind < 1.3 * radius, (joint, behind, radius)


def test_tips_lie_on_the_rendered_surface():
    """Fingers pointing towards the camera show their tip point: depth at its pixel = tip z."""
    shape = default_shape()
    # Distal towards the lens (+y hand -> -z camera), palm down.
    y, z = np.array([0.0, 0.0, -1.0]), np.array([0.0, 1.0, 0.0])
    rotation = np.stack([np.cross(y, z), y, z], axis=1)
    errors = []
    for name in ("flat", "open", "point"):
        geom, depth = render_hand(shape, poses.template_pose(name), rotation, 420.0)
        uvz = project_mm_to_px(geom.joints_mm, INTR)
        for tip in TIP_JOINTS[1:] if name != "point" else (8,):
            u, v = np.rint(uvz[tip, :2]).astype(int)
            errors.append(abs(depth[v, u] - uvz[tip, 2]))
    errors = np.array(errors)
    assert np.median(errors) < 0.5 and errors.max() < 2.0, errors
