"""AWR dense targets and adaptive-weighting aggregation (models/awr.py) against the definitions in awr.md."""
import math

import numpy as np
import pytest
import torch

from models.awr import aggregate, dense_targets, downsample_depth, feature_grid

S, F, J = 128, 64, 21
T = 0.8          # ResNet kernel radius (normalised units)
BETA = 30.0
CUBE_MM = 250.0
MM_PER_UNIT = CUBE_MM / 2.0

# Round-trip bound. With exact targets every masked pixel p votes p + U * T (1 - H) = p + off = J exactly (the
# 1e-8 inside the sqrt cancels because dist enters U and H alike), so the grid does NOT limit the accuracy.
# The only error is the softmax leak to unmasked pixels (background, or farther than T), whose logit is 0
# and whose vote is their own position p:
#   J_hat - J = sum_{p unmasked} w_p (p - J),  w_p = 1 / Z,  Z >= exp(beta * H_max),  H_max = 1 - r / T,
#   |J_hat - J| <= F^2 * D_max * exp(-beta * (1 - r / T)),  D_max = 2 sqrt(3) (both points in the cube),
# where r is the 3-D distance from the joint to the nearest hand pixel. For a joint within r <= 0.1
# (12.5 mm) of the hand surface: 4096 * 3.46 * exp(-26.25) * 125 mm = 7e-6 mm. float32 rounding of the
# 4096-term weighted sums (~1e-6 normalised) dominates; 1e-3 mm covers both with margin.
ROUND_TRIP_BOUND_MM = 1e-3
NEAR_SURFACE_R = 0.1


def leak_bound(r: float, t: float = T) -> float:
    """The analytic round-trip bound above, normalised units."""
    return F * F * 2.0 * math.sqrt(3.0) * math.exp(-BETA * (1.0 - r / t))


def hand_scene(n: int = 1) -> torch.Tensor:
    """Crops with a tilted, hand-sized foreground (an ellipse plus one finger bar reaching the right border)
    on +1 background."""
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    u, v = (xx + 0.5) * 2 / S - 1, (yy + 0.5) * 2 / S - 1
    fg = ((u / 0.45) ** 2 + (v / 0.35) ** 2 < 1) | ((np.abs(v + 0.8) < 0.12) & (u > 0.0))
    d = np.where(fg, 0.25 * u - 0.15 * v, 1.0).astype(np.float32)
    return torch.from_numpy(np.broadcast_to(d, (n, 1, S, S)).copy())


def nearest_hand_distance(depth: torch.Tensor, joint: np.ndarray) -> float:
    d = downsample_depth(depth)[0, 0].numpy()
    g = feature_grid(F).numpy()
    pts = np.stack([g[0], g[1], d], -1)[d < 0.99]
    return float(np.linalg.norm(pts - joint, axis=1).min())


def test_feature_grid_and_downsampling():
    g = feature_grid(F)
    assert g.shape == (2, F, F)
    assert g[0, 0, 0] == pytest.approx(-1 + 1 / F) and g[0, 0, -1] == pytest.approx(1 - 1 / F)
    assert torch.all(g[0, 5] == g[0, 0]) and torch.all(g[1, :, 7] == g[1, :, 0])   # u along columns
    x = torch.arange(2 * S * S, dtype=torch.float32).reshape(2, 1, S, S)
    assert torch.equal(downsample_depth(x), x[:, :, ::2, ::2])
    y = torch.arange(96 * 96, dtype=torch.float32).reshape(1, 1, 96, 96)       # S/F = 1.5: nearest
    idx = (np.arange(64) * 96) // 64
    assert np.array_equal(downsample_depth(y, 64)[0, 0].numpy(), y[0, 0].numpy()[np.ix_(idx, idx)])


def test_dense_target_properties():
    depth = hand_scene(2)
    rng = np.random.default_rng(0)
    joints = torch.from_numpy(rng.uniform(-0.4, 0.4, (2, J, 3)).astype(np.float32))
    # Joint 0 of sample 0 exactly on feature pixel (40, 30)'s 3-D point: closeness 1 - 1e-4 / T there.
    d64 = downsample_depth(depth)
    g = feature_grid(F)
    joints[0, 0] = torch.stack([g[0, 30, 40], g[1, 30, 40], d64[0, 0, 30, 40]])
    tgt = dense_targets(depth, joints, T)
    assert tgt.shape == (2, 4 * J, F, F)
    unit = tgt[:, :3 * J].reshape(2, J, 3, F, F)
    heat = tgt[:, 3 * J:]
    norm = unit.norm(dim=2)
    mask = heat > 0
    assert norm[0, 0, 30, 40] == 0                  # the pixel at the joint: off = 0, so U = 0 / sqrt(1e-8)
    mask[0, 0, 30, 40] = False
    assert torch.allclose(norm[mask], torch.ones(()), atol=1e-5)               # unit vectors elsewhere
    mask[0, 0, 30, 40] = True
    assert heat[0, 0, 30, 40] == pytest.approx(1 - math.sqrt(1e-8) / T, abs=1e-6)
    assert heat.max() <= 1 and heat.min() >= 0
    background = (d64 >= 0.99).expand(2, 4 * J, F, F)
    assert mask.any() and torch.all(tgt[background] == 0)                      # zero on background
    # Independent recomputation (float64 numpy): H = (T - dist) / T inside T on the hand, 0 elsewhere.
    pts = np.stack(np.broadcast_arrays(g[0].numpy(), g[1].numpy(), d64[:, 0].numpy()), 1)    # 2 x 3 x F x F
    off = joints.numpy()[:, :, :, None, None].astype(np.float64) - pts[:, None]
    dist = np.sqrt((off ** 2).sum(2) + 1e-8)
    valid = (dist <= T) & (d64.numpy() < 0.99)
    assert np.abs(heat.numpy() - np.where(valid, (T - dist) / T, 0)).max() < 1e-5
    assert np.abs(unit.numpy() - np.where(valid[:, :, None], off / dist[:, :, None], 0)).max() < 1e-5
    assert torch.all(norm[~valid] == 0)                                         # nothing outside T
    # Joint-major layout: channels 3k..3k+2 are joint k's (du, dv, dd).
    k = 7
    assert torch.equal(tgt[:, 3 * k:3 * k + 3], unit[:, k])


@pytest.mark.parametrize("t", [0.8, 0.4])
def test_round_trip_recovers_joints_near_the_hand(t):
    depth = hand_scene(1)
    d64 = downsample_depth(depth)[0, 0]
    g = feature_grid(F)
    rng = np.random.default_rng(1)
    hand_px = np.argwhere(d64.numpy() < 0.99)
    joints = []
    # 15 joints inside the hand: a hand pixel's 3-D point pushed up to 0.08 (10 mm) below the surface.
    for r, c in hand_px[rng.choice(len(hand_px), 15, replace=False)]:
        joints.append([g[0, r, c], g[1, r, c], d64[r, c] + rng.uniform(0.0, 0.08)])
    joints += [
        [0.99, -0.80, 0.25 * 0.99 + 0.12 + 0.03],   # finger bar at the right crop border
        [1.04, -0.85, 0.25 + 0.12],                 # just outside the crop
        [0.50, 0.00, 0.125],                        # over background, 0.05 beyond the ellipse's edge
        [0.00, 0.40, -0.06],                        # over background, 0.05 below the ellipse
        [-0.20, -0.38, 0.02],                       # over background just above the ellipse's top
        [0.30, -0.62, 0.17],                        # over background next to the finger bar
    ]
    truth = np.asarray(joints, np.float32)
    radii = [nearest_hand_distance(depth, j) for j in truth]
    assert max(radii) <= NEAR_SURFACE_R
    assert min(r for r, j in zip(radii, truth) if abs(j[0]) > 1) > 0.02       # the outside joint is off-grid
    gt = torch.from_numpy(truth)[None]
    est, weights = aggregate(dense_targets(depth, gt, t), depth, t, BETA)
    err_mm = (est - gt).norm(dim=-1)[0].numpy() * MM_PER_UNIT
    assert err_mm.max() <= ROUND_TRIP_BOUND_MM
    assert torch.allclose(weights.sum(dim=(-2, -1)), torch.ones(1, J), atol=1e-5)
    assert max(leak_bound(r, t) for r in radii) * MM_PER_UNIT < ROUND_TRIP_BOUND_MM


def test_joints_far_from_the_hand_are_not_recovered():
    """Documented limitation: a joint with no hand pixel within T gets no vote; the result degrades to the
    uniform-weight grid mean (0, 0, mean depth of the feature map). Between, the error stays below the leak
    bound and grows with the distance r to the hand."""
    depth = hand_scene(1)
    d64 = downsample_depth(depth)
    joints = torch.zeros(1, J, 3)
    joints[0, :, 0] = 0.55
    joints[0, :, 2] = torch.linspace(0.2, 1.5, J)     # increasingly far in front of/behind the surface
    radii = np.array([nearest_hand_distance(depth, j) for j in joints[0].numpy()])
    est, weights = aggregate(dense_targets(depth, joints, T), depth, T, BETA)
    err = (est - joints).norm(dim=-1)[0].numpy()
    far = radii > T
    assert far.sum() >= 3 and (~far).sum() >= 3
    grid_mean = torch.tensor([0.0, 0.0, float(d64.mean())])
    assert torch.allclose(est[0, far], grid_mean.expand(int(far.sum()), 3), atol=1e-5)
    assert torch.allclose(weights[0, far], torch.full((F, F), 1 / F ** 2), atol=1e-9)
    for r, e in zip(radii[~far], err[~far]):
        assert e <= leak_bound(r) + 1e-6
    assert err[~far][-1] > 0.01 > err[~far][0]        # 1.25 mm: the leak matters only far from the hand


def test_aggregate_masks_background_and_is_differentiable():
    depth = hand_scene(2)
    torch.manual_seed(0)
    dense = (torch.randn(2, 4 * J, F, F) * 0.5).requires_grad_(True)
    est, weights = aggregate(dense, depth, T, BETA)
    assert est.shape == (2, J, 3) and weights.shape == (2, J, F, F)
    assert torch.allclose(weights.sum(dim=(-2, -1)), torch.ones(2, J), atol=1e-5)
    # Background pixels keep logit 0 whatever the network says there (multiplicative mask).
    bg = (downsample_depth(depth) >= 0.99)[:, 0]
    w0 = weights[0, 0][bg[0]]
    assert torch.allclose(w0, w0[0].expand_as(w0))
    # Same result as an explicit float64 implementation of awr.md's five steps.
    dn, dd = dense.detach().double().numpy(), downsample_depth(depth)[:, 0].double().numpy()
    m = (dd < 0.99)[:, None]
    u = dn[:, :3 * J].reshape(2, J, 3, F, F) * m[:, :, None]
    h = dn[:, 3 * J:] * m
    logits = (BETA * h).reshape(2, J, -1)
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w = (w / w.sum(-1, keepdims=True)).reshape(2, J, F, F)
    g = feature_grid(F).double().numpy()
    p = np.stack(np.broadcast_arrays(g[0], g[1], dd), 1)[:, None]              # 2 x 1 x 3 x F x F
    ref = (w[:, :, None] * (p + u * (T * (1 - h))[:, :, None])).sum((-2, -1))
    assert np.abs(est.detach().numpy() - ref).max() < 1e-5
    est.sum().backward()
    assert torch.isfinite(dense.grad).all() and dense.grad.abs().sum() > 0
    assert torch.all(dense.grad[0, :, bg[0]] == 0)      # no gradient into background pixels
