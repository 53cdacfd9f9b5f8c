"""AWR network configurations (models/network.py): sizes against the paper, shapes, batch independence."""
import dataclasses

import pytest
import torch

from models.benchmark_network import count_gmac
from models.losses import HUBER_DELTA, dense_loss, joint_loss
from models.network import CONFIGS, AWRNet, NetworkConfig, build_network

J = 21


def test_paper_config_matches_the_published_resnet18_awr():
    net = build_network("paper")
    assert isinstance(net, AWRNet) and net.config is CONFIGS["paper"]
    params = sum(p.numel() for p in net.parameters())
    assert params == pytest.approx(15.4e6, rel=0.01)          # paper: 15.4 M
    assert count_gmac(net) == pytest.approx(3.8, rel=0.01)     # paper: 3.8 GMAC
    assert net.config.decoder_widths() == (256, 256, 256)
    net.eval()
    with torch.no_grad():
        x = torch.rand(1, 1, 128, 128) * 2 - 1
        assert net.encoder(x).shape == (1, 512, 8, 8)          # stem + pool to 64, stages to 8x8
        assert net(x).shape == (1, 4 * J, 64, 64)


@pytest.mark.parametrize("name, enc_shape, decoder, max_gmac", [
    ("lite", (256, 4, 4), (128, 64, 32, 16), 0.1),
    ("tiny", (128, 4, 4), (64, 32, 16, 16), 0.06),
])
def test_cpu_configs_shapes_and_cost(name, enc_shape, decoder, max_gmac):
    net = build_network(name)
    assert net.config.name == name and net.config.feature_size == 64
    assert net.config.decoder_widths() == decoder
    assert 0.5 * max_gmac < count_gmac(net) <= max_gmac
    x = torch.rand(3, 1, 128, 128) * 2 - 1
    assert net.encoder(x).shape == (3,) + enc_shape
    out = net(x)
    assert out.shape == (3, 4 * J, 64, 64)
    assert out.abs().max() < 0.1          # small head init: predictions start near the targets' usual 0


def test_eval_output_does_not_depend_on_the_batch():
    torch.manual_seed(0)
    net = build_network("lite")
    x = torch.rand(4, 1, 128, 128) * 2 - 1
    net.train()
    net(x)                                  # move BN running statistics away from their initial values
    net.eval()
    with torch.no_grad():
        together = net(x)
        alone = net(x[2:3])
    assert torch.allclose(together[2:3], alone, atol=1e-5)
    assert (together[0] - together[1]).abs().max() > 1e-4


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    net = build_network("tiny")
    out = net(torch.rand(2, 1, 128, 128) * 2 - 1)
    dense_loss(out, torch.rand_like(out)).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_config_validation():
    with pytest.raises(ValueError, match="unknown network configuration 'huge'.*lite"):
        build_network("huge")
    bad = dataclasses.replace(CONFIGS["lite"], blocks=(2, 2, 2))
    with pytest.raises(ValueError, match="differ in length"):
        build_network(bad)
    with pytest.raises(ValueError, match="cannot be decoded"):
        build_network(dataclasses.replace(CONFIGS["lite"], input_size=100))
    with pytest.raises(dataclasses.FrozenInstanceError):
        CONFIGS["lite"].widths = (1, 2, 3, 4)
    small = NetworkConfig("small", 8, (8, 16), (1, 1), 16, num_joints=5, input_size=64,
                          stem_stride=2, stage_strides=(1, 2))
    assert build_network(small)(torch.zeros(1, 1, 64, 64)).shape == (1, 20, 32, 32)


def test_losses_are_huber_with_delta_0_01():
    pred = torch.zeros(2, 8)
    target = torch.zeros(2, 8)
    target[0, 0] = 0.005            # quadratic zone: 0.5 * e^2 / delta
    target[1, 3] = -0.1             # linear zone: |e| - delta / 2
    expected = (0.5 * 0.005 ** 2 / HUBER_DELTA + (0.1 - HUBER_DELTA / 2)) / 16
    assert dense_loss(pred, target).item() == pytest.approx(expected, rel=1e-5)
    assert joint_loss(pred.view(2, 8, 1), target.view(2, 8, 1)).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="differ"):
        joint_loss(torch.zeros(2, 21, 3), torch.zeros(2, 14, 3))
