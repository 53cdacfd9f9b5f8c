"""Benchmark the training step: samples/s per numeric variant, and the loss parity of bf16 against fp32.

    python -m models.bench_train --shards data/synth/train --steps 60 --batch-size 32
    python -m models.bench_train --shards ... --variants fp32 bf16 fp32-cl --parity-steps 200

Every variant trains the same network from the same initial weights on the same batch sequence (the training
set on the training device, augmentation on), through models.train. Variants: fp32, tf32 (GPU), bf16 (autocast
of the network), each with "-cl" for channels_last. Prints one JSON object: samples/s per variant (median over
`--repeats` timed windows of `--steps` steps after a warm-up), and for each non-fp32 variant the mean and largest
relative difference of its per-step loss to fp32's over `--parity-steps` steps plus the validation error (mm)
both reach. Speed is printed, never asserted.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace

import numpy as np
import torch

from models.shards import load_shards
from models.train import TrainConfig, _TrainingSet, build_model, evaluate_mm, resolve_numerics, train_step
from models.distributed import pick_device


def _variant(cfg: TrainConfig, name: str) -> TrainConfig:
    precision, _, cl = name.partition("-")
    if precision not in ("fp32", "tf32", "bf16") or cl not in ("", "cl"):
        raise SystemExit(f"error: unknown variant '{name}' (fp32, tf32, bf16, optionally with -cl)")
    return replace(cfg, precision=precision, channels_last="on" if cl else "off")


def run_steps(cfg: TrainConfig, data, steps: int, device: torch.device, stage: str = "dense",
              timed_windows: int = 0, window: int = 0) -> tuple[list[float], list[float], torch.nn.Module]:
    """Train `steps` steps from seed-0 weights; returns (per-step losses, seconds per timed window, model)."""
    numerics = resolve_numerics(cfg, device)
    torch.manual_seed(0)
    model = build_model(cfg).to(device)
    if numerics.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator(device=device).manual_seed(0)
    train_set = _TrainingSet(data, device)
    losses, windows = [], []
    total = steps + timed_windows * window
    t0 = None
    for i in range(total):
        if timed_windows and i >= steps and (i - steps) % window == 0:
            if device.type == "cuda":
                torch.cuda.synchronize()
            if t0 is not None:
                windows.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
        loss = train_step(model, opt, cfg, numerics, train_set, gen, device, stage)
        if not timed_windows:
            losses.append(float(loss.detach()))
    if timed_windows:
        if device.type == "cuda":
            torch.cuda.synchronize()
        windows.append(time.perf_counter() - t0)
    return losses, windows, model


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shards", nargs="+", required=True, help="training shard folder(s)")
    p.add_argument("--network", default="lite")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=40, help="steps per timed window")
    p.add_argument("--repeats", type=int, default=3, help="timed windows per variant")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--variants", nargs="+", default=["fp32", "fp32-cl", "bf16"])
    p.add_argument("--parity-steps", type=int, default=0, help="steps of the loss-parity comparison (0: none)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--max-frames", type=int, default=4000, help="training crops loaded")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    data = load_shards(args.shards, limit=args.max_frames)
    base = TrainConfig(network=args.network, batch_size=args.batch_size, threads=args.threads,
                       train_dirs=tuple(args.shards))
    out = {"device": str(device), "torch": torch.__version__, "threads": args.threads,
           "batch_size": args.batch_size, "network": args.network, "samples_per_s": {}, "parity": {}}
    for name in args.variants:
        cfg = _variant(base, name)
        _, windows, _ = run_steps(cfg, data, args.warmup, device, timed_windows=args.repeats, window=args.steps)
        out["samples_per_s"][name] = round(args.batch_size * args.steps / statistics.median(windows), 1)
        print(f"{name}: {out['samples_per_s'][name]} samples/s", file=sys.stderr)
    if args.parity_steps:
        val = data.subset(np.arange(min(len(data), 300)))
        ref_cfg = _variant(base, "fp32")
        ref, _, ref_model = run_steps(ref_cfg, data, args.parity_steps, device)
        ref_mm = evaluate_mm(ref_model, ref_cfg, val, device)["mean_mm"]
        for name in args.variants:
            if name.startswith("fp32"):
                continue
            cfg = _variant(base, name)
            losses, _, model = run_steps(cfg, data, args.parity_steps, device)
            rel = np.abs(np.array(losses) - np.array(ref)) / np.maximum(np.abs(ref), 1e-12)
            out["parity"][name] = {"steps": args.parity_steps, "mean_rel_loss_diff": round(float(rel.mean()), 4),
                                   "max_rel_loss_diff": round(float(rel.max()), 4),
                                   "final_loss": round(float(np.mean(losses[-10:])), 6),
                                   "fp32_final_loss": round(float(np.mean(ref[-10:])), 6),
                                   "train_crops_mm": round(evaluate_mm(model, cfg, val, device)["mean_mm"], 2),
                                   "fp32_train_crops_mm": round(ref_mm, 2)}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
