"""Compare tracker variants on rendered frames with ground truth: the second, re-centred pass on/off (and its
threshold). Each frame is independent (smoothing off), so the numbers measure single-frame accuracy.

    python -m app.runtime.bench_tracker --model models/awr_lite.onnx --frames 300 --seed 9100

Prints one JSON object: per variant, mean 3-D joint error (mm) over frames where the tracker gave a pose,
the share of frames with max joint error <= 40 mm, frames with a pose, the share of frames re-centred, and
per-frame time (localise + crop + infer + postprocess, median ms). The same frames go through every variant.
Only meaningful with a trained model. Imports numpy and app code only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

import numpy as np

from app.config import SmoothingConfig, TrackerConfig
from app.errors import TrackerError
from app.tracking.estimator import Estimator
from app.tracking.tracker import HandTracker
from app.types import DepthFrame

VARIANTS = {"single pass": {"recentre": False},
            "recentre >= 15 mm": {"recentre": True, "recentre_min_mm": 15.0},
            "recentre always": {"recentre": True, "recentre_min_mm": 0.0}}


def _frames(count: int, seed: int):
    from app.synth.scene import SceneConfig, render_scene   # rendering: only for this measurement

    for i in range(count):
        sample = render_scene(np.random.default_rng([seed, i]), None, SceneConfig())
        yield DepthFrame(2 * i, 2 * i, 66.0 * i, 0.0, sample.depth_raw, sample.intrinsics, sample.joints_xyz_mm)


def compare(model_path: str, frames: int, seed: int, provider: str = "cpu") -> dict:
    estimator = Estimator(model_path, provider)
    base = TrackerConfig(model_path=model_path, provider=provider, smoothing=SmoothingConfig(enabled=False),
                         min_confidence=0.0)
    trackers = {name: HandTracker(replace(base, **changes), estimator) for name, changes in VARIANTS.items()}
    rows: dict[str, dict[str, list]] = {name: {"err": [], "max": [], "recentred": [], "ms": []} for name in trackers}
    for k, frame in enumerate(_frames(frames, seed)):
        for name, tracker in trackers.items():
            tracker.reset()
            result = tracker.process(frame)
            if result.pose is None:
                continue
            err = np.linalg.norm(result.pose.joints_xyz_raw_mm - frame.gt_xyz_mm, axis=1)
            t = result.timings
            rows[name]["err"].append(float(err.mean()))
            rows[name]["max"].append(float(err.max()))
            rows[name]["recentred"].append(bool(result.extra.get("recentred")))
            rows[name]["ms"].append(t.localise + t.crop + t.infer + t.postprocess)
        if (k + 1) % 50 == 0:
            print(f"  {k + 1}/{frames} frames", file=sys.stderr)
    summary = {}
    for name, r in rows.items():
        n = len(r["err"])
        summary[name] = {
            "frames_with_pose": n,
            "mean_error_mm": round(float(np.mean(r["err"])), 2) if n else None,
            "max_error_le_40mm_pct": round(100.0 * float(np.mean(np.asarray(r["max"]) <= 40.0)), 1) if n else None,
            "recentred_pct": round(100.0 * float(np.mean(r["recentred"])), 1) if n else None,
            "time_ms_p50": round(float(np.median(r["ms"])), 2) if n else None,
        }
    return {"model": model_path, "provider": estimator.provider, "frames": frames, "seed": seed,
            "variants": summary}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Single pass vs re-centred second pass on rendered frames.")
    p.add_argument("--model", required=True, help="trained .onnx model")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--seed", type=int, default=9100, help="scene seed (use one no training run used)")
    p.add_argument("--provider", default="cpu")
    args = p.parse_args(argv)
    try:
        started = time.perf_counter()
        print(json.dumps(compare(args.model, args.frames, args.seed, args.provider)))
        print(f"done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    except TrackerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
