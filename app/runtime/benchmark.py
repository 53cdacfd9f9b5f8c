"""Timing summaries for --benchmark: per-stage percentiles of StageTimings and the throughput of a run.

Summary JSON: {"frames": N, "frames_with_pose": K, "throughput_fps": F, "stages_ms": {stage: {"p50", "p95",
"p99", "mean"}}, "end_to_end" included}. Stages that only run when a hand was found (crop, infer,
postprocess, smooth) are summarised over those K frames; wait, localise and end_to_end over all N.
Throughput: frames / (ready time of the last result - arrival of the first frame), host clock.
Imports numpy and app foundation only.
"""
from __future__ import annotations

import threading

import numpy as np

from app.types import STAGES, TrackerResult

POSE_STAGES = ("crop", "infer", "postprocess", "smooth")


def percentiles(values_ms, qs=(50, 95, 99)) -> dict[str, float]:
    """{'p50': .., 'p95': .., 'p99': .., 'mean': ..} in ms (rounded to µs); NaN-free: empty input gives 0."""
    v = np.asarray(list(values_ms), dtype=np.float64)
    if v.size == 0:
        return {**{f"p{q}": 0.0 for q in qs}, "mean": 0.0}
    out = {f"p{q}": round(float(np.percentile(v, q)), 3) for q in qs}
    out["mean"] = round(float(v.mean()), 3)
    return out


class BenchmarkCollector:
    """A pipeline consumer that keeps each result's timings (not the frames) for the summary."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: list[dict[str, float]] = []
        self._with_pose: list[bool] = []
        self._first_arrival_s: float | None = None
        self._last_ready_s: float | None = None

    def __call__(self, result: TrackerResult) -> None:
        with self._lock:
            self._rows.append(result.timings.as_dict())
            self._with_pose.append(result.pose is not None)
            if self._first_arrival_s is None:
                self._first_arrival_s = result.frame.arrival_s or result.ready_s
            self._last_ready_s = result.ready_s

    @property
    def frames(self) -> int:
        return len(self._rows)

    def summary(self, elapsed_s: float | None = None) -> dict:
        """The --benchmark JSON object. elapsed_s overrides the measured span (e.g. the caller's wall time)."""
        with self._lock:
            rows, with_pose = list(self._rows), list(self._with_pose)
            first, last = self._first_arrival_s, self._last_ready_s
        n = len(rows)
        if elapsed_s is None:
            elapsed_s = (last - first) if (n and first is not None and last is not None) else 0.0
        stages = {}
        for stage in STAGES + ("end_to_end",):
            use = [r[stage] for r, p in zip(rows, with_pose) if p or stage not in POSE_STAGES]
            stages[stage] = percentiles(use)
        return {"frames": n, "frames_with_pose": int(sum(with_pose)),
                "throughput_fps": round(n / elapsed_s, 2) if elapsed_s > 0 else 0.0, "stages_ms": stages}
