"""The localiser's shape tests on point sets with known answers, in mm: the arm-end shell test, convexity,
the dominant plane of a surface, the filled-disc test, mean-shift."""
import numpy as np

from app.camera import Intrinsics
from app.tracking.hand_shape import (arm_crossing, dist2, dominant_plane, fills_disc, mean_shift, solidity,
                                     squared_norms)


def cylinder_points(start, end, radius_mm, rng, n=3000):
    """Points on the surface of a cylinder from start to end (mm), (3, n) float32."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    axis = end - start
    length = np.linalg.norm(axis)
    axis = axis / length
    side = np.cross(axis, [0.0, 0.0, 1.0] if abs(axis[2]) < 0.9 else [1.0, 0.0, 0.0])
    side /= np.linalg.norm(side)
    up = np.cross(axis, side)
    t = rng.uniform(0, length, n)
    a = rng.uniform(0, 2 * np.pi, n)
    p = start + t[:, None] * axis + radius_mm * (np.cos(a)[:, None] * side + np.sin(a)[:, None] * up)
    return p.T.astype(np.float32)


def crossing_of(points, centre):
    centre = np.asarray(centre, float)
    sq = squared_norms(points)
    return arm_crossing(dist2(points, centre, sq), points, sq, centre, 180.0, 230.0, 4)


def test_dist2_with_squared_norms_matches_the_direct_form():
    rng = np.random.default_rng(0)
    points = rng.uniform([-300, -300, 300], [300, 300, 1000], (500, 3)).T.astype(np.float32)
    centre = np.array([12.0, -40.0, 610.0])
    direct = dist2(points, centre)
    assert np.allclose(dist2(points, centre, squared_norms(points)), direct, atol=1.0)   # mm^2 at ~1 m
    assert np.allclose(direct, ((points.T - centre) ** 2).sum(axis=1), rtol=1e-5)


def test_a_forearm_leaving_the_hand_is_one_patch_on_one_side():
    rng = np.random.default_rng(1)
    hand = np.array([0.0, 0.0, 500.0])
    forearm = cylinder_points(hand + [0, 70, 0], hand + [0, 400, 80], 30.0, rng)   # from the wrist away
    rms, sidedness = crossing_of(forearm, hand)
    assert 20.0 < rms < 45.0
    assert sidedness > 0.9


def test_the_middle_of_an_arm_and_a_surface_are_no_ends():
    rng = np.random.default_rng(2)
    centre = np.array([0.0, 0.0, 600.0])
    arm = cylinder_points(centre + [-400, 0, 0], centre + [400, 0, 0], 30.0, rng)      # runs on both ways
    rms, sidedness = crossing_of(arm, centre)
    assert rms > 150.0 and sidedness < 0.2
    wall = np.stack(np.meshgrid(np.arange(-400, 401, 8.0), np.arange(-400, 401, 8.0)), 0).reshape(2, -1)
    wall = np.vstack([wall, np.full(wall.shape[1], 620.0)]).astype(np.float32)        # a wall 20 mm behind
    rms, sidedness = crossing_of(wall, centre)
    assert rms > 120.0 and sidedness < 0.1
    # Nothing beyond the fingers' reach: a hand whose arm is hidden (or a ball).
    ball = cylinder_points(centre + [0, -60, 0], centre + [0, 60, 0], 40.0, rng)
    assert crossing_of(ball, centre) == (0.0, 0.0)


def test_solidity_tells_an_open_hand_from_a_blob():
    v, u = np.mgrid[0:40, 0:40]
    disc = np.stack([u[(u - 20) ** 2 + (v - 20) ** 2 <= 400], v[(u - 20) ** 2 + (v - 20) ** 2 <= 400]], 1)
    assert solidity(disc.astype(np.int32)) > 0.95
    # A palm (16 x 14 samples) with five fingers 2 samples wide and 3 apart: the gaps leave the hull part empty.
    palm = [(x, y) for x in range(0, 16) for y in range(20, 34)]
    fingers = [(x0 + dx, y) for x0 in (0, 4, 8, 12) for dx in (0, 1) for y in range(6, 20)]
    thumb = [(16 + k, 22 - k + dy) for k in range(8) for dy in (0, 1)]
    hand = np.array(palm + fingers + thumb, np.int32)
    assert solidity(hand) < 0.8
    assert solidity(hand[::2], thin=2) < 0.85     # thinned samples count for two


def test_dominant_plane_of_a_noisy_table_with_a_hand_on_it():
    rng = np.random.default_rng(3)
    normal = np.array([0.0, -np.cos(np.radians(50)), -np.sin(np.radians(50))])
    e1 = np.array([1.0, 0.0, 0.0])
    e2 = np.cross(normal, e1)
    s, t = rng.uniform(-300, 300, (2, 2000))
    table = np.array([0.0, 150.0, 700.0]) + s[:, None] * e1 + t[:, None] * e2 + rng.normal(0, 3, (2000, 1)) * normal
    lateral = rng.uniform(-50, 50, (2, 300))
    hand = (np.array([0.0, 150.0, 700.0]) + lateral[0][:, None] * e1 + lateral[1][:, None] * e2
            + rng.uniform(20, 70, (300, 1)) * normal)                    # a hand 20-70 mm above it
    points = np.vstack([table, hand]).T.astype(np.float32)
    n, offset, inliers, width = dominant_plane(points, 12.0)
    assert abs(abs(float(n @ normal)) - 1.0) < 1e-3                    # within ~2.5 degrees
    assert abs(abs(offset) - abs(float(normal @ [0.0, 150.0, 700.0]))) < 3.0
    assert inliers[:2000].mean() > 0.99 and inliers[2000:].mean() < 0.05
    assert width > 150.0                                               # a 600 mm square: std 173 mm
    strip = table[np.abs(s) < 40].T.astype(np.float32)                 # a forearm-wide strip of it
    assert dominant_plane(strip, 12.0)[3] < 30.0


def test_fills_disc_clipped_to_the_image():
    # A ball of 100 mm at 500 mm with f = 500 px projects to a 100 px radius disc: 31416 px, 1963 samples at step 4.
    centre = np.array([0.0, 0.0, 500.0])
    args = (100.0, Intrinsics(640, 480, 500.0, 500.0, 320.0, 240.0), 4, (0, 0), (120, 160), 0.85)
    assert fills_disc(1800, centre, *args) and not fills_disc(1500, centre, *args)
    corner = np.array([-320.0, -240.0, 500.0])     # centred on the image corner: a quarter of the disc is seen
    assert fills_disc(450, corner, *args) and not fills_disc(300, corner, *args)


def test_mean_shift_stays_on_the_hand_end_of_an_arm():
    rng = np.random.default_rng(4)
    hand = rng.normal([0.0, 0.0, 500.0], [30.0, 40.0, 10.0], (800, 3))
    forearm = cylinder_points([0, 70, 505], [0, 400, 560], 30.0, rng, 1500).T
    points = np.vstack([hand, forearm]).T.astype(np.float32)
    centre, inside = mean_shift(points, squared_norms(points), np.array([0.0, -80.0, 495.0]), 98.0, 120.0, 6)
    assert np.linalg.norm(centre - [0.0, 0.0, 500.0]) < 35.0          # pulled towards the wrist a little only
    assert np.count_nonzero(inside < 800) > 600                         # most of the hand is inside the ball
