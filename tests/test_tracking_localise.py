"""Hand finding on fabricated depth frames: centre accuracy in mm, robustness (forearm, flying pixels, other
objects), every status, tracking from the previous centre, the hand mask."""
import numpy as np
import pytest

from app.camera import Intrinsics, unproject_px_to_mm
from app.errors import InputError
from app.tracking.crop import crop_geometry, xyz_mm_to_crop_uvd
from app.config import LocaliserConfig
from app.tracking.localise import HandLocaliser
from app.types import TrackingStatus
from tests.tracking_scenes import INTR, hand_joints_mm, hand_spheres, hand_scene, render


def centre_mm(location, intr=INTR):
    return unproject_px_to_mm(np.asarray(location.centre_uvz), intr)


def assert_hand_found(location, joints, intr=INTR, max_error_mm=40.0):
    """What the network needs: every joint inside the crop cube (with a margin), and the centre near the hand.
    The visible surface's centre of mass sits on the palm, 15-35 mm wristwards of the joints' mean (the
    fingers hold 16 of the 21 joints)."""
    assert location.centre_uvz is not None, location.status
    uvd = xyz_mm_to_crop_uvd(joints, crop_geometry(location.centre_uvz, 250.0, 128, intr), intr)
    assert np.abs(uvd).max() < 0.9
    assert np.linalg.norm(centre_mm(location, intr) - joints.mean(axis=0)) < max_error_mm


@pytest.mark.parametrize("centre, forearm", [
    ((0.0, 0.0, 500.0), True), ((0.0, 0.0, 500.0), False), ((60.0, -40.0, 400.0), True),
    ((-100.0, 30.0, 800.0), True), ((0.0, -60.0, 950.0), True), ((0.0, 0.0, 300.0), True),
])
def test_centre_is_on_the_hand_not_on_the_forearm(centre, forearm):
    depth, joints = hand_scene(centre, forearm=forearm, flying_pixels=60)
    loc = HandLocaliser().locate(depth, INTR)
    assert loc.status == TrackingStatus.TRACKING
    assert_hand_found(loc, joints)
    error = centre_mm(loc) - joints.mean(axis=0)
    assert abs(error[0]) < 5.0 and abs(error[2]) < 5.0    # the offset is along the hand's axis only


def test_single_flying_pixels_never_win_the_nearest_search():
    depth, joints = hand_scene((0.0, 0.0, 600.0), flying_pixels=400, seed=3)
    loc = HandLocaliser().locate(depth, INTR)
    assert loc.status == TrackingStatus.TRACKING
    assert_hand_found(loc, joints)


def test_hand_mask_covers_the_hand_and_not_the_far_forearm():
    depth, joints = hand_scene((0.0, -40.0, 500.0), forearm=True)
    loc = HandLocaliser().locate(depth, INTR)
    assert loc.mask.shape == depth.shape and loc.mask.dtype == bool
    hand_only, _ = hand_scene((0.0, -40.0, 500.0), forearm=False, wall_mm=None)
    hand_pixels = hand_only > 0
    recall = np.count_nonzero(loc.mask & hand_pixels) / np.count_nonzero(hand_pixels)
    assert recall > 0.9
    assert not loc.mask[460:].any()          # the forearm near the bottom border is far from the hand


def test_no_hand_in_an_empty_frame_and_in_front_of_a_wall():
    loc = HandLocaliser()
    assert loc.locate(np.zeros((480, 640), np.float32), INTR).status == TrackingStatus.NO_HAND
    wall = np.full((480, 640), 700.0, np.float32)          # a wall inside the band fills the ball: not a hand
    result = loc.locate(wall, INTR)
    assert result.status == TrackingStatus.NO_HAND and result.centre_uvz is None and result.mask is None


def test_too_near_and_too_far():
    loc = HandLocaliser(LocaliserConfig(near_mm=250.0, far_mm=700.0))
    near, _ = hand_scene((0.0, 0.0, 200.0), forearm=False)
    assert loc.locate(near, INTR).status == TrackingStatus.TOO_NEAR
    far, _ = hand_scene((0.0, 0.0, 900.0), forearm=False, wall_mm=2500.0)
    assert loc.locate(far, INTR).status == TrackingStatus.TOO_FAR
    # Beyond far_mm + too_far_margin_mm it is just background.
    very_far, _ = hand_scene((0.0, 0.0, 1500.0), forearm=False, wall_mm=None)
    assert loc.locate(very_far, INTR).status == TrackingStatus.NO_HAND


def test_at_border_when_the_hand_is_cut_by_the_image_edge():
    # Hand centre 20 px from the left edge: part of the hand is outside the image.
    z = 500.0
    x = (20 - INTR.cx) * z / INTR.fx
    depth, _ = hand_scene((x, 0.0, z), forearm=False)
    loc = HandLocaliser().locate(depth, INTR)
    assert loc.status == TrackingStatus.AT_BORDER and loc.status.has_pose
    assert loc.centre_uvz is not None


def test_tracking_keeps_the_previous_hand_when_a_nearer_object_appears():
    joints_a = hand_joints_mm((-150.0, 0.0, 600.0))
    joints_b = hand_joints_mm((150.0, 0.0, 450.0))     # nearer: a global search picks it
    depth = render(hand_spheres(joints_a) + hand_spheres(joints_b))
    loc = HandLocaliser()
    first = loc.locate(depth, INTR)
    assert_hand_found(first, joints_b)
    prev = loc.locate(render(hand_spheres(joints_a)), INTR).centre_uvz
    tracked = loc.locate(depth, INTR, previous_centre_uvz=prev)
    assert_hand_found(tracked, joints_a)
    # The previous hand has gone: fall back to the global search.
    only_b = render(hand_spheres(joints_b))
    assert_hand_found(loc.locate(only_b, INTR, prev), joints_b)


def test_other_resolutions_and_depth_units():
    intr = Intrinsics(320, 240, 240.0, 240.0, 159.5, 119.5)
    depth, joints = hand_scene((20.0, 10.0, 450.0), intr=intr)
    loc = HandLocaliser().locate(depth, intr)
    assert loc.status == TrackingStatus.TRACKING
    assert_hand_found(loc, joints, intr)


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(InputError, match="near_mm < far_mm"):
        LocaliserConfig(near_mm=900.0, far_mm=800.0)
    with pytest.raises(InputError, match="intrinsics say 480x640"):
        HandLocaliser().locate(np.zeros((240, 320), np.float32), INTR)


@pytest.mark.parametrize("wall_mm", [650.0, 800.0])
def test_hand_in_front_of_a_wall_inside_the_band_is_separated_from_it(wall_mm):
    depth, joints = hand_scene((30.0, 0.0, 500.0), forearm=True, wall_mm=wall_mm, flying_pixels=100)
    loc = HandLocaliser().locate(depth, INTR)
    assert loc.status == TrackingStatus.TRACKING
    assert_hand_found(loc, joints)
    assert np.count_nonzero(loc.mask & (np.abs(depth - wall_mm) < 1.0)) == 0   # no wall pixel in the mask


def test_arm_reaching_back_to_the_body_keeps_the_centre_on_the_hand():
    joints = hand_joints_mm((0.0, 0.0, 450.0))
    spheres = hand_spheres(joints)
    for t in np.linspace(0.0, 1.0, 60):     # forearm (16 -> 30 mm thick) going down and back to a torso-like wall
        spheres.append((joints[0] + np.array([0.0, 120.0 * t, 10.0 + 300.0 * t]), 16.0 + 14.0 * t))
    loc = HandLocaliser().locate(render(spheres, wall_mm=780.0), INTR)
    assert loc.status == TrackingStatus.TRACKING
    assert_hand_found(loc, joints)


def test_a_ball_nearer_than_the_hand_is_passed_over_but_kept_as_a_fallback():
    joints = hand_joints_mm((60.0, 0.0, 520.0))
    ball = [(np.array([-120.0, 40.0, 380.0]), 45.0)]
    loc = HandLocaliser()
    found = loc.locate(render(hand_spheres(joints, INTR.height + 10) + ball), INTR)
    assert_hand_found(found, joints)
    alone = loc.locate(render(ball), INTR)             # nothing hand-like: the ball is still reported
    assert alone.status == TrackingStatus.TRACKING
    assert np.linalg.norm(centre_mm(alone) - np.array([-120.0, 40.0, 380.0])) < 60.0
