"""Soak benchmark: replay a recorded session in a loop at full speed through the real pipeline (capture thread,
tracker thread, lockstep) for a long time, in one process, and sample the resident memory and the per-stage
latency in windows, to show that nothing grows after warm-up and that the tail latency stays steady.

    python -m app.runtime.soak --session /tmp/bench_session --minutes 10 --window-s 30

The session repeats without a seam: frame indices and timestamps keep counting up, so the tracker runs as on
one long recording. Prints one JSON line per window ({"window", "t_s", "frames", "fps", "rss_mb", "stages_ms":
{stage: {p50, p99}}}) to stderr as it goes and one summary object to stdout at the end: RSS after warm-up
(first and last window, maximum, growth), end-to-end p50/p99 per window, and their spread.
Linux only (RSS from /proc/self/statm). Imports numpy and app code only.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import replace

import numpy as np

from app.config import DEFAULT_MODEL_PATH, TrackerConfig
from app.errors import InputError, TrackerError
from app.recording.reader import SessionReader
from app.runtime.benchmark import percentiles
from app.runtime.pipeline import Pipeline, PipelineState
from app.sources.base import FrameSource, SourceInfo
from app.sources.spec import SourceKind
from app.tracking.estimator import Estimator
from app.tracking.tracker import HandTracker
from app.types import STAGES, DepthFrame, TrackerResult

_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / (1024 * 1024) if hasattr(os, "sysconf") else 4096 / (1024 * 1024)


def rss_mb() -> float:
    """Resident set size of this process (MB)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE_MB


class LoopingSession(FrameSource):
    """A session's frames, over and over (endless, not seekable). Index and timestamp continue across loops."""

    def __init__(self, directory: str) -> None:
        self.reader = SessionReader(directory)
        if len(self.reader) < 2:
            raise InputError(f"session {directory}: a soak needs at least 2 frames, it has {len(self.reader)}")
        stamps = [float(self.reader.entry(i)["timestamp_ms"]) for i in (0, len(self.reader) - 1)]
        self._loop_ms = stamps[1] - stamps[0] + 1000.0 / self.reader.nominal_fps()
        self._closed = threading.Event()
        self._next = 0
        self._info = SourceInfo(SourceKind.SESSION, f"{self.reader.path.name} (looped)", live=False, frame_count=None,
                                seekable=False, fps=self.reader.nominal_fps())

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> None:
        pass

    def read(self, timeout_s: float = 1.0) -> DepthFrame | None:
        if self._closed.is_set():
            return None
        loop, i = divmod(self._next, len(self.reader))
        frame = self.reader.frame(i)
        frame = replace(frame, index=self._next, timestamp_ms=frame.timestamp_ms + loop * self._loop_ms)
        self._next += 1
        return frame

    def close(self) -> None:
        self._closed.set()


class _Windows:
    """Pipeline consumer: per-window timings; the main thread closes a window every window_s."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: list[dict[str, float]] = []

    def __call__(self, result: TrackerResult) -> None:
        with self._lock:
            self._rows.append(result.timings.as_dict())

    def take(self) -> list[dict[str, float]]:
        with self._lock:
            rows, self._rows = self._rows, []
        return rows


def soak(session: str, minutes: float, window_s: float, model: str, warmup_windows: int) -> dict:
    source = LoopingSession(session)
    config = TrackerConfig(model_path=model, provider="cpu")
    tracker = HandTracker(config, Estimator(model, "cpu", 1))
    pipeline = Pipeline(source, tracker)          # lockstep, speed 0: full speed, every frame
    windows = _Windows()
    pipeline.add_consumer(windows)
    rows_out = []
    start = time.perf_counter()
    pipeline.start()
    try:
        end = start + minutes * 60.0
        k = 0
        while time.perf_counter() < end:
            due = min(end, start + (k + 1) * window_s)
            if pipeline.wait_finished(max(0.0, due - time.perf_counter())):
                break
            rows = windows.take()
            t = time.perf_counter() - start
            span = window_s if k else t
            row = {"window": k, "t_s": round(t, 1), "frames": len(rows),
                   "fps": round(len(rows) / span, 1) if span > 0 else 0.0, "rss_mb": round(rss_mb(), 1),
                   "stages_ms": {s: {q: v for q, v in percentiles([r[s] for r in rows], (50, 99)).items()
                                     if q != "mean"} for s in STAGES + ("end_to_end",)}}
            rows_out.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            k += 1
    finally:
        pipeline.stop()
    stats = pipeline.stats()
    if stats.state == PipelineState.ERROR:
        raise TrackerError(stats.error or "the soak run failed")
    steady = rows_out[warmup_windows:] or rows_out
    rss = [r["rss_mb"] for r in steady]
    p50 = [r["stages_ms"]["end_to_end"]["p50"] for r in steady]
    p99 = [r["stages_ms"]["end_to_end"]["p99"] for r in steady]
    return {"session": session, "frames_per_loop": len(source.reader), "minutes": minutes, "window_s": window_s,
            "frames": stats.frames_processed, "loops": round(stats.frames_processed / len(source.reader), 1),
            "throughput_fps": round(stats.frames_processed / (time.perf_counter() - start), 1),
            "warmup_windows": warmup_windows,
            "rss_mb": {"after_warmup": rss[0], "last": rss[-1], "max": max(rss), "growth": round(rss[-1] - rss[0], 1),
                       "slope_mb_per_min": round(float(np.polyfit([r["t_s"] / 60.0 for r in steady], rss, 1)[0]), 3)
                       if len(steady) > 1 else 0.0},
            "end_to_end_ms": {"p50_min": min(p50), "p50_max": max(p50), "p99_min": min(p99), "p99_max": max(p99),
                              "p99_median": float(np.median(p99))}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.runtime.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--session", required=True, help="a recorded session folder")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--window-s", type=float, default=30.0, help="sampling window (s)")
    p.add_argument("--warmup-windows", type=int, default=1, help="windows left out of the steady-state figures")
    p.add_argument("--model", default=DEFAULT_MODEL_PATH)
    args = p.parse_args(argv)
    try:
        print(json.dumps(soak(args.session, args.minutes, args.window_s, args.model, args.warmup_windows)))
    except TrackerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, InputError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
