"""Measure hand finding on rendered scenes with ground truth: how often the crop holds the whole hand, centre
error, statuses, and time per frame on one core.

    python -m app.runtime.bench_localiser --frames 400 --seed 2024 --cube-mm 280
    python -m app.runtime.bench_localiser --frames 400 --seed 2024 --cube-mm 280 --track-noise-mm 25

Scenes come from app.synth.scene.render_scene (hand + forearm, optional torso, table, wall, distractor objects,
sensor noise; random intrinsics at 640x480). "All joints in crop" means all 21 ground-truth joints fall inside
the crop cube placed at the localiser's centre (|u|, |v|, |d| <= 1), which is what the network needs. Time is
the best of `repeats` runs per frame (the machine may be shared), median and 95th percentile over frames.
--track-noise-mm S measures tracking instead of a global search: each frame gets a previous centre, the
ground-truth centre moved by N(0, S) mm per axis (where the hand was a frame earlier).
Imports numpy and app code only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from app.camera import depth_to_mm, project_mm_to_px, unproject_px_to_mm
from app.tracking.crop import crop_geometry, xyz_mm_to_crop_uvd
from app.config import DEFAULT_CUBE_MM, LocaliserConfig
from app.tracking.localise import HandLocaliser


def evaluate(frames: int, seed: int, config: LocaliserConfig, repeats: int = 3, progress: bool = True,
             track_noise_mm: float | None = None) -> dict:
    from app.synth.scene import SceneConfig, render_scene   # rendering: only for this measurement

    localiser = HandLocaliser(config)
    statuses: dict[str, int] = {}
    errors, inside, times_ms = [], [], []
    for i in range(frames):
        sample = render_scene(np.random.default_rng([seed, i]), None, SceneConfig())
        intr = sample.intrinsics
        depth = depth_to_mm(sample.depth_raw, intr)
        previous = None
        if track_noise_mm is not None:
            moved = sample.joints_xyz_mm.mean(axis=0) + np.random.default_rng([seed, i, 1]).normal(0, track_noise_mm, 3)
            previous = tuple(float(x) for x in project_mm_to_px(moved, intr))
        best = np.inf
        for _ in range(repeats):
            t = time.perf_counter()
            location = localiser.locate(depth, intr, previous)
            best = min(best, time.perf_counter() - t)
        times_ms.append(best * 1e3)
        statuses[location.status.value] = statuses.get(location.status.value, 0) + 1
        if location.centre_uvz is None:
            inside.append(False)
            continue
        joints = sample.joints_xyz_mm
        centre_mm = unproject_px_to_mm(np.asarray(location.centre_uvz), intr)
        errors.append(float(np.linalg.norm(centre_mm - joints.mean(axis=0))))
        geom = crop_geometry(location.centre_uvz, config.cube_mm, 128, intr)
        inside.append(bool(np.abs(xyz_mm_to_crop_uvd(joints, geom, intr)).max() <= 1.0))
        if progress and (i + 1) % 50 == 0:
            print(f"  {i + 1}/{frames} frames", file=sys.stderr)
    e = np.asarray(errors)
    return {
        "frames": frames, "seed": seed, "track_noise_mm": track_noise_mm, "statuses": statuses,
        "all_joints_in_crop_pct": round(100.0 * float(np.mean(inside)), 1),
        "centre_error_mm": {"p50": round(float(np.median(e)), 1), "p90": round(float(np.percentile(e, 90)), 1),
                            "over_60mm_pct": round(100.0 * float(np.mean(e > 60.0)), 1)} if e.size else None,
        "time_ms": {"p50": round(float(np.median(times_ms)), 3), "p95": round(float(np.percentile(times_ms, 95)), 3)},
        "config": {k: getattr(config, k) for k in ("near_mm", "far_mm", "cube_mm", "reach_mm", "max_solidity")},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Hand-finding accuracy and speed on rendered scenes.")
    p.add_argument("--frames", type=int, default=200, help="scenes to render (default 200)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--cube-mm", type=float, default=DEFAULT_CUBE_MM)
    p.add_argument("--no-mask", action="store_true", help="time without the full-resolution mask")
    p.add_argument("--track-noise-mm", type=float, default=None,
                   help="track from a previous centre: the true one moved by N(0, this) mm per axis")
    args = p.parse_args(argv)
    if args.frames < 1:
        print("error: --frames must be >= 1", file=sys.stderr)
        return 2
    if args.track_noise_mm is not None and args.track_noise_mm < 0:
        print("error: --track-noise-mm must be >= 0", file=sys.stderr)
        return 2
    config = LocaliserConfig(cube_mm=args.cube_mm, compute_mask=not args.no_mask)
    print(json.dumps(evaluate(args.frames, args.seed, config, track_noise_mm=args.track_noise_mm)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
