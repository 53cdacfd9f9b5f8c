"""Evaluate a hand-pose model on held-out synthetic data, the way the product runs it.

Two modes:
  runtime   python -m models.evaluate --model models/awr_lite.onnx --frames 2000 --seed 9001
            Renders full sensor frames (seed != any training seed), runs the whole runtime tracker on each
            (HandLocaliser -> crop -> onnxruntime -> post-processing; smoothing off, frames are independent),
            and reports mean / per-joint error in mm and the share of frames with max error <= 20 / 40 mm.
            Frames where the localiser finds no hand are counted and reported, not dropped silently.
            Resumable: predictions are cached in --work-dir every 100 frames (per model file and seed).
  crops     python -m models.evaluate --run runs/lite --test-shards data/synth/test
            Evaluates a training checkpoint (AWR or the direct-regression ablation) on pre-rendered test crops.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from app.camera import unproject_px_to_mm
from app.errors import TrackerError
from app.joints import JOINT_NAMES
from models import metrics
from models.progress import progress_bar
from models.render_shards import WRONG_OBJECT_MM


def render_test_frame(seed: int, index: int):
    from app.synth.scene import SceneConfig, render_scene

    return render_scene(np.random.default_rng([seed, index]), None, SceneConfig())


def evaluate_runtime(model_path: str, frames: int, seed: int, work_dir: str, quiet: bool = False) -> dict:
    """Run the runtime tracker on `frames` rendered frames; returns the summary (and writes work_dir files)."""
    from app.config import SmoothingConfig, TrackerConfig
    from app.tracking.estimator import Estimator
    from app.tracking.tracker import HandTracker
    from app.types import DepthFrame

    config = TrackerConfig(model_path=model_path, provider="cpu",
                           smoothing=SmoothingConfig(enabled=False))
    tracker = HandTracker(config, Estimator(model_path, provider="cpu"))
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    # The cache belongs to one model file and test set: another model (or the same path retrained) starts anew.
    model_key = hashlib.sha1(Path(model_path).read_bytes()).hexdigest()[:12]
    cache = work / f"runtime_seed{seed}_{model_key}.npz"
    pred = np.full((frames, len(JOINT_NAMES), 3), np.nan)
    gt = np.zeros((frames, len(JOINT_NAMES), 3))
    status = np.array([""] * frames, dtype=object)
    centre_error = np.full(frames, np.nan)
    start = 0
    if cache.exists():
        z = np.load(cache, allow_pickle=True)
        n = min(int(z["done"]), frames)
        pred[:n], gt[:n], status[:n] = z["pred"][:n], z["gt"][:n], z["status"][:n]
        centre_error[:n] = z["centre_error"][:n]
        start = n
    bar = progress_bar(total=frames, desc="evaluate", unit="frame", quiet=quiet)
    bar.update(start)
    for i in range(start, frames):
        sample = render_test_frame(seed, i)
        tracker.reset()
        frame = DepthFrame(index=i, frame_number=i, timestamp_ms=i * 33.3, arrival_s=time.perf_counter(),
                           depth_raw=sample.depth_raw, intrinsics=sample.intrinsics)
        result = tracker.process(frame)
        gt[i] = sample.joints_xyz_mm
        status[i] = result.status.value
        if result.pose is not None:
            pred[i] = result.pose.joints_xyz_raw_mm
        if result.location.centre_uvz is not None:
            centre_mm = unproject_px_to_mm(np.asarray(result.location.centre_uvz), sample.intrinsics)
            centre_error[i] = np.linalg.norm(centre_mm - gt[i].mean(axis=0))
        done = i + 1
        bar.update(1)
        if done % 100 == 0 or done == frames:
            tmp = cache.with_suffix(".tmp.npz")
            np.savez(tmp, pred=pred, gt=gt, status=status, centre_error=centre_error, done=done)
            os.replace(tmp, cache)
    bar.close()
    has_pose = ~np.isnan(pred).any(axis=(1, 2))
    statuses, counts = np.unique(status.astype(str), return_counts=True)
    # The hand finder "found" the hand when its centre lies within WRONG_OBJECT_MM of the true joints' mean;
    # otherwise it locked onto another object (table edge, arm end, distractor) and the network saw no hand.
    found = has_pose & (centre_error <= WRONG_OBJECT_MM)
    summary = summarise(pred[has_pose], gt[has_pose])
    summary["hand_found"] = summarise(pred[found], gt[found])
    summary.update({"frames": frames, "frames_with_pose": int(has_pose.sum()), "frames_hand_found": int(found.sum()),
                    "status_counts": {str(s): int(c) for s, c in zip(statuses, counts)}, "seed": seed,
                    "model": str(model_path)})
    report = metrics.format_report(pred[has_pose], gt[has_pose], JOINT_NAMES,
                                   title=f"Runtime evaluation: {frames} synthetic frames, seed {seed}")
    (work / "runtime_report.md").write_text(report)
    (work / "runtime_summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def summarise(pred: np.ndarray, gt: np.ndarray) -> dict:
    if len(pred) == 0:
        return {"mean_mm": None}
    return {"mean_mm": metrics.mean_joint_error_mm(pred, gt),
            "per_joint_mm": dict(zip(JOINT_NAMES, np.round(metrics.per_joint_error_mm(pred, gt), 2).tolist())),
            "frames_max_le_20mm": metrics.frames_within(pred, gt, 20.0),
            "frames_max_le_40mm": metrics.frames_within(pred, gt, 40.0),
            "auc_0_80": metrics.auc(metrics.success_rate(pred, gt))}


def evaluate_checkpoint(run_dir: str, test_dirs: list[str], checkpoint: str = "last.pt") -> dict:
    """Crop-level evaluation of a training run's checkpoint on pre-rendered test shards."""
    import torch

    from models.shards import load_shards
    from models.train import evaluate_mm, load_run_model

    cfg, model, state = load_run_model(run_dir, checkpoint)
    data = load_shards(test_dirs)
    stats = evaluate_mm(model, cfg, data, torch.device("cpu"))
    pred = stats.pop("predictions_xyz_mm")
    out = summarise(pred, data.joints_xyz_mm.astype(np.float64))
    out.update({"run": run_dir, "head": cfg.head, "network": cfg.network, "steps": int(state["step"]),
                "test_frames": len(data)})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="ONNX model to evaluate through the runtime tracker")
    p.add_argument("--frames", type=int, default=2000, help="number of test frames to render (runtime mode)")
    p.add_argument("--seed", type=int, default=9001, help="test-set seed (never used for training)")
    p.add_argument("--work-dir", default="runs/eval", help="cache and reports (runtime mode)")
    p.add_argument("--run", help="training run folder to evaluate on crops (crops mode)")
    p.add_argument("--checkpoint", default="last.pt", help="checkpoint file inside --run (crops mode)")
    p.add_argument("--test-shards", nargs="+", default=["data/synth/test"], help="test shard folders")
    args = p.parse_args(argv)
    try:
        if args.model:
            if not Path(args.model).is_file():
                raise TrackerError(f"model file not found: {args.model}")
            summary = evaluate_runtime(args.model, args.frames, args.seed, args.work_dir)
        elif args.run:
            summary = evaluate_checkpoint(args.run, args.test_shards, args.checkpoint)
        else:
            p.error("give --model (runtime evaluation) or --run (checkpoint on test crops)")
    except TrackerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
