"""Exact ray casting: spheres, round cones, sphere-swept triangles, planes, boxes and cylinders against analytic
depths and against a brute-force union of many interpolated spheres (the convex hull of spheres is the union of
the spheres interpolated between them)."""
import numpy as np
import pytest

from app.camera import Intrinsics
from app.synth.raycast import DepthCanvas

INTR = Intrinsics(160, 120, 150.0, 152.0, 77.3, 61.8)


def brute_force_hull(intr: Intrinsics, spheres: np.ndarray, steps: int = 60) -> np.ndarray:
    """Depth of the convex hull of 2 or 3 spheres by casting a dense set of interpolated spheres."""
    weights = []
    for i in range(steps + 1):
        for j in range(steps + 1 - i if len(spheres) == 3 else 1):
            w = np.zeros(len(spheres))
            if len(spheres) == 2:
                w[:] = (1 - i / steps, i / steps)
            else:
                w[:] = (i / steps, j / steps, 1 - (i + j) / steps)
            weights.append(w)
    dense = np.array(weights) @ spheres
    canvas = DepthCanvas(intr)
    canvas.spheres(dense, 1)
    return canvas.depth


def compare(exact: np.ndarray, brute: np.ndarray) -> tuple[float, float, float]:
    """(largest amount the exact surface lies behind the brute-force one, largest amount in front of it,
    share of pixels hit by only one of them). The brute force is an inner approximation, so it may only be
    behind the exact surface, by its discretisation."""
    both = np.isfinite(exact) & np.isfinite(brute)
    only_one = np.isfinite(exact) ^ np.isfinite(brute)
    diff = exact[both] - brute[both]
    return float(diff.max()), float(-diff.min()), float(only_one.sum() / max(both.sum(), 1))


def test_sphere_depth_is_analytic():
    canvas = DepthCanvas(INTR)
    centre = np.array([10.0, -5.0, 400.0])
    canvas.spheres(np.array([[*centre, 30.0]]), 1)
    # The pixel on the line through the centre sees the sphere's nearest point at |c| - r along the ray.
    u = INTR.fx * centre[0] / centre[2] + INTR.cx
    v = INTR.fy * centre[1] / centre[2] + INTR.cy
    i, j = int(round(u)), int(round(v))
    d = np.array([(i - INTR.cx) / INTR.fx, (j - INTR.cy) / INTR.fy, 1.0])
    dn = d / np.linalg.norm(d)
    along = centre @ dn
    t = along - np.sqrt(30.0 ** 2 - (centre @ centre - along ** 2))
    assert abs(canvas.depth[j, i] - t * dn[2]) < 1e-3
    assert canvas.label[j, i] == 1 and canvas.label[0, 0] == 0


@pytest.mark.parametrize("seed", range(4))
def test_round_cone_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    c1 = np.array([rng.uniform(-30, 30), rng.uniform(-30, 30), rng.uniform(250, 400)])
    c2 = c1 + rng.normal(0, 1, 3) * 50
    spheres = np.array([[*c1, rng.uniform(6, 20)], [*c2, rng.uniform(4, 14)]])
    canvas = DepthCanvas(INTR)
    canvas.sphere_mesh(spheres, np.array([[0, 1]]), np.zeros((0, 3), np.int64), 1)
    behind, in_front, silhouette_mismatch = compare(canvas.depth, brute_force_hull(INTR, spheres, 400))
    assert behind < 0.02 and in_front < 0.3
    assert silhouette_mismatch < 0.03


@pytest.mark.parametrize("seed", range(4))
def test_sphere_swept_triangle_matches_brute_force(seed):
    rng = np.random.default_rng(10 + seed)
    centre = np.array([rng.uniform(-20, 20), rng.uniform(-20, 20), rng.uniform(280, 400)])
    spheres = np.concatenate([centre + rng.normal(0, 1, (3, 3)) * 40, rng.uniform(5, 18, (3, 1))], axis=1)
    canvas = DepthCanvas(INTR)
    canvas.sphere_mesh(spheres, np.array([[0, 1], [1, 2], [2, 0]]), np.array([[0, 1, 2]]), 1)
    behind, in_front, silhouette_mismatch = compare(canvas.depth, brute_force_hull(INTR, spheres, 80))
    assert behind < 0.02 and in_front < 0.6
    assert silhouette_mismatch < 0.03


def test_plane_box_and_cylinder_depths():
    canvas = DepthCanvas(INTR)
    canvas.plane(np.array([0.0, 0.0, -1.0]), -900.0, 2)
    assert np.allclose(canvas.depth, 900.0)
    canvas.box(np.array([0.0, 0.0, 500.0]), np.eye(3), np.array([40.0, 30.0, 20.0]), 3)
    j, i = int(round(INTR.cy)), int(round(INTR.cx))
    assert abs(canvas.depth[j, i] - 480.0) < 1e-3 and canvas.label[j, i] == 3
    # Cylinder along x at depth 300, radius 15: the central pixel sees its nearest line at 285.
    canvas.cylinder(np.array([-50.0, 0.0, 300.0]), np.array([50.0, 0.0, 300.0]), 15.0, 4)
    assert abs(canvas.depth[j, i] - 285.0) < 0.05
    # Seen end-on, a cylinder shows its flat cap.
    cap = DepthCanvas(INTR)
    cap.cylinder(np.array([0.0, 0.0, 700.0]), np.array([0.0, 0.0, 600.0]), 25.0, 1)
    assert abs(cap.depth[j, i] - 600.0) < 1e-3
    assert canvas.depth[0, 0] == 900.0


def test_things_behind_the_camera_are_not_seen_but_rods_reaching_forward_are():
    canvas = DepthCanvas(INTR)
    canvas.spheres(np.array([[0.0, 0.0, -100.0, 20.0]]), 1)
    assert np.isinf(canvas.depth).all()
    # A rod from behind the camera to (40, 0, 300), passing 40 mm to the right of the lens.
    canvas.sphere_mesh(np.array([[40.0, 0.0, 300.0, 10.0], [40.0, 0.0, -300.0, 10.0]]), np.array([[0, 1]]),
                       np.zeros((0, 3), np.int64), 1)
    row = canvas.depth[int(round(INTR.cy))]
    hit = np.isfinite(row)
    assert hit[-1] and not hit[0]
    # Along the row the visible rod surface gets nearer towards the right image border (x = z * (u - cx) / fx).
    assert row[-1] < row[hit].max() and row[-1] < 60.0
