"""What the pipeline reports: its state, counters and rates (PipelineStats), the recording's progress
(RecordingStatus), and the frame-rate meter behind both. Frozen dataclasses, safe to hand to the GUI thread.
Imports the standard library only.
"""
from __future__ import annotations

import collections
import enum
import threading
import time
from dataclasses import dataclass


class PipelineState(str, enum.Enum):
    """IDLE: built, not started; RUNNING; PAUSED (replay paused); STOPPED: stop() was called; FINISHED: a finite
    source ended and every frame was processed; ERROR: a thread failed (PipelineStats.error says why)."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"
    ERROR = "error"


@dataclass(frozen=True)
class PipelineStats:
    """state; frames_captured: frames read from the source; frames_processed: results produced;
    frames_dropped: live frames replaced by newer ones before the tracker took them; capture_fps /
    process_fps: rates over the last ~2 s (Hz); provider: onnxruntime provider actually used; model_name:
    model file name; source_name: SourceInfo.name; position: index of the last processed frame (-1 before the
    first); frame_count: frames in a finite source (None when live/unknown); error: one line, or None."""

    state: PipelineState
    frames_captured: int
    frames_processed: int
    frames_dropped: int
    capture_fps: float
    process_fps: float
    provider: str
    model_name: str
    source_name: str
    position: int
    frame_count: int | None
    error: str | None


@dataclass(frozen=True)
class RecordingStatus:
    """frames: frames written; bytes: bytes on disk so far; elapsed_s: since the recording started (s);
    path: the session folder; error: why recording stopped early (one line), or None."""

    frames: int
    bytes: int
    elapsed_s: float
    path: str
    error: str | None = None


class RateMeter:
    """Events per second over a sliding window of wall-clock time (thread-safe)."""

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._times: collections.deque = collections.deque()
        self._lock = threading.Lock()

    def tick(self, now_s: float | None = None) -> None:
        now = time.perf_counter() if now_s is None else now_s
        with self._lock:
            self._times.append(now)
            self._trim(now)

    def rate_hz(self, now_s: float | None = None) -> float:
        now = time.perf_counter() if now_s is None else now_s
        with self._lock:
            self._trim(now)
            if len(self._times) < 2:
                return 0.0
            span = now - self._times[0]
            return (len(self._times) - 1) / span if span > 0 else 0.0

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()


def one_line(exc: BaseException) -> str:
    """A user-facing single line for any exception: the message of a TrackerError, else 'Type: message'."""
    from app.errors import TrackerError   # local: keep this module standard-library only at import time

    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, TrackerError):
        return first or type(exc).__name__
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
