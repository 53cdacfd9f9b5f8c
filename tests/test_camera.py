"""app.camera, the one home of the pinhole maths and of raw depth -> mm: the grid helpers agree with the
point projection, and raw depth round-trips."""
import numpy as np

from app.camera import (Intrinsics, depth_to_mm, extent_px, mm_to_depth_raw, project_mm_to_px, project_point,
                        ray_slopes, slopes_to_px, unproject_point, unproject_px_to_mm)

INTR = Intrinsics(640, 480, 610.0, 605.0, 322.5, 236.0, 0.1)


def test_single_points_project_exactly_as_arrays_do():
    xyz = np.array([[-140.0, 75.5, 420.0], [3.0, -260.0, 990.0]])
    uvz = project_mm_to_px(xyz, INTR)
    for p, q in zip(xyz, uvz):
        assert project_point(*p, INTR) == (q[0], q[1])                    # the same operations: bit-identical
        assert unproject_point(*q, INTR) == tuple(unproject_px_to_mm(q, INTR)[:2])


def test_ray_slopes_of_a_pixel_grid_give_the_unprojected_points():
    u, v = np.arange(0, 640, 7.0), np.arange(0, 480, 5.0)
    x_per_z, y_per_z = ray_slopes(u, v[:, None], INTR, np.float64)
    z = 850.0
    expected = unproject_px_to_mm(np.stack(np.broadcast_arrays(u[None, :], v[:, None], z), axis=-1), INTR)
    assert np.abs(x_per_z * z - expected[..., 0]).max() < 1e-9
    assert np.abs(y_per_z * z - expected[..., 1]).max() < 1e-9
    assert ray_slopes(u, v, INTR)[0].dtype == np.float32          # float32 by default: the localiser's grids
    u_back, v_back = slopes_to_px(x_per_z, y_per_z, INTR)
    assert np.abs(u_back - u[None, :]).max() < 1e-9 and np.abs(v_back - v[:, None]).max() < 1e-9


def test_extent_px_is_the_projected_length_of_a_segment_facing_the_camera():
    ends = project_mm_to_px(np.array([[0.0, 0.0, 700.0], [140.0, 140.0, 700.0]]), INTR)
    assert np.allclose(extent_px(140.0, 700.0, INTR), ends[1, :2] - ends[0, :2], rtol=0, atol=1e-9)
    assert extent_px(140.0, 700.0, INTR) == (122.0, 121.0)   # 140 / 700 * 610 and * 605 px


def test_raw_depth_round_trips_through_millimetres():
    raw = np.array([[0, 1, 4000, 65535]], np.uint16)
    mm = depth_to_mm(raw, INTR)
    assert mm.dtype == np.float32 and np.allclose(mm, [[0.0, 0.1, 400.0, 6553.5]])
    assert np.array_equal(mm_to_depth_raw(mm, INTR), raw)
    assert np.array_equal(mm_to_depth_raw(np.array([-5.0, 0.04, 0.06, 1e9], np.float32), INTR), [0, 0, 1, 65535])
