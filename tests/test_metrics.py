"""Standard hand pose metrics on hand-computed cases, the uvd text format, and the report CLI."""
import subprocess
import sys

import numpy as np
import pytest

from app.errors import InputError
from models import metrics
from models.datasets import DATASET_INTRINSICS

NYU = DATASET_INTRINSICS["nyu"]


def _known_case():
    """4 frames x 3 joints at z = 500; frame f moves joint 0 by a 3-4-5 triangle scaled to 0, 10, 30, 50 mm and
    joint 1 by 6 mm in frame 3 only."""
    gt = np.zeros((4, 3, 3)) + [0.0, 0.0, 500.0]
    pred = gt.copy()
    for f, e in enumerate((0.0, 10.0, 30.0, 50.0)):
        pred[f, 0] += [0.6 * e, 0.8 * e, 0.0]
    pred[3, 1, 2] += 6.0
    return pred, gt


def test_errors_on_known_offsets():
    pred, gt = _known_case()
    assert np.allclose(metrics.joint_errors_mm(pred, gt)[:, 0], [0, 10, 30, 50])
    assert metrics.mean_joint_error_mm(pred, gt) == pytest.approx((0 + 10 + 30 + 50 + 6) / 12)
    assert metrics.per_joint_error_mm(pred, gt).tolist() == pytest.approx([22.5, 1.5, 0.0])
    assert metrics.max_joint_error_mm(pred, gt).tolist() == pytest.approx([0, 10, 30, 50])
    # a single frame (J x 3) is accepted too
    assert metrics.mean_joint_error_mm(pred[3], gt[3]) == pytest.approx(56 / 3)


def test_success_curves_and_auc():
    pred, gt = _known_case()
    curve = metrics.success_rate(pred, gt)
    assert curve.shape == (81,) and np.all(np.diff(curve) >= 0)                # monotone
    assert curve[[0, 9, 10, 29, 30, 49, 50, 80]].tolist() == [0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1.0, 1.0]
    assert metrics.frames_within(pred, gt, 20.0) == 0.5 and metrics.frames_within(pred, gt, 40.0) == 0.75
    # AUC of this step curve (jumps at 10, 30, 50): as steps 0.25*80 + 0.25*70 + 0.25*50 + 0.25*30 = 57.5; the
    # trapezoids ramp up over the unit before each jump, adding 0.125 per jump: 57.875, / 80
    assert metrics.auc(curve, metrics.DEFAULT_THRESHOLDS_MM) == pytest.approx(57.875 / 80)
    # mean-frame errors: 0, 10/3, 10, (50 + 6)/3 = 18.67
    mean_curve = metrics.mean_frame_success(pred, gt, thresholds_mm=[0, 3.3, 3.4, 10, 18.6, 18.7])
    assert mean_curve.tolist() == [0.25, 0.25, 0.5, 0.75, 0.75, 1.0]
    per_joint = metrics.per_joint_success(pred, gt, thresholds_mm=[0, 6, 40])
    assert per_joint.tolist() == [[0.25, 0.25, 0.75], [0.75, 1.0, 1.0], [1.0, 1.0, 1.0]]


def test_auc_of_known_curves():
    assert metrics.auc(np.linspace(0.0, 1.0, 81)) == pytest.approx(0.5)
    assert metrics.auc(np.ones(81)) == 1.0
    assert metrics.auc([0.0, 1.0, 1.0], thresholds_mm=[0.0, 10.0, 40.0]) == pytest.approx((5 + 30) / 40)
    with pytest.raises(InputError):
        metrics.auc([1.0])


def test_uvd_xyz_conversion_with_dataset_intrinsics():
    uvd = np.array([[320.0 + 58.803, 240.0 - 58.707, 1000.0], [320.0, 240.0, 700.0]])
    xyz = metrics.uvd_to_xyz(uvd, NYU)
    assert np.allclose(xyz, [[100.0, -100.0, 1000.0], [0.0, 0.0, 700.0]], atol=1e-9)
    assert np.allclose(metrics.xyz_to_uvd(xyz, NYU), uvd)


def test_text_round_trip_and_malformed_files(tmp_path):
    rng = np.random.default_rng(0)
    uvd = np.round(rng.uniform(0, 600, size=(5, 14, 3)), 3)
    path = tmp_path / "pred.txt"
    metrics.write_uvd_text(path, uvd)
    assert len(path.read_text().splitlines()) == 5
    assert np.array_equal(metrics.read_uvd_text(path), uvd)
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3 4 5 6\n1 2 3 4 5\n")
    with pytest.raises(InputError) as err:
        metrics.read_uvd_text(bad)
    assert str(err.value).endswith("bad.txt:2: expected 6 values (2 joints x u v d), got 5")
    bad.write_text("1 2 3 4\n")
    with pytest.raises(InputError, match="not J x"):
        metrics.read_uvd_text(bad)
    bad.write_text("1 2 x\n")
    with pytest.raises(InputError, match="bad.txt:1: not a list of numbers"):
        metrics.read_uvd_text(bad)
    with pytest.raises(InputError, match="missing file"):
        metrics.read_uvd_text(tmp_path / "none.txt")
    with pytest.raises(InputError, match="must both be N x J x 3"):
        metrics.mean_joint_error_mm(np.zeros((2, 3, 3)), np.zeros((2, 4, 3)))


def test_report_numbers():
    pred, gt = _known_case()
    report = metrics.format_report(pred, gt, ("a", "b", "c"), title="t", note="approximate layout")
    assert "| mean 3-D joint error | 8.000 mm |" in report               # 96 / 12
    assert "| frames with max error <= 20 mm | 50.0 % |" in report
    assert "| frames with max error <= 40 mm | 75.0 % |" in report
    assert f"| AUC of max-error success, 0-80 mm | {57.875 / 80:.4f} |" in report
    assert "| a | 22.500 | 50.0 |" in report and "| b | 1.500 | 100.0 |" in report
    assert "approximate layout" in report
    with pytest.raises(InputError, match="3 joints but 2 joint names"):
        metrics.format_report(pred, gt, ("a", "b"))


def _write_case(tmp_path):
    pred, gt = _known_case()
    intr = DATASET_INTRINSICS["icvl"]
    metrics.write_uvd_text(tmp_path / "p.txt", metrics.xyz_to_uvd(pred, intr), decimals=9)
    metrics.write_uvd_text(tmp_path / "g.txt", metrics.xyz_to_uvd(gt, intr), decimals=9)


def test_cli_prints_the_report_and_fails_cleanly(tmp_path, capsys):
    _write_case(tmp_path)
    rc = metrics.main(["--pred", str(tmp_path / "p.txt"), "--gt", str(tmp_path / "g.txt"), "--dataset", "icvl"])
    out = capsys.readouterr().out
    assert rc == 0 and "| mean 3-D joint error | 8.000 mm |" in out and "| frames | 4 |" in out
    (tmp_path / "short.txt").write_text((tmp_path / "p.txt").read_text().splitlines()[0] + "\n")
    rc = metrics.main(["--pred", str(tmp_path / "short.txt"), "--gt", str(tmp_path / "g.txt"), "--dataset", "icvl"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "has 1 frames" in err
    # the real module entry point: exit status and no traceback
    proc = subprocess.run([sys.executable, "-m", "models.metrics", "--pred", str(tmp_path / "missing.txt"),
                           "--gt", str(tmp_path / "g.txt"), "--dataset", "nyu"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "missing.txt" in proc.stderr
