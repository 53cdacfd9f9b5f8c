"""Full synthetic scenes: determinism, layout of the output, left hands by mirroring, and the sensor noise model's
statistics (z^2 axial noise, holes, stereo shadow on the left, scale error, quantisation)."""
import numpy as np
import pytest

from app.camera import Intrinsics, project_mm_to_px
from app.errors import InputError
from app.synth.noise import NoiseParams, apply_sensor_noise, stereo_shadow
from app.synth.raycast import DepthCanvas
from app.synth.scene import SceneConfig, render_scene

D435 = Intrinsics(640, 480, 385.0, 385.0, 320.0, 240.0)


def test_same_seed_same_frame_and_different_seeds_differ():
    a = render_scene(np.random.default_rng(5))
    b = render_scene(np.random.default_rng(5))
    c = render_scene(np.random.default_rng(6))
    assert np.array_equal(a.depth_raw, b.depth_raw) and np.array_equal(a.joints_xyz_mm, b.joints_xyz_mm)
    assert a.intrinsics == b.intrinsics
    assert not np.array_equal(a.depth_raw, c.depth_raw)


@pytest.mark.parametrize("seed", range(6))
def test_sample_layout_and_hand_placement(seed):
    config = SceneConfig(width=424, height=240)
    s = render_scene(np.random.default_rng(seed), None, config)
    assert s.depth_raw.shape == (240, 424) and s.depth_raw.dtype == np.uint16
    assert s.clean_depth_raw.shape == (240, 424) and s.clean_depth_raw.dtype == np.uint16
    assert s.joints_xyz_mm.shape == (21, 3) and s.joints_xyz_mm.dtype == np.float64 and s.hand == "right"
    f = s.intrinsics.fx * 640 / 424
    assert 380 <= f <= 620 and s.intrinsics.width == 424
    centre = s.joints_xyz_mm.mean(axis=0)
    assert 250 <= centre[2] <= 800
    u, v, _ = project_mm_to_px(centre, s.intrinsics)
    assert 0.2 * 424 - 1 <= u <= 0.8 * 424 + 1 and 0.2 * 240 - 1 <= v <= 0.8 * 240 + 1
    # Noise keeps most of the frame within the sensor's range and changes depths a little.
    in_range = (s.clean_depth_raw > 0) & (s.clean_depth_raw < 2900)
    both = (s.depth_raw > 0) & in_range
    assert both.sum() > 0.75 * in_range.sum()
    near = both & (s.clean_depth_raw < 1500)
    rel = np.abs(s.depth_raw[near].astype(float) / s.clean_depth_raw[near] - 1)
    assert np.median(rel) < 0.01


def test_hand_is_visible_where_its_joints_project():
    """Most joints project onto rendered surface that is at most ~a finger radius in front of them."""
    near = []
    for seed in range(10):
        s = render_scene(np.random.default_rng(seed), D435, SceneConfig(noise=False, distractors=False))
        uvz = project_mm_to_px(s.joints_xyz_mm, D435)
        u, v = np.rint(uvz[:, 0]).astype(int), np.rint(uvz[:, 1]).astype(int)
        inside = (u >= 0) & (u < 640) & (v >= 0) & (v < 480)
        z = s.clean_depth_raw[v[inside], u[inside]].astype(float)
        near.append(np.abs(z - uvz[inside, 2]) < 25)
    assert np.concatenate(near).mean() > 0.6


def test_left_hand_is_the_mirror_image_of_a_right_hand_seen_through_mirrored_intrinsics():
    config_l = SceneConfig(hand="left", noise=False)
    left = render_scene(np.random.default_rng(3), D435, config_l)
    right = render_scene(np.random.default_rng(3), D435.mirrored(), SceneConfig(hand="right", noise=False))
    assert left.hand == "left"
    assert np.array_equal(left.clean_depth_raw, right.clean_depth_raw[:, ::-1])
    assert np.allclose(left.joints_xyz_mm[:, 0], -right.joints_xyz_mm[:, 0])
    # The left joints project (with the real intrinsics) where the right ones land after flipping the image.
    uv_left = project_mm_to_px(left.joints_xyz_mm, D435)
    uv_right = project_mm_to_px(right.joints_xyz_mm, D435.mirrored())
    assert np.allclose(uv_left[:, 0], 639 - uv_right[:, 0]) and np.allclose(uv_left[:, 1], uv_right[:, 1])


def test_config_validation():
    with pytest.raises(InputError):
        SceneConfig(hand="both")
    with pytest.raises(InputError):
        SceneConfig(distance_range_mm=(900.0, 300.0))


def flat_wall(z_mm: float, intr: Intrinsics = D435) -> np.ndarray:
    canvas = DepthCanvas(intr)
    canvas.plane(np.array([0.0, 0.0, -1.0]), -z_mm, 2)
    return canvas.depth.astype(np.float32)


QUIET = NoiseParams(subpixel_px=0.1, other_subpixel_px=0.1, hole_fraction=0.005, grazing_cos=0.0,
                    scale_error=0.0)


def test_axial_noise_grows_with_depth_squared():
    stds = {}
    for z in (500.0, 1000.0):
        raw = apply_sensor_noise(flat_wall(z), np.zeros((480, 640), np.uint8), D435, np.random.default_rng(0), QUIET)
        ok = raw > 0
        stds[z] = float(np.std(raw[ok].astype(float) - z))
        expected = z * z * 0.1 / (385.0 * 50.0)           # 1.30 mm at 0.5 m, 5.19 mm at 1 m
        assert 0.7 * expected < stds[z] < 1.35 * expected + 0.3, (z, stds[z], expected)
    assert 3.0 < stds[1000.0] / stds[500.0] < 5.0
    # Holes: configured fraction (blobs + isolated pixels), nothing else on a fronto-parallel wall.
    holes = 1.0 - ok.mean()
    assert 0.4 * QUIET.hole_fraction < holes < 2.5 * QUIET.hole_fraction


def test_scale_error_and_quantisation():
    params = NoiseParams(subpixel_px=0.05, other_subpixel_px=0.05, hole_fraction=0.001, grazing_cos=0.0,
                         scale_error=0.003)
    raw = apply_sensor_noise(flat_wall(800.0), np.zeros((480, 640), np.uint8), D435, np.random.default_rng(1), params)
    mean = raw[raw > 0].astype(float).mean()
    assert abs(mean - 800.0 * 1.003) < 0.6
    # One raw unit per mm (1 mm quantisation); with 0.1 mm units the same scene reads ten times larger.
    fine = Intrinsics(640, 480, 385.0, 385.0, 320.0, 240.0, depth_unit_mm=0.1)
    raw01 = apply_sensor_noise(flat_wall(800.0, fine), np.zeros((480, 640), np.uint8), fine,
                               np.random.default_rng(1), params)
    assert abs(raw01[raw01 > 0].astype(float).mean() / 10.0 - 800.0 * 1.003) < 0.6


def test_stereo_shadow_is_on_the_left_of_near_objects():
    wall = flat_wall(1000.0)
    canvas = DepthCanvas(D435)
    canvas.plane(np.array([0.0, 0.0, -1.0]), -1000.0, 2)
    canvas.box(np.array([0.0, 0.0, 500.0]), np.eye(3), np.array([50.0, 50.0, 10.0]), 3)
    depth = np.where(np.isfinite(canvas.depth), canvas.depth, 0).astype(np.float32)
    shadow = stereo_shadow(depth, D435.fx, 50.0)
    assert not stereo_shadow(wall, D435.fx, 50.0).any()
    row = shadow[240]
    box_left = int(np.ceil(320 - 385.0 * 50.0 / 490.0))
    # Shadow width: f B (1/z_near - 1/z_far) = 385 * 50 * (1/490 - 1/1000) = 20 px, just left of the box.
    cols = np.flatnonzero(row)
    assert cols.max() < box_left and box_left - cols.min() in range(18, 23)
    assert not row[320:].any()
