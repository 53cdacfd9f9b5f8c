"""HandTracker.process on fabricated frames with a real (untrained) ONNX model: statuses, stage timings,
exact left/right mirroring, smoothing and its resets, live updates."""
import time

import numpy as np
import pytest

from app.camera import Intrinsics
from app.config import TrackerChange, TrackerConfig
from app.errors import InputError
from app.joints import JOINT_NAMES, mirror_x
from app.tracking.estimator import Estimator
from app.tracking.tracker import HandTracker
from app.types import STAGES, DepthFrame, TrackingStatus
from tests.tracking_model import random_model_path
from tests.tracking_scenes import INTR, hand_scene


def make_tracker(estimator, **kw) -> HandTracker:
    return HandTracker(TrackerConfig(model_path=estimator.model_path, **kw), estimator)


def frame(depth_mm, index=0, intr=INTR, gt=None, t_ms=None):
    return DepthFrame(index, index, index * 33.333 if t_ms is None else t_ms, time.perf_counter(),
                      np.round(depth_mm).astype(np.uint16), intr, gt)


def test_a_hand_frame_gives_a_pose_with_units_and_timings(estimator):
    depth, joints = hand_scene((20.0, -10.0, 500.0))
    result = make_tracker(estimator, min_confidence=0.0).process(frame(depth, gt=joints))
    assert result.status == TrackingStatus.TRACKING
    pose = result.pose
    assert pose.joints_xyz_mm.shape == (21, 3) and pose.joint_names == JOINT_NAMES and pose.hand == "right"
    assert np.array_equal(pose.joints_xyz_mm, pose.joints_xyz_raw_mm)        # first frame: filter passes through
    # An untrained network still answers inside the crop cube around the located hand.
    centre = np.asarray(result.crop.centre_uvz)
    assert np.all(np.abs(pose.joints_xyz_mm[:, 2] - centre[2]) <= result.crop.cube_mm)
    fx, cx = INTR.fx, INTR.cx
    assert np.allclose(pose.joints_uv_px[:, 0], fx * pose.joints_xyz_mm[:, 0] / pose.joints_xyz_mm[:, 2] + cx)
    assert np.all((pose.confidence >= 0) & (pose.confidence <= 1))
    assert not pose.joints_xyz_mm.flags.writeable and result.crop_depth.shape == (128, 128)
    t = result.timings
    assert all(getattr(t, s) >= 0 for s in STAGES) and t.infer > 0 and t.localise > 0
    assert t.end_to_end >= t.localise + t.crop + t.infer + t.postprocess + t.smooth


def test_no_hand_gives_no_pose_and_the_reason(estimator):
    tracker = make_tracker(estimator)
    result = tracker.process(frame(np.full((480, 640), 2000.0)))
    assert result.status == TrackingStatus.NO_HAND and result.pose is None and result.crop is None
    assert result.timings.infer == 0.0


def test_low_confidence_status_below_the_threshold(estimator):
    depth, _ = hand_scene((0.0, 0.0, 500.0))
    result = make_tracker(estimator, min_confidence=1.0).process(frame(depth))
    assert result.status == TrackingStatus.LOW_CONFIDENCE and result.pose is not None
    assert result.extra["confidence"] < 1.0


def test_left_hand_is_the_exact_mirror_of_the_right_hand(estimator):
    # 641 px wide: the localiser's 4-px sampling grid is then symmetric under the flip, so the whole chain
    # (hand finding, crop, network, un-mirroring, camera mapping) can be compared exactly.
    intr = Intrinsics(641, 481, 475.0, 475.0, 322.0, 238.0)
    depth, _ = hand_scene((35.0, 10.0, 520.0), intr=intr)
    right = make_tracker(estimator, hand="right").process(frame(depth, intr=intr))
    left = make_tracker(estimator, hand="left").process(
        frame(np.ascontiguousarray(depth[:, ::-1]), intr=intr.mirrored()))
    assert left.extra["mirrored"] and not right.extra["mirrored"] and left.pose.hand == "left"
    assert np.abs(left.pose.joints_xyz_raw_mm - mirror_x(right.pose.joints_xyz_raw_mm)).max() < 1e-4
    assert np.abs(left.pose.weights - right.pose.weights[:, :, ::-1]).max() < 1e-6
    assert np.allclose(left.pose.confidence, right.pose.confidence, atol=1e-6)
    # The same with explicit centres through estimate(), at the usual 640 px width.
    depth, _ = hand_scene((-20.0, 0.0, 450.0))
    centre = (300.25, 231.5, 455.0)
    mirrored_centre = (INTR.width - 1 - centre[0], centre[1], centre[2])
    a = make_tracker(estimator, hand="right").estimate(depth, INTR, centre)
    b = make_tracker(estimator, hand="left").estimate(np.ascontiguousarray(depth[:, ::-1]), INTR.mirrored(),
                                                      mirrored_centre)
    assert np.abs(b.xyz_mm - mirror_x(a.xyz_mm)).max() < 1e-4


def test_smoothing_follows_timestamps_and_resets_on_loss_and_on_seek(estimator):
    tracker = make_tracker(estimator, min_confidence=0.0)
    scenes = [hand_scene((x, 0.0, 500.0))[0] for x in (0.0, 6.0, 12.0)]
    r0 = tracker.process(frame(scenes[0], 0))
    r1 = tracker.process(frame(scenes[1], 1))
    assert np.abs(r1.pose.joints_xyz_mm - r1.pose.joints_xyz_raw_mm).max() > 0.1   # filtered
    lost = tracker.process(frame(np.zeros((480, 640)), 2))
    assert lost.pose is None
    r3 = tracker.process(frame(scenes[2], 3))
    assert np.array_equal(r3.pose.joints_xyz_mm, r3.pose.joints_xyz_raw_mm)        # restarted after loss
    tracker.process(frame(scenes[0], 4))
    jumped = tracker.process(frame(scenes[1], 40))                                  # a seek
    assert np.array_equal(jumped.pose.joints_xyz_mm, jumped.pose.joints_xyz_raw_mm)
    assert r0.pose is not None


def test_live_updates_change_hand_band_and_smoothing(estimator):
    tracker = make_tracker(estimator)
    depth, _ = hand_scene((0.0, 0.0, 500.0))
    tracker.update(TrackerChange.of(hand="left", beta=0.0, min_cutoff_hz=2.0))
    assert tracker.mirrored and tracker.config.smoothing.min_cutoff_hz == 2.0
    assert tracker.process(frame(depth, 0)).pose.hand == "left"
    tracker.update(TrackerChange.of(far_mm=400.0))
    assert tracker.process(frame(depth, 1)).status == TrackingStatus.TOO_FAR
    tracker.update(TrackerChange.of(far_mm=1000.0, cube_mm=200.0, smoothing_enabled=False))
    result = tracker.process(frame(depth, 2))
    assert result.crop.cube_mm == 200.0 and result.extra["cube_mm"] == 200.0
    with pytest.raises(InputError, match="cannot change 'model_path'"):
        TrackerChange.of(model_path="x.onnx")
    with pytest.raises(InputError, match="cube_mm must be 100..500 mm, got 20"):
        TrackerChange.of(cube_mm=20.0)
    with pytest.raises(InputError, match="need near_mm < far_mm"):
        tracker.update(TrackerChange.of(near_mm=1200.0))
    assert tracker.config.localiser.near_mm == 150.0            # a refused update changes nothing

def test_recentre_runs_a_second_pass_when_the_first_is_off_centre(estimator):
    depth, _ = hand_scene((0.0, 0.0, 500.0))
    plain = make_tracker(estimator).process(frame(depth))
    twice = make_tracker(estimator, recentre=True, recentre_min_mm=0.0).process(frame(depth))
    assert twice.extra["recentred"] and not plain.extra["recentred"]
    first_mean = plain.pose.joints_xyz_raw_mm.mean(axis=0)
    # The second crop is centred on the first pass's joints.
    from app.camera import unproject_px_to_mm
    assert np.abs(unproject_px_to_mm(np.asarray(twice.crop.centre_uvz), INTR) - first_mean).max() < 1e-6


def test_a_model_with_an_offsets_output_gives_every_pixels_vote():
    """With a model that outputs each pixel's vote offset (tests/offsets_model.py, the export change proposed for
    models/export.py), the pose carries them, un-mirrored like the weight maps, and the joints are the weighted
    mean of the votes; models without the output (the shipped one) give offsets None."""
    from tests.offsets_model import offsets_model_path

    est = Estimator(offsets_model_path(), "cpu")
    assert est.has_offsets
    intr = Intrinsics(641, 481, 475.0, 475.0, 322.0, 238.0)
    depth, _ = hand_scene((35.0, 10.0, 520.0), intr=intr)
    right = make_tracker(est, hand="right").process(frame(depth, intr=intr))
    f = est.info.feature_size
    offsets = right.pose.offsets
    assert offsets.shape == (21, 3, f, f) and not offsets.flags.writeable
    axis = (np.arange(f) + 0.5) * (2.0 / f) - 1.0
    grid_v, grid_u = np.meshgrid(axis, axis, indexing="ij")
    weights = np.asarray(right.pose.weights, dtype=np.float64)
    votes_u = grid_u[None] + offsets[:, 0]
    votes_v = grid_v[None] + offsets[:, 1]
    np.testing.assert_allclose((weights * votes_u).sum(axis=(1, 2)), right.pose.joints_uvd[:, 0], atol=1e-4)
    np.testing.assert_allclose((weights * votes_v).sum(axis=(1, 2)), right.pose.joints_uvd[:, 1], atol=1e-4)
    left = make_tracker(est, hand="left").process(frame(np.ascontiguousarray(depth[:, ::-1]), intr=intr.mirrored()))
    expected = right.pose.offsets[:, :, :, ::-1].copy()
    expected[:, 0] *= -1.0
    assert np.abs(left.pose.offsets - expected).max() < 1e-5
    plain = make_tracker(Estimator(random_model_path(), "cpu")).process(frame(depth, intr=intr))
    assert plain.pose.offsets is None


@pytest.mark.parametrize("max_hands", [1, 2])
def test_the_tracked_hand_keeps_its_id_and_a_hand_found_anew_gets_the_next(estimator, moving_hand, max_hands):
    depths, joints = moving_hand
    tracker = make_tracker(estimator, min_confidence=0.0, max_hands=max_hands)
    results = [tracker.process(frame(d, index=k, gt=j)) for k, (d, j) in enumerate(zip(depths, joints))]
    again = tracker.process(frame(depths[0], index=len(depths)))
    assert [len(r.hands) for r in results] == [1] * 6 + [0]          # one hand, then none
    assert {r.hands[0].hand_id for r in results[:6]} == {1}          # the same hand throughout
    if max_hands == 1:
        assert again.hands[0].hand_id == 2                           # found again after the loss: a new id
    else:   # several hands: a hand lost for up to IdentityConfig.max_missed_frames keeps its id when found near
        assert again.hands[0].hand_id == 1
        gone = make_tracker(estimator, min_confidence=0.0, max_hands=2)
        for k, d in enumerate(depths[:3]):
            gone.process(frame(d, index=k))
        for k in range(3, 3 + gone.config.identity.max_missed_frames + 1):
            assert not gone.process(frame(np.zeros((480, 640)), index=k)).hands
        assert gone.process(frame(depths[3], index=20)).hands[0].hand_id == 2
    first = results[0].hands[0]
    assert first.hand == "right" and first.status == results[0].status and first.pose is results[0].pose
    assert first.location is results[0].location and first.confidence == results[0].extra["confidence"]
    assert np.array_equal(first.gt_xyz_mm, joints[0])
