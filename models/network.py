"""The AWR network: a ResNet encoder, a transposed-convolution decoder and 1x1 heads (shared notes awr.md).

depth crop N x 1 x S x S -> dense map N x 4J x F x F (F = S/2): 3J unit offsets (joint-major, channels
3k..3k+2 are joint k's du, dv, dd) then J closeness heatmaps, no activation on either head. The named
configurations in CONFIGS are the only ones the rest of the project refers to ("paper": ResNet-18 as in the
paper; "lite": the CPU real-time model, chosen by measurement with models/benchmark_network.py; "tiny": a
faster-training fallback).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class NetworkConfig:
    """Shape of an AWR network.

    stem_channels: output of the 5x5 stem conv; widths / blocks: channels and number of basic residual blocks
    per ResNet stage; decoder_channels: channels of the first transposed conv (each later one has
    max(decoder_channels / 2**i, decoder_min_channels) when decoder_min_channels > 0, else all equal);
    stem_stride: stride of the stem conv (a 2x2 max pool follows it); stage_strides: stride of each stage.
    The decoder has as many stride-2 transposed convs as it takes to get from the encoder output to F = S/2.
    """

    name: str
    stem_channels: int
    widths: tuple[int, ...]
    blocks: tuple[int, ...]
    decoder_channels: int
    num_joints: int = 21
    input_size: int = 128
    stem_stride: int = 1
    stage_strides: tuple[int, ...] = (1, 2, 2, 2)
    decoder_min_channels: int = 0

    @property
    def feature_size(self) -> int:
        return self.input_size // 2

    @property
    def encoder_stride(self) -> int:
        return self.stem_stride * 2 * math.prod(self.stage_strides)

    def decoder_widths(self) -> tuple[int, ...]:
        n = int(round(math.log2(self.feature_size * self.encoder_stride / self.input_size)))
        if self.decoder_min_channels <= 0:
            return (self.decoder_channels,) * n
        return tuple(max(self.decoder_channels >> i, self.decoder_min_channels) for i in range(n))

    def validate(self) -> None:
        if len(self.widths) != len(self.blocks) or len(self.widths) != len(self.stage_strides):
            raise ValueError(f"network '{self.name}': widths, blocks and stage_strides differ in length")
        out = self.input_size // self.encoder_stride
        if out * self.encoder_stride != self.input_size or self.feature_size % out != 0 \
                or (self.feature_size // out) & (self.feature_size // out - 1):
            raise ValueError(f"network '{self.name}': input {self.input_size} with encoder stride "
                             f"{self.encoder_stride} cannot be decoded to {self.feature_size} by stride-2 steps")


CONFIGS: dict[str, NetworkConfig] = {
    # The paper's ResNet-18 AWR: 5x5 stem + max pool (128 -> 64), stages to 8x8, three 256-ch deconvs to 64x64.
    # 15.4 M params, 3.8 GMAC: ~115 ms per crop on one CPU thread, 2 img/s training: GPU only.
    "paper": NetworkConfig("paper", 64, (64, 128, 256, 512), (2, 2, 2, 2), 256),
    # The CPU real-time model. Measured against a dozen variants with models/benchmark_network.py on the 2-core
    # VM (onnxruntime, 1 thread, incl. aggregation; torch training at batch 32, 2 threads, best of 3):
    #   paper-style stride-1 stem at half width: 19 ms, 5 img/s  (the 64x64 encoder stages dominate)
    #   stride-2 stem, half width (32..256), decoder 128/64/32/32: 8.1-8.4 ms (over budget), 38 img/s
    #   stride-2 stem, widths 24..192, decoder 96/48/24/24:        5.6 ms, 55 img/s
    #   stride-2 stem, widths 16/32/64/256, decoder 128/64/32/16:  4.6-4.9 ms, 62-70 img/s  <- "lite"
    #   stride-2 stem, quarter width (16..128), decoder 64/32/16/16: 2.6-3.4 ms, 79-94 img/s <- "tiny"
    # "lite" keeps the expensive high-resolution layers narrow (16-32 ch) and spends its parameters at 4x4 and
    # in the first decoder steps, where they cost little time; the fixed per-batch cost of the 84 x 64 x 64
    # output (head, targets, loss) is why no variant with a 64x64 output trained at 100 img/s here.
    "lite": NetworkConfig("lite", 16, (16, 32, 64, 256), (2, 2, 2, 2), 128, stem_stride=2,
                          decoder_min_channels=16),
    "tiny": NetworkConfig("tiny", 16, (16, 32, 64, 128), (2, 2, 2, 2), 64, stem_stride=2,
                          decoder_min_channels=16),
}


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 conv + BN, identity (or 1x1 conv + BN) shortcut, ReLU after the sum."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


def _encoder(cfg: NetworkConfig) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(1, cfg.stem_channels, 5, cfg.stem_stride, 2, bias=False),
        nn.BatchNorm2d(cfg.stem_channels), nn.ReLU(inplace=True), nn.MaxPool2d(2, 2),
    ]
    c = cfg.stem_channels
    for width, count, stride in zip(cfg.widths, cfg.blocks, cfg.stage_strides):
        stage = [BasicBlock(c, width, stride)] + [BasicBlock(width, width, 1) for _ in range(count - 1)]
        layers.append(nn.Sequential(*stage))
        c = width
    return nn.Sequential(*layers)


def _decoder(cfg: NetworkConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    c = cfg.widths[-1]
    for width in cfg.decoder_widths():
        layers += [nn.ConvTranspose2d(c, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        c = width
    return nn.Sequential(*layers)


class AWRNet(nn.Module):
    """depth N x 1 x S x S -> dense N x 4J x F x F. Parts: encoder (stem + stages), decoder, head."""

    def __init__(self, config: NetworkConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.encoder = _encoder(config)
        self.decoder = _decoder(config)
        c = config.decoder_widths()[-1] if config.decoder_widths() else config.widths[-1]
        # The offset head (3J channels) and the heatmap head (J channels) as one 1x1 conv: identical to two
        # convs whose outputs are concatenated, without the copy of a 4J x F x F map per crop.
        self.head = nn.Conv2d(c, 4 * config.num_joints, 1)
        self._init_weights()

    def _init_weights(self) -> None:
        for mod in self.modules():
            if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(mod, nn.BatchNorm2d):
                nn.init.ones_(mod.weight)
                nn.init.zeros_(mod.bias)
        # Small heads: the first dense predictions start near zero (the target value on most pixels).
        nn.init.normal_(self.head.weight, std=0.001)
        nn.init.zeros_(self.head.bias)

    def forward(self, depth: torch.Tensor) -> torch.Tensor:
        return self.head(self.decoder(self.encoder(depth)))


def build_network(config: str | NetworkConfig) -> AWRNet:
    """A freshly initialised network for a configuration name in CONFIGS or an explicit NetworkConfig."""
    if isinstance(config, str):
        if config not in CONFIGS:
            raise ValueError(f"unknown network configuration '{config}' (known: {', '.join(sorted(CONFIGS))})")
        config = CONFIGS[config]
    return AWRNet(config)
