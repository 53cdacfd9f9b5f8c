"""One-hand tracking speed of this checkout against other checkouts of the tracker (earlier releases), on the same
rendered one-hand sequences: has a change made the one-hand case slower?

    python -m app.runtime.bench_one_hand_speed --against /tmp/pre14 --rounds 5
    (/tmp/pre14: e.g. `git worktree add /tmp/pre14 87f35a6`, the last release before two-hand tracking)

The sequences (app.synth.motion, seed * 100 + k, like bench_two_hand_tracking's one-hand clips) are rendered once
by this checkout and written to a temporary file. Each variant then tracks all of them in a process of its own
(the checkout's own code, `python -c` with the checkout first on sys.path): HandTracker.process with one ONNX
Runtime thread, one warm-up clip untimed. The variants are this checkout with max_hands 1 and with its default
(2), and each --against checkout with its own defaults. They take turns round by round (the order rotates) so a
drift of the machine's speed hits all alike. Reported per variant: the median and the range of the rounds'
throughput (frames / time of process() alone) and each round's change against the first --against checkout
(paired, round by round; median and range). Prints one JSON object. Imports app code only.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from app.errors import TrackerError
from app.runtime.bench_two_hand_tracking import FPS, one_hand_clips

HERE = Path(__file__).resolve().parents[2]

# Run inside each checkout: time its HandTracker on the clips. Only APIs every release has are used
# (TrackerConfig(model_path=...), Estimator(path, provider, threads), DepthFrame's six positional fields).
_TIMER = r"""
import json, sys, time
import numpy as np
from app.config import TrackerConfig
from app.sources.synthetic import D435_LIKE
from app.tracking.estimator import Estimator
from app.tracking.tracker import HandTracker
from app.types import DepthFrame
clips_path, model, max_hands, fps = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
clips = np.load(clips_path)["depth"]
estimator = Estimator(model, "cpu", 1)
kw = {} if max_hands == "default" else {"max_hands": int(max_hands)}
config = TrackerConfig(model_path=model, **kw)
def run(depth):
    tracker = HandTracker(config, estimator)
    spent, hands = 0.0, 0
    for k, d in enumerate(depth):
        frame = DepthFrame(k, k, k * 1000.0 / fps, 0.0, d, D435_LIKE)
        t = time.perf_counter()
        result = tracker.process(frame)
        spent += time.perf_counter() - t
        hands += result.pose is not None
    return spent, hands
run(clips[0][:30])   # warm-up (sessions, caches), untimed
total, found, frames = 0.0, 0, 0
for depth in clips:
    spent, hands = run(depth)
    total, found, frames = total + spent, found + hands, frames + len(depth)
print(json.dumps({"frames": frames, "seconds": total, "with_pose": found}))
"""


def render_clips(path: str, sequences: int, frames: int, seed: int) -> None:
    """bench_two_hand_tracking's one-hand sequences, S x N x H x W uint16 raw depth, to an .npz file."""
    from app.sources.synthetic import D435_LIKE

    np.savez(path, depth=np.asarray(one_hand_clips(sequences, frames, seed, D435_LIKE), dtype=np.uint16))


def time_variant(checkout: Path, clips: str, model: str, max_hands: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", _TIMER, clips, model, max_hands, str(FPS)], cwd=checkout,
                          env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise TrackerError(f"{checkout} (max_hands {max_hands}): {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(against: list[str], rounds: int, sequences: int, frames: int, seed: int, model: str) -> dict:
    variants = [(f"against:{a}", Path(a).resolve(), "default") for a in against]
    variants += [("this:max_hands_1", HERE, "1"), ("this:default", HERE, "default")]
    fps: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    with_pose: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clips = str(Path(tmp) / "clips.npz")
        render_clips(clips, sequences, frames, seed)
        for r in range(rounds):
            for name, checkout, max_hands in variants[r % len(variants):] + variants[:r % len(variants)]:
                out = time_variant(checkout, clips, model, max_hands)
                fps[name].append(out["frames"] / out["seconds"])
                with_pose[name] = out["with_pose"]
                print(f"round {r + 1}/{rounds} {name}: {fps[name][-1]:.1f} fps", file=sys.stderr)
    reference_name = variants[0][0] if against else "this:max_hands_1"
    reference = fps[reference_name]
    report = {"sequences": sequences, "frames_per_sequence": frames, "seed": seed, "rounds": rounds,
              "reference": reference_name, "variants": {}}
    for name, values in fps.items():
        change = [100.0 * (v / ref - 1.0) for v, ref in zip(values, reference)]
        report["variants"][name] = {
            "fps_median": round(float(np.median(values)), 1),
            "fps_range": [round(min(values), 1), round(max(values), 1)],
            "change_vs_reference_pct_median": round(float(np.median(change)), 2),
            "change_vs_reference_pct_range": [round(min(change), 2), round(max(change), 2)],
            "frames_with_pose": with_pose[name]}
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--against", action="append", default=[], metavar="CHECKOUT",
                   help="another checkout of the tracker (repeatable); the first is the reference")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--sequences", type=int, default=5, help="rendered one-hand sequences (default 5)")
    p.add_argument("--frames", type=int, default=150, help="frames per sequence, 30 fps (default 150)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--model", default=str(HERE / "models" / "awr_lite.onnx"))
    args = p.parse_args(argv)
    bad = [a for a in args.against if not (Path(a) / "app" / "tracking" / "tracker.py").is_file()]
    if bad:
        print(f"error: not a checkout of the tracker: {bad[0]}", file=sys.stderr)
        return 2
    if args.rounds < 1 or args.sequences < 1 or args.frames < 2:
        print("error: --rounds and --sequences must be >= 1 and --frames >= 2", file=sys.stderr)
        return 2
    try:
        print(json.dumps(measure(args.against, args.rounds, args.sequences, args.frames, args.seed, args.model)))
    except TrackerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
