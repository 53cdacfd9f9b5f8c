"""What the synthetic source sustains: the time its first motion loop takes to render, the frame rate it
delivers when paced (asked 90 fps), frames skipped, and its unpaced replay rate. Prints one line per figure.

    python -m app.sources.bench_synthetic --seed 0

(The renderer's own cost per frame: python -m app.synth.preview --benchmark.) Imports app code only.
"""
from __future__ import annotations

import argparse
import sys
import time

from app.sources.synthetic import SyntheticSource


def benchmark(seed: int) -> dict:
    out = {}
    loop_s = 2.0
    with SyntheticSource(seed=seed, fps=90.0, realtime=True, loop_s=loop_s) as src:
        t0 = time.perf_counter()
        while src.rendered_frames() < src.loop_frames:
            time.sleep(0.05)
        out["source_loop_render_s"] = round(time.perf_counter() - t0, 1)
        out["source_loop_frames"] = src.loop_frames
        first = src.read()
        t0, count = time.perf_counter(), 0
        while count < 270:
            frame = src.read()
            count += 1
        elapsed = time.perf_counter() - t0
        out["source_fps_asked"] = 90.0
        out["source_fps_delivered"] = round(count / elapsed, 1)
        out["source_frames_skipped"] = frame.frame_number - first.frame_number - count
    with SyntheticSource(seed=seed, fps=90.0, realtime=False, loop_s=loop_s) as src:
        while src.rendered_frames() < src.loop_frames:
            time.sleep(0.05)
        t0 = time.perf_counter()
        for _ in range(1000):
            src.read()
        out["source_replay_fps_unpaced"] = round(1000 / (time.perf_counter() - t0))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for key, value in benchmark(args.seed).items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
