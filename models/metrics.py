"""The field's standard 3-D hand pose metrics, the standard prediction text format, and a report CLI.

All errors are Euclidean distances in camera-frame millimetres between predicted and ground-truth joints of
the same layout, arrays N frames x J joints x 3. Definitions (as in the community evaluation kits):
- mean joint error: mean over all frames and joints; per-joint error: mean over frames;
- success rate at t: the fraction of frames whose MAXIMUM joint error is <= t (the strict, standard curve);
  "mean-frame" success uses each frame's mean joint error instead; per-joint success one joint's error;
- AUC: area under a success curve divided by the threshold range, so a perfect curve gives 1.
Text format: one frame per line, J x (u v d) with u, v in original-image pixels and d in mm; both files are
converted to xyz with the dataset's intrinsics before comparing (uvd_to_xyz).

CLI: python -m models.metrics --pred P.txt --gt G.txt --dataset nyu|icvl|msra|hands2017
Imports numpy and app foundation only (the dataset constants come from models.datasets.common).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from app.camera import Intrinsics, project_mm_to_px, unproject_px_to_mm
from app.errors import InputError, TrackerError

DEFAULT_THRESHOLDS_MM = tuple(range(0, 81))     # the usual 0..80 mm success curve


# ---- errors ----------------------------------------------------------------------------------------------
def _pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.ndim == 2:                          # a single frame
        pred, gt = pred[None], gt[None]
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[2] != 3:
        raise InputError(f"predictions {pred.shape} and ground truth {gt.shape} must both be N x J x 3")
    if pred.shape[0] == 0:
        raise InputError("no frames to evaluate")
    if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(gt))):
        raise InputError("predictions or ground truth contain NaN or infinite values")
    return pred, gt


def joint_errors_mm(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """N x J Euclidean errors (mm)."""
    pred, gt = _pair(pred, gt)
    return np.linalg.norm(pred - gt, axis=-1)


def mean_joint_error_mm(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(joint_errors_mm(pred, gt).mean())


def per_joint_error_mm(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """J mean errors (mm), one per joint, averaged over frames."""
    return joint_errors_mm(pred, gt).mean(axis=0)


def max_joint_error_mm(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """N per-frame worst joint errors (mm)."""
    return joint_errors_mm(pred, gt).max(axis=1)


def _share_within(errors: np.ndarray, thresholds_mm: Iterable[float]) -> np.ndarray:
    """For N per-frame errors: the fraction <= t for each threshold t."""
    t = np.asarray(list(thresholds_mm), dtype=np.float64)
    return (errors[:, None] <= t).mean(axis=0)


def success_rate(pred: np.ndarray, gt: np.ndarray,
                 thresholds_mm: Iterable[float] = DEFAULT_THRESHOLDS_MM) -> np.ndarray:
    """Fraction of frames whose maximum joint error is <= t, for each threshold t (mm)."""
    return _share_within(max_joint_error_mm(pred, gt), thresholds_mm)


def mean_frame_success(pred: np.ndarray, gt: np.ndarray,
                       thresholds_mm: Iterable[float] = DEFAULT_THRESHOLDS_MM) -> np.ndarray:
    """Fraction of frames whose mean joint error is <= t, for each threshold t (mm)."""
    return _share_within(joint_errors_mm(pred, gt).mean(axis=1), thresholds_mm)


def per_joint_success(pred: np.ndarray, gt: np.ndarray,
                      thresholds_mm: Iterable[float] = DEFAULT_THRESHOLDS_MM) -> np.ndarray:
    """J x T: for each joint, the fraction of frames where that joint's error is <= t."""
    errors = joint_errors_mm(pred, gt)                      # N x J
    t = np.asarray(list(thresholds_mm), dtype=np.float64)
    return (errors[:, :, None] <= t).mean(axis=0)


def frames_within(pred: np.ndarray, gt: np.ndarray, threshold_mm: float) -> float:
    """Fraction of frames (0..1) whose maximum joint error is <= threshold_mm."""
    return float((max_joint_error_mm(pred, gt) <= threshold_mm).mean())


def auc(curve: Sequence[float], thresholds_mm: Sequence[float] | None = None) -> float:
    """Area under a success curve (trapezoids) divided by the threshold range: 1 for a curve that is 1
    everywhere. thresholds_mm defaults to 0, 1, 2, ... (the curve's own sample positions)."""
    y = np.asarray(curve, dtype=np.float64)
    x = np.arange(y.size, dtype=np.float64) if thresholds_mm is None else np.asarray(thresholds_mm, np.float64)
    if y.ndim != 1 or y.size < 2 or x.shape != y.shape or not np.all(np.diff(x) > 0):
        raise InputError("auc needs a curve of at least two points at increasing thresholds")
    area = float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)
    return area / float(x[-1] - x[0])


# ---- the text format -------------------------------------------------------------------------------------
def uvd_to_xyz(uvd: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """(..., 3) (u_px, v_px, d_mm) -> camera-frame mm (x right, y down, z forward)."""
    return unproject_px_to_mm(uvd, intr)


def xyz_to_uvd(xyz_mm: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """(..., 3) camera-frame mm -> (u_px, v_px, d_mm)."""
    return project_mm_to_px(xyz_mm, intr)


def read_uvd_text(path: str | Path, num_joints: int | None = None) -> np.ndarray:
    """A prediction / ground-truth text file -> N x J x 3 (u_px, v_px, d_mm). J is inferred from the first
    line (its value count / 3) unless num_joints is given; every line must have the same count."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"missing file {path}")
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path} as text ({e})") from None
    rows = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    if not rows:
        raise InputError(f"{path} has no frames")
    count = len(rows[0][1].split()) if num_joints is None else 3 * int(num_joints)
    if count == 0 or count % 3:
        raise InputError(f"{path}:{rows[0][0]}: {count} values is not J x (u v d)")
    out = np.empty((len(rows), count), dtype=np.float64)
    for i, (n, line) in enumerate(rows):
        tokens = line.split()
        if len(tokens) != count:
            raise InputError(f"{path}:{n}: expected {count} values ({count // 3} joints x u v d), got {len(tokens)}")
        try:
            out[i] = [float(t) for t in tokens]
        except ValueError:
            raise InputError(f"{path}:{n}: not a list of numbers") from None
    if not np.all(np.isfinite(out)):
        raise InputError(f"{path}: contains NaN or infinite values")
    return out.reshape(len(rows), count // 3, 3)


def write_uvd_text(path: str | Path, uvd: np.ndarray, decimals: int = 4) -> None:
    """N x J x 3 (u_px, v_px, d_mm) -> the text format, one frame per line."""
    uvd = np.asarray(uvd, dtype=np.float64)
    if uvd.ndim != 3 or uvd.shape[2] != 3:
        raise InputError(f"expected N x J x 3 (u, v, d), got {uvd.shape}")
    fmt = f"{{:.{int(decimals)}f}}"
    with open(path, "w", encoding="ascii") as f:
        for frame in uvd.reshape(uvd.shape[0], -1):
            f.write(" ".join(fmt.format(v) for v in frame) + "\n")


# ---- report ----------------------------------------------------------------------------------------------
def format_report(pred: np.ndarray, gt: np.ndarray, joint_names: Sequence[str], title: str | None = None,
                  note: str | None = None) -> str:
    """Markdown report of predictions vs ground truth (both N x J x 3 camera-frame mm): summary table (frames,
    mean error, share of frames with max error <= 20 / 40 mm, AUC 0-80 mm), success curve every 10 mm
    (max-error and mean-frame), and per-joint mean errors. note: a line printed under the title (e.g. that a
    joint correspondence is approximate)."""
    errors = joint_errors_mm(pred, gt)
    if len(joint_names) != errors.shape[1]:
        raise InputError(f"{errors.shape[1]} joints but {len(joint_names)} joint names")
    worst = errors.max(axis=1)
    curve = _share_within(worst, DEFAULT_THRESHOLDS_MM)
    mean_curve = _share_within(errors.mean(axis=1), DEFAULT_THRESHOLDS_MM)
    lines = [f"## {title}" if title else "## Hand pose evaluation", ""]
    if note:
        lines += [note, ""]
    lines += [
        "| metric | value |", "|---|---|",
        f"| frames | {errors.shape[0]} |",
        f"| joints | {errors.shape[1]} |",
        f"| mean 3-D joint error | {errors.mean():.3f} mm |",
        f"| median frame max error | {np.median(worst):.3f} mm |",
        f"| frames with max error <= 20 mm | {100.0 * np.mean(worst <= 20.0):.1f} % |",
        f"| frames with max error <= 40 mm | {100.0 * np.mean(worst <= 40.0):.1f} % |",
        f"| AUC of max-error success, 0-80 mm | {auc(curve, DEFAULT_THRESHOLDS_MM):.4f} |",
        f"| AUC of mean-frame success, 0-80 mm | {auc(mean_curve, DEFAULT_THRESHOLDS_MM):.4f} |",
        "",
        "| threshold (mm) | " + " | ".join(str(t) for t in range(0, 81, 10)) + " |",
        "|---" * 10 + "|",
        "| frames, max error <= t (%) | " + " | ".join(f"{100.0 * curve[t]:.1f}" for t in range(0, 81, 10)) + " |",
        "| frames, mean error <= t (%) | "
        + " | ".join(f"{100.0 * mean_curve[t]:.1f}" for t in range(0, 81, 10)) + " |",
        "",
        "| joint | mean error (mm) | <= 20 mm (%) |", "|---|---|---|",
    ]
    for j, name in enumerate(joint_names):
        lines.append(f"| {name} | {errors[:, j].mean():.3f} | {100.0 * np.mean(errors[:, j] <= 20.0):.1f} |")
    return "\n".join(lines) + "\n"


def dataset_joint_names(dataset: str, num_joints: int) -> tuple[str, ...]:
    """The names of a dataset's evaluated joints when the count matches its layout, else joint_0 .. ."""
    from app.joints import ICVL_NAMES, NYU14_NAMES
    from models.datasets.hands2017 import HANDS2017_NAMES
    from models.datasets.msra import MSRA_NAMES

    known = {"nyu": NYU14_NAMES, "icvl": ICVL_NAMES, "msra": MSRA_NAMES, "hands2017": HANDS2017_NAMES}
    names = known.get(dataset.lower(), ())
    return tuple(names) if len(names) == num_joints else tuple(f"joint_{i}" for i in range(num_joints))


def evaluate_files(pred_path: str | Path, gt_path: str | Path, dataset: str) -> str:
    """Read both text files, convert with the dataset's intrinsics, and return the markdown report."""
    from models.datasets.common import dataset_intrinsics

    intr = dataset_intrinsics(dataset)
    gt_uvd = read_uvd_text(gt_path)
    pred_uvd = read_uvd_text(pred_path, num_joints=gt_uvd.shape[1])
    if pred_uvd.shape[0] != gt_uvd.shape[0]:
        raise InputError(f"{pred_path} has {pred_uvd.shape[0]} frames, {gt_path} has {gt_uvd.shape[0]}")
    if np.any(gt_uvd[..., 2] <= 0) or np.any(pred_uvd[..., 2] <= 0):
        raise InputError("every joint needs a positive depth d (mm) in both files")
    names = dataset_joint_names(dataset, gt_uvd.shape[1])
    return format_report(uvd_to_xyz(pred_uvd, intr), uvd_to_xyz(gt_uvd, intr), names,
                         title=f"{Path(pred_path).name} vs {Path(gt_path).name} ({dataset})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.metrics",
                                     description="Standard hand pose metrics of a uvd prediction file.")
    parser.add_argument("--pred", required=True, help="predictions: one frame per line, J x (u v d)")
    parser.add_argument("--gt", required=True, help="ground truth in the same format")
    parser.add_argument("--dataset", required=True, choices=("nyu", "icvl", "msra", "hands2017"),
                        help="selects the intrinsics used to convert uvd to mm")
    args = parser.parse_args(argv)
    try:
        print(evaluate_files(args.pred, args.gt, args.dataset), end="")
    except TrackerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
