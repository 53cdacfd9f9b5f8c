"""Picture grid of synthetic samples (colour-mapped depth with the 2-D skeleton, bones coloured per finger), and
a speed benchmark of the renderer and the synthetic source. numpy + cv2 only.

    python -m app.synth.preview --out docs/synthetic_samples.png --rows 3 --cols 4 --seed 0
    python -m app.synth.preview --benchmark --frames 40          # renderer ms per frame
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from app.camera import depth_to_mm, project_mm_to_px
from app.joints import BONES, NUM_JOINTS, bone_colour_rgb, joint_colour_rgb
from app.synth.scene import SceneConfig, SceneSample, render_scene

TILE_WIDTH_PX = 320


def colourise(sample: SceneSample, tile_width: int = TILE_WIDTH_PX) -> np.ndarray:
    """BGR tile: depth colour-mapped around the hand (near = warm), invalid black, skeleton on top."""
    intr = sample.intrinsics
    depth_mm = depth_to_mm(sample.depth_raw, intr)
    centre_z = float(sample.joints_xyz_mm[:, 2].mean())
    # +-120 mm around the hand spans the colour map (near = red); farther background saturates to dark blue.
    scaled = np.clip(128.0 + (centre_z - depth_mm) * (127.0 / 120.0), 0, 255).astype(np.uint8)
    image = cv2.applyColorMap(scaled, cv2.COLORMAP_TURBO)
    image[depth_mm <= 0] = 0
    scale = tile_width / intr.width
    image = cv2.resize(image, (tile_width, int(round(intr.height * scale))), interpolation=cv2.INTER_AREA)
    uv = project_mm_to_px(sample.joints_xyz_mm, intr)[:, :2] * scale
    points = [tuple(int(round(c * 16)) for c in p) for p in uv]   # 4 fractional bits for sub-pixel lines
    # The skeleton is blended in, so that the hand's own shape stays visible underneath.
    overlay = image.copy()
    for bone in BONES:
        cv2.line(overlay, points[bone[0]], points[bone[1]], bone_colour_rgb(bone)[::-1], 1, cv2.LINE_AA, 4)
    for j in range(NUM_JOINTS):
        cv2.circle(overlay, points[j], 24, joint_colour_rgb(j)[::-1], -1, cv2.LINE_AA, 4)
    image = cv2.addWeighted(overlay, 0.75, image, 0.25, 0.0)
    label = f"{sample.hand} f={intr.fx:.0f}px z={centre_z:.0f}mm"
    cv2.putText(image, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def sample_grid(rows: int, cols: int, seed: int, config: SceneConfig = SceneConfig()) -> np.ndarray:
    """rows x cols tiles of render_scene(default_rng([seed, i])); every third tile a left hand."""
    tiles = []
    for i in range(rows * cols):
        hand = "left" if i % 3 == 2 else config.hand
        cfg = dataclasses.replace(config, hand=hand)
        tiles.append(colourise(render_scene(np.random.default_rng([seed, i]), None, cfg)))
    height = max(t.shape[0] for t in tiles)
    tiles = [cv2.copyMakeBorder(t, 0, height - t.shape[0], 0, 0, cv2.BORDER_CONSTANT) for t in tiles]
    grid_rows = [np.hstack(tiles[r * cols:(r + 1) * cols]) for r in range(rows)]
    return np.vstack(grid_rows)


def benchmark(frames: int, seed: int) -> dict:
    """CPU ms per full 640x480 frame (noisy, clean, hand only). The synthetic source's sustainable frame rate
    is measured by python -m app.sources.bench_synthetic."""
    out = {}
    configs = {"noisy_full_frame": SceneConfig(), "clean_full_frame": SceneConfig(noise=False),
               "hand_only_clean": SceneConfig(noise=False, background=False, distractors=False)}
    for name, cfg in configs.items():
        render_scene(np.random.default_rng([seed, 10 ** 6]), None, cfg)  # warm-up (bank load, tables)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(frames):
            render_scene(np.random.default_rng([seed, i]), None, cfg)
        out[f"{name}_cpu_ms"] = round((time.process_time() - cpu0) / frames * 1000.0, 1)
        out[f"{name}_wall_ms"] = round((time.perf_counter() - wall0) / frames * 1000.0, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/synthetic_samples.png", help="output PNG")
    parser.add_argument("--rows", type=int, default=3)
    parser.add_argument("--cols", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--benchmark", action="store_true", help="print timings instead of writing a picture")
    parser.add_argument("--frames", type=int, default=40, help="frames per benchmark measurement")
    args = parser.parse_args(argv)
    if args.rows <= 0 or args.cols <= 0 or args.frames <= 0:
        print("error: --rows, --cols and --frames must be positive", file=sys.stderr)
        return 2
    if args.benchmark:
        for key, value in benchmark(args.frames, args.seed).items():
            print(f"{key}: {value}")
        return 0
    grid = sample_grid(args.rows, args.cols, args.seed)
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        ok = cv2.imwrite(str(out), grid, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 1
    if not ok:
        print(f"error: cannot write {out} (unsupported extension or unwritable)", file=sys.stderr)
        return 1
    print(f"wrote {out} ({grid.shape[1]}x{grid.shape[0]} px, {out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
