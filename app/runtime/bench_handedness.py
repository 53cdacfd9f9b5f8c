"""Can the hand's side (left or right) be told from the depth alone with the shipped one-hand network? Measures
the cue issue #14 suggests first: run the network on the crop and on its mirror and let AWR's weight-map
confidence choose. Rendered single-hand scenes, half right and half left hands; the crop is centred by the
hand finder, as at run time.

    python -m app.runtime.bench_handedness --frames 400 --seed 4242

Prints, per cue, the share of hands labelled correctly: 'confidence' (overall joint confidence, the tracker's
own), 'peak' (mean of each weight map's largest value) and, for comparison, 'error oracle' (the side whose
estimate is nearer the ground truth: what a perfect cue built on these two estimates could reach at most).
Imports app code only.
"""
from __future__ import annotations

import argparse
import json
import sys

from dataclasses import replace

import numpy as np

from app.camera import depth_to_mm
from app.config import DEFAULT_MODEL_PATH, Hand, TrackerConfig
from app.synth.scene import SceneConfig, render_scene
from app.tracking.estimator import Estimator
from app.tracking.localise import HandLocaliser
from app.tracking.tracker import HandTracker


def measure(frames: int, seed: int, model_path: str = DEFAULT_MODEL_PATH) -> dict:
    estimator = Estimator(model_path, "cpu", 1)
    trackers = {h: HandTracker(TrackerConfig(model_path=model_path, hand=h, min_confidence=0.0), estimator)
                for h in Hand}
    localiser = HandLocaliser(replace(trackers[Hand.RIGHT].config.localiser, cube_mm=trackers[Hand.RIGHT].cube_mm))
    right_votes = {"confidence": [], "peak": [], "error oracle": []}
    truth: list[bool] = []
    for i in range(frames):
        hand = Hand.LEFT if i % 2 else Hand.RIGHT
        sample = render_scene(np.random.default_rng([seed, i]), None, SceneConfig(hand=hand))
        depth = depth_to_mm(sample.depth_raw, sample.intrinsics)
        location = localiser.locate(depth, sample.intrinsics)
        if location.centre_uvz is None:
            continue
        est = {h: trackers[h].estimate(depth, sample.intrinsics, location.centre_uvz) for h in Hand}
        peak = {h: float(est[h].weights.reshape(len(est[h].weights), -1).max(axis=1).mean()) for h in Hand}
        error = {h: float(np.linalg.norm(est[h].xyz_mm - sample.joints_xyz_mm, axis=1).mean()) for h in Hand}
        right_votes["confidence"].append(est[Hand.RIGHT].overall >= est[Hand.LEFT].overall)
        right_votes["peak"].append(peak[Hand.RIGHT] >= peak[Hand.LEFT])
        right_votes["error oracle"].append(error[Hand.RIGHT] <= error[Hand.LEFT])
        truth.append(hand == Hand.RIGHT)
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{frames} scenes", file=sys.stderr)
    t = np.asarray(truth)
    accuracy = {cue: round(float(np.mean(np.asarray(v) == t)), 3) for cue, v in right_votes.items()}
    return {"scenes": frames, "hands_found": int(t.size), "seed": seed, "model": model_path,
            "correct_share": accuracy}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=400, help="rendered scenes, half right and half left hands")
    p.add_argument("--seed", type=int, default=4242)
    p.add_argument("--model", default=DEFAULT_MODEL_PATH)
    args = p.parse_args(argv)
    if args.frames < 2:
        print("error: --frames must be at least 2", file=sys.stderr)
        return 2
    print(json.dumps(measure(args.frames, args.seed, args.model)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
