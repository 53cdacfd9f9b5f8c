"""SessionWriter: records depth frames and per-frame results into a session folder (format.py) from its own
thread, crash-safe and append-only.

The tracker calls write(frame, result); the frame goes into a bounded, lossless queue and a writer thread
encodes the PNG, renames it into place and only then appends the JSONL line. The tracker never waits long: if the
queue stays full for stall_s (the disk cannot keep up), if the disk fills (ENOSPC) or falls below half of
min_free_mb, recording stops, `.error` holds a RecordingError with a one-line message, and everything already
written stays a valid session. Imports numpy, cv2 (through format.py) and app foundation only.
"""
from __future__ import annotations

import datetime
import errno
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.errors import RecordingError
from app.recording.format import (DEPTH_DIR, FORMAT_NAME, FORMAT_VERSION, FRAMES_JSONL, SESSION_JSON,
                                  depth_file_name, dumps_line, encode_depth_png, fsync_dir, jsonable,
                                  write_json_atomic)
from app.types import DepthFrame

_MB = 1024 * 1024
_SPACE_CHECK_EVERY = 30  # frames between free-space checks (disk_usage is a syscall, not free)


@dataclass(frozen=True)
class RecordingStatus:
    """frames: frames whose PNG and line are on disk; bytes: PNG + JSONL bytes written; elapsed_s: since the
    writer started (s); path: the session folder; error: why recording stopped (one line) or None;
    queued: frames waiting for the disk; recording: still accepting frames. (Same first fields as
    app.runtime.stats.RecordingStatus.)"""

    frames: int
    bytes: int
    elapsed_s: float
    path: str
    error: str | None = None
    queued: int = 0
    recording: bool = False


def free_mb(directory: Path) -> float:
    """Free space (MB) on the file system that holds `directory` (or its nearest existing parent)."""
    probe = Path(directory).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free / _MB


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


class SessionWriter:
    """Record into `directory` (created; must not exist or be empty).

    session_meta: caller's dict merged into session.json (source, device, model, tracker, app, intrinsics ...);
    min_free_mb: refuse to start below this much free space, stop when it falls below half of it;
    queue_size: frames buffered between the tracker and the disk; stall_s: how long write() may wait for room
    before recording stops; fsync_every: JSONL + directory fsync period in frames (each PNG is fsynced before
    its rename, so a line never points at a partial PNG even after a power cut)."""

    def __init__(self, directory: str | Path, session_meta: dict, min_free_mb: float = 200.0,
                 queue_size: int = 64, stall_s: float = 2.0, fsync_every: int = 10) -> None:
        self.path = Path(directory)
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise RecordingError(f"cannot record into {self.path}: it exists and is not an empty folder")
        free = free_mb(self.path)
        if free < min_free_mb:
            raise RecordingError(f"not enough free disk space to record into {self.path}: {free:.0f} MB free, "
                                 f"need at least {min_free_mb:.0f} MB")
        self.min_free_mb, self.stall_s, self.fsync_every = float(min_free_mb), float(stall_s), int(fsync_every)
        try:
            (self.path / DEPTH_DIR).mkdir(parents=True, exist_ok=True)
            self._meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "created_utc": _utc_now(),
                          "closed_utc": None, "frame_count": None, "intrinsics": None, "depth_unit_mm": None}
            self._meta.update(jsonable(session_meta or {}))
            write_json_atomic(self.path / SESSION_JSON, self._meta)
            # Unbuffered: a failed append leaves nothing in a Python buffer to be flushed later behind our back.
            self._jsonl = open(self.path / FRAMES_JSONL, "ab", buffering=0)
        except OSError as e:
            raise RecordingError(f"cannot record into {self.path}: {e.strerror or e}") from None
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(queue_size)))
        self._start_s = time.perf_counter()
        self._end_s: float | None = None
        self._error: RecordingError | None = None
        self._accepting = True
        self._closed = False
        self._close_lock = threading.Lock()
        self.frames_written = 0
        self.bytes_written = 0
        self._thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
        self._thread.start()

    # ---- producer side (tracker thread) ----
    def write(self, frame: DepthFrame, result: dict | None = None) -> bool:
        """Queue one frame (and its result dict, copied shallowly; do not mutate its arrays afterwards).
        Returns False when recording has stopped (see .error) or the writer is closed."""
        if not self._accepting:
            return False
        if frame.depth_raw.dtype != np.uint16 or frame.depth_raw.ndim != 2:
            raise RecordingError(f"cannot record a {frame.depth_raw.dtype} depth image of shape "
                                 f"{frame.depth_raw.shape}: expected H x W uint16")
        try:
            self._queue.put((frame, dict(result) if result is not None else None), timeout=self.stall_s)
        except queue.Full:
            self._fail(f"recording stopped: the disk could not keep up (writer queue full for "
                       f"{self.stall_s:.1f} s)")
            return False
        return True

    @property
    def error(self) -> RecordingError | None:
        return self._error

    def status(self) -> RecordingStatus:
        end = self._end_s if self._end_s is not None else time.perf_counter()
        return RecordingStatus(self.frames_written, self.bytes_written, end - self._start_s, str(self.path),
                               str(self._error) if self._error else None, self._queue.qsize(), self._accepting)

    def close(self, timeout_s: float | None = None) -> RecordingStatus:
        """Write what is queued, then finish session.json (closed_utc, frame_count). Safe to call twice."""
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self._accepting = False
                self._queue.put(None)  # the thread drains (or discards after an error) until this marker
                self._thread.join(timeout_s)
                self._finish()
        return self.status()

    def __enter__(self) -> "SessionWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- writer thread ----
    def _fail(self, message: str) -> None:
        if self._error is None:
            self._error = RecordingError(f"{message}; {self.frames_written} frames saved in {self.path}")
        self._accepting = False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                break
            if self._error is not None:
                continue  # keep draining so a producer blocked in put() is released at once
            try:
                self._write_frame(*item)
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    self._fail("recording stopped: the disk is full")
                else:
                    self._fail(f"recording stopped: cannot write ({e.strerror or e})")
            except Exception as e:  # never let the thread die silently: the GUI shows .error
                self._fail(f"recording stopped: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        self._end_s = time.perf_counter()

    def _write_frame(self, frame: DepthFrame, result: dict | None) -> None:
        seq = self.frames_written
        name = depth_file_name(seq)  # our own counter: a replay that records the same index twice never collides
        final = self.path / name
        tmp = final.with_name(f".{final.name}.tmp")
        png = encode_depth_png(frame.depth_raw)
        try:
            with open(tmp, "wb") as f:
                f.write(png)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except OSError:
            tmp.unlink(missing_ok=True)  # gives the space back and leaves no junk
            raise
        line = {"index": frame.index, "frame_number": frame.frame_number, "timestamp_ms": frame.timestamp_ms,
                "arrival_s": round(frame.arrival_s - self._start_s, 6), "depth": name}
        intr = frame.intrinsics.as_dict()
        if self._meta.get("intrinsics") is None:
            self._meta["intrinsics"] = intr
            self._meta["depth_unit_mm"] = frame.intrinsics.depth_unit_mm
            write_json_atomic(self.path / SESSION_JSON, self._meta)
        elif intr != self._meta["intrinsics"]:
            line["intrinsics"] = intr
        if frame.gt_xyz_mm is not None:
            line["gt_xyz_mm"] = frame.gt_xyz_mm
            line["gt_hand"] = frame.gt_hand
        if frame.gt_hands:
            line["gt_hands"] = [{"hand": truth.hand, "xyz_mm": truth.joints_xyz_mm} for truth in frame.gt_hands]
        line["result"] = result
        data = dumps_line(line).encode("utf-8")
        before = os.fstat(self._jsonl.fileno()).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[self._jsonl.write(view):]
        except OSError:
            self._truncate_to(before)
            raise
        self.frames_written += 1
        self.bytes_written += len(png) + len(data)
        if self.frames_written % self.fsync_every == 0:
            os.fsync(self._jsonl.fileno())
            fsync_dir(self.path / DEPTH_DIR)
        if self.frames_written % _SPACE_CHECK_EVERY == 0 and self.min_free_mb > 0:
            left = free_mb(self.path)
            if left < self.min_free_mb / 2:
                self._fail(f"recording stopped: disk almost full ({left:.0f} MB left)")

    def _truncate_to(self, size: int) -> None:
        """Drop a partially appended line (best effort; the reader ignores a partial last line anyway)."""
        try:
            self._jsonl.truncate(size)
        except (OSError, ValueError):
            pass

    def _finish(self) -> None:
        try:
            os.fsync(self._jsonl.fileno())
        except (OSError, ValueError):
            pass
        try:
            self._jsonl.close()
        except OSError:
            pass
        self._meta["closed_utc"] = _utc_now()
        self._meta["frame_count"] = self.frames_written
        try:
            write_json_atomic(self.path / SESSION_JSON, self._meta)
        except OSError:
            pass  # disk full: the previous session.json stays valid and the reader counts frames itself
        fsync_dir(self.path / DEPTH_DIR)
