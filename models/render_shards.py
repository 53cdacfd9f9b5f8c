"""Render synthetic training/test data to shards on disk: full depth frames -> runtime hand finding -> crop.

Every sample is a full sensor-resolution scene (app.synth.scene.render_scene) that goes through exactly the
runtime's HandLocaliser and AWR crop, so the runtime's own centre errors are part of the training distribution.
Frames where the localiser finds no hand, or locks onto another object (its centre more than
max_centre_error_mm from the mean of the true joints: "wrong_object"), are not used for training; they are
counted per shard and in the manifest, never silently dropped.

Deterministic: sample i of a data set with seed s is rendered from np.random.default_rng([s, i]), whatever the
number of processes. Resumable: shards are written to a temporary name and renamed when complete; existing
shards are skipped. Progress (models/progress.py) goes to stderr.

    python -m models.render_shards --out data/synth/train --frames 30000 --seed 1 --processes 2
    python -m models.render_shards --out data/synth/test --frames 2000 --seed 9001

Shard file shard_NNNNN.npz holds, for the K frames the localiser accepted:
  crops (K,S,S) float16 normalised crop; joints_uvd (K,21,3) float32 normalised crop coordinates;
  joints_xyz_mm (K,21,3) float32 camera frame; centre_uvz (K,3) (u_px, v_px, z_mm); cube_mm (K,);
  image_to_crop (K,3,3); intrinsics (K,7) = width, height, fx, fy, cx, cy, depth_unit_mm; frame_id (K,) int64;
  centre_error_mm (K,) distance of the localiser centre from the mean of the ground-truth joints.
The manifest (manifest.json) records the configuration and, per shard, frames rendered / kept / failures by status.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from app.config import DEFAULT_CUBE_MM
from app.camera import depth_to_mm, unproject_px_to_mm
from app.joints import NUM_JOINTS
from app.tracking.crop import crop_depth, crop_geometry, xyz_mm_to_crop_uvd
from models.progress import progress_bar


# A localiser centre farther than this from the mean of the true joints means it locked onto another object.
WRONG_OBJECT_MM = 100.0


@dataclass(frozen=True)
class ShardJob:
    out_dir: str
    shard_index: int
    first_frame: int
    num_frames: int
    seed: int
    cube_mm: float
    input_size: int
    max_centre_error_mm: float = WRONG_OBJECT_MM


def render_one(frame_id: int, job: ShardJob):
    """Render frame `frame_id` and crop it the runtime way. Returns (record dict | None, status string)."""
    from app.synth.scene import SceneConfig, render_scene
    from app.config import LocaliserConfig
    from app.tracking.localise import HandLocaliser

    rng = np.random.default_rng([job.seed, frame_id])
    sample = render_scene(rng, None, SceneConfig())
    intr = sample.intrinsics
    depth_mm = depth_to_mm(sample.depth_raw, intr)
    localiser = HandLocaliser(LocaliserConfig(cube_mm=job.cube_mm))
    loc = localiser.locate(depth_mm, intr)
    if loc.centre_uvz is None or not loc.status.has_pose:
        return None, loc.status.value
    geom = crop_geometry(loc.centre_uvz, job.cube_mm, job.input_size, intr)
    crop = crop_depth(depth_mm, geom)
    joints = np.asarray(sample.joints_xyz_mm, dtype=np.float64)
    uvd = xyz_mm_to_crop_uvd(joints, geom, intr)
    centre_mm = unproject_px_to_mm(np.asarray(loc.centre_uvz, dtype=np.float64), intr)
    centre_error_mm = float(np.linalg.norm(centre_mm - joints.mean(axis=0)))
    if centre_error_mm > job.max_centre_error_mm:
        # The localiser locked onto another object (table edge, distractor): no hand in the crop to learn from.
        return None, "wrong_object"
    record = {
        "crops": crop.astype(np.float16),
        "joints_uvd": uvd.astype(np.float32),
        "joints_xyz_mm": joints.astype(np.float32),
        "centre_uvz": np.asarray(loc.centre_uvz, dtype=np.float64),
        "cube_mm": np.float32(job.cube_mm),
        "image_to_crop": geom.image_to_crop,
        "intrinsics": np.array([intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy, intr.depth_unit_mm]),
        "frame_id": np.int64(frame_id),
        "centre_error_mm": np.float32(centre_error_mm),
    }
    return record, loc.status.value


def render_shard(job: ShardJob) -> dict:
    """Render one shard (skipped when it already exists) and return its manifest entry."""
    path = Path(job.out_dir) / f"shard_{job.shard_index:05d}.npz"
    info_path = path.with_suffix(".json")
    if path.exists() and info_path.exists():
        return json.loads(info_path.read_text())
    records, failures = [], {}
    for frame_id in range(job.first_frame, job.first_frame + job.num_frames):
        record, status = render_one(frame_id, job)
        if record is None:
            failures[status] = failures.get(status, 0) + 1
        else:
            records.append(record)
    arrays = {k: np.stack([r[k] for r in records]) for k in records[0]} if records else {}
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    entry = {"shard": path.name, "rendered": job.num_frames, "kept": len(records), "failures": failures,
             "centre_error_mm_median": float(np.median(arrays["centre_error_mm"])) if records else None}
    info_path.write_text(json.dumps(entry))
    return entry


def render_dataset(out_dir: str, frames: int, seed: int, cube_mm: float, input_size: int = 128,
                   shard_size: int = 250, processes: int = 1, quiet: bool = False) -> dict:
    """Render `frames` frames into shards under out_dir (resumable) and write manifest.json."""
    if frames <= 0:
        raise ValueError(f"frames must be positive, got {frames}")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    jobs = [ShardJob(out_dir, k, first, min(shard_size, frames - first), seed, cube_mm, input_size)
            for k, first in enumerate(range(0, frames, shard_size))]
    entries = []
    with progress_bar(total=frames, desc=f"render {Path(out_dir).name}", unit="frame", quiet=quiet) as bar:
        if processes > 1:
            with get_context("spawn").Pool(processes) as pool:
                for entry in pool.imap(render_shard, jobs):
                    entries.append(entry)
                    bar.update(entry["rendered"])
        else:
            for job in jobs:
                entries.append(render_shard(job))
                bar.update(entries[-1]["rendered"])
    failures: dict[str, int] = {}
    for e in entries:
        for k, v in e["failures"].items():
            failures[k] = failures.get(k, 0) + v
    manifest = {"seed": seed, "frames": frames, "cube_mm": cube_mm, "input_size": input_size,
                "shard_size": shard_size, "kept": sum(e["kept"] for e in entries),
                "localiser_failures": failures, "shards": entries, "num_joints": NUM_JOINTS}
    (Path(out_dir) / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder for shards and manifest.json")
    p.add_argument("--frames", type=int, required=True, help="number of full frames to render")
    p.add_argument("--seed", type=int, default=1, help="data set seed (train and test must differ)")
    p.add_argument("--cube-mm", type=float, default=DEFAULT_CUBE_MM, help="crop cube side in mm (the model's cube; "
                   f"default {DEFAULT_CUBE_MM:g})")
    p.add_argument("--input-size", type=int, default=128, help="crop size S in pixels")
    p.add_argument("--shard-size", type=int, default=250, help="frames per shard")
    p.add_argument("--processes", type=int, default=max(1, (os.cpu_count() or 1)), help="worker processes")
    args = p.parse_args(argv)
    if args.frames <= 0 or args.shard_size <= 0 or args.cube_mm <= 0:
        print("error: --frames, --shard-size and --cube-mm must be positive", file=sys.stderr)
        return 2
    m = render_dataset(args.out, args.frames, args.seed, args.cube_mm, args.input_size, args.shard_size,
                       args.processes)
    print(json.dumps({"kept": m["kept"], "frames": m["frames"], "localiser_failures": m["localiser_failures"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
