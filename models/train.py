"""Train an AWR network on rendered shards: dense loss, then joint-loss fine-tuning; export ONNX at the end.

    python -m models.train --config models/configs/lite_synthetic.json
    python -m models.train --config ... --run-dir runs/lite     (resumes from runs/lite/last.pt when present)

The configuration file (JSON) holds the network configuration name, data folders, crop constants, the two-stage
schedule (steps per stage, learning rates), augmentation and export path; the resolved configuration is written
beside every checkpoint. Progress goes to stderr; train loss and validation error (mm) to run_dir/log.jsonl.
Uses a CUDA GPU when torch sees one.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from app.joints import JOINT_NAMES, LAYOUT_NAME
from app.model_info import ModelInfo
from models.augment import apply_affine, random_affine
from models.awr import aggregate, dense_targets
from models.losses import dense_loss, joint_loss
from models.network import build_network
from models.shards import ShardData, crop_uvd_to_xyz_mm_batch, load_shards


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. Steps are optimiser steps of `batch_size` samples."""

    network: str = "lite"
    head: str = "awr"                       # "awr" (dense + adaptive weighting) or "regression" (ablation)
    train_dirs: tuple[str, ...] = ("data/synth/train",)
    val_fraction: float = 0.05
    cube_mm: float = 280.0
    input_size: int = 128
    kernel_radius: float = 0.8
    beta: float = 30.0
    batch_size: int = 32
    dense_steps: int = 6000
    joint_steps: int = 2000
    lr: float = 1e-3
    lr_decay_at: float = 0.75               # fraction of each stage after which lr is multiplied by 0.1
    joint_lr: float = 1e-4
    augment: bool = True
    translate_sigma_mm: float = 10.0
    threads: int = 2
    seed: int = 0
    checkpoint_every: int = 250
    keep_checkpoints_at: tuple[int, ...] = ()   # also keep step_N.pt at these steps (ablations compare budgets)
    validate_every: int = 1000
    export_path: str = "models/awr_lite.onnx"
    depth_range_mm: tuple[float, float] = (250.0, 800.0)
    trained_on: str = "synthetic depth rendered by app.synth (see models/MODEL_CARD.md)"
    version: str = "1"
    extra: dict = field(default_factory=dict)

    @staticmethod
    def from_file(path: str, **overrides) -> "TrainConfig":
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise SystemExit(f"error: cannot read training configuration {path}: {exc}")
        d.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(TrainConfig)}
        unknown = set(d) - known
        if unknown:
            raise SystemExit(f"error: unknown keys in {path}: {', '.join(sorted(unknown))}")
        for k in ("train_dirs", "depth_range_mm", "keep_checkpoints_at"):
            if k in d:
                d[k] = tuple(d[k])
        return TrainConfig(**d)


class RegressionHead(torch.nn.Module):
    """Ablation baseline: the same encoder, global average pooling and a linear layer to J x 3 (direct
    coordinate regression, no dense maps, no adaptive weighting)."""

    def __init__(self, awr_net: torch.nn.Module, num_joints: int):
        super().__init__()
        self.encoder = awr_net.encoder
        channels = awr_net.config.widths[-1]
        self.fc = torch.nn.Linear(channels, num_joints * 3)
        self.num_joints = num_joints

    def forward(self, depth: torch.Tensor) -> torch.Tensor:
        f = self.encoder(depth).mean(dim=(2, 3))
        return self.fc(f).view(-1, self.num_joints, 3)


def predict_uvd(model: torch.nn.Module, cfg: TrainConfig, crops: torch.Tensor) -> torch.Tensor:
    if cfg.head == "regression":
        return model(crops)
    joints, _ = aggregate(model(crops), crops, cfg.kernel_radius, cfg.beta)
    return joints


def compute_loss(model, cfg: TrainConfig, stage: str, crops, uvd) -> torch.Tensor:
    if cfg.head == "regression":
        return joint_loss(model(crops), uvd)
    dense = model(crops)
    if stage == "dense":
        return dense_loss(dense, dense_targets(crops, uvd, cfg.kernel_radius))
    joints, _ = aggregate(dense, crops, cfg.kernel_radius, cfg.beta)
    return joint_loss(joints, uvd)


@torch.no_grad()
def evaluate_mm(model, cfg: TrainConfig, data: ShardData, device: torch.device, batch: int = 128) -> dict:
    """Mean / max-joint statistics in mm on unaugmented crops, converted back through each crop's geometry."""
    model.eval()
    preds = []
    for i in range(0, len(data), batch):
        crops = torch.from_numpy(data.crops[i:i + batch].astype(np.float32))[:, None].to(device)
        preds.append(predict_uvd(model, cfg, crops).float().cpu().numpy())
    model.train()
    uvd = np.concatenate(preds)
    xyz = crop_uvd_to_xyz_mm_batch(uvd, data.centre_uvz, data.cube_mm, data.image_to_crop, data.intrinsics,
                                   cfg.input_size)
    err = np.linalg.norm(xyz - data.joints_xyz_mm, axis=-1)
    return {"mean_mm": float(err.mean()), "median_mm": float(np.median(err)),
            "frames_max_le_20mm": float((err.max(1) <= 20).mean()),
            "frames_max_le_40mm": float((err.max(1) <= 40).mean()), "per_joint_mm": err.mean(0).tolist(),
            "predictions_xyz_mm": xyz}


def stage_and_lr(cfg: TrainConfig, step: int) -> tuple[str, float]:
    if cfg.head == "regression":
        total = cfg.dense_steps + cfg.joint_steps
        return "joint", cfg.lr * (0.1 if step >= cfg.lr_decay_at * total else 1.0)
    if step < cfg.dense_steps:
        return "dense", cfg.lr * (0.1 if step >= cfg.lr_decay_at * cfg.dense_steps else 1.0)
    k = step - cfg.dense_steps
    return "joint", cfg.joint_lr * (0.1 if k >= cfg.lr_decay_at * cfg.joint_steps else 1.0)


def build_model(cfg: TrainConfig) -> torch.nn.Module:
    net = build_network(cfg.network)
    return RegressionHead(net, len(JOINT_NAMES)) if cfg.head == "regression" else net


def model_info(cfg: TrainConfig, net) -> ModelInfo:
    return ModelInfo(config_name=cfg.network, input_size=cfg.input_size, feature_size=cfg.input_size // 2,
                     cube_mm=cfg.cube_mm, kernel_radius=cfg.kernel_radius, beta=cfg.beta,
                     joint_layout=LAYOUT_NAME, joint_names=JOINT_NAMES, hand="right",
                     depth_range_mm=tuple(cfg.depth_range_mm), trained_on=cfg.trained_on, version=cfg.version)


def save_checkpoint(path: Path, model, optimiser, step: int, cfg: TrainConfig, generator: torch.Generator) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(), "step": step,
                "config": asdict(cfg), "generator": generator.get_state(),
                "model_info": model_info(cfg, model).to_json()}, tmp)
    os.replace(tmp, path)


def progress(step: int, total: int, loss: float, rate: float, stage: str, started: float, batch: int) -> None:
    eta = (total - step) * batch / rate if rate > 0 else float("inf")
    bar = "#" * int(30 * step / max(total, 1))
    print(f"\r[{bar:<30}] {step}/{total} {stage:5s} loss {loss:.5f}  {rate:5.0f} img/s  "
          f"{time.perf_counter() - started:6.0f}s  eta {eta:6.0f}s", end="", file=sys.stderr, flush=True)


def train(cfg: TrainConfig, run_dir: str, data: ShardData | None = None, quiet: bool = False) -> dict:
    """Run (or resume) training; returns the final validation statistics (without per-frame predictions)."""
    torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    data = data if data is not None else load_shards(list(cfg.train_dirs))
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(data))
    n_val = max(1, int(round(cfg.val_fraction * len(data))))
    val, tr = data.subset(np.sort(order[:n_val])), data.subset(np.sort(order[n_val:]))
    crops_all = torch.from_numpy(tr.crops)                      # float16, converted per batch
    uvd_all = torch.from_numpy(tr.joints_uvd.astype(np.float32))
    cube_all = torch.from_numpy(tr.cube_mm.astype(np.float32))

    torch.manual_seed(cfg.seed)
    model = build_model(cfg).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    generator = torch.Generator().manual_seed(cfg.seed)
    step = 0
    ckpt = run / "last.pt"
    if ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        generator.set_state(state["generator"])
        step = int(state["step"])
        if not quiet:
            print(f"resuming {ckpt} at step {step}", file=sys.stderr)
    total = cfg.dense_steps + cfg.joint_steps
    log = open(run / "log.jsonl", "a")
    started, seen, loss_avg = time.perf_counter(), 0, None
    t_rate = time.perf_counter()
    while step < total:
        stage, lr = stage_and_lr(cfg, step)
        for g in optimiser.param_groups:
            g["lr"] = lr
        idx = torch.randint(len(tr), (cfg.batch_size,), generator=generator)
        crops = crops_all[idx].float()[:, None]
        uvd = uvd_all[idx]
        if cfg.augment:
            L, t, a, c = random_affine(len(idx), cube_all[idx], generator, cfg.translate_sigma_mm)
            crops, uvd = apply_affine(crops, uvd, L, t, a, c)
        loss = compute_loss(model, cfg, stage, crops.to(device), uvd.to(device))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        step += 1
        seen += cfg.batch_size
        value = float(loss.detach())
        loss_avg = value if loss_avg is None else 0.98 * loss_avg + 0.02 * value
        if not quiet and (step % 10 == 0 or step == total):
            progress(step, total, loss_avg, seen / (time.perf_counter() - t_rate), stage, started,
                     cfg.batch_size)
        if step % cfg.checkpoint_every == 0 or step == total or step == cfg.dense_steps:
            save_checkpoint(ckpt, model, optimiser, step, cfg, generator)
        if step in cfg.keep_checkpoints_at:
            save_checkpoint(run / f"step_{step}.pt", model, optimiser, step, cfg, generator)
        if step % cfg.validate_every == 0 or step == total:
            stats = evaluate_mm(model, cfg, val, device)
            stats.pop("predictions_xyz_mm")
            log.write(json.dumps({"step": step, "stage": stage, "lr": lr, "train_loss": loss_avg,
                                  "val_mean_mm": stats["mean_mm"], "val_le_20mm": stats["frames_max_le_20mm"],
                                  "elapsed_s": round(time.perf_counter() - started, 1)}) + "\n")
            log.flush()
            if not quiet:
                print(f"\n  step {step}: val mean {stats['mean_mm']:.2f} mm, max<=20mm "
                      f"{100 * stats['frames_max_le_20mm']:.1f} %", file=sys.stderr)
    log.close()
    final = evaluate_mm(model, cfg, val, device)
    final.pop("predictions_xyz_mm")
    (run / "final_val.json").write_text(json.dumps(final, indent=1))
    return final


def export_run(cfg: TrainConfig, run_dir: str, out_path: str | None = None) -> dict:
    """Export the run's last checkpoint (AWR head only) to ONNX with full metadata; checks parity."""
    from models.export import export_onnx

    if cfg.head != "awr":
        raise SystemExit("error: only the AWR head is exported (the regression head is an ablation)")
    state = torch.load(Path(run_dir) / "last.pt", map_location="cpu", weights_only=False)
    net = build_model(cfg)
    net.load_state_dict(state["model"])
    net.eval()
    return export_onnx(net, model_info(cfg, net), out_path or cfg.export_path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="training configuration JSON (models/configs/*.json)")
    p.add_argument("--run-dir", default=None, help="checkpoints and logs (default runs/<config name>)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (overrides the config)")
    p.add_argument("--no-export", action="store_true", help="skip the ONNX export at the end")
    args = p.parse_args(argv)
    cfg = TrainConfig.from_file(args.config, threads=args.threads)
    run_dir = args.run_dir or os.path.join("runs", Path(args.config).stem)
    try:
        final = train(cfg, run_dir)
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume from the last checkpoint", file=sys.stderr)
        return 130
    print(json.dumps({k: v for k, v in final.items() if k != "per_joint_mm"}))
    if cfg.head == "awr" and not args.no_export:
        print(json.dumps(export_run(cfg, run_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
