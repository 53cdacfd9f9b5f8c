"""A short AWR training run on a cheap synthetic problem: dense loss then joint loss lower the joint error.

Six fixed random "hands" of 21 joints, each joint rendered as a sphere of radius 0.1 (12.5 mm for a 250 mm
cube) into 128 x 128 normalised crops (background +1), shifted at random per sample. The network is a small
NetworkConfig (same code path as "lite", narrower) so the run takes ~20 s on the 2-core VM.
"""
import numpy as np
import pytest
import torch

from models.awr import aggregate, dense_targets
from models.losses import dense_loss, joint_loss
from models.network import NetworkConfig, build_network

S, J = 128, 21
T, BETA = 0.8, 30.0
MM_PER_UNIT = 250.0 / 2                   # cube 250 mm: 1 normalised unit = 125 mm
SPHERE_R = 0.1
TOY = NetworkConfig("toy", 8, (8, 16, 32, 64), (1, 1, 1, 1), 32, stem_stride=2, decoder_min_channels=16)


def render(joints_uvd: np.ndarray) -> np.ndarray:
    """N x J x 3 joints -> N x 1 x S x S crops: the front surface of a sphere around every joint."""
    axis = (np.arange(S) + 0.5) * 2 / S - 1
    u, v = axis[None, :], axis[:, None]
    out = np.ones((len(joints_uvd), 1, S, S), np.float32)
    for i, joints in enumerate(joints_uvd):
        depth = np.full((S, S), np.inf)
        for ju, jv, jd in joints:
            r2 = (u - ju) ** 2 + (v - jv) ** 2
            front = jd - np.sqrt(np.maximum(SPHERE_R ** 2 - r2, 0.0))
            depth = np.minimum(depth, np.where(r2 < SPHERE_R ** 2, front, np.inf))
        out[i, 0] = np.where(np.isfinite(depth), depth, 1.0)
    return out


def make_samples(hands: np.ndarray, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    which = rng.integers(0, len(hands), n)
    shift = np.concatenate([rng.uniform(-0.15, 0.15, (n, 1, 2)), rng.uniform(-0.1, 0.1, (n, 1, 1))], -1)
    joints = (hands[which] + shift).astype(np.float32)
    return torch.from_numpy(render(joints)), torch.from_numpy(joints)


def mean_error_mm(net, crops, joints) -> float:
    net.eval()
    with torch.no_grad():
        pred, _ = aggregate(net(crops), crops, T, BETA)
    net.train()
    return float((pred - joints).norm(dim=-1).mean()) * MM_PER_UNIT


@pytest.mark.slow
def test_dense_then_joint_training_lowers_the_joint_error():
    rng = np.random.default_rng(0)
    hands = np.concatenate([rng.uniform(-0.45, 0.45, (6, J, 2)), rng.uniform(-0.15, 0.15, (6, J, 1))], -1)
    train_x, train_j = make_samples(hands, 64, rng)
    test_x, test_j = make_samples(hands, 32, np.random.default_rng(99))     # unseen shifts
    torch.manual_seed(0)
    net = build_network(TOY)
    # Untrained: near-zero maps give uniform weights, i.e. the grid mean (background included): ~120 mm.
    before_mm = mean_error_mm(net, train_x, train_j)
    assert before_mm > 80

    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(80):                   # stage 1: dense loss
        b = torch.randint(0, len(train_x), (16,), generator=g)
        loss = dense_loss(net(train_x[b]), dense_targets(train_x[b], train_j[b], T))
        opt.zero_grad()
        loss.backward()
        opt.step()
    dense_mm = mean_error_mm(net, train_x, train_j)

    for group in opt.param_groups:        # stage 2: joint loss through the aggregation, lower lr
        group["lr"] = 1e-4
    for _ in range(30):
        b = torch.randint(0, len(train_x), (16,), generator=g)
        pred, _ = aggregate(net(train_x[b]), train_x[b], T, BETA)
        loss = joint_loss(pred, train_j[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    after_mm = mean_error_mm(net, train_x, train_j)
    after_unseen_mm = mean_error_mm(net, test_x, test_j)

    # Measured on the 2-core VM: ~120 -> ~46 (dense) -> ~39 mm; unseen shifts ~45 mm.
    assert dense_mm < 0.5 * before_mm
    assert after_mm < dense_mm
    assert after_mm < 0.5 * before_mm
    assert after_unseen_mm < 0.5 * before_mm
