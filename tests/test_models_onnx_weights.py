"""Reading an exported model's weights back into torch (models/onnx_weights.py) and fine-tuning from it
(TrainConfig.init_from): the same function as the file in eval mode, close to it in train mode, and a run that
starts at the exported model's error in mm."""
import json

import numpy as np
import pytest
import torch

from app.errors import InputError
from models.export import AWRInference, check_inputs, default_model_info, export_onnx
from models.onnx_weights import network_from_onnx
from models.render_shards import render_dataset
from models.shards import load_shards
from models.train import TrainConfig, evaluate_mm, export_run, split_validation, train
from models.network import build_network
from tests.test_models_export import session
from app.model_info import INPUT_NAME, OUTPUT_JOINTS, OUTPUT_WEIGHTS


CALIBRATION = check_inputs(128, 48, seed=11)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 'tiny' network as training leaves one (BatchNorm running statistics those of its data, here the
    calibration crops) with a head that shapes the weight maps, exported (its encoder BatchNorms folded into the convolutions)."""
    path = tmp_path_factory.mktemp("onnx_weights") / "tiny.onnx"
    torch.manual_seed(0)
    net = build_network("tiny")
    for mod in net.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.reset_running_stats()
            mod.momentum = None          # a cumulative average: one pass sets the batch's own statistics
    net.train()
    with torch.no_grad():
        net(torch.from_numpy(CALIBRATION))
        torch.nn.init.normal_(net.head.weight, std=0.2 / net.head.in_channels ** 0.5)   # weight maps with shape
    net.eval()
    export_onnx(net, default_model_info("tiny"), str(path))
    return net, path


def test_weights_read_back_give_the_files_outputs_in_eval_and_close_in_train_mode(exported):
    original, path = exported
    net = network_from_onnx(str(path), CALIBRATION)
    assert net.training                                          # ready to train
    x = check_inputs(128, 6, seed=12)
    joints_ort, weights_ort = session(path).run([OUTPUT_JOINTS, OUTPUT_WEIGHTS], {INPUT_NAME: x})
    with torch.no_grad():
        joints_eval, weights_eval = AWRInference(net, 0.8).eval()(torch.from_numpy(x))
        joints_orig, _ = AWRInference(original, 0.8).eval()(torch.from_numpy(x))
    assert np.abs(joints_eval.numpy() - joints_ort).max() < 1e-4          # 0.028 mm in a 280 mm cube
    assert np.abs(weights_eval.numpy() - weights_ort).max() < 1e-4
    assert np.abs(joints_eval.numpy() - joints_orig.numpy()).max() < 1e-4
    # Train mode normalises by the batch's own statistics: on the data the statistics came from, the network
    # computes the same as the file (un-folded BatchNorms, not identity ones, which would move it far).
    net.train()
    with torch.no_grad():
        joints_train, _ = AWRInference(net, 0.8)(torch.from_numpy(CALIBRATION))
        joints_ref, _ = AWRInference(original, 0.8).eval()(torch.from_numpy(CALIBRATION))
    drift_mm = 280.0 / 2 * np.abs(joints_train.numpy() - joints_ref.numpy())
    assert drift_mm.mean() < 0.25 and drift_mm.max() < 3.0, (drift_mm.mean(), drift_mm.max())
    # The encoder's BatchNorms are really un-folded: their scale is the layer's spread, not 1.
    assert not torch.allclose(net.encoder[1].weight, torch.ones_like(net.encoder[1].weight))


def test_bad_files_are_one_line_errors(tmp_path, exported):
    _, path = exported
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(InputError, match="cannot read ONNX model"):
        network_from_onnx(str(junk))
    with pytest.raises(InputError, match="calibration crops must be"):
        network_from_onnx(str(path), np.zeros((4, 64, 64), np.float32))
    with pytest.raises(InputError, match="init_from takes an exported AWR model"):
        TrainConfig.from_dict({"head": "regression", "init_from": str(path)}, "test")
    with pytest.raises(InputError, match="init_from takes an exported AWR model"):
        TrainConfig.from_dict({"init_from": "runs/x/last.pt"}, "test")


@pytest.mark.slow
def test_fine_tuning_starts_at_the_exported_models_error_and_lowers_it(tmp_path):
    out = tmp_path / "shards"
    render_dataset(str(out), 40, seed=31, cube_mm=280.0, processes=1, quiet=True)
    data = load_shards([str(out)])
    cfg = TrainConfig(network="tiny", train_dirs=(str(out),), batch_size=8, dense_steps=40, joint_steps=40,
                      validate_every=1000, checkpoint_every=1000, val_fraction=0.25, augment=False, threads=2)
    first = tmp_path / "first"
    train(cfg, str(first), data=data, quiet=True)                 # a model to start from, exported
    start_model = export_run(cfg, str(first))["path"]
    val, _ = split_validation(cfg, data)
    exported_mm = evaluate_mm(network_from_onnx(str(start_model)), cfg, val, torch.device("cpu"))["mean_mm"]

    tune = TrainConfig(**{**cfg.__dict__, "init_from": str(start_model), "dense_steps": 0, "joint_steps": 60,
                          "joint_lr": 3e-4})
    result = train(tune, str(tmp_path / "tune"), data=data, quiet=True)
    log = [json.loads(x) for x in (tmp_path / "tune" / "log.jsonl").read_text().splitlines()]
    assert log[0]["samples"] == 0
    assert log[0]["val_mean_mm"] == pytest.approx(exported_mm, abs=0.05)   # starts where the file is
    assert result["mean_mm"] < exported_mm                                  # and trains on from there
