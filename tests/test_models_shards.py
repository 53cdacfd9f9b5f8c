"""The vectorised crop -> mm conversion used in training and evaluation agrees with the runtime's own."""
import numpy as np

from app.camera import Intrinsics
from app.tracking.crop import crop_geometry, crop_uvd_to_xyz_mm
from models.shards import crop_uvd_to_xyz_mm_batch


def test_batch_conversion_matches_the_runtime_crop():
    rng = np.random.default_rng(3)
    geoms, intrs, uvds = [], [], []
    for _ in range(6):
        intr = Intrinsics(640, 480, rng.uniform(380, 620), rng.uniform(380, 620), rng.uniform(300, 340),
                          rng.uniform(220, 260))
        centre = (rng.uniform(50, 590), rng.uniform(50, 430), rng.uniform(250, 800))
        geoms.append(crop_geometry(centre, rng.uniform(200, 300), 128, intr))
        intrs.append(intr)
        uvds.append(rng.uniform(-1.2, 1.2, size=(21, 3)))
    expected = np.stack([crop_uvd_to_xyz_mm(u, g, i) for u, g, i in zip(uvds, geoms, intrs)])
    got = crop_uvd_to_xyz_mm_batch(
        np.stack(uvds), np.array([g.centre_uvz for g in geoms]), np.array([g.cube_mm for g in geoms]),
        np.stack([g.image_to_crop for g in geoms]),
        np.array([[i.width, i.height, i.fx, i.fy, i.cx, i.cy, i.depth_unit_mm] for i in intrs]), 128)
    assert np.abs(got - expected).max() < 1e-9
