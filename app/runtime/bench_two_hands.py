"""Measure finding both hands on rendered two-hand scenes (app.synth.two_hands), false extra hands on one-hand
scenes, and what one batched network run of the crops costs against one run per crop.

    python -m app.runtime.bench_two_hands --frames 1000 --seed 2024                       # found anew
    python -m app.runtime.bench_two_hands --frames 1000 --seed 2024 --track-noise-mm 25   # tracked

Two-hand scenes: render_two_hands with each arrangement in turn ('apart', 'close', 'front', 'crossed'; random
intrinsics at 640x480, torso, upper arms, wall, sensor noise), HandLocaliser.locate_hands(max_hands) on each: a
global search, or with --track-noise-mm S from previous centres, each true hand's centre moved by N(0, S) mm per
axis (where it was a frame earlier; bench_localiser's rule for one hand). The rules, per frame:
- the found hands are paired one-to-one with the true hands (the pairing with the smallest summed 3-D distance
  between found and true centres, a true centre being the mean of the hand's 21 joints);
- a true hand is *found* when its paired found centre lies within --match-mm (default 40 mm, 3-D) of it;
  *in crop* when every one of its 21 joints lies in the crop cube (--cube-mm) at its paired centre (what the
  network needs; the one-hand benchmark's rule); *both found*, *both in crop*: so for both hands;
- a found hand is *false* when it lies farther than --match-mm from every true hand's centre, and *far false*
  when farther than 100 mm (not a badly centred real hand but an arm, an elbow, the torso);
- *duplicate*: two found hands within --match-mm of the same true hand and nearer to it than to the other;
- *both centres in view*: both true centres project inside the image (a hand mostly outside it is hard to find).
Centre errors (mm) are over the paired true hands. Times (ms, best of 3 runs per frame, p50 / p95 over frames,
one core): locate_hands against locate on the same frame.
One-hand scenes (bench_localiser's, app.synth.scene: hand and forearm, torso, table, wall, distractor objects):
the share of frames where locate_hands reports a second hand (always a false one), and whether its first hand is
locate()'s (the same previous centre when tracking).
Batched inference (--model, CPU, one ONNX Runtime thread): one Estimator.infer on the 2 crops of a scene against
one call per crop, best and median of 200 alternated runs after warm-up, and the largest joint difference between HandTracker.estimate_hands
on both and on each alone.
Imports numpy and app code only.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time

import numpy as np

from app.camera import depth_to_mm, project_mm_to_px, unproject_px_to_mm
from app.config import DEFAULT_CUBE_MM, DEFAULT_MODEL_PATH, LocaliserConfig, TrackerConfig
from app.tracking.crop import crop_geometry, xyz_mm_to_crop_uvd
from app.tracking.localise import HandLocaliser

_FAR_FALSE_MM = 100.0


def _best_time_ms(call, repeats: int):
    best, result = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - t)
    return best * 1e3, result


def _pairing(found_mm: np.ndarray, true_mm: np.ndarray) -> list[tuple[int, int]]:
    """(found index, true index) pairs: the one-to-one pairing with the smallest summed distance."""
    best, pairs = np.inf, []
    n = min(len(found_mm), len(true_mm))
    for found in itertools.permutations(range(len(found_mm)), n):
        for true in itertools.permutations(range(len(true_mm)), n):
            cost = sum(float(np.linalg.norm(found_mm[f] - true_mm[t])) for f, t in zip(found, true))
            if cost < best:
                best, pairs = cost, list(zip(found, true))
    return pairs


def score_frame(sample, hands, cube_mm: float, match_mm: float) -> dict:
    """One frame's counts under the module docstring's rules."""
    intr = sample.intrinsics
    located = [h for h in hands if h.centre_uvz is not None]
    found_mm = np.array([unproject_px_to_mm(np.asarray(h.centre_uvz), intr) for h in located]).reshape(-1, 3)
    true_mm = np.array([h.joints_xyz_mm.mean(axis=0) for h in sample.hands])
    errors, found, in_crop = [], 0, 0
    for f, t in _pairing(found_mm, true_mm):
        error = float(np.linalg.norm(found_mm[f] - true_mm[t]))
        errors.append(error)
        found += error <= match_mm
        geom = crop_geometry(located[f].centre_uvz, cube_mm, 128, intr)
        in_crop += bool(np.abs(xyz_mm_to_crop_uvd(sample.hands[t].joints_xyz_mm, geom, intr)).max() <= 1.0)
    in_view = all(0 <= h.centre_uvz[0] < intr.width and 0 <= h.centre_uvz[1] < intr.height for h in sample.hands)
    gaps = np.linalg.norm(found_mm[:, None] - true_mm[None], axis=2) if len(found_mm) else np.zeros((0, 2))
    nearest = gaps.argmin(axis=1) if len(found_mm) else np.zeros(0, int)
    close = gaps.min(axis=1) <= match_mm if len(found_mm) else np.zeros(0, bool)
    duplicate = any(np.count_nonzero(close & (nearest == t)) > 1 for t in range(len(true_mm)))
    return {"found": found, "in_crop": in_crop, "located": len(located), "errors": errors,
            "false": int(np.count_nonzero(gaps.min(axis=1) > match_mm)) if len(found_mm) else 0,
            "far_false": int(np.count_nonzero(gaps.min(axis=1) > _FAR_FALSE_MM)) if len(found_mm) else 0,
            "duplicate": duplicate, "in_view": in_view}


def _summary(rows: list[dict], frames: int) -> dict:
    errors = np.asarray([e for r in rows for e in r["errors"]])
    pct = lambda n: round(100.0 * n / max(frames, 1), 1)   # noqa: E731
    return {
        "frames": frames,
        "both_found_pct": pct(sum(r["found"] == 2 for r in rows)),
        "one_found_pct": pct(sum(r["found"] == 1 for r in rows)),
        "both_in_crop_pct": pct(sum(r["in_crop"] == 2 for r in rows)),
        "hands_located_per_frame": round(sum(r["located"] for r in rows) / max(frames, 1), 3),
        "false_hands": sum(r["false"] for r in rows), "far_false_hands": sum(r["far_false"] for r in rows),
        "duplicate_frames": sum(r["duplicate"] for r in rows),
        "both_centres_in_view_pct": pct(sum(r["in_view"] for r in rows)),
        "centre_error_mm": {"p50": round(float(np.median(errors)), 1),
                            "p90": round(float(np.percentile(errors, 90)), 1)} if errors.size else None,
    }


def _previous_centres(sample, seed: int, i: int, track_noise_mm: float | None) -> tuple:
    """Tracking: each true hand's centre moved by N(0, track_noise_mm) mm per axis (where it was a frame
    earlier), as (u_px, v_px, z_mm); () for a global search."""
    if track_noise_mm is None:
        return ()
    noise = np.random.default_rng([seed, i, 1]).normal(0.0, track_noise_mm, (len(sample.hands), 3))
    return tuple(tuple(float(x) for x in project_mm_to_px(h.joints_xyz_mm.mean(axis=0) + n, sample.intrinsics))
                 for h, n in zip(sample.hands, noise))


def evaluate(frames: int, seed: int, config: LocaliserConfig, max_hands: int = 2, match_mm: float = 40.0,
             repeats: int = 3, progress: bool = True, track_noise_mm: float | None = None) -> dict:
    from app.synth.two_hands import TWO_HAND_ARRANGEMENTS, render_two_hands   # rendering: only for this

    localiser = HandLocaliser(config)
    rows: dict[str, list[dict]] = {a: [] for a in TWO_HAND_ARRANGEMENTS}
    times = {"locate_hands": [], "locate": []}
    for i in range(frames):
        arrangement = TWO_HAND_ARRANGEMENTS[i % len(TWO_HAND_ARRANGEMENTS)]
        sample = render_two_hands(np.random.default_rng([seed, i]), arrangement=arrangement)
        intr = sample.intrinsics
        depth = depth_to_mm(sample.depth_raw, intr)
        previous = _previous_centres(sample, seed, i, track_noise_mm)
        ms, hands = _best_time_ms(lambda: localiser.locate_hands(depth, intr, max_hands, previous), repeats)
        times["locate_hands"].append(ms)
        first = previous[0] if previous else None
        times["locate"].append(_best_time_ms(lambda: localiser.locate(depth, intr, first), repeats)[0])
        rows[arrangement].append(score_frame(sample, hands, config.cube_mm, match_mm))
        if progress and (i + 1) % 100 == 0:
            print(f"  {i + 1}/{frames} frames", file=sys.stderr)
    everything = [r for a in rows.values() for r in a]
    return {
        "frames": frames, "seed": seed, "max_hands": max_hands, "match_mm": match_mm, "cube_mm": config.cube_mm,
        "track_noise_mm": track_noise_mm,
        "all": _summary(everything, frames),
        "per_arrangement": {a: _summary(r, len(r)) for a, r in rows.items()},
        "time_ms": {k: {"p50": round(float(np.median(v)), 3), "p95": round(float(np.percentile(v, 95)), 3)}
                    for k, v in times.items()},
    }


def evaluate_single(frames: int, seed: int, config: LocaliserConfig, max_hands: int = 2,
                    track_noise_mm: float | None = None) -> dict:
    """On one-hand scenes (bench_localiser's, app.synth.scene): the share of frames where locate_hands reports
    more than one hand (every extra hand is a false one), and of frames whose first hand is locate()'s."""
    from app.synth.scene import SceneConfig, render_scene   # rendering: only for this measurement

    localiser = HandLocaliser(config)
    extra, same_first = 0, 0
    for i in range(frames):
        sample = render_scene(np.random.default_rng([seed, i]), None, SceneConfig())
        intr = sample.intrinsics
        depth = depth_to_mm(sample.depth_raw, intr)
        previous = ()
        if track_noise_mm is not None:
            moved = sample.joints_xyz_mm.mean(axis=0) + np.random.default_rng([seed, i, 1]).normal(0, track_noise_mm, 3)
            previous = (tuple(float(x) for x in project_mm_to_px(moved, intr)),)
        hands = localiser.locate_hands(depth, intr, max_hands, previous)
        one = localiser.locate(depth, intr, previous[0] if previous else None)
        extra += len(hands) > 1
        same_first += hands[0].status == one.status and hands[0].centre_uvz == one.centre_uvz
    return {"frames": frames, "seed": seed, "track_noise_mm": track_noise_mm,
            "frames_with_a_false_extra_hand_pct": round(100.0 * extra / frames, 1),
            "first_hand_equals_locate_pct": round(100.0 * same_first / frames, 1)}


def time_batched_inference(model_path: str, seed: int, runs: int = 200) -> dict:
    """One Estimator.infer on the two crops of a rendered two-hand scene against one call per crop (ms, best and
    median of `runs` alternated runs after a warm-up; one ONNX Runtime thread, CPU), and the largest joint
    difference (mm) between the batched and the one-by-one estimates (HandTracker.estimate_hands)."""
    from app.synth.two_hands import render_two_hands   # rendering: only for this measurement
    from app.tracking.estimator import Estimator
    from app.tracking.tracker import HandTracker

    estimator = Estimator(model_path, "cpu", 1)
    tracker = HandTracker(TrackerConfig(model_path=model_path, provider="cpu"), estimator)
    sample = render_two_hands(np.random.default_rng([seed, 0]), arrangement="apart")
    intr, depth = sample.intrinsics, depth_to_mm(sample.depth_raw, sample.intrinsics)
    centres = [h.centre_uvz for h in sample.hands]
    sides = [h.hand for h in sample.hands]
    crops = np.stack([est.crop for est in tracker.estimate_hands(depth, intr, centres, sides)])
    for _ in range(5):
        estimator.infer(crops)
    batched, single = [], []
    for _ in range(runs):   # alternated, so that a busy moment of a shared machine hits both alike
        batched.append(_best_time_ms(lambda: estimator.infer(crops), 1)[0])
        single.append(_best_time_ms(lambda: [estimator.infer(crops[k:k + 1]) for k in range(len(crops))], 1)[0])
    together = tracker.estimate_hands(depth, intr, centres, sides)
    alone = [tracker.estimate_hands(depth, intr, [c], [s])[0] for c, s in zip(centres, sides)]
    gap = max(float(np.abs(a.xyz_mm - b.xyz_mm).max()) for a, b in zip(together, alone))
    return {"model": model_path, "crops": len(crops), "provider": estimator.provider, "intra_op_threads": 1,
            "batched_ms": {"best": round(min(batched), 3), "p50": round(float(np.median(batched)), 3)},
            "one_by_one_ms": {"best": round(min(single), 3), "p50": round(float(np.median(single)), 3)},
            "batched_vs_one_by_one_max_joint_diff_mm": gap}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Finding both hands on rendered two-hand scenes.")
    p.add_argument("--frames", type=int, default=400, help="scenes to render, the arrangements in turn")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--cube-mm", type=float, default=DEFAULT_CUBE_MM)
    p.add_argument("--max-hands", type=int, default=2, help="hands looked for (default 2)")
    p.add_argument("--match-mm", type=float, default=40.0, help="a true hand is found within this (3-D, mm)")
    p.add_argument("--track-noise-mm", type=float, default=None,
                   help="track from previous centres: each true one moved by N(0, this) mm per axis")
    p.add_argument("--no-mask", action="store_true", help="time without the full-resolution masks")
    p.add_argument("--model", default=DEFAULT_MODEL_PATH, help="model for the batched-inference timing")
    p.add_argument("--no-inference", action="store_true", help="skip the batched-inference timing")
    args = p.parse_args(argv)
    if args.frames < 1 or args.max_hands < 1:
        print("error: --frames and --max-hands must be >= 1", file=sys.stderr)
        return 2
    config = LocaliserConfig(cube_mm=args.cube_mm, compute_mask=not args.no_mask)
    result = evaluate(args.frames, args.seed, config, args.max_hands, args.match_mm,
                      track_noise_mm=args.track_noise_mm)
    result["one_hand_scenes"] = evaluate_single(args.frames, args.seed, config, args.max_hands, args.track_noise_mm)
    if not args.no_inference:
        result["inference"] = time_batched_inference(args.model, args.seed)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
