"""to_training_crop: a dataset frame -> the AWR crop and normalised joint targets, centred on the labels or on
what the runtime hand localiser finds."""
import numpy as np
import pytest

from app.camera import project_mm_to_px
from app.errors import InputError
from app.tracking.crop import crop_uvd_to_xyz_mm
from models.datasets import DATASET_INTRINSICS, DatasetSample, to_training_crop

INTR = DATASET_INTRINSICS["hands2017"]          # fx (475.065948) > fy (475.065857): the box width sets the scale


def _plane_sample(joints, plane_mm=500.0, project=True, intr=INTR, name="fixture"):
    """A flat square at plane_mm behind which nothing is visible, with the given joints."""
    depth = np.zeros((intr.height, intr.width), np.float32)
    depth[195:295, 266:366] = plane_mm          # ~100 px square around the principal point
    proj = joints[[0] * 21] if project else None
    names = tuple(f"j{i}" for i in range(len(joints)))
    return DatasetSample(depth, intr, joints, names, "test", proj, name)


def test_gt_centre_gives_hand_computed_uvd():
    centre = np.array([0.0, 0.0, 500.0])
    offsets = np.array([[-10, 0, 0], [10, 0, 0], [50, 0, 0], [0, -40, 0], [0, 0, 100], [-50, 40, -100]], float)
    joints = centre + offsets                    # mean = centre (offsets sum to zero)
    assert np.allclose(offsets.sum(axis=0), 0.0)
    crop, uvd, geom = to_training_crop(_plane_sample(joints), cube_mm=200.0, size_px=128)
    assert crop.shape == (128, 128) and crop.dtype == np.float32 and uvd.dtype == np.float32
    assert np.allclose(geom.centre_uvz, project_mm_to_px(centre, INTR))
    # u = dx / (cube/2) exactly (fx is the larger focal length); v has the factor fy/fx; d = dz / (cube/2)
    # -- but only at the centre's depth: a joint at another depth projects with its own z.
    assert uvd[2].tolist() == pytest.approx([0.5, 0.0, 0.0], abs=1e-6)
    assert uvd[3].tolist() == pytest.approx([0.0, -0.4 * 475.065857 / 475.065948, 0.0], abs=1e-6)
    assert uvd[4].tolist() == pytest.approx([0.0, 0.0, 1.0], abs=1e-6)
    assert uvd[5].tolist() == pytest.approx([-50 / 400 * 500 / 100, 40 / 400 * 500 / 100 * 0.99999981, -1.0],
                                            abs=1e-5)
    # the plane sits at the centre's depth -> 0 in the crop; outside the 100 x 100 px square (the crop spans 190 px) -> background +1
    assert crop[64, 64] == 0.0 and crop[0, 0] == 1.0
    back = crop_uvd_to_xyz_mm(uvd.astype(np.float64), geom, INTR)
    assert np.allclose(back, joints, atol=1e-3)


def test_project_layout_and_bad_arguments():
    joints = np.array([[0.0, 0.0, 480.0], [20.0, 0.0, 520.0]])
    sample = _plane_sample(joints)
    _, uvd, _ = to_training_crop(sample, 200.0, 64, use_project_layout=True)
    assert uvd.shape == (21, 3) and np.allclose(uvd, uvd[0])    # every project joint copies source joint 0
    with pytest.raises(InputError, match="no exact mapping"):
        to_training_crop(_plane_sample(joints, project=False), 200.0, use_project_layout=True)
    with pytest.raises(InputError, match="centre must be"):
        to_training_crop(sample, 200.0, centre="median")
    with pytest.raises(InputError, match="not in front"):
        to_training_crop(_plane_sample(joints * [1, 1, -1]), 200.0)


def test_localiser_centre_matches_the_runtime_hand_finder():
    localise = pytest.importorskip("app.tracking.localise")
    scenes = pytest.importorskip("tests.tracking_scenes")
    depth, joints = scenes.hand_scene((20.0, 10.0, 450.0), forearm=True)
    sample = DatasetSample(depth, scenes.INTR, joints, tuple(f"j{i}" for i in range(21)), "mediapipe21", joints,
                           "scene")
    crop, uvd, geom = to_training_crop(sample, 250.0, 128, centre="localiser")
    expected = localise.HandLocaliser(localise.LocaliserConfig(near_mm=150.0, far_mm=1500.0, cube_mm=250.0,
                                                               compute_mask=False)).locate(depth, scenes.INTR)
    assert geom.centre_uvz == pytest.approx(expected.centre_uvz)
    gt_crop, gt_uvd, gt_geom = to_training_crop(sample, 250.0, 128, centre="gt")
    # the localiser's centre is near the label mean: within 30 mm in 3-D, so targets move by < 0.25
    centre_mm = crop_uvd_to_xyz_mm(np.zeros(3), geom, scenes.INTR)
    assert np.linalg.norm(centre_mm - joints.mean(axis=0)) < 30.0
    assert np.abs(uvd - gt_uvd).max() < 0.25 and np.mean(crop < 1.0) > 0.1
    empty = DatasetSample(np.zeros_like(depth), scenes.INTR, joints, sample.joint_names, "mediapipe21", None, "e")
    with pytest.raises(InputError, match="e: the hand localiser found no hand"):
        to_training_crop(empty, 250.0, centre="localiser")
