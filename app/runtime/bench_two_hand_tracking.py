"""Tracking two hands, measured on rendered sequences: both hands of a person swinging across each other and apart
(app.synth.two_hand_motion), tracked frame by frame by HandTracker with max_hands=2, as at run time.

    python -m app.runtime.bench_two_hand_tracking --sequences 5 --frames 200 --seed 7

Per frame each true hand is matched to a tracked hand as in the CLEAR MOT metrics (Bernardin & Stiefelhagen
2008): a true hand keeps the tracked hand it was matched to in the last frame while that hand is still shown and
its mean joint lies within MATCH_MM of the truth's; the others are paired nearest first (mean joints, within
MATCH_MM). (Pairing every frame afresh, nearest first, swaps the truths of two crossed hands whenever an estimate
leans towards the other hand for a frame: two switches and back, with no id changed.) Reported, overall and for the
frames where the hands are crossed / apart:
  both_found: share of frames with both true hands matched; and of the frames where both hands are in view (at
      least half the joints of each not hidden, joints_in_view: the arms swing in front of the hands), both
      found;
  handedness: share of matched hands labelled with their true side;
  error_mm: mean joint error (unsmoothed joints, mm) per side over matched hands;
  one_hand_error_mm: the reference, per side: the one-hand tracker (max_hands 1) told that side, on the same
      frames, over the frames where the hand it tracks is that hand;
  id_switches_per_1000: a true hand matched to an id other than the one it had when last matched, per 1,000
      frames (a hand lost and found again under a new id counts once), and the same split by cause: the hand
      came back after frames unmatched (lost, e.g. hidden behind the other arm, and found anew) or changed ids
      from one frame to the next;
  fps: throughput (frames / time) of HandTracker.process alone (one ONNX Runtime thread) and the 99th
      percentile of its time per frame (ms): two-hand frames with max_hands 2, and one-hand sequences
      (app.synth.motion, as many as two-hand ones, up to 150 frames each, ROUNDS times) with max_hands 1 and 2
      side by side, every frame to both in turns (one-hand speed, and max_hands 2's change against 1), with the
      share of those one-hand frames that showed two hands (a false second hand).
Prints one JSON object. Imports app code only.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from app.camera import Intrinsics, project_mm_to_px
from app.config import DEFAULT_MODEL_PATH, Hand, TrackerConfig
from app.sources.synthetic import D435_LIKE
from app.synth.motion import HandAnimator
from app.synth.two_hand_motion import TwoHandAnimator
from app.tracking.estimator import Estimator
from app.tracking.tracker import HandTracker
from app.types import DepthFrame

FPS = 30.0
IN_VIEW_MM = 50.0     # joints_in_view: a surface further than this in front of a joint hides it
IN_VIEW_SHARE = 0.5   # a hand with at least this share of its joints in view is in view
MATCH_MM = 150.0   # a tracked hand whose mean joint lies further than this from a true hand's is not that hand
ROUNDS = 2   # one-hand speed: rounds of max_hands 1 and 2, frame by frame in turns


def two_hand_frames(animator: TwoHandAnimator, count: int, intr: Intrinsics):
    """(arrangement, DepthFrame with each hand's ground truth) for the animator's first count frames at FPS."""
    for arrangement, frame, _visible in two_hand_scenes(animator, count, intr):
        yield arrangement, frame


def two_hand_scenes(animator: TwoHandAnimator, count: int, intr: Intrinsics):
    """(arrangement, DepthFrame with each hand's ground truth, {side: share of its joints in view}) for the
    animator's first count frames at FPS (joints_in_view)."""
    for k in range(count):
        sample = animator.frame(k / FPS)
        visible = {str(h.hand): joints_in_view(h.joints_xyz_mm, sample.clean_depth_raw, intr) for h in sample.hands}
        yield sample.arrangement, DepthFrame(k, k, k * 1000.0 / FPS, 0.0, sample.depth_raw, intr,
                                             gt_hands=sample.ground_truths()), visible


def joints_in_view(joints_mm: np.ndarray, clean_depth_raw: np.ndarray, intr: Intrinsics) -> float:
    """The share of a hand's joints (J x 3 mm) the camera sees: inside the image, with the noiseless rendered
    depth there no more than IN_VIEW_MM in front of the joint (a joint lies inside its finger, and the hand's own
    palm or fingers can lie that much in front of it; more in front is mostly something else covering it, here
    the other arm or hand: a hand in plain view measures 0.6-0.95, one behind the other forearm 0.1-0.3)."""
    uvz = project_mm_to_px(joints_mm, intr)
    u, v = np.round(uvz[:, 0]).astype(int), np.round(uvz[:, 1]).astype(int)
    inside = (u >= 0) & (u < intr.width) & (v >= 0) & (v < intr.height)
    surface = np.zeros(len(joints_mm))
    surface[inside] = clean_depth_raw[v[inside], u[inside]] * intr.depth_unit_mm
    return float(np.mean(inside & (surface > 0) & (surface >= uvz[:, 2] - IN_VIEW_MM)))


def measure(sequences: int, frames: int, seed: int, model_path: str = DEFAULT_MODEL_PATH) -> dict:
    estimator = Estimator(model_path, "cpu", 1)
    intr = D435_LIKE
    rows = {"all": _Tally(), "crossed": _Tally(), "apart": _Tally()}
    times_two: list[float] = []
    for s in range(sequences):
        animator = TwoHandAnimator(seed * 1000 + s, intr)
        tracker = HandTracker(TrackerConfig(model_path=model_path, max_hands=2), estimator)
        last_id: dict[str, int] = {}       # each true hand's id when last matched, and that frame's index
        last_frame: dict[str, int] = {}
        current: dict[str, int] = {}       # the matching of the frame before: side -> id
        for arrangement, frame, visible in two_hand_scenes(animator, frames, intr):
            t = time.perf_counter()
            result = tracker.process(frame)
            times_two.append(time.perf_counter() - t)
            truths = {truth.hand: truth.joints_xyz_mm for truth in frame.gt_hands}
            matched = match_hands(truths, result.hands, current)
            current = {side: hand.hand_id for side, hand, _truth in matched}
            switches = {"after_lost": 0, "next_frame": 0}
            for side, hand, _truth in matched:
                if side in last_id and last_id[side] != hand.hand_id:
                    switches["next_frame" if last_frame[side] == frame.index - 1 else "after_lost"] += 1
                last_id[side], last_frame[side] = hand.hand_id, frame.index
            for key in ("all", arrangement):
                rows[key].add(matched, switches, visible)
    one_hand = _one_hand_reference(sequences, frames, seed, estimator, model_path, intr)
    single_fps = _single_hand_fps(estimator, model_path, intr, frames=min(frames, 150), seed=seed,
                                  sequences=sequences)
    out = {"sequences": sequences, "frames_per_sequence": frames, "seed": seed,
           **{key: tally.summary() for key, tally in rows.items()},
           "one_hand_error_mm": one_hand,
           "fps": {"two_hands_max_hands_2": round(len(times_two) / float(np.sum(times_two)), 1),
                   "two_hands_max_hands_2_p99_ms": round(1e3 * float(np.percentile(times_two, 99)), 1),
                   **single_fps}}
    return out


def match_hands(truths: dict, hands, previous: dict) -> list:
    """[(side, tracked hand, truth joints)] for this frame: truths, side -> J x 3 mm; hands: the TrackedHands
    shown; previous: side -> hand_id matched in the frame before. A true hand keeps last frame's tracked hand while
    that one is shown and within MATCH_MM (mean joints); the rest are paired nearest first within MATCH_MM."""
    posed = [h for h in hands if h.pose is not None]
    centre = {h.hand_id: h.pose.joints_xyz_raw_mm.mean(axis=0) for h in posed}
    true_centre = {side: joints.mean(axis=0) for side, joints in truths.items()}
    pairs: dict[str, object] = {}
    for side, hand_id in previous.items():
        hand = next((h for h in posed if h.hand_id == hand_id), None)
        if side in truths and hand is not None and np.linalg.norm(centre[hand_id] - true_centre[side]) <= MATCH_MM:
            pairs[side] = hand
    free_sides = [side for side in truths if side not in pairs]
    free_hands = [h for h in posed if all(h is not p for p in pairs.values())]
    options = sorted((float(np.linalg.norm(centre[h.hand_id] - true_centre[side])), k, side)
                     for side in free_sides for k, h in enumerate(free_hands))
    taken: set[int] = set()
    for distance, k, side in options:
        if distance <= MATCH_MM and side not in pairs and k not in taken:
            pairs[side] = free_hands[k]
            taken.add(k)
    return [(side, hand, truths[side]) for side, hand in pairs.items()]


class _Tally:
    def __init__(self) -> None:
        self.frames = 0
        self.both = 0
        self.in_view = 0          # frames with both hands in view (IN_VIEW_SHARE of their joints), and both found
        self.both_in_view = 0
        self.labelled = 0
        self.correct = 0
        self.switches = {"after_lost": 0, "next_frame": 0}
        self.errors: dict[str, list[float]] = {"right": [], "left": []}

    def add(self, matched, switches: dict[str, int], visible: dict[str, float]) -> None:
        both = len({side for side, _hand, _truth in matched}) == 2
        self.frames += 1
        self.both += both
        if min(visible.values()) >= IN_VIEW_SHARE:
            self.in_view += 1
            self.both_in_view += both
        for cause, count in switches.items():
            self.switches[cause] += count
        for side, hand, truth in matched:
            self.labelled += 1
            self.correct += hand.hand == side
            self.errors[side].append(float(np.linalg.norm(hand.pose.joints_xyz_raw_mm - truth, axis=1).mean()))

    def summary(self) -> dict:
        n = max(1, self.frames)
        return {"frames": self.frames, "both_found": round(self.both / n, 4),
                "frames_both_in_view": self.in_view,
                "both_found_when_both_in_view": round(self.both_in_view / max(1, self.in_view), 4),
                "handedness": round(self.correct / max(1, self.labelled), 4),
                "error_mm": {side: round(float(np.mean(e)), 2) if e else None for side, e in self.errors.items()},
                "id_switches_per_1000": round(1000.0 * sum(self.switches.values()) / n, 2),
                **{f"id_switches_{cause}_per_1000": round(1000.0 * count / n, 2)
                   for cause, count in self.switches.items()}}


def _one_hand_reference(sequences, frames, seed, estimator, model_path, intr) -> dict:
    """The one-hand tracker (max_hands 1, told each hand's true side) on the same frames: the error of the
    hand it finds, per side, when that hand is the one it was told."""
    errors = {"right": [], "left": []}
    for side in (Hand.RIGHT, Hand.LEFT):
        for s in range(sequences):
            tracker = HandTracker(TrackerConfig(model_path=model_path, max_hands=1, hand=side), estimator)
            for _arrangement, frame in two_hand_frames(TwoHandAnimator(seed * 1000 + s, intr), frames, intr):
                result = tracker.process(frame)
                if result.pose is None:
                    continue
                truth = {t.hand: t.joints_xyz_mm for t in frame.gt_hands}[str(side)]
                err = np.linalg.norm(result.pose.joints_xyz_raw_mm - truth, axis=1).mean()
                if np.linalg.norm(result.pose.joints_xyz_raw_mm.mean(axis=0) - truth.mean(axis=0)) < 150.0:
                    errors[str(side)].append(float(err))
    return {side: round(float(np.mean(e)), 2) if e else None for side, e in errors.items()}


def one_hand_clips(sequences: int, frames: int, seed: int, intr: Intrinsics) -> list[list[np.ndarray]]:
    """The one-hand speed sequences: app.synth.motion with seed * 100 + k, frames at FPS (raw depth each)."""
    clips = []
    for s in range(sequences):
        animator = HandAnimator(seed * 100 + s, intr)
        clips.append([animator.next_frame(k / FPS).depth_raw for k in range(frames)])
    return clips


def _single_hand_fps(estimator, model_path, intr, frames: int, seed: int, sequences: int) -> dict:
    """One-hand sequences tracked with max_hands 1 and 2 side by side, frame by frame (each frame goes to both
    trackers, in turns which comes first; ROUNDS rounds), so that a drift of the machine's speed hits both alike:
    throughput (frames / time), p99 time per frame, the share of frames that showed two hands, and the change of
    max_hands 2 against 1 (the sum of times; and the median of the per-frame differences, ms)."""
    clips = one_hand_clips(sequences, frames, seed, intr)
    times: dict[int, list[float]] = {1: [], 2: []}
    two = {1: 0, 2: 0}
    for rnd in range(ROUNDS):
        for depth in clips:
            trackers = {max_hands: HandTracker(TrackerConfig(model_path=model_path, max_hands=max_hands), estimator)
                        for max_hands in (1, 2)}
            for k, d in enumerate(depth):
                frame = DepthFrame(k, k, k * 1000.0 / FPS, 0.0, d, intr)
                for max_hands in ((1, 2) if (k + rnd) % 2 == 0 else (2, 1)):
                    t = time.perf_counter()
                    result = trackers[max_hands].process(frame)
                    times[max_hands].append(time.perf_counter() - t)
                    two[max_hands] += len(result.hands) >= 2
    out = {"one_hand_max_hands_2_vs_1_pct": round(100.0 * (sum(times[1]) / sum(times[2]) - 1.0), 2),
           "one_hand_max_hands_2_minus_1_ms_p50": round(1e3 * float(np.median(np.subtract(times[2], times[1]))), 3)}
    for max_hands, spent in times.items():
        out[f"one_hand_max_hands_{max_hands}"] = round(len(spent) / float(np.sum(spent)), 1)
        out[f"one_hand_max_hands_{max_hands}_p99_ms"] = round(1e3 * float(np.percentile(spent, 99)), 1)
        out[f"one_hand_max_hands_{max_hands}_frames_showing_two_hands"] = round(two[max_hands] / len(spent), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sequences", type=int, default=5, help="rendered sequences (default 5)")
    p.add_argument("--frames", type=int, default=200, help="frames per sequence, 30 fps (default 200)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--model", default=DEFAULT_MODEL_PATH)
    args = p.parse_args(argv)
    if args.sequences < 1 or args.frames < 2:
        print("error: --sequences must be >= 1 and --frames >= 2", file=sys.stderr)
        return 2
    print(json.dumps(measure(args.sequences, args.frames, args.seed, args.model)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
