"""Can a small network tell a left hand's crop from a right hand's? A measurement for two-hand tracking (#14): a
tiny CNN (four stride-2 convolutions, 64 x 64 input) trained for a time budget on rendered crops, each shown as
it is (a right hand) and mirrored (exactly a left hand in this renderer: left hands are mirrored right hands), then
tested on crops rendered with another seed.

    python -m models.render_shards --out data/hand_train --frames 8000 --seed 501
    python -m models.render_shards --out data/hand_test --frames 1000 --seed 777
    python -m models.handedness_probe --train data/hand_train --test data/hand_test --minutes 4

Prints one JSON object: crops used, steps, samples seen, and the share of test crops labelled correctly (right,
left, both). The crops are the runtime's (hand finder + AWR crop, app/tracking/crop.py). Imports torch, numpy and
models code; nothing here is used at run time.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


def load_crops(folder: str) -> np.ndarray:
    """N x S x S float32 normalised crops of every shard in the folder (right hands)."""
    shards = sorted(Path(folder).glob("shard_*.npz"))
    if not shards:
        raise SystemExit(f"error: no shards in {folder} (render them with python -m models.render_shards)")
    return np.concatenate([np.load(p)["crops"].astype(np.float32) for p in shards])


def to_input(crops: np.ndarray) -> torch.Tensor:
    """N x S x S -> N x 1 x 64 x 64 (area average), the network's input."""
    x = torch.from_numpy(crops)[:, None]
    return nn.functional.adaptive_avg_pool2d(x, 64)


def handedness_net() -> nn.Module:
    layers, channels = [], [1, 16, 32, 64, 64]
    for c_in, c_out in zip(channels[:-1], channels[1:]):
        layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.GroupNorm(8, c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels[-1], 2))


def with_mirrors(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each right-hand crop (label 0) and its mirror, a left hand (label 1)."""
    return torch.cat([x, torch.flip(x, dims=[3])]), torch.cat([torch.zeros(len(x)), torch.ones(len(x))]).long()


def train(x: torch.Tensor, minutes: float, turns: bool = False, batch: int = 128,
          seed: int = 0) -> tuple[nn.Module, dict]:
    torch.manual_seed(seed)
    net = handedness_net()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    start, steps, last = time.perf_counter(), 0, 0.0
    budget_s = minutes * 60.0
    net.train()
    while time.perf_counter() - start < budget_s:
        idx = torch.randint(0, len(x), (batch // 2,), generator=generator)
        xb, yb = with_mirrors(x[idx])
        # Augmentation that keeps a hand's side: quarter turns in the image plane (turns; a mirror would change
        # the side) and a depth offset of the hand, as real crops vary.
        if turns:
            xb = torch.rot90(xb, int(torch.randint(0, 4, (1,), generator=generator)), dims=(2, 3))
        xb = xb + (torch.rand(len(xb), 1, 1, 1, generator=generator) - 0.5) * 0.1 * (xb < 0.99)
        loss = nn.functional.cross_entropy(net(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
        if time.perf_counter() - last > 30.0:
            last = time.perf_counter()
            print(f"  {last - start:5.0f} s  step {steps}  loss {loss.item():.3f}", file=sys.stderr)
    return net, {"steps": steps, "samples_seen": steps * batch}


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor) -> dict:
    net.eval()
    xb, yb = with_mirrors(x)
    predicted = torch.cat([net(chunk).argmax(1) for chunk in torch.split(xb, 512)])
    right, left = predicted[yb == 0] == 0, predicted[yb == 1] == 1
    return {"right": round(float(right.float().mean()), 4), "left": round(float(left.float().mean()), 4),
            "both": round(float(torch.cat([right, left]).float().mean()), 4)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", required=True, help="shard folder (models.render_shards) to train on")
    p.add_argument("--test", required=True, help="shard folder rendered with another seed")
    p.add_argument("--minutes", type=float, default=4.0, help="training time budget")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--turns", action="store_true", help="augment with quarter turns of the crop (keeps the side)")
    args = p.parse_args(argv)
    if not args.minutes > 0:
        print("error: --minutes must be positive", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    x_train, x_test = to_input(load_crops(args.train)), to_input(load_crops(args.test))
    net, stats = train(x_train, args.minutes, args.turns)
    result = {"train_crops": len(x_train), "test_crops": len(x_test), "minutes": args.minutes, "turns": args.turns,
              **stats,
              "correct_share_train": accuracy(net, x_train[:2000]), "correct_share_test": accuracy(net, x_test)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
