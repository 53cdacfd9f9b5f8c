"""One command that trains a model on a fresh GPU machine: render, train for M minutes, export, evaluate.

    python -m models.gpu_recipe --out OUT --frames 40000 --test-frames 2000 --minutes 6
    python -m models.gpu_recipe --out /tmp/dry --frames 24 --test-frames 12 --minutes 0.05 --dry-run   (CPU)
    python -m models.gpu_recipe --out OUT --frames 40000 --minutes 6 --ablation     (+ direct regression)

--ablation also trains the direct-regression head (the paper's baseline: the same encoder, global pooling and a
linear layer) on the same shards, for the same minutes, at the same time on the same device (a second process:
the small network leaves a large GPU mostly idle, so each run gets nearly the speed it has alone; both runs'
samples/s are in the summary to show it). It adds log_regression.jsonl and learning_curve_regression.png, and
the regression run's validation and test accuracy under "ablation" in summary.json.

Needs only Python, torch, numpy and OpenCV (plus onnx and onnxruntime for the export and its parity check; a
folder of wheels given with --wheels is installed from first when they are missing; no network, no
pyrealsense2, no Qt). Shards and checkpoints go to --work (default /tmp/awr_recipe); OUT receives at most
8 files, each under 16 MB:
  awr_lite.onnx        the exported model (parity with torch checked)
  weights.pt           the network's state_dict (fine-tune or re-export from it)
  log.jsonl            the learning curve (one line per validation)
  learning_curve.png   its plot
  config.json          the resolved training configuration
  summary.json         timings, samples seen, samples/s, device, versions, val and test accuracy (mm)
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

DEFAULT_CONFIG = "models/configs/lite_gpu.json"
TRAIN_SEED, TEST_SEED = 1, 9001


def ensure_packages(names: list[str], wheels: str | None) -> list[str]:
    """Import each; install the missing ones from the wheel folder when given. Returns those still missing."""
    def absent(name: str) -> bool:
        try:
            importlib.import_module(name)
            return False
        except ImportError:
            return True

    missing = [n for n in names if absent(n)]
    if missing and wheels:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", wheels,
                        *missing], check=False)
        importlib.invalidate_caches()
        missing = [n for n in names if absent(n)]
    return missing


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (at most 8 files)")
    p.add_argument("--work", default="/tmp/awr_recipe", help="shards and checkpoints (large)")
    p.add_argument("--config", default=DEFAULT_CONFIG)
    p.add_argument("--frames", type=int, default=40000, help="training frames to render")
    p.add_argument("--test-frames", type=int, default=2000)
    p.add_argument("--minutes", type=float, default=6.0, help="training wall time")
    p.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="rendering processes")
    p.add_argument("--head", choices=("awr", "regression"), default="awr")
    p.add_argument("--ablation", action="store_true",
                   help="also train the direct-regression head at the same time, same data and minutes")
    p.add_argument("--wheels", default=None, help="folder of wheels for missing onnx / onnxruntime / tqdm")
    p.add_argument("--commit", default=os.environ.get("AWR_COMMIT", "unknown"), help="code commit, for the record")
    p.add_argument("--dry-run", action="store_true", help="tiny sizes for a CPU check: tiny network, batch 8")
    args = p.parse_args(argv)
    started = time.perf_counter()
    missing = ensure_packages(["onnx", "onnxruntime", "tqdm"], args.wheels)
    if args.head == "awr" and ({"onnx", "onnxruntime"} & set(missing)):
        print(f"error: the export needs {' and '.join(sorted({'onnx', 'onnxruntime'} & set(missing)))}: "
              "give --wheels DIR with their wheels", file=sys.stderr)
        return 2

    import torch

    from app.errors import TrackerError
    from models.plot_log import plot_learning_curve
    from models.render_shards import render_dataset
    from models.train import TrainConfig, export_run, load_run_model, train

    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    times = {}
    try:
        cfg = TrainConfig.from_file(args.config, minutes=args.minutes, head=args.head)
        train_dir, test_dir = work / "train", work / "test"
        cfg = replace(cfg, train_dirs=(str(train_dir),), test_dirs=(str(test_dir),))
        if args.dry_run:
            cfg = replace(cfg, network="tiny", batch_size=8, validate_every_s=2.0, val_max_frames=8, threads=2)
        t = time.perf_counter()
        for folder, frames, seed in ((train_dir, args.frames, TRAIN_SEED), (test_dir, args.test_frames, TEST_SEED)):
            render_dataset(str(folder), frames, seed, cfg.cube_mm, cfg.input_size,
                           shard_size=min(250, max(1, frames // max(1, args.processes))),
                           processes=args.processes)
        times["render_s"] = round(time.perf_counter() - t, 1)
        run = work / f"run_{args.head}"
        t = time.perf_counter()
        rival = _start_regression(cfg, work) if args.ablation and args.head == "awr" else None
        try:
            final = train(cfg, str(run))
        finally:
            ablation = _finish_regression(rival, out) if rival is not None else None
        times["train_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        export = export_run(cfg, str(run), str(out / "awr_lite.onnx")) if args.head == "awr" else None
        times["export_s"] = round(time.perf_counter() - t, 1)
        _, model, _ = load_run_model(str(run))
        torch.save(model.state_dict(), out / "weights.pt")
        for name in ("log.jsonl", "config.json"):
            shutil.copy(run / name, out / name)
        plot_learning_curve(str(run / "log.jsonl"), str(out / "learning_curve.png"),
                            title=f"{cfg.network} {cfg.head}, {args.minutes:g} min")
    except TrackerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    summary = {"command": "python -m models.gpu_recipe " + " ".join(argv if argv is not None else sys.argv[1:]),
               "commit": args.commit, "gpu": gpu, "torch": torch.__version__, "python": sys.version.split()[0],
               "frames": args.frames, "test_frames": args.test_frames, "seeds": [TRAIN_SEED, TEST_SEED],
               "minutes": args.minutes, "times_s": times, "total_s": round(time.perf_counter() - started, 1),
               "export": export, "val": {k: v for k, v in final.items() if k not in ("test", "per_joint_mm")},
               "test": final.get("test"), "ablation": ablation,
               "missing_packages": missing}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({"out": str(out), "test_mean_mm": (final.get("test") or {}).get("mean_mm"),
                      "samples": final["samples"], "samples_per_s": final["samples_per_s"],
                      "total_s": summary["total_s"]}))
    return 0


def _start_regression(cfg, work: Path) -> tuple[subprocess.Popen, Path]:
    """The direct-regression run of the ablation, started in its own process on the same shards and device."""
    from dataclasses import asdict

    run = work / "run_regression"
    config = work / "regression_config.json"
    config.write_text(json.dumps(asdict(replace(cfg, head="regression"))))
    with open(work / "regression_stdout.txt", "w") as log:   # the child keeps its own copy of the handle
        proc = subprocess.Popen([sys.executable, "-m", "models.train", "--config", str(config), "--run-dir",
                                 str(run), "--no-export"], stdout=log, stderr=subprocess.STDOUT,
                                cwd=Path(__file__).parents[1])
    return proc, run


def _finish_regression(rival: tuple[subprocess.Popen, Path], out: Path) -> dict:
    """Wait for the regression run; its log and curve into OUT; its accuracy (or why there is none)."""
    from models.plot_log import plot_learning_curve

    proc, run = rival
    code = proc.wait()
    result: dict = {"exit_code": code}
    if (run / "log.jsonl").is_file():
        shutil.copy(run / "log.jsonl", out / "log_regression.jsonl")
        plot_learning_curve(str(run / "log.jsonl"), str(out / "learning_curve_regression.png"),
                            title="direct regression (ablation)")
    for name, key in (("final_val.json", "val"), ("test_eval.json", "test")):
        if (run / name).is_file():
            result[key] = {k: v for k, v in json.loads((run / name).read_text()).items() if k != "per_joint_mm"}
    if code != 0:
        tail = (run.parent / "regression_stdout.txt").read_text(errors="replace").strip().splitlines()[-3:]
        result["error"] = " | ".join(tail)
    return result


if __name__ == "__main__":
    sys.exit(main())
