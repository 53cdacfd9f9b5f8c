"""Display benchmark: the full window tracking a fast source, measuring whether the GUI keeps up.

    xvfb-run -a .venv/bin/python -m app.gui.benchmark_display --fps 90 --seconds 10 [--model models/awr_lite.onnx]
    xvfb-run -a .venv/bin/python -m app.gui.benchmark_display --session DIR --fps 60 [--no-3d]

Without --session the source is the live synthetic camera, which renders its motion loop on this machine's
cores; with --session a recorded session (e.g. `run_tracker.py --headless --source synthetic --max-frames 900
--record DIR`) is replayed through the window, paced at --fps (speed = fps / the session's own rate), so the
source costs only the reading of its files and the display path is measured apart from it. --no-3d measures the
window without the OpenGL 3-D view.

Prints (and writes as one JSON line at the end): capture, processing and display rates; capture-to-display
latency p50/p95 (frame arrival -> the depth view finished painting it); how many frames the shown result lags
behind the newest processed one; frames in flight between capture and tracker (a growing number would be a
growing queue); the window's update time per result. A warm-up (the synthetic source renders its motion loop
once, and caches fill) is excluded. Settings go to a temporary file. Imports PySide6 and app code.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

from app.config import DEFAULT_MODEL_PATH, TrackerConfig
from app.errors import TrackerError


def percentiles(values, qs=(50, 95)) -> list[float]:
    values = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    return [round(float(np.percentile(values, q)), 2) if values.size else float("nan") for q in qs]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=DEFAULT_MODEL_PATH, help="ONNX model (default models/awr_lite.onnx)")
    p.add_argument("--fps", type=float, default=90.0, help="synthetic camera rate, Hz (default 90)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured duration (default 10)")
    p.add_argument("--warmup", type=float, default=6.0, help="unmeasured start, s (default 6)")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime CPU threads (default 1)")
    p.add_argument("--session", help="replay this recorded session folder instead of the live synthetic camera")
    p.add_argument("--no-3d", action="store_true", help="without the OpenGL 3-D view")
    p.add_argument("--layout", choices=("standard", "demo"), default="standard", help="window layout")
    args = p.parse_args(argv)
    if args.no_3d:
        os.environ["HAND_TRACKER_NO_GL"] = "1"
    if not os.path.isfile(args.model):
        print(f"error: model file not found: {args.model} (python -m models.export --config lite --random-init "
              f"--out /tmp/lite.onnx makes an untrained one)", file=sys.stderr)
        return 2
    if not os.environ.get("DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"   # no display: measure without the 3-D view
    try:
        return _run(args)
    except TrackerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args) -> int:
    from PySide6 import QtCore, QtWidgets

    from app.gui.main_window import MainWindow
    from app.gui.qt_compat import neutralise_refcount_defect
    from app.gui.settings import Settings
    from app.gui.theme import apply_theme
    from app.sources.synthetic import SyntheticSource

    QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["benchmark_display"])
    neutralise_refcount_defect()
    apply_theme(app)
    settings = Settings(os.path.join(tempfile.mkdtemp(prefix="handtracker-bench-"), "settings.ini"))
    window = MainWindow(TrackerConfig(model_path=args.model, intra_op_threads=args.threads), settings,
                        restore_geometry=False)
    window.resize(1600, 1000)
    window.set_layout(args.layout)
    window.show()
    if args.session:
        from app.sources.factory import open_source
        from app.sources.spec import SourceSpec

        spec = SourceSpec.parse(args.session, realtime=False)
        source = open_source(spec)
        session_fps = source.info.fps or 30.0
        window.set_source(source, spec)
        window.timeline.set_speed(1.0)
        speed = args.fps / session_fps
        needed_s = args.warmup + args.seconds
        if source.info.frame_count and source.info.frame_count / args.fps < needed_s:
            print(f"error: the session has {source.info.frame_count} frames: {args.fps:g} fps for "
                  f"{needed_s:g} s needs {int(args.fps * needed_s)} (record a longer one)", file=sys.stderr)
            return 2
    else:
        # A one-second motion loop keeps the source's first rendering pass (the warm-up) short.
        window.set_source(SyntheticSource(fps=args.fps, realtime=True, loop_s=1.0))
        speed = 1.0
    window.stats_panel.clear_history()
    if not window.host.start(speed=speed):
        print(f"error: {window.last_error}", file=sys.stderr)
        return 1

    lags, in_flight = [], []

    def sample_lag(_result) -> None:   # after every redraw: how far the shown frame is behind the newest one
        stats = window.host.stats()
        lags.append(stats.position - window.shown_result.frame.index)
        in_flight.append(stats.frames_captured - stats.frames_processed - stats.frames_dropped)

    window.host.result_ready.connect(sample_lag)
    _spin(app, args.warmup)
    before = window.host.stats()
    window.stats_panel.clear_history()
    window.update_ms.clear()
    lags.clear()
    in_flight.clear()
    shown_before, t0 = window.displayed_frames, time.perf_counter()
    _spin(app, args.seconds)
    elapsed = time.perf_counter() - t0
    after = window.host.stats()
    latency = window.stats_panel.history("display")
    report = {
        "platform": app.platformName(), "gl_view": window.skeleton_view.gl_enabled, "source_fps": args.fps,
        "source": "session " + args.session if args.session else "live synthetic", "layout": args.layout,
        "seconds": round(elapsed, 2), "provider": after.provider, "model": after.model_name,
        "capture_fps": round((after.frames_captured - before.frames_captured) / elapsed, 1),
        "process_fps": round((after.frames_processed - before.frames_processed) / elapsed, 1),
        "display_fps": round((window.displayed_frames - shown_before) / elapsed, 1),
        "dropped_share": round((after.frames_dropped - before.frames_dropped)
                               / max(after.frames_captured - before.frames_captured, 1), 3),
        "capture_to_display_ms_p50_p95": percentiles(latency),
        "arrival_to_result_ms_p50_p95": percentiles(window.stats_panel.history("end_to_end")),
        "shown_lag_frames_p50_p95_max": percentiles(lags) + [int(max(lags)) if lags else -1],
        "frames_in_flight_max": int(max(in_flight)) if in_flight else -1,
        "view_update_ms_p50_p95": percentiles(window.update_ms),
        "error": after.error,
    }
    window.close()
    for key, value in report.items():
        print(f"{key:32s} {value}")
    print(json.dumps(report))
    return 0 if after.error is None else 1


def _spin(app, seconds: float) -> None:
    """Run the real event loop (it sleeps between events) for a while."""
    from PySide6 import QtCore

    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


if __name__ == "__main__":
    sys.exit(main())
