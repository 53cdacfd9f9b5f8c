"""ONNX export (models/export.py): parity with torch in a real onnxruntime session, metadata, dynamic batch, CLI."""
import dataclasses

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from app.errors import InputError
from app.model_info import INPUT_NAME, METADATA_KEY, OUTPUT_JOINTS, OUTPUT_WEIGHTS
from models.export import AWRInference, check_inputs, default_model_info, export_onnx, load_model_info, main
from models.network import build_network

J, F = 21, 64


def peaky_net(name: str):
    """A network whose outputs exercise the aggregation: BN statistics moved off their defaults and a head
    large enough that beta * H spans tens (sharp softmax), so small numeric differences would show."""
    torch.manual_seed(0)
    net = build_network(name)
    net.train()
    with torch.no_grad():
        net(torch.from_numpy(check_inputs(128, 4, seed=5)))
        torch.nn.init.normal_(net.head.weight, std=1.0 / net.head.in_channels ** 0.5)
    return net.eval()


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("name", ["lite", "paper"])
def test_export_parity_metadata_and_dynamic_batch(tmp_path, name):
    net = peaky_net(name)
    info = dataclasses.replace(default_model_info(name), cube_mm=300.0, kernel_radius=0.4, hand="left")
    path = tmp_path / f"{name}.onnx"
    result = export_onnx(net, info, str(path))
    assert result["max_abs_diff"] <= 1e-4
    assert result["onnx_bytes"] == path.stat().st_size
    assert result["params"] == sum(p.numel() for p in net.parameters())
    assert [p.name for p in tmp_path.iterdir()] == [path.name]            # one self-contained file
    assert result["onnx_bytes"] > 4 * result["params"]                      # weights inline (float32)
    assert load_model_info(str(path)) == info

    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == [INPUT_NAME]
    assert [o.name for o in proto.graph.output] == [OUTPUT_JOINTS, OUTPUT_WEIGHTS]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param       # symbolic batch
    assert {o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")} == {17}

    sess = session(path)
    assert sess.get_modelmeta().custom_metadata_map[METADATA_KEY] == info.to_json()
    x = check_inputs(128, 5, seed=9)
    joints, weights = sess.run([OUTPUT_JOINTS, OUTPUT_WEIGHTS], {INPUT_NAME: x})
    assert joints.shape == (5, J, 3) and weights.shape == (5, J, F, F)
    with torch.no_grad():
        ref_joints, ref_weights = AWRInference(net, info.kernel_radius, info.beta)(torch.from_numpy(x))
    assert np.abs(joints - ref_joints.numpy()).max() <= 1e-4
    assert np.abs(weights - ref_weights.numpy()).max() <= 1e-4
    assert np.allclose(weights.sum(axis=(2, 3)), 1.0, atol=1e-4)
    assert weights.max() > 20 / F ** 2     # the check is meaningful: weights far from uniform (1 / F^2)
    # Each crop is independent of its batch neighbours.
    single, _ = sess.run(None, {INPUT_NAME: x[3:4]})
    assert np.abs(single - joints[3:4]).max() <= 1e-5


def test_export_refuses_metadata_that_does_not_fit_the_network(tmp_path):
    info = dataclasses.replace(default_model_info("lite"), feature_size=32)
    with pytest.raises(InputError, match="does not match network 'lite'"):
        export_onnx(build_network("lite"), info, str(tmp_path / "x.onnx"))
    assert not (tmp_path / "x.onnx").exists()


def test_load_model_info_errors(tmp_path):
    with pytest.raises(InputError, match="cannot read ONNX model"):
        load_model_info(str(tmp_path / "missing.onnx"))
    bare = tmp_path / "bare.onnx"
    node = onnx.helper.make_node("Identity", ["a"], ["b"])
    vi = [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [1]) for n in "ab"]
    onnx.save(onnx.helper.make_model(onnx.helper.make_graph([node], "g", vi[:1], vi[1:])), str(bare))
    with pytest.raises(InputError, match="no 'awr' metadata"):
        load_model_info(str(bare))


def test_cli_exports_a_checkpoint_and_rejects_bad_input(tmp_path, capsys):
    net = peaky_net("tiny")
    info = dataclasses.replace(default_model_info("tiny"), trained_on="unit test", version="7")
    ckpt = tmp_path / "run.pt"
    torch.save({"model": net.state_dict(), "model_info": info.to_json(), "step": 12}, ckpt)
    out = tmp_path / "tiny.onnx"
    assert main(["--checkpoint", str(ckpt), "--out", str(out)]) == 0
    assert load_model_info(str(out)) == info
    x = check_inputs(128, 2, seed=4)
    joints, _ = session(out).run(None, {INPUT_NAME: x})
    with torch.no_grad():
        ref, _ = AWRInference(net, info.kernel_radius, info.beta)(torch.from_numpy(x))
    assert np.abs(joints - ref.numpy()).max() <= 1e-4
    capsys.readouterr()

    bad_runs = [
        (["--checkpoint", str(tmp_path / "nope.pt"), "--out", str(out)], "cannot read checkpoint"),
        (["--config", "lite", "--checkpoint", str(ckpt), "--out", str(out)], "is a 'tiny' network"),
        (["--random-init", "--out", str(out)], "needs --config"),
        (["--out", str(out)], "exactly one of"),
    ]
    for argv, message in bad_runs:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
