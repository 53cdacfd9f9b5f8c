"""Can the hand's side (left or right) be told from the depth alone? Two families of cues, on rendered scenes:

1. Appearance, with the shipped one-hand network (the cue issue #14 suggested first): run the network on the
   crop and on its mirror and let AWR's weight-map confidence choose. Rendered single-hand scenes, half right
   and half left hands; the crop is centred by the hand finder, as at run time.
2. Context, app.tracking.handedness (the arm, the body it joins, the other hand): on single-hand scenes
   (render_scene, hand right / left alternately) with the hand centre from the ground truth and from the hand
   finder (HandLocaliser.locate), and on two-hand scenes (render_two_hands, each arrangement) with the
   ground-truth centres of both hands, decided as a pair ('pair') and each hand on its own ('alone').

    python -m app.runtime.bench_handedness --frames 400 --seed 4242
    python -m app.runtime.bench_handedness --frames 1000 --seed 4242 --no-network    # context cues only

Prints one JSON object. The network part keeps its keys: 'correct_share' per cue: 'confidence' (overall joint
confidence, the tracker's own), 'peak' (mean of each weight map's largest value) and, for comparison, 'error
oracle' (the side whose estimate is nearer the ground truth: what a perfect cue built on these two estimates
could reach at most); 'combined' adds the context cue at the finder's centre, alone and falling back to the
confidence cue where the context has no opinion. 'context' holds the context cue's shares: 'single' (ground
truth and finder centres; scenes, hands found), 'two_hands' per arrangement and over all, and 'cues': how often
each cue, where it spoke, pointed the right way. Shares are of hands (two per two-hand scene).
Imports app code only.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

import numpy as np

from app.camera import depth_to_mm, project_mm_to_px
from app.config import DEFAULT_MODEL_PATH, Hand, HandednessConfig, LocaliserConfig, TrackerConfig
from app.synth.scene import SceneConfig, render_scene
from app.synth.two_hands import TWO_HAND_ARRANGEMENTS, render_two_hands
from app.tracking.handedness import side_evidence
from app.tracking.localise import HandLocaliser

_NO_OPINION = 0.25    # log-odds: below this the context cue leaves the choice to the network ('combined')


def _share(hits: list[bool]) -> float | None:
    return round(float(np.mean(hits)), 3) if hits else None


class _CueTally:
    """How often each cue, where it spoke, pointed to the true side."""

    def __init__(self) -> None:
        self.hits: dict[str, list[bool]] = {}

    def add(self, evidence, truth: Hand) -> None:
        sign = 1.0 if truth == Hand.RIGHT else -1.0
        for cue, value in evidence.cues.items():
            if value != 0:
                self.hits.setdefault(cue, []).append(sign * value > 0)

    def shares(self) -> dict:
        return {cue: {"share": _share(h), "hands": len(h)} for cue, h in sorted(self.hits.items())}


def measure(frames: int, seed: int, model_path: str = DEFAULT_MODEL_PATH,
            config: HandednessConfig | None = None) -> dict:
    """The network's cues (and the context cue at the same finder centre) on `frames` single-hand scenes."""
    from app.tracking.estimator import Estimator
    from app.tracking.tracker import HandTracker

    estimator = Estimator(model_path, "cpu", 1)
    trackers = {h: HandTracker(TrackerConfig(model_path=model_path, hand=h, min_confidence=0.0), estimator)
                for h in Hand}
    localiser = HandLocaliser(replace(trackers[Hand.RIGHT].config.localiser, cube_mm=trackers[Hand.RIGHT].cube_mm))
    right_votes = {"confidence": [], "peak": [], "error oracle": []}
    combined = {"context": [], "context, else confidence": []}
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
        by_confidence = est[Hand.RIGHT].overall >= est[Hand.LEFT].overall
        right_votes["confidence"].append(by_confidence)
        right_votes["peak"].append(peak[Hand.RIGHT] >= peak[Hand.LEFT])
        right_votes["error oracle"].append(error[Hand.RIGHT] <= error[Hand.LEFT])
        context = side_evidence(depth, sample.intrinsics, [location.centre_uvz], config)[0].right_log_odds
        combined["context"].append(context >= 0)
        combined["context, else confidence"].append(context > 0 if abs(context) >= _NO_OPINION else by_confidence)
        truth.append(hand == Hand.RIGHT)
        if (i + 1) % 50 == 0:
            print(f"  network: {i + 1}/{frames} scenes", file=sys.stderr)
    t = np.asarray(truth)
    accuracy = {cue: round(float(np.mean(np.asarray(v) == t)), 3) for cue, v in right_votes.items()}
    return {"scenes": frames, "hands_found": int(t.size), "seed": seed, "model": model_path,
            "correct_share": accuracy,
            "combined": {cue: round(float(np.mean(np.asarray(v) == t)), 3) for cue, v in combined.items()}}


def measure_context(frames: int, seed: int, config: HandednessConfig | None = None,
                    localiser_config: LocaliserConfig | None = None) -> dict:
    """The context cue on `frames` single-hand scenes (ground-truth and finder centres) and `frames` two-hand
    scenes (an equal share per arrangement, ground-truth centres)."""
    localiser = HandLocaliser(localiser_config)
    tally = _CueTally()
    single = {"ground truth": [], "finder": []}
    for i in range(frames):
        hand = Hand.LEFT if i % 2 else Hand.RIGHT
        sample = render_scene(np.random.default_rng([seed, 1, i]), None, SceneConfig(hand=hand))
        intr = sample.intrinsics
        depth = depth_to_mm(sample.depth_raw, intr)
        centre = tuple(float(x) for x in project_mm_to_px(sample.joints_xyz_mm.mean(axis=0), intr))
        evidence = side_evidence(depth, intr, [centre], config)[0]
        tally.add(evidence, hand)
        single["ground truth"].append(evidence.hand == hand)
        location = localiser.locate(depth, intr)
        if location.centre_uvz is not None:
            single["finder"].append(side_evidence(depth, intr, [location.centre_uvz], config)[0].hand == hand)
        if (i + 1) % 100 == 0:
            print(f"  context, single hands: {i + 1}/{frames} scenes", file=sys.stderr)
    pairs: dict[str, dict[str, list[bool]]] = {a: {"pair": [], "alone": []} for a in TWO_HAND_ARRANGEMENTS}
    per_arrangement = max(1, frames // len(TWO_HAND_ARRANGEMENTS))
    for a_index, arrangement in enumerate(TWO_HAND_ARRANGEMENTS):
        for i in range(per_arrangement):
            sample = render_two_hands(np.random.default_rng([seed, 2, a_index, i]), arrangement=arrangement)
            intr = sample.intrinsics
            depth = depth_to_mm(sample.depth_raw, intr)
            both = side_evidence(depth, intr, [h.centre_uvz for h in sample.hands], config)
            for truth, evidence in zip(sample.hands, both):
                tally.add(evidence, truth.hand)
                pairs[arrangement]["pair"].append(evidence.hand == truth.hand)
                alone = side_evidence(depth, intr, [truth.centre_uvz], config)[0]
                pairs[arrangement]["alone"].append(alone.hand == truth.hand)
        print(f"  context, two hands: {arrangement} done", file=sys.stderr)
    two = {a: {k: _share(v) for k, v in d.items()} for a, d in pairs.items()}
    two["all"] = {k: _share([x for d in pairs.values() for x in d[k]]) for k in ("pair", "alone")}
    return {"single": {"scenes": frames, "ground truth": _share(single["ground truth"]),
                       "finder": _share(single["finder"]), "finder_found": len(single["finder"])},
            "two_hands": {"scenes_per_arrangement": per_arrangement, **two},
            "cues": tally.shares()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=400,
                   help="rendered scenes per part: single hands (half right, half left) and two-hand scenes")
    p.add_argument("--seed", type=int, default=4242)
    p.add_argument("--model", default=DEFAULT_MODEL_PATH)
    p.add_argument("--no-network", action="store_true", help="measure the context cue only")
    args = p.parse_args(argv)
    if args.frames < 2:
        print("error: --frames must be at least 2", file=sys.stderr)
        return 2
    result = {} if args.no_network else measure(args.frames, args.seed, args.model)
    result["context"] = measure_context(args.frames, args.seed)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
