"""Hand finding in the harder cases, one rule each, on fabricated frames: a hand lying on a table, the elbow
end of an arm floating in view, a fist behind a nearer ball, an object nearer than the band beside a hand, two
hands while tracking; and on a handful of rendered scenes (app.synth), where every joint must fall in the
280 mm crop the models are trained with."""
import numpy as np

from app.camera import depth_to_mm, project_mm_to_px, unproject_px_to_mm
from app.tracking.crop import crop_geometry, xyz_mm_to_crop_uvd
from app.config import LocaliserConfig
from app.tracking.localise import HandLocaliser
from app.types import TrackingStatus
from tests.tracking_scenes import INTR, add_plane, capsule_spheres, hand_joints_mm, hand_spheres, render

CUBE_MM = 280.0


def crop_extent(location, joints, intr=INTR, cube_mm=CUBE_MM) -> float:
    """Largest |u|, |v|, |d| of the joints in the crop at the found centre: <= 1 means all joints inside."""
    assert location.centre_uvz is not None, location.status
    geom = crop_geometry(location.centre_uvz, cube_mm, 128, intr)
    return float(np.abs(xyz_mm_to_crop_uvd(joints, geom, intr)).max())


def centre_error_mm(location, joints, intr=INTR) -> float:
    return float(np.linalg.norm(unproject_px_to_mm(np.asarray(location.centre_uvz), intr) - joints.mean(axis=0)))


def hand_lying_on_table(tilt_deg=50.0, centre=(0.0, 60.0, 600.0), gap_mm=2.0):
    """A flat hand, palm down, gap_mm above a table seen from above at tilt_deg, its forearm lying on the table
    towards the camera; the table runs out of the image at the bottom, nearer than the hand."""
    t = np.radians(tilt_deg)
    normal = np.array([0.0, -np.cos(t), -np.sin(t)])           # up from the table, towards the camera
    a = -(np.pi / 2 - t)                                       # tilt the hand's plane onto the table's
    rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    joints = hand_joints_mm((0.0, 0.0, 0.0)) @ rot.T + np.asarray(centre)
    offset = float(normal @ np.asarray(centre)) - 13.0 - gap_mm      # 13 mm: the palm's half thickness
    spheres = hand_spheres(joints)
    away = rot @ np.array([0.0, 1.0, 0.0])                     # from the wrist, away from the fingers
    for s in np.linspace(0.0, 260.0, 45):
        r = 22.0 + 8.0 * s / 260.0
        p = joints[0] + away * s
        spheres.append((p + normal * (r + gap_mm - (normal @ p - offset)), r))   # resting on the table
    return add_plane(render(spheres, wall_mm=None), normal, offset), joints


def test_a_hand_lying_on_a_table_is_found_once_the_tables_plane_is_taken_out():
    depth, joints = hand_lying_on_table()
    assert depth[-1, 320] < 500.0 < joints[:, 2].min()          # the table's edge is the nearest thing
    loc = HandLocaliser(LocaliserConfig(cube_mm=CUBE_MM)).locate(depth, INTR)
    assert loc.status == TrackingStatus.TRACKING
    assert crop_extent(loc, joints) < 0.85
    assert centre_error_mm(loc, joints) < 20.0


def test_the_rounded_elbow_end_of_a_floating_arm_is_not_the_hand():
    # The forearm lies across the view, its elbow end 40 mm nearer than the hand; no border, no body.
    joints = hand_joints_mm((-80.0, -40.0, 600.0))
    spheres = hand_spheres(joints) + capsule_spheres(joints[0] + [0, 0, 8], joints[0] + [220, 40, -40], 22, 32)
    loc = HandLocaliser(LocaliserConfig(cube_mm=CUBE_MM)).locate(render(spheres), INTR)
    assert loc.status == TrackingStatus.TRACKING
    assert centre_error_mm(loc, joints) < 25.0          # the elbow end is 230 mm away
    assert crop_extent(loc, joints) < 0.9


def fist_scene(ball: bool):
    joints = hand_joints_mm((80.0, 0.0, 560.0))       # the ground truth the fist stands in for
    c = joints.mean(axis=0)
    rng = np.random.default_rng(0)
    spheres = [(c + rng.uniform(-1, 1, 3) * [35, 35, 15], 14.0) for _ in range(120)] + [(c + [0, 0, 5], 38.0)]
    spheres += capsule_spheres(c + [0, 50, 10], c + [0, 400, 60], 24, 30)    # forearm to the bottom border
    if ball:
        spheres.append((np.array([-120.0, -60.0, 430.0]), 40.0))              # 130 mm nearer, as convex
    return render(spheres), joints


def test_a_fist_on_its_arm_wins_over_a_nearer_ball_of_its_size():
    localiser = HandLocaliser(LocaliserConfig(cube_mm=CUBE_MM))
    depth, joints = fist_scene(ball=True)
    with_ball = localiser.locate(depth, INTR)
    assert centre_error_mm(with_ball, joints) < 25.0
    alone = localiser.locate(fist_scene(ball=False)[0], INTR)
    assert np.allclose(with_ball.centre_uvz, alone.centre_uvz, atol=0.5)   # the ball changes nothing


def test_an_object_nearer_than_the_band_does_not_hide_a_hand():
    joints = hand_joints_mm((0.0, 0.0, 500.0))
    cup = [(np.array([-70.0, -50.0, 125.0]), 15.0)]        # 110-140 mm from the lens, ~14000 px
    depth = render(hand_spheres(joints, INTR.height + 10) + cup)
    assert np.count_nonzero((depth > 0) & (depth < 150.0)) > 10000
    loc = HandLocaliser(LocaliserConfig(cube_mm=CUBE_MM)).locate(depth, INTR)
    assert loc.status == TrackingStatus.TRACKING
    assert centre_error_mm(loc, joints) < 15.0
    # Without a hand in the band the near object is what there is: too near.
    assert HandLocaliser().locate(render(cup), INTR).status == TrackingStatus.TOO_NEAR


def test_tracking_prefers_the_hand_near_the_previous_centre():
    # Two hands inside the tracking window (a 350 mm cube: window +-260 mm); the other one is 40 mm nearer the
    # camera and 190 mm to the side.
    joints_a = hand_joints_mm((-50.0, 0.0, 600.0))
    joints_b = hand_joints_mm((140.0, 0.0, 560.0))
    depth = render(hand_spheres(joints_a, INTR.height + 10) + hand_spheres(joints_b, INTR.height + 10))
    previous = tuple(project_mm_to_px(joints_a.mean(axis=0), INTR))
    tracked = HandLocaliser(LocaliserConfig(cube_mm=350.0)).locate(depth, INTR, previous)
    assert centre_error_mm(tracked, joints_a) < 15.0
    # Without the distance term the nearer hand in the same window wins: the prior is what keeps hand A.
    no_prior = HandLocaliser(LocaliserConfig(cube_mm=350.0, prior_weight_per_mm=0.0)).locate(depth, INTR, previous)
    assert centre_error_mm(no_prior, joints_a) > 150.0 > centre_error_mm(no_prior, joints_b)


def test_rendered_scenes_keep_every_joint_in_the_crop():
    """20 rendered scenes (hand and forearm, torso, table, wall, distractors, occluders, sensor noise): measured
    19 of 20 with every joint inside the 280 mm crop, median centre error 20 mm (the localiser before the
    hand-likeness score: 16 of 20)."""
    from app.synth.scene import render_scene      # rendering is only needed here

    localiser = HandLocaliser(LocaliserConfig(cube_mm=CUBE_MM, compute_mask=False))
    inside, errors = 0, []
    for i in range(20):
        sample = render_scene(np.random.default_rng([5, i]))
        intr = sample.intrinsics
        loc = localiser.locate(depth_to_mm(sample.depth_raw, intr), intr)
        if loc.centre_uvz is None:
            continue
        inside += crop_extent(loc, sample.joints_xyz_mm, intr) <= 1.0
        errors.append(centre_error_mm(loc, sample.joints_xyz_mm, intr))
    assert inside >= 17
    assert np.median(errors) < 28.0
