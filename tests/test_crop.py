"""The AWR crop shared by training and runtime: exact round trips, normalisation, off-image crops."""
import numpy as np
import pytest

from app.camera import Intrinsics, project_mm_to_px, unproject_px_to_mm
from app.tracking.crop import (crop_depth, crop_geometry, crop_uvd_to_xyz_mm, norm_to_crop_px, crop_px_to_norm,
                               xyz_mm_to_crop_uvd)


def random_intrinsics(rng):
    w, h = int(rng.choice([320, 424, 640, 848])), int(rng.choice([240, 480]))
    f = rng.uniform(220, 650)
    return Intrinsics(w, h, f * rng.uniform(0.98, 1.02), f, w / 2 + rng.normal(0, 8), h / 2 + rng.normal(0, 8))


def test_camera_round_trip_exact():
    rng = np.random.default_rng(0)
    intr = random_intrinsics(rng)
    xyz = rng.uniform([-300, -200, 200], [300, 200, 1200], size=(100, 3))
    back = unproject_px_to_mm(project_mm_to_px(xyz, intr), intr)
    assert np.abs(back - xyz).max() < 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_crop_round_trip_exact_including_off_image(seed):
    rng = np.random.default_rng(seed)
    intr = random_intrinsics(rng)
    # Centres anywhere in (and a little outside) the image, so crops run off every border.
    centre = (rng.uniform(-20, intr.width + 20), rng.uniform(-20, intr.height + 20), rng.uniform(200, 1000))
    cube = rng.uniform(150, 320)
    geom = crop_geometry(centre, cube, 128, intr)
    c_mm = unproject_px_to_mm(np.array(centre), intr)
    xyz = c_mm + rng.uniform(-cube / 2, cube / 2, size=(21, 3))
    uvd = xyz_mm_to_crop_uvd(xyz, geom, intr)
    assert np.abs(crop_uvd_to_xyz_mm(uvd, geom, intr) - xyz).max() < 1e-3
    # The cube maps into [-1, 1]: the centre to (0, 0, 0), the cube faces to d = +-1.
    assert np.allclose(xyz_mm_to_crop_uvd(c_mm, geom, intr), 0.0, atol=1e-9)
    front = c_mm * (centre[2] - cube / 2) / centre[2]
    assert xyz_mm_to_crop_uvd(front, geom, intr)[2] == pytest.approx(-1.0)


def test_crop_normalisation_and_background():
    intr = Intrinsics(640, 480, 400.0, 400.0, 320.0, 240.0)
    depth = np.zeros((480, 640), np.float32)
    depth[200:280, 280:360] = 500.0          # a flat patch at the centre depth
    depth[230:250, 310:330] = 300.0          # nearer than the cube's front face: clamped to -1
    depth[0:480, 0:40] = 2000.0              # far wall: background
    geom = crop_geometry((320.0, 240.0, 500.0), 250.0, 128, intr)
    crop = crop_depth(depth, geom)
    assert crop.shape == (128, 128) and crop.dtype == np.float32
    assert crop[64, 64] == pytest.approx(-1.0)          # clamped near pixel
    assert crop[64, 40] == pytest.approx(0.0)           # patch at the centre depth
    assert crop[0, 0] == 1.0                             # invalid / outside -> background
    assert crop.min() >= -1.0 and crop.max() <= 1.0
    # Crop size in pixels: (cube/2)/z*f = 100 px half-width -> 200 px box -> scale 0.64.
    assert geom.image_to_crop[0, 0] == pytest.approx(128 / 200)
    u0, v0, u1, v1 = geom.box_px()
    assert (u1 - u0) == pytest.approx(200.0) and (v1 - v0) == pytest.approx(200.0)


def test_crop_off_image_is_padded_with_background():
    intr = Intrinsics(640, 480, 400.0, 400.0, 320.0, 240.0)
    depth = np.full((480, 640), 600.0, np.float32)
    geom = crop_geometry((5.0, 240.0, 600.0), 250.0, 128, intr)   # centre at the left border
    crop = crop_depth(depth, geom)
    assert (crop[:, :50] == 1.0).all()                  # left of the image: background
    assert np.allclose(crop[:, 70:], 0.0)               # inside: the wall at the centre depth


def test_pixel_normalisation_matches_feature_grid():
    # Crop pixel i's centre maps to 2(i + 0.5)/S - 1; feature cell j (2x2 pixels) centre to 2(j + 0.5)/F - 1.
    assert crop_px_to_norm(0, 128) == pytest.approx(2 * 0.5 / 128 - 1)
    assert crop_px_to_norm(2 * 5 + 0.5, 128) == pytest.approx(2 * (5 + 0.5) / 64 - 1)
    assert norm_to_crop_px(crop_px_to_norm(37.25, 128), 128) == pytest.approx(37.25)
