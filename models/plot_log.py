"""Plot a training run's learning curve (log.jsonl) to a PNG with OpenCV (no plotting library needed).

    python -m models.plot_log runs/gpu/log.jsonl docs/learning_curve.png

x: samples seen; y: validation mean error in mm (and the median, dashed grey); the stage change is marked.
"""
from __future__ import annotations

import json
import sys

import cv2
import numpy as np

from app.errors import InputError

W, H, LEFT, RIGHT, TOP, BOTTOM = 900, 500, 80, 30, 50, 60


def plot_learning_curve(log_path: str, png_path: str, title: str = "learning curve") -> None:
    try:
        rows = [json.loads(line) for line in open(log_path) if line.strip()]
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read training log {log_path}: {exc}") from None
    rows = [r for r in rows if "val_mean_mm" in r]
    img = np.full((H, W, 3), 255, np.uint8)
    cv2.putText(img, title, (LEFT, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2, cv2.LINE_AA)
    if not rows:
        cv2.putText(img, "no validation yet", (LEFT, H // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 255), 2)
        cv2.imwrite(png_path, img)
        return
    x = np.array([r.get("samples", r["step"]) for r in rows], float)
    ys = np.array([r["val_mean_mm"] for r in rows], float)
    med = np.array([r.get("val_median_mm", np.nan) for r in rows], float)
    x_max = max(float(x.max()), 1.0)
    y_max = float(np.nanmax(np.concatenate([ys, med]))) * 1.1
    px = lambda v: int(LEFT + (W - LEFT - RIGHT) * v / x_max)                    # noqa: E731
    py = lambda v: int(H - BOTTOM - (H - TOP - BOTTOM) * v / y_max)              # noqa: E731
    cv2.rectangle(img, (LEFT, TOP), (W - RIGHT, H - BOTTOM), (0, 0, 0), 1)
    step = max(1, int(10 ** np.floor(np.log10(y_max / 2))))
    for v in range(0, int(y_max) + 1, step):
        cv2.line(img, (LEFT, py(v)), (W - RIGHT, py(v)), (225, 225, 225), 1)
        cv2.putText(img, f"{v}", (LEFT - 40, py(v) + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
    for k in range(5):
        v = x_max * k / 4
        cv2.putText(img, f"{v / 1000:.0f}k", (px(v) - 15, H - BOTTOM + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1)
    cv2.putText(img, "samples seen", (W // 2 - 50, H - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    cv2.putText(img, "val error mm", (5, TOP - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    for a, b, stage_b in zip(rows, rows[1:], [r.get("stage") for r in rows[1:]]):
        if a.get("stage") != stage_b:
            xv = px(a.get("samples", a["step"]))
            cv2.line(img, (xv, TOP), (xv, H - BOTTOM), (200, 120, 0), 1)
            cv2.putText(img, f"-> {stage_b}", (xv + 4, TOP + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (200, 120, 0), 1)
    pts = np.array([[px(a), py(b)] for a, b in zip(x, ys)], np.int32)
    cv2.polylines(img, [pts], False, (200, 0, 0), 2, cv2.LINE_AA)
    ok = ~np.isnan(med)
    if ok.any():
        cv2.polylines(img, [np.array([[px(a), py(b)] for a, b in zip(x[ok], med[ok])], np.int32)], False,
                      (150, 150, 150), 1, cv2.LINE_AA)
    cv2.putText(img, f"last: mean {ys[-1]:.1f} mm", (W - 260, TOP + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                (200, 0, 0), 1, cv2.LINE_AA)
    if not cv2.imwrite(png_path, img):
        raise InputError(f"cannot write {png_path}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python -m models.plot_log LOG.jsonl OUT.png", file=sys.stderr)
        sys.exit(2)
    try:
        plot_learning_curve(sys.argv[1], sys.argv[2])
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
