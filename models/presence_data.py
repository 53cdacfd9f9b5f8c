"""Render training data for the hand-presence model (app/tracking/presence.py): crops at the places the runtime's
hand finder takes for hands, each labelled hand / no hand from the ground truth.

The finder is run exactly as the tracker runs it with several hands (HandLocaliser.locate_hands, up to
MAX_LOCATIONS hands, tracking from the previous frame's centres, and every GLOBAL_EVERY frames from scratch too),
on three kinds of rendered depth:
  one:   one hand in motion (app.synth.motion.HandAnimator), right and left alternately: the finder's second
         "hands" here are the arm's own forearm, elbow and upper arm, the cases the model exists for;
  two:   both hands of a person crossing and separating (app.synth.two_hand_motion.TwoHandAnimator);
  scene: single random scenes (app.synth.scene.render_scene: random cameras, poses, backdrops, distractors).
A location is a hand when its centre lies within POSITIVE_MM of a true hand's centre (mean of its joints), no
hand when farther than NEGATIVE_MM from every one; in between it is left out (a hand's edge, ambiguous).

Deterministic (unit k of a kind is rendered from its seed, whatever the number of processes) and resumable:
each unit (one sequence, or one batch of scenes) is one file unit_<kind>_<k>.npz, written to a temporary name
and renamed when complete; existing units are skipped. Progress goes to stderr.

    python -m models.presence_data --out data/presence --units 24 --processes 2

Each file holds crops (K, s, s) float16 (app.tracking.presence.presence_crop), label (K,) uint8 (1 = hand),
distance_mm (K,) (to the nearest true hand centre), frame (K,) int32, kind and unit.
"""
from __future__ import annotations

import argparse
import os
import sys
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from app.camera import depth_to_mm, unproject_px_to_mm
from app.config import LocaliserConfig
from app.tracking.localise import HandLocaliser
from app.tracking.presence import PresenceInfo, presence_crop
from models.progress import progress_bar

KINDS = ("one", "two", "scene")
FRAMES_PER_UNIT = 150
FPS = 30.0
MAX_LOCATIONS = 3
GLOBAL_EVERY = 5
POSITIVE_MM = 60.0
NEGATIVE_MM = 120.0
SEED_BASE = {"one": 510_000, "two": 520_000, "scene": 530_000}   # apart from every other data set's seeds


def unit_frames(kind: str, unit: int):
    """(depth_raw, intrinsics, true hand centres mm (N, 3)) for each frame of one unit."""
    from app.synth.scene import SceneConfig, random_intrinsics, render_scene
    seed = SEED_BASE[kind] + unit
    if kind == "scene":
        from app.config import Hand
        for i in range(FRAMES_PER_UNIT):
            hand = Hand.LEFT if i % 2 else Hand.RIGHT
            sample = render_scene(np.random.default_rng([seed, i]), None, SceneConfig(hand=hand))
            yield sample.depth_raw, sample.intrinsics, sample.joints_xyz_mm.mean(axis=0)[None]
        return
    intr = random_intrinsics(np.random.default_rng([seed, 99]))
    if kind == "one":
        from app.synth.motion import HandAnimator
        animator = HandAnimator(seed, intr, hand="left" if unit % 2 else "right")
        for k in range(FRAMES_PER_UNIT):
            sample = animator.next_frame(k / FPS)
            yield sample.depth_raw, intr, sample.joints_xyz_mm.mean(axis=0)[None]
    else:
        from app.synth.two_hand_motion import TwoHandAnimator
        animator = TwoHandAnimator(seed, intr)
        for k in range(FRAMES_PER_UNIT):
            sample = animator.frame(k / FPS)
            yield sample.depth_raw, intr, np.stack([t.joints_xyz_mm.mean(axis=0) for t in sample.ground_truths()])


def render_unit(out_dir: str, kind: str, unit: int, info: PresenceInfo = PresenceInfo()) -> Path:
    """Render one unit to out_dir/unit_<kind>_<unit>.npz (skipped when it exists); returns its path."""
    path = Path(out_dir) / f"unit_{kind}_{unit:04d}.npz"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    localiser = HandLocaliser(LocaliserConfig())
    crops, labels, distances, frames = [], [], [], []
    previous: tuple = ()
    for k, (depth_raw, intr, truths) in enumerate(unit_frames(kind, unit)):
        depth = depth_to_mm(depth_raw, intr)
        tracked = [h for h in localiser.locate_hands(depth, intr, MAX_LOCATIONS, previous) if h.centre_uvz]
        previous = tuple(h.centre_uvz for h in tracked)
        centres = [h.centre_uvz for h in tracked]
        if kind == "scene" or k % GLOBAL_EVERY == 0:
            for h in localiser.locate_hands(depth, intr, MAX_LOCATIONS, ()):
                if h.centre_uvz and all(np.hypot(h.centre_uvz[0] - c[0], h.centre_uvz[1] - c[1]) > 3.0
                                        for c in centres):
                    centres.append(h.centre_uvz)
        for c in centres:
            gap = float(np.min(np.linalg.norm(truths - unproject_px_to_mm(np.asarray(c), intr), axis=1)))
            if POSITIVE_MM <= gap <= NEGATIVE_MM:
                continue
            crops.append(presence_crop(depth, intr, c, info).astype(np.float16))
            labels.append(1 if gap < POSITIVE_MM else 0)
            distances.append(gap)
            frames.append(k)
    s = info.input_size
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, crops=np.asarray(crops, np.float16).reshape(-1, s, s),
                        label=np.asarray(labels, np.uint8), distance_mm=np.asarray(distances, np.float32),
                        frame=np.asarray(frames, np.int32), kind=kind, unit=unit)
    os.replace(tmp, path)
    return path


def _render_job(job: tuple[str, str, int]) -> str:
    return str(render_unit(*job))


def load_units(data_dir: str | Path) -> dict[str, np.ndarray]:
    """Every unit in data_dir, concatenated: crops, label, distance_mm, kind, unit (per crop)."""
    files = sorted(Path(data_dir).glob("unit_*.npz"))
    if not files:
        raise FileNotFoundError(f"no presence data in {data_dir} (render it with python -m models.presence_data)")
    parts: dict[str, list] = {"crops": [], "label": [], "distance_mm": [], "kind": [], "unit": []}
    for f in files:
        with np.load(f) as z:
            n = len(z["label"])
            parts["crops"].append(z["crops"])
            parts["label"].append(z["label"])
            parts["distance_mm"].append(z["distance_mm"])
            parts["kind"].append(np.full(n, str(z["kind"])))
            parts["unit"].append(np.full(n, int(z["unit"])))
    return {k: np.concatenate(v) for k, v in parts.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="directory for the unit files")
    p.add_argument("--units", type=int, default=24, help="units of each kind (default 24)")
    p.add_argument("--first-unit", type=int, default=0, help="index of the first unit (default 0)")
    p.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, of {', '.join(KINDS)}")
    p.add_argument("--processes", type=int, default=1)
    args = p.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or any(k not in KINDS for k in kinds) or args.units < 1 or args.processes < 1 or args.first_unit < 0:
        print(f"error: --kinds must name some of {', '.join(KINDS)}; --units and --processes must be >= 1",
              file=sys.stderr)
        return 2
    try:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot create {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    jobs = [(args.out, kind, u) for u in range(args.first_unit, args.first_unit + args.units) for kind in kinds]
    with progress_bar(total=len(jobs), desc="presence data", unit="unit") as bar:
        if args.processes == 1:
            for job in jobs:
                _render_job(job)
                bar.update(1)
        else:
            with get_context("spawn").Pool(args.processes) as pool:
                for _ in pool.imap_unordered(_render_job, jobs):
                    bar.update(1)
    data = load_units(args.out)
    print(f"{len(data['label'])} crops ({int(data['label'].sum())} hands) in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
