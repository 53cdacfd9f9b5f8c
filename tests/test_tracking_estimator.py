"""The onnxruntime estimator on a real exported model, its refusals, and post-processing (un-mirroring,
camera mapping, confidence) checked with numbers."""
import json
from pathlib import Path

import numpy as np
import pytest

from app.camera import Intrinsics
from app.errors import InputError
from app.model_info import METADATA_KEY
from app.tracking.crop import crop_geometry, xyz_mm_to_crop_uvd
from app.tracking.estimator import Estimator, requested_providers
from app.tracking.postprocess import crop_to_camera, joint_confidence, unmirror
from tests.tracking_model import hand_crop, model_with_metadata


def test_estimator_reads_metadata_reports_provider_and_infers(estimator):
    info = estimator.info
    assert info.num_joints == 21 and info.input_size == 128 and info.cube_mm > 0
    assert estimator.provider == "CPUExecutionProvider" and estimator.provider_note == ""
    crops = np.stack([hand_crop(seed=0), hand_crop(seed=1)])
    joints, weights = estimator.infer(crops)
    f = info.feature_size
    assert joints.shape == (2, 21, 3) and weights.shape == (2, 21, f, f)
    assert np.allclose(weights.sum(axis=(2, 3)), 1.0, atol=1e-4)       # softmax maps
    assert np.all(np.abs(joints[..., :2]) < 3.0)
    # Batch independence: one crop alone gives the same answer as in the batch.
    single, _ = estimator.infer(crops[1:])
    assert np.abs(single[0] - joints[1]).max() < 1e-5


def test_auto_provider_falls_back_to_cpu_and_cuda_request_says_so(model_path):
    assert Estimator(model_path, "auto").provider in ("CPUExecutionProvider", "CUDAExecutionProvider")
    cuda = Estimator(model_path, "cuda")
    if cuda.provider == "CPUExecutionProvider":
        assert "CUDAExecutionProvider was requested" in cuda.provider_note
    assert requested_providers("cpu") == ["CPUExecutionProvider"]
    with pytest.raises(InputError, match="--provider must be one of"):
        requested_providers("gpu")


def test_refuses_what_is_not_a_hand_tracker_model(model_path, tmp_path):
    with pytest.raises(InputError, match="model file not found"):
        Estimator(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model")
    with pytest.raises(InputError, match="not a hand-tracker model"):
        Estimator(junk)
    bare = model_with_metadata(model_path, str(tmp_path / "bare.onnx"), None)
    with pytest.raises(InputError, match=f"has no '{METADATA_KEY}' metadata"):
        Estimator(bare)
    broken = model_with_metadata(model_path, str(tmp_path / "broken.onnx"), {METADATA_KEY: "{not json"})
    with pytest.raises(InputError, match="not a hand-tracker model.*malformed"):
        Estimator(broken)


def test_wrong_crop_shape_is_a_one_line_error(estimator):
    with pytest.raises(InputError, match="expected N x 128 x 128 crops"):
        estimator.infer(np.zeros((1, 64, 64), np.float32))


def test_mirrored_crop_gives_mirrored_joints_after_unmirroring(estimator):
    crop = hand_crop(seed=3)
    joints, weights = estimator.infer(crop[None])
    joints_m, weights_m = estimator.infer(np.ascontiguousarray(crop[None, :, ::-1]))
    # The network is not mirror-symmetric, so the two estimates differ; un-mirroring is an exact relabelling.
    back, back_w = unmirror(joints_m[0], weights_m[0])
    assert np.array_equal(unmirror(back, back_w)[0], joints_m[0])
    assert np.array_equal(back_w[:, :, ::-1], weights_m[0])
    assert np.array_equal(back[:, 0], -joints_m[0][:, 0]) and np.array_equal(back[:, 1:], joints_m[0][:, 1:])
    assert np.abs(joints[0] - joints_m[0]).max() > 1e-4   # a real, asymmetric network


def test_crop_to_camera_inverts_the_crop_mapping():
    intr = Intrinsics(640, 480, 600.0, 600.0, 320.0, 240.0)
    geom = crop_geometry((300.0, 250.0, 480.0), 250.0, 128, intr)
    rng = np.random.default_rng(0)
    xyz = np.array([0.0, 0.0, 480.0]) + rng.uniform(-100, 100, (21, 3))
    back_mm, uv_px = crop_to_camera(xyz_mm_to_crop_uvd(xyz, geom, intr), geom, intr)
    assert np.abs(back_mm - xyz).max() < 1e-6
    assert np.abs(uv_px[:, 0] - (600.0 * xyz[:, 0] / xyz[:, 2] + 320.0)).max() < 1e-6


def test_confidence_is_weight_mass_near_the_joint():
    f = 64
    axis = (np.arange(f) + 0.5) * (2.0 / f) - 1.0
    weights = np.zeros((3, f, f), np.float32)
    weights[0, 40, 20] = 1.0                                   # all mass on one pixel at the joint
    weights[1] = 1.0 / (f * f)                                 # uniform: ambiguous
    weights[2, 40, 20], weights[2, 5, 60] = 0.5, 0.5           # half near, half far away
    joints = np.array([[axis[20], axis[40], 0.0]] * 3)
    conf = joint_confidence(weights, joints, kernel_radius=0.8)
    rho = 0.4
    assert conf[0] == pytest.approx(1.0)
    assert conf[1] == pytest.approx(np.pi * rho ** 2 / 4.0, abs=0.01)   # disc share of the [-1, 1]^2 square
    assert conf[2] == pytest.approx(0.5)
    assert np.all((conf >= 0) & (conf <= 1))


def test_exported_metadata_matches_model_info(model_path):
    import onnx

    meta = {p.key: p.value for p in onnx.load(model_path).metadata_props}
    assert json.loads(meta[METADATA_KEY])["input_size"] == 128
    assert Path(model_path).stat().st_size > 10_000


def test_preloading_the_cuda_libraries_is_harmless_without_a_gpu(model_path, capfd):
    """onnxruntime.preload_dlls() runs for real (it looks for NVIDIA's CUDA/cuDNN wheels and the loader path):
    on a machine without them it prints what it misses, which must not reach stdout (the JSONL output may
    go there); the reason comes back as one line and a CPU session still works afterwards."""
    import onnxruntime as ort

    from app.tracking import estimator as est

    reason = est._preload_cuda_libraries()
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    if reason is not None:
        assert "\n" not in reason and (reason.startswith("the CUDA/cuDNN libraries were not found (lib")
                                       or reason.startswith("loading the CUDA libraries failed"))
    assert hasattr(ort, "preload_dlls")
    problem = est.prepare_cuda()
    assert est.prepare_cuda() == problem                 # checked once per process
    if problem is not None:
        assert "\n" not in problem
    cpu = Estimator(model_path, "cpu")
    assert cpu.provider == "CPUExecutionProvider" and cpu.provider_note == ""
    assert capfd.readouterr().out == ""


def test_provider_cuda_without_cuda_falls_back_and_says_why(model_path, capfd):
    from app.tracking.estimator import prepare_cuda

    problem = prepare_cuda()
    if problem is None:
        pytest.skip("CUDA is usable here")
    cuda = Estimator(model_path, "cuda")
    assert cuda.provider == "CPUExecutionProvider"
    assert cuda.provider_note == (f"CUDAExecutionProvider was requested but is not usable here: {problem}; "
                                  "running on CPUExecutionProvider")
    assert capfd.readouterr().out == ""                   # onnxruntime's own error lines are kept off stdout


def test_provider_cuda_fallback_through_the_cli_is_one_line_and_keeps_stdout_for_jsonl(model_path, tmp_path):
    import os
    import subprocess
    import sys

    from app.tracking.estimator import prepare_cuda

    if prepare_cuda() is None:
        pytest.skip("CUDA is usable here")
    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, str(repo / "run_tracker.py"), "--headless", "--source", "synthetic",
                           "--max-frames", "2", "--model", model_path, "--provider", "cuda", "--output", "-"],
                          cwd=repo, env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(repo)),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("model: ") and ("provider: CPUExecutionProvider (CUDAExecutionProvider was "
                                               "requested but is not usable here: ") in lines[0]
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(records) == 3 and records[0]["provider"] == "CPUExecutionProvider"
