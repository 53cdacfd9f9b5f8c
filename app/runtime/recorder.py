"""Recording control for the pipeline: starts and stops a SessionWriter (app/recording/writer.py, which has its
own writer thread) and feeds it from the tracker thread without ever blocking on the disk for long.

The session metadata (source, device, intrinsics, tracker configuration, model, provider) is written when the
recording starts; each frame goes with its JSONL record (app/runtime/records.py). If the writer stops on its
own (disk full, stalled) its one-line error stays visible in status() until the next recording starts.
Imports the standard library and app code only.
"""
from __future__ import annotations

import threading
from typing import Callable

from app.errors import RecordingError
from app.runtime.records import result_record
from app.runtime.stats import RecordingStatus
from app.types import DepthFrame, TrackerResult


class RecordingControl:
    """meta_fn() -> dict: the session metadata, read when a recording starts."""

    def __init__(self, meta_fn: Callable[[], dict], min_free_mb: float = 200.0) -> None:
        self._meta_fn = meta_fn
        self._min_free_mb = min_free_mb
        self._lock = threading.Lock()
        self._writer = None
        self._closing = None
        self._last_status: RecordingStatus | None = None

    def start(self, directory: str) -> None:
        from app.recording.writer import SessionWriter   # local: headless runs without --record skip it

        with self._lock:
            if self._writer is not None:
                raise RecordingError(f"already recording to {self._writer.path}")
            try:
                self._writer = SessionWriter(directory, self._meta_fn(), min_free_mb=self._min_free_mb)
            except RecordingError:
                raise
            except OSError as exc:
                raise RecordingError(f"cannot record into {directory}: {exc.strerror or exc}") from None
            self._last_status = None

    def write(self, frame: DepthFrame, result: TrackerResult) -> None:
        """Called on the tracker thread for every result. A writer that stopped by itself is closed here."""
        writer = self._writer
        if writer is None:
            return
        if not writer.write(frame, result_record(result)):
            self.stop()

    def stop(self) -> None:
        """Finish the recording in progress (waits for the queued frames to reach the disk)."""
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                self._closing = writer      # status() keeps reporting it while the queue drains
        if writer is not None:
            self._last_status = _convert(writer.close())
            self._closing = None

    def status(self) -> RecordingStatus | None:
        """Progress of the recording in progress, else of the last one (with its error, if any), else None."""
        writer = self._writer or self._closing
        if writer is not None:
            return _convert(writer.status())
        return self._last_status

    @property
    def active(self) -> bool:
        return self._writer is not None


def _convert(status) -> RecordingStatus:
    """The writer's status (which may carry more fields, e.g. queued) as the pipeline's RecordingStatus."""
    frames = getattr(status, "frames", None)
    size = getattr(status, "bytes", None)
    return RecordingStatus(frames=int(frames if frames is not None else status.frames_written),
                           bytes=int(size if size is not None else status.bytes_written),
                           elapsed_s=float(status.elapsed_s), path=str(status.path),
                           error=str(status.error) if status.error else None)
