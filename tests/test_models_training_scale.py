"""Training that scales, checked on the CPU: the time-budgeted schedule, DDP with two gloo ranks, the
device-resident sampling path and its numerics, where the export goes, and the GPU recipe's dry run on a machine
that has no camera SDK, no Qt and no tqdm."""
import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from app.tracking.estimator import Estimator
from models.render_shards import render_dataset
from models.schedule import Schedule
from models.shards import load_shards
from models.train import TrainConfig, build_model, main as train_main, resolve_numerics, train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    out = tmp_path_factory.mktemp("scale_shards")
    render_dataset(str(out), frames=16, seed=7, cube_mm=280.0, shard_size=8, quiet=True)
    return out


def _cfg(shards, **kw) -> TrainConfig:
    base = dict(network="tiny", train_dirs=(str(shards),), batch_size=4, dense_steps=20, joint_steps=10,
                lr=2e-3, joint_lr=5e-4, augment=True, threads=1, val_fraction=0.2, validate_every=10,
                checkpoint_every=10)
    base.update(kw)
    return TrainConfig(**base)


def test_time_schedule_lays_stages_and_lr_drops_over_the_budget():
    s = Schedule(head="awr", lr=1e-3, joint_lr=3e-4, lr_decay_at=0.75, budget_s=100.0, dense_fraction=0.35)
    assert s.at(0, 0.0).stage == "dense" and s.at(0, 0.0).lr == 1e-3
    assert s.at(999, 27.0).lr == pytest.approx(1e-4)            # 75 % of the 35 s dense stage
    assert s.at(5, 36.0).stage == "joint" and s.at(5, 36.0).lr == 3e-4
    assert s.at(5, 35.0 + 0.75 * 65.0 + 0.1).lr == pytest.approx(3e-5)
    assert s.at(10 ** 6, 100.0) is None                       # the budget, not the step count, ends the run
    steps = Schedule(head="awr", lr=1e-3, joint_lr=3e-4, lr_decay_at=0.75, dense_steps=100, joint_steps=100)
    assert [steps.at(k, 0).stage for k in (0, 99, 100)] == ["dense", "dense", "joint"]
    assert steps.at(75, 0).lr == pytest.approx(1e-4) and steps.at(200, 0) is None
    reg = Schedule(head="regression", lr=1e-3, joint_lr=0, lr_decay_at=0.5, budget_s=10.0)
    assert reg.at(0, 4.9).lr == 1e-3 and reg.at(0, 5.0).lr == pytest.approx(1e-4)


def test_a_time_budgeted_run_ends_on_time_with_checkpoint_log_and_both_stages(shards, tmp_path):
    cfg = _cfg(shards, minutes=0.1, validate_every_s=1.0, checkpoint_every_s=2.0, dense_fraction=0.5)
    result = train(cfg, str(tmp_path / "run"), quiet=True)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert state["elapsed_s"] >= 6.0 and result["train_seconds"] >= 6.0       # the whole budget was used
    assert state["step"] == result["steps"] > 0 and state["samples"] == 4 * result["steps"]
    log = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert {"dense", "joint"} <= {r["stage"] for r in log}
    assert all(r["val_mean_mm"] > 0 and r["samples"] > 0 for r in log)
    # Resuming a spent budget trains no more.
    again = train(cfg, str(tmp_path / "run"), quiet=True)
    assert again["steps"] == result["steps"]


def test_numerics_resolve_per_device_and_bf16_autocast_trains_on_the_cpu(shards, tmp_path):
    cpu = torch.device("cpu")
    assert resolve_numerics(_cfg(shards), cpu).precision == "fp32"
    assert resolve_numerics(_cfg(shards, precision="tf32"), cpu).precision == "fp32"
    assert resolve_numerics(_cfg(shards), cpu).channels_last is False
    cfg = _cfg(shards, precision="bf16", channels_last="on", dense_steps=6, joint_steps=4, validate_every=1000)
    data = load_shards(str(shards))
    result = train(cfg, str(tmp_path / "bf16"), data=data, quiet=True)
    assert result["precision"] == "bf16" and result["channels_last"] is True and np.isfinite(result["mean_mm"])
    # Loss parity: from the same weights on the same batches, bf16 autocast follows fp32 within a few per cent.
    from models.bench_train import run_steps
    ref, _, _ = run_steps(_cfg(shards, precision="fp32"), data, 5, cpu)
    half, _, _ = run_steps(_cfg(shards, precision="bf16"), data, 5, cpu)
    rel = np.abs(np.array(half) - np.array(ref)) / np.array(ref)
    assert rel.max() < 0.05, rel


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp(cfg: TrainConfig, run: Path, prefix: Path) -> list[dict]:
    cfg_path = run.parent / "ddp.json"
    d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()}
    cfg_path.write_text(json.dumps(d))
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, str(ROOT / "tests" / "ddp_worker.py"), str(r), "2", str(port),
                               str(cfg_path), str(run), str(prefix)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for r in (0, 1)]
    for p in procs:
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0, out[-2000:]
    return [torch.load(f"{prefix}{r}.pt", weights_only=False) for r in (0, 1)]


def test_two_gloo_ranks_train_identical_weights_lower_the_loss_and_resume(shards, tmp_path):
    # The direct-regression head: its joint loss falls within a few steps (the dense maps need hundreds).
    cfg = _cfg(shards, head="regression", dense_steps=18, joint_steps=0, checkpoint_every=6, validate_every=6)
    run = tmp_path / "ddp_run"
    ranks = _ddp(cfg, run, tmp_path / "rank")
    assert ranks[0]["steps"] == ranks[1]["steps"] == 18
    for key, value in ranks[0]["state"].items():
        assert torch.equal(value, ranks[1]["state"][key]), key
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [6, 12, 18]
    assert log[-1]["samples"] == 18 * 4 * 2                     # each rank drew its own batch every step
    # The loss on the (unaugmented) training crops fell from the shared initial weights.
    from models.train import compute_loss
    data = load_shards(str(shards))
    crops = torch.from_numpy(data.crops.astype(np.float32))[:, None]
    uvd = torch.from_numpy(data.joints_uvd)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    with torch.no_grad():
        before = float(compute_loss(model, cfg, "joint", crops, uvd))
        model.load_state_dict(ranks[0]["state"])
        after = float(compute_loss(model, cfg, "joint", crops, uvd))
    assert after < 0.8 * before, (before, after)
    assert sorted(p.name for p in run.iterdir() if p.suffix == ".pt") == ["last.pt"]   # rank 0 alone wrote
    state = torch.load(run / "last.pt", weights_only=False)
    assert len(state["generators"]) == 2 and not torch.equal(state["generators"][0], state["generators"][1])
    # Resume with a longer schedule: both ranks continue from step 18 and stay identical.
    longer = _ddp(TrainConfig(**{**cfg.__dict__, "dense_steps": 24}), run, tmp_path / "again")
    assert longer[0]["steps"] == longer[1]["steps"] == 24
    for key, value in longer[0]["state"].items():
        assert torch.equal(value, longer[1]["state"][key]), key


def test_training_exports_into_the_run_folder_unless_told_and_bad_data_is_one_error_line(shards, tmp_path, capsys):
    shipped = ROOT / "models" / "awr_lite.onnx"
    digest = hashlib.sha256(shipped.read_bytes()).hexdigest()
    cfg_path = tmp_path / "c.json"
    cfg_path.write_text(json.dumps({"network": "tiny", "train_dirs": [str(shards)], "batch_size": 4,
                                    "dense_steps": 4, "joint_steps": 2, "threads": 1, "val_fraction": 0.2}))
    assert train_main(["--config", str(cfg_path), "--run-dir", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "awr_lite.onnx").is_file()
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == digest       # the shipped model is untouched
    assert train_main(["--config", str(cfg_path), "--run-dir", str(tmp_path / "r"), "--precision", "bf16",
                       "--channels-last", "on", "--export", str(tmp_path / "chosen.onnx")]) == 0
    resolved = json.loads((tmp_path / "r" / "config.json").read_text())      # the overrides, as the run used them
    assert resolved["precision"] == "bf16" and resolved["channels_last"] == "on"
    assert Estimator(str(tmp_path / "chosen.onnx"), provider="cpu").info.num_joints == 21
    capsys.readouterr()
    cfg_path.write_text(json.dumps({"train_dirs": [str(shards), str(tmp_path / "missing")]}))
    assert train_main(["--config", str(cfg_path), "--run-dir", str(tmp_path / "r2")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "missing" in err[0]
    cfg_path.write_text(json.dumps({"export_path": "models/awr_lite.onnx"}))
    assert train_main(["--config", str(cfg_path)]) == 2
    assert "--export" in capsys.readouterr().err


# A machine without these packages: None in sys.modules makes `import X` fail and find_spec(X) say "absent".
BLOCKER = """
import sys
for name in ('pyrealsense2', 'PySide6', 'pyqtgraph', 'tqdm', 'OpenGL'):
    sys.modules[name] = None
"""


@pytest.mark.slow
def test_gpu_recipe_dry_run_on_a_bare_machine(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{ROOT}")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "models.gpu_recipe", "--out", str(out), "--work",
                           str(tmp_path / "work"), "--frames", "24", "--test-frames", "12", "--minutes", "0.1",
                           "--processes", "2", "--dry-run", "--ablation"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["awr_lite.onnx", "config.json", "learning_curve.png", "learning_curve_regression.png",
                     "log.jsonl", "log_regression.jsonl", "summary.json", "weights.pt"]     # at most 8
    assert all((out / f).stat().st_size < 16 * 2 ** 20 for f in files)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["missing_packages"] == ["tqdm"]               # the plain progress lines were used
    assert summary["export"]["max_abs_diff"] <= 1e-4
    assert summary["test"]["test_frames"] > 0 and summary["test"]["mean_mm"] > 0
    assert summary["val"]["samples"] > 0 and set(summary["times_s"]) == {"render_s", "train_s", "export_s"}
    # the ablation: direct regression on the same shards and minutes, beside the AWR run
    rival = summary["ablation"]
    assert rival["exit_code"] == 0 and rival["val"]["samples"] > 0 and rival["test"]["mean_mm"] > 0
    assert rival["test"]["head"] == "regression" and rival["test"]["test_frames"] == summary["test"]["test_frames"]
    est = Estimator(str(out / "awr_lite.onnx"), provider="cpu")
    assert est.info.cube_mm == 280.0
    assert "Traceback" not in proc.stderr
