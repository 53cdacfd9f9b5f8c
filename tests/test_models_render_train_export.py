"""The render -> train -> export loop at toy scale, through the real renderer, localiser, torch and onnxruntime."""
import json

import numpy as np
import pytest

from app.model_info import ModelInfo
from app.tracking.estimator import Estimator
from models.render_shards import render_dataset
from models.shards import load_shards
from models.train import TrainConfig, evaluate_mm, export_run, train


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    manifest = render_dataset(str(out), frames=12, seed=5, cube_mm=280.0, shard_size=6, quiet=True)
    return out, manifest


def test_render_is_deterministic_resumable_and_accounts_for_every_frame(shards, tmp_path):
    out, manifest = shards
    assert manifest["frames"] == 12
    assert manifest["kept"] + sum(manifest["localiser_failures"].values()) == 12
    assert manifest["kept"] >= 6                          # most rendered hands are found by the localiser
    data = load_shards(str(out))
    assert len(data) == manifest["kept"]
    assert data.crops.shape[1:] == (128, 128) and data.crops.min() >= -1 and data.crops.max() <= 1
    # Labels and crops agree: joints lie in the crop and most of them near foreground depth.
    assert np.abs(data.joints_uvd[..., :2]).max() < 1.2
    assert float(np.median(data.centre_error_mm)) < 60.0
    # Same seed, same frames: a re-render in another folder is identical; an existing shard is skipped.
    again = render_dataset(str(tmp_path), frames=6, seed=5, cube_mm=280.0, shard_size=6, quiet=True)
    first = np.load(out / "shard_00000.npz")
    second = np.load(tmp_path / "shard_00000.npz")
    assert again["kept"] == manifest["shards"][0]["kept"]
    assert np.array_equal(first["crops"], second["crops"])
    mtime = (tmp_path / "shard_00000.npz").stat().st_mtime_ns
    render_dataset(str(tmp_path), frames=6, seed=5, cube_mm=280.0, shard_size=6, quiet=True)
    assert (tmp_path / "shard_00000.npz").stat().st_mtime_ns == mtime


def test_training_lowers_the_error_in_mm_and_exports_a_self_describing_model(shards, tmp_path):
    out, _ = shards
    data = load_shards(str(out))
    cfg = TrainConfig(network="tiny", train_dirs=(str(out),), dense_steps=60, joint_steps=30, batch_size=8,
                      lr=2e-3, joint_lr=5e-4, augment=False, threads=1, val_fraction=0.01,
                      validate_every=1000, checkpoint_every=30)
    import torch
    from models.train import build_model
    torch.manual_seed(cfg.seed)
    before = evaluate_mm(build_model(cfg), cfg, data, torch.device("cpu"))["mean_mm"]
    train(cfg, str(tmp_path / "run"), data=data, quiet=True)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert state["step"] == 90
    model = build_model(cfg)
    model.load_state_dict(state["model"])
    after = evaluate_mm(model, cfg, data, torch.device("cpu"))["mean_mm"]
    assert after < 0.6 * before, (before, after)          # fits its training frames
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 90 and log[-1]["val_mean_mm"] > 0
    # Resuming a finished run does no more steps.
    train(cfg, str(tmp_path / "run"), data=data, quiet=True)
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=False)["step"] == 90
    report = export_run(cfg, str(tmp_path / "run"), str(tmp_path / "toy.onnx"))
    assert report["max_abs_diff"] <= 1e-4
    est = Estimator(str(tmp_path / "toy.onnx"), provider="cpu")
    assert est.info.cube_mm == 280.0 and est.info.kernel_radius == cfg.kernel_radius
    assert isinstance(est.info, ModelInfo) and est.info.num_joints == 21
    joints, weights = est.infer(data.crops[:2].astype(np.float32))
    assert joints.shape == (2, 21, 3) and weights.shape == (2, 21, 64, 64)
    assert np.allclose(weights.sum(axis=(2, 3)), 1.0, atol=1e-4)
