"""Train an AWR network on rendered shards: dense loss, then joint-loss fine-tuning; export ONNX at the end.

    python -m models.train --config models/configs/lite_synthetic.json --run-dir runs/lite
    python -m models.train --config models/configs/lite_gpu.json --run-dir runs/gpu --minutes 6
    torchrun --nproc_per_node 4 -m models.train --config ... --run-dir ...        (several GPUs, DDP)
    python -m models.train --config models/configs/lite_finetune_cpu.json --run-dir runs/finetune_cpu

A configuration with `init_from` (an exported .onnx, e.g. the shipped model) starts from that model's weights
(models/onnx_weights.py) instead of a random initialisation: fine-tuning, on more synthetic data or on a real data
set; its log's first line (samples 0) is that model's validation error.

Resumes from run_dir/last.pt when present (the same command again). The configuration file (JSON) holds the
network name, data folders, crop constants, the two-stage schedule — in optimiser steps, or as fractions of a time
budget when `minutes` > 0 (models/schedule.py) — augmentation, batch size, device and precision; the resolved
configuration is written beside every checkpoint.

Fast on a GPU: the training set lives on the training device as float16 crops, batches are drawn and augmented
there (models/augment.py, no host synchronisation), convolutions run channels_last, TF32 (and optionally bf16
autocast for the network) where the device has it; the loss is read back only every SYNC_EVERY steps.
Correct on a CPU: the same code with fp32 and the default memory layout.

Outputs in run_dir: config.json, last.pt (model, optimiser, generators, step, elapsed time), log.jsonl (one line
per validation: samples seen, stage, lr, train loss, validation error in mm), final_val.json, test_eval.json
(when `test_dirs` is set) and the ONNX export `awr_lite.onnx` — `--export PATH` writes it elsewhere instead
(`--export models/awr_lite.onnx` replaces the shipped model; nothing else does). Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from app.config import DEFAULT_CUBE_MM
from app.errors import InputError, TrackerError
from app.joints import JOINT_NAMES, LAYOUT_NAME
from app.model_info import ModelInfo
from models.augment import apply_affine, random_affine
from models.awr import aggregate, dense_targets
from models.distributed import (World, broadcast_buffers, broadcast_float, broadcast_object, close_world,
                                gather_objects, init_world)
from models.losses import dense_loss, joint_loss
from models.network import build_network
from models.progress import progress_bar
from models.schedule import Schedule
from models.shards import ShardData, crop_uvd_to_xyz_mm_batch, load_shards

EXPORT_NAME = "awr_lite.onnx"     # the export's file name inside the run folder
SYNC_EVERY = 10                   # steps between reads of the loss and of the (shared) clock
PRECISIONS = ("auto", "fp32", "tf32", "bf16")
# Keys that older configurations and checkpoints carry and that no longer exist, with what replaced them.
OBSOLETE_KEYS = {"export_path": "the export goes into the run folder; give --export PATH to write it elsewhere"}
TUPLE_KEYS = ("train_dirs", "test_dirs", "depth_range_mm", "keep_checkpoints_at")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. Steps are optimiser steps of `batch_size` samples per rank."""

    network: str = "lite"
    head: str = "awr"                       # "awr" (dense + adaptive weighting) or "regression" (ablation)
    train_dirs: tuple[str, ...] = ("data/synth/train",)
    test_dirs: tuple[str, ...] = ()         # evaluated on at the end when given (test_eval.json)
    val_fraction: float = 0.05
    val_max_frames: int = 2000              # cap on the held-out validation crops
    cube_mm: float = DEFAULT_CUBE_MM
    input_size: int = 128
    kernel_radius: float = 0.8
    beta: float = 30.0
    batch_size: int = 32
    dense_steps: int = 6000                 # step schedule (minutes == 0)
    joint_steps: int = 2000
    minutes: float = 0.0                    # > 0: time schedule of this many minutes of wall time
    dense_fraction: float = 0.35            # time schedule: share of the budget for the dense stage
    lr: float = 1e-3
    lr_decay_at: float = 0.75               # fraction of each stage after which lr is multiplied by 0.1
    joint_lr: float = 1e-4
    augment: bool = True
    translate_sigma_mm: float = 10.0
    device: str = "auto"                    # auto (a GPU when torch sees one), cpu or cuda
    precision: str = "auto"                 # auto (tf32 on a GPU, fp32 on a CPU), fp32, tf32 or bf16 (autocast)
    channels_last: str = "auto"             # auto (on a GPU), on or off
    data_on_device: bool = True             # keep the training set on the training device
    threads: int = 2                        # torch CPU threads
    seed: int = 0
    init_from: str = ""                     # an exported model (.onnx) to start from (fine-tuning); a resumed
                                            # run starts from its checkpoint instead
    checkpoint_every: int = 250             # steps (step schedule)
    checkpoint_every_s: float = 60.0        # seconds (time schedule)
    keep_checkpoints_at: tuple[int, ...] = ()   # also keep step_N.pt at these steps (ablations compare budgets)
    validate_every: int = 1000              # steps (step schedule)
    validate_every_s: float = 30.0          # seconds (time schedule)
    depth_range_mm: tuple[float, float] = (250.0, 800.0)
    trained_on: str = "synthetic depth rendered by app.synth (see models/MODEL_CARD.md)"
    version: str = "1"
    extra: dict = field(default_factory=dict)

    @staticmethod
    def from_dict(d: dict, source: str, obsolete_ok: bool = False) -> "TrainConfig":
        """A configuration from a JSON object; unknown keys are an error, obsolete ones too unless obsolete_ok
        (checkpoints written by older versions)."""
        d = dict(d)
        for key, why in OBSOLETE_KEYS.items():
            if key in d:
                if not obsolete_ok:
                    raise InputError(f"{source}: '{key}' is no longer a training setting: {why}")
                d.pop(key)
        unknown = set(d) - {f.name for f in fields(TrainConfig)}
        if unknown:
            raise InputError(f"unknown keys in {source}: {', '.join(sorted(unknown))}")
        for k in TUPLE_KEYS:
            if k in d:
                d[k] = tuple(d[k])
        cfg = TrainConfig(**d)
        cfg.check()
        return cfg

    @staticmethod
    def from_file(path: str, **overrides) -> "TrainConfig":
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read training configuration {path}: {exc}") from None
        if not isinstance(d, dict):
            raise InputError(f"training configuration {path} is not a JSON object")
        d.update({k: v for k, v in overrides.items() if v is not None})
        return TrainConfig.from_dict(d, path)

    def check(self) -> None:
        if self.head not in ("awr", "regression"):
            raise InputError(f"head must be 'awr' or 'regression', got '{self.head}'")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got '{self.precision}'")
        if self.channels_last not in ("auto", "on", "off"):
            raise InputError(f"channels_last must be auto, on or off, got '{self.channels_last}'")
        if self.init_from and (self.head != "awr" or not self.init_from.endswith(".onnx")):
            raise InputError(f"init_from takes an exported AWR model (.onnx) and the awr head, got "
                             f"'{self.init_from}' with head '{self.head}'")
        if self.batch_size < 1 or self.minutes < 0:
            raise InputError("batch_size must be positive and minutes cannot be negative")
        try:
            self.schedule()
        except ValueError as exc:
            raise InputError(f"training schedule: {exc}") from None

    def schedule(self) -> Schedule:
        return Schedule(head=self.head, lr=self.lr, joint_lr=self.joint_lr, lr_decay_at=self.lr_decay_at,
                        dense_steps=self.dense_steps, joint_steps=self.joint_steps, budget_s=60.0 * self.minutes,
                        dense_fraction=self.dense_fraction)


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


def loss_from_output(cfg: TrainConfig, stage: str, out: torch.Tensor, crops, uvd) -> torch.Tensor:
    """The loss of one batch from the network's (float32) output: joints for regression, dense maps for AWR."""
    if cfg.head == "regression":
        return joint_loss(out, uvd)
    if stage == "dense":
        return dense_loss(out, dense_targets(crops, uvd, cfg.kernel_radius))
    joints, _ = aggregate(out, crops, cfg.kernel_radius, cfg.beta)
    return joint_loss(joints, uvd)


def compute_loss(model, cfg: TrainConfig, stage: str, crops, uvd) -> torch.Tensor:
    return loss_from_output(cfg, stage, model(crops), crops, uvd)


@torch.no_grad()
def evaluate_mm(model, cfg: TrainConfig, data: ShardData, device: torch.device, batch: int = 128) -> dict:
    """Mean / max-joint statistics in mm on unaugmented crops, converted back through each crop's geometry."""
    was_training = model.training
    model.eval()
    preds = []
    for i in range(0, len(data), batch):
        crops = torch.from_numpy(data.crops[i:i + batch].astype(np.float32))[:, None].to(device)
        preds.append(predict_uvd(model, cfg, crops).float().cpu().numpy())
    model.train(was_training)
    uvd = np.concatenate(preds)
    xyz = crop_uvd_to_xyz_mm_batch(uvd, data.centre_uvz, data.cube_mm, data.image_to_crop, data.intrinsics,
                                   cfg.input_size)
    err = np.linalg.norm(xyz - data.joints_xyz_mm, axis=-1)
    return {"mean_mm": float(err.mean()), "median_mm": float(np.median(err)),
            "frames_max_le_20mm": float((err.max(1) <= 20).mean()),
            "frames_max_le_40mm": float((err.max(1) <= 40).mean()), "per_joint_mm": err.mean(0).tolist(),
            "predictions_xyz_mm": xyz}


def build_model(cfg: TrainConfig) -> torch.nn.Module:
    net = build_network(cfg.network)
    return RegressionHead(net, len(JOINT_NAMES)) if cfg.head == "regression" else net


def model_info(cfg: TrainConfig, net) -> ModelInfo:
    return ModelInfo(config_name=cfg.network, input_size=cfg.input_size, feature_size=cfg.input_size // 2,
                     cube_mm=cfg.cube_mm, kernel_radius=cfg.kernel_radius, beta=cfg.beta,
                     joint_layout=LAYOUT_NAME, joint_names=JOINT_NAMES, hand="right",
                     depth_range_mm=tuple(cfg.depth_range_mm), trained_on=cfg.trained_on, version=cfg.version)


@dataclass(frozen=True)
class Numerics:
    """How the arithmetic runs on the chosen device (resolved from the configuration's 'auto' values)."""

    precision: str          # fp32, tf32 or bf16
    channels_last: bool

    def autocast(self, device: torch.device):
        if self.precision != "bf16":
            return nullcontext()
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def resolve_numerics(cfg: TrainConfig, device: torch.device) -> Numerics:
    gpu = device.type == "cuda"
    precision = cfg.precision if cfg.precision != "auto" else ("tf32" if gpu else "fp32")
    if precision == "tf32" and not gpu:
        precision = "fp32"                       # TF32 is a GPU tensor-core format: on a CPU it means fp32
    channels_last = gpu if cfg.channels_last == "auto" else cfg.channels_last == "on"
    if gpu:
        torch.backends.cudnn.benchmark = True
        allow = precision in ("tf32", "bf16")
        torch.backends.cuda.matmul.allow_tf32 = allow
        torch.backends.cudnn.allow_tf32 = allow
    return Numerics(precision, channels_last)


def save_checkpoint(path: Path, model, optimiser, step: int, cfg: TrainConfig, generators: list,
                    elapsed_s: float, samples: int) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(), "step": step,
                "config": asdict(cfg), "generators": generators, "elapsed_s": elapsed_s, "samples": samples,
                "model_info": model_info(cfg, model).to_json()}, tmp)
    os.replace(tmp, path)


def load_checkpoint_config(state: dict, source: str) -> TrainConfig:
    return TrainConfig.from_dict(state["config"], source, obsolete_ok=True)


class _TrainingSet:
    """The training crops, labels and cubes as tensors on the sampling device, and a batch drawer."""

    def __init__(self, data: ShardData, device: torch.device):
        self.crops = torch.from_numpy(data.crops).to(device)                      # N x S x S float16
        self.uvd = torch.from_numpy(data.joints_uvd.astype(np.float32)).to(device)
        self.cube = torch.from_numpy(data.cube_mm.astype(np.float32)).to(device)
        self.device = device

    def __len__(self) -> int:
        return int(self.crops.shape[0])

    def batch(self, cfg: TrainConfig, generator: torch.Generator, to: torch.device, channels_last: bool):
        idx = torch.randint(len(self), (cfg.batch_size,), generator=generator, device=self.device)
        crops = self.crops[idx].float()[:, None]
        uvd = self.uvd[idx]
        if cfg.augment:
            L, t, a, c = random_affine(cfg.batch_size, self.cube[idx], generator, cfg.translate_sigma_mm)
            crops, uvd = apply_affine(crops, uvd, L, t, a, c)
        crops, uvd = crops.to(to, non_blocking=True), uvd.to(to, non_blocking=True)
        if channels_last:
            crops = crops.contiguous(memory_format=torch.channels_last)
        return crops, uvd


def train_step(model, optimiser, cfg: TrainConfig, numerics: Numerics, train_set: _TrainingSet,
               generator: torch.Generator, device: torch.device, stage: str) -> torch.Tensor:
    """One optimiser step on a freshly drawn, augmented batch; returns the loss (on the device, not read)."""
    crops, uvd = train_set.batch(cfg, generator, device, numerics.channels_last)
    with numerics.autocast(device):
        out = model(crops)
    loss = loss_from_output(cfg, stage, out.float(), crops, uvd)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return loss


def split_validation(cfg: TrainConfig, data: ShardData) -> tuple[ShardData, ShardData]:
    """(validation, training): a fixed random share of the crops, capped at val_max_frames."""
    order = np.random.default_rng(cfg.seed).permutation(len(data))
    n_val = min(max(1, int(round(cfg.val_fraction * len(data)))), cfg.val_max_frames, len(data) - 1)
    if n_val < 1:
        raise InputError(f"{len(data)} training crop(s): too few to hold any out for validation")
    return data.subset(np.sort(order[:n_val])), data.subset(np.sort(order[n_val:]))


def train(cfg: TrainConfig, run_dir: str, data: ShardData | None = None, quiet: bool = False,
          world: World | None = None, keep_model: bool = False) -> dict:
    """Run (or resume) training; returns the final validation statistics (and the test set's, with test_dirs),
    with the run's totals: steps, samples, train_seconds, samples_per_s (and "model", the trained module, with
    keep_model: on every rank)."""
    own_world = world is None
    world = world or init_world(cfg.device)
    try:
        result = _train(cfg, Path(run_dir), data, quiet or not world.is_main, world)
        if not keep_model:
            result.pop("model")
        return result
    finally:
        if own_world:
            close_world(world)


def _train(cfg: TrainConfig, run: Path, data: ShardData | None, quiet: bool, world: World) -> dict:
    device = world.device
    torch.set_num_threads(cfg.threads)
    numerics = resolve_numerics(cfg, device)
    if world.is_main:
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.json").write_text(json.dumps(asdict(cfg), indent=1))
    data = data if data is not None else load_shards(list(cfg.train_dirs))
    val, tr = split_validation(cfg, data)
    sample_device = device if cfg.data_on_device else torch.device("cpu")
    train_set = _TrainingSet(tr, sample_device)

    torch.manual_seed(cfg.seed)
    ckpt = run / "last.pt"
    model = (_initial_weights(cfg, tr, quiet) if cfg.init_from and not ckpt.exists() else build_model(cfg)).to(device)
    if numerics.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    generator = torch.Generator(device=sample_device).manual_seed(cfg.seed + 1_000_003 * world.rank)
    step, elapsed0, samples = 0, 0.0, 0
    state = torch.load(ckpt, map_location="cpu", weights_only=False) if world.is_main and ckpt.exists() else None
    state = broadcast_object(world, state)
    if state is not None:
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        gens = state.get("generators") or []
        if len(gens) == world.size:
            generator.set_state(gens[world.rank])
        else:   # another number of ranks (or an old checkpoint): fresh, distinct streams from here on
            generator.manual_seed(cfg.seed + 1_000_003 * world.rank + int(state["step"]))
        step, elapsed0 = int(state["step"]), float(state.get("elapsed_s", 0.0))
        samples = int(state.get("samples", step * cfg.batch_size * world.size))
        if not quiet:
            print(f"resuming {ckpt} at step {step} ({elapsed0:.0f} s trained)", file=sys.stderr)
    raw_model = model
    if world.distributed:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    schedule = cfg.schedule()
    log = open(run / "log.jsonl", "a") if world.is_main else None
    t_start = time.perf_counter() - elapsed0          # the run's clock continues across resumes
    elapsed = elapsed0
    loop_started, steps_this_run, samples_this_run = time.perf_counter(), 0, 0
    next_ckpt_s = elapsed0 + cfg.checkpoint_every_s
    next_val_s = elapsed0 + cfg.validate_every_s
    loss_sum, loss_n, loss_avg = torch.zeros((), device=device), 0, float("nan")
    stage = "dense"

    def checkpoint(path: Path) -> None:
        gens = gather_objects(world, generator.get_state())           # collective: every rank calls it
        if world.is_main:
            save_checkpoint(path, raw_model, optimiser, step, cfg, gens, elapsed, samples)

    def fold_loss() -> None:     # the pending per-step losses into the running average (one host sync)
        nonlocal loss_avg, loss_n
        if loss_n:
            value = float(loss_sum) / loss_n
            loss_avg = value if loss_avg != loss_avg else 0.9 * loss_avg + 0.1 * value
            loss_sum.zero_()
            loss_n = 0

    def validate(lr: float) -> None:
        fold_loss()
        if not world.is_main:
            return
        stats = evaluate_mm(raw_model, cfg, val, device)
        rate = samples_this_run / max(time.perf_counter() - loop_started, 1e-9)
        entry = {"step": step, "samples": samples, "stage": stage, "lr": lr, "train_loss": loss_avg,
                 "val_mean_mm": stats["mean_mm"], "val_median_mm": stats["median_mm"],
                 "val_le_20mm": stats["frames_max_le_20mm"], "elapsed_s": round(elapsed, 1),
                 "samples_per_s": round(rate, 1)}
        log.write(json.dumps(entry) + "\n")
        log.flush()
        bar.write(f"step {step}: val mean {stats['mean_mm']:.2f} mm, median {stats['median_mm']:.2f} mm, "
                  f"max<=20mm {100 * stats['frames_max_le_20mm']:.1f} %")

    total = schedule.budget_s if schedule.timed else schedule.total_steps
    bar = progress_bar(total=total, desc=f"train {cfg.head}", unit="s" if schedule.timed else "step",
                       quiet=quiet)
    bar.update_to(elapsed0 if schedule.timed else step)
    phase = schedule.at(step, elapsed)
    lr = phase.lr if phase else cfg.lr
    if step == 0 and cfg.init_from:
        stage = phase.stage if phase else stage
        validate(lr)                                  # where fine-tuning starts: the exported model's error
    try:
        while phase is not None:
            stage, lr = phase.stage, phase.lr
            for g in optimiser.param_groups:
                g["lr"] = lr
            loss = train_step(model, optimiser, cfg, numerics, train_set, generator, device, stage)
            step += 1
            steps_this_run += 1
            samples += cfg.batch_size * world.size
            samples_this_run += cfg.batch_size * world.size
            loss_sum += loss.detach()
            loss_n += 1
            synced = step % SYNC_EVERY == 0
            if synced:
                fold_loss()
                rate = samples_this_run / max(time.perf_counter() - loop_started, 1e-9)
                bar.set_postfix_str(f"{stage} lr {lr:.0e} loss {loss_avg:.5f} {rate:.0f} samples/s", refresh=False)
            if schedule.timed:
                if synced:
                    elapsed = broadcast_float(world, time.perf_counter() - t_start)
                    bar.update_to(min(elapsed, schedule.budget_s))
            else:
                elapsed = time.perf_counter() - t_start
                bar.update_to(step)
            phase = schedule.at(step, elapsed)
            if phase is None:
                break
            if schedule.timed:
                due_ckpt, due_val = synced and elapsed >= next_ckpt_s, synced and elapsed >= next_val_s
            else:
                due_ckpt = step % cfg.checkpoint_every == 0 or schedule.stage_boundary(step)
                due_val = step % cfg.validate_every == 0
            if due_ckpt:
                next_ckpt_s = elapsed + cfg.checkpoint_every_s
                checkpoint(ckpt)
            if step in cfg.keep_checkpoints_at:
                checkpoint(run / f"step_{step}.pt")
            if due_val:
                next_val_s = elapsed + cfg.validate_every_s
                validate(lr)
        broadcast_buffers(world, raw_model)           # identical BatchNorm statistics on every rank
        checkpoint(ckpt)
        if step in cfg.keep_checkpoints_at:
            checkpoint(run / f"step_{step}.pt")
        validate(lr)
    finally:
        bar.close()
        if log:
            log.close()
    loop_s = time.perf_counter() - loop_started
    result = {"steps": step, "samples": samples, "train_seconds": round(elapsed, 1),
              "samples_per_s": round(samples_this_run / max(loop_s, 1e-9), 1), "world_size": world.size,
              "device": str(device), "precision": numerics.precision, "channels_last": numerics.channels_last,
              "model": raw_model}
    if not world.is_main:
        return result
    final = evaluate_mm(raw_model, cfg, val, device)
    final.pop("predictions_xyz_mm")
    final.update(result)
    (run / "final_val.json").write_text(json.dumps({k: v for k, v in final.items() if k != "model"}, indent=1))
    if cfg.test_dirs:
        final["test"] = evaluate_test(raw_model, cfg, device, run)
    return final


def _initial_weights(cfg: TrainConfig, data: ShardData, quiet: bool) -> torch.nn.Module:
    """The network of the exported model cfg.init_from, its folded BatchNorms calibrated on training crops."""
    from models.onnx_weights import network_from_onnx

    pick = np.random.default_rng(cfg.seed).choice(len(data), size=min(256, len(data)), replace=False)
    crops = data.crops[np.sort(pick)].astype(np.float32)[:, None]
    net = network_from_onnx(cfg.init_from, crops)
    if net.config.name != cfg.network:
        raise InputError(f"init_from {cfg.init_from} is a '{net.config.name}' network, the run trains "
                         f"'{cfg.network}'")
    if not quiet:
        print(f"starting from the weights of {cfg.init_from}", file=sys.stderr)
    return net


def evaluate_test(model, cfg: TrainConfig, device: torch.device, run: Path) -> dict:
    """Accuracy on the test shards (never trained on), written to run/test_eval.json."""
    from models.evaluate import summarise

    data = load_shards(list(cfg.test_dirs))
    stats = evaluate_mm(model, cfg, data, device)
    out = summarise(stats.pop("predictions_xyz_mm"), data.joints_xyz_mm.astype(np.float64))
    out.update({"head": cfg.head, "test_dirs": list(cfg.test_dirs), "test_frames": len(data),
                "median_mm": stats["median_mm"]})
    (run / "test_eval.json").write_text(json.dumps(out, indent=1))
    return out


def load_run_model(run_dir: str, checkpoint: str = "last.pt") -> tuple[TrainConfig, torch.nn.Module, dict]:
    """(configuration, model with the checkpoint's weights, the checkpoint) of a run folder."""
    path = Path(run_dir) / checkpoint
    if not path.is_file():
        raise InputError(f"no checkpoint {path}: train first")
    state = torch.load(path, map_location="cpu", weights_only=False)
    cfg = load_checkpoint_config(state, str(path))
    model = build_model(cfg)
    model.load_state_dict(state["model"])
    return cfg, model.eval(), state


def export_run(cfg: TrainConfig, run_dir: str, out_path: str | None = None) -> dict:
    """Export the run's last checkpoint (AWR head only) to ONNX with full metadata; checks parity. The file goes
    to run_dir/awr_lite.onnx unless out_path names another place."""
    from models.export import export_onnx

    if cfg.head != "awr":
        raise InputError("only the AWR head is exported (the regression head is an ablation)")
    _, net, _ = load_run_model(run_dir)
    out = out_path or str(Path(run_dir) / EXPORT_NAME)
    report = export_onnx(net, model_info(cfg, net), out)
    report["path"] = out
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="training configuration JSON (models/configs/*.json)")
    p.add_argument("--run-dir", default=None, help="checkpoints and logs (default runs/<config name>)")
    p.add_argument("--minutes", type=float, default=None,
                   help="train for this many minutes of wall time (the schedule's stages and lr drops become "
                        "fractions of it); overrides the configuration")
    p.add_argument("--batch-size", type=int, default=None, help="samples per step and rank (overrides the config)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="training device")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (overrides the config)")
    p.add_argument("--precision", choices=PRECISIONS, default=None,
                   help="arithmetic (overrides the config; bf16: autocast of the network, also on a CPU with AMX)")
    p.add_argument("--channels-last", choices=("auto", "on", "off"), default=None,
                   help="channels_last memory layout (overrides the config)")
    p.add_argument("--export", metavar="PATH", default=None,
                   help=f"write the ONNX export here instead of RUN_DIR/{EXPORT_NAME} "
                        "(--export models/awr_lite.onnx replaces the shipped model)")
    p.add_argument("--no-export", action="store_true", help="skip the ONNX export at the end")
    args = p.parse_args(argv)
    world = None
    try:
        cfg = TrainConfig.from_file(args.config, threads=args.threads, minutes=args.minutes,
                                    batch_size=args.batch_size, device=args.device, precision=args.precision,
                                    channels_last=args.channels_last)
        run_dir = args.run_dir or os.path.join("runs", Path(args.config).stem)
        try:
            world = init_world(cfg.device)
        except (RuntimeError, ValueError) as exc:
            raise InputError(str(exc)) from None
        final = train(cfg, run_dir, world=world)
        if not world.is_main:
            return 0
        print(json.dumps({k: v for k, v in final.items() if k != "per_joint_mm"}))
        if cfg.head == "awr" and not args.no_export:
            print(json.dumps(export_run(cfg, run_dir, args.export)))
    except TrackerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume from the last checkpoint", file=sys.stderr)
        return 130
    finally:
        if world is not None:
            close_world(world)
    return 0


if __name__ == "__main__":
    sys.exit(main())
