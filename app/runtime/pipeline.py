"""The running tracker: capture thread -> frame mailbox -> tracker thread -> latest result, plus recording.
No Qt: the GUI polls latest_result()/stats() on its own timer; the CLI waits with wait_finished().

Threads: the capture thread owns the source (app/runtime/capture.py); the tracker thread owns the HandTracker
and its onnxruntime session and, for every result, updates the latest-result slot, calls the consumers
(e.g. the JSONL writer) and enqueues the frame into the SessionWriter when recording (the writer has its own
thread; the tracker never waits on the disk). Stop: one event; the source is closed to unblock a pending read;
threads are joined with a timeout; a recording in progress is finished. Any thread's exception ends the run in
state ERROR with the message as one line in stats().error.
Imports the standard library and app code only (no Qt, no onnxruntime).
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from app.config import TrackerChange
from app.errors import InputError, RecordingError
from app.mailbox import BoundedQueue, LatestSlot
from app.runtime.capture import CaptureThread
from app.runtime.recorder import RecordingControl
from app.runtime.stats import PipelineState, PipelineStats, RateMeter, RecordingStatus, one_line
from app.sources.base import FrameSource
from app.tracking.tracker import HandTracker
from app.types import TrackerResult

__all__ = ["Pipeline", "PipelineState", "PipelineStats", "RecordingStatus"]

_POLL_S = 0.1


class Pipeline:
    """source: an unopened FrameSource (the pipeline opens and closes it); tracker: a HandTracker;
    lockstep: every frame processed (True), newest frame wins (False), None = lockstep unless the source is
    live; speed: replay pacing (1.0 real time, 0 as fast as possible), None = 0 in lockstep (frame-exact
    processing) and 1.0 otherwise; hold_at_end: a seekable source that runs out waits paused at its last frame
    (for a GUI's seek bar) instead of finishing; max_frames: the run finishes after exactly this many results
    (each one passed to the consumers and the recording; in lockstep no further frame is even read), None =
    until the source ends."""

    def __init__(self, source: FrameSource, tracker: HandTracker, *, lockstep: bool | None = None,
                 speed: float | None = None, hold_at_end: bool = False, max_frames: int | None = None) -> None:
        if max_frames is not None and max_frames < 1:
            raise InputError(f"max_frames must be >= 1, got {max_frames}")
        self.source = source
        self.tracker = tracker
        self.lockstep = (not source.info.live) if lockstep is None else bool(lockstep)
        speed = (0.0 if self.lockstep else 1.0) if speed is None else float(speed)
        self._frames: LatestSlot | BoundedQueue = BoundedQueue(1) if self.lockstep else LatestSlot()
        self._results: LatestSlot[TrackerResult] = LatestSlot()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._lock = threading.Lock()
        self._state = PipelineState.IDLE
        self._error: str | None = None
        self.failure: BaseException | None = None   # the exception behind stats().error (for exit codes)
        self._consumers: list[Callable[[TrackerResult], None]] = []
        self._processed = 0
        self.max_frames = max_frames
        self._position = -1
        self._process_rate = RateMeter()
        self._capture = CaptureThread(source, self._frames, self._stop, speed=speed, on_error=self._fail,
                                      on_end=self._source_ended, hold_at_end=hold_at_end,
                                      max_frames=max_frames)
        self._tracker_thread = threading.Thread(target=self._run_tracker, name="tracker", daemon=True)
        self._recording = RecordingControl(self._session_meta)

    # ---- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._state != PipelineState.IDLE:
                raise InputError(f"pipeline already started (state {self._state.value})")
            self._state = PipelineState.RUNNING
        self._capture.start()
        self._tracker_thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop both threads, close the source and finish a recording in progress. Safe to call twice."""
        self._stop.set()
        try:
            self.source.close()       # unblocks a read that waits on the device or file
        except Exception as exc:      # a failing close must not keep the other threads running
            self._note_error(exc)
        self._frames.close()
        deadline = time.perf_counter() + timeout_s
        for thread in (self._capture, self._tracker_thread):
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.perf_counter()))
        self._recording.stop()
        with self._lock:
            if self._state in (PipelineState.RUNNING, PipelineState.PAUSED, PipelineState.IDLE):
                self._state = PipelineState.STOPPED
        self._results.close()
        self._finished.set()

    def wait_finished(self, timeout_s: float | None = None) -> bool:
        """True once the source has been fully processed, or the pipeline stopped or failed."""
        return self._finished.wait(timeout_s)

    # ---- results and stats --------------------------------------------------------------------------------
    def latest_result(self) -> TrackerResult | None:
        return self._results.peek()

    def add_consumer(self, fn: Callable[[TrackerResult], None]) -> None:
        """fn(result) runs on the tracker thread for every result, in order; an exception stops the run."""
        with self._lock:
            self._consumers.append(fn)

    def stats(self) -> PipelineStats:
        info = self.source.info
        with self._lock:
            state, error, processed, position = self._state, self._error, self._processed, self._position
        if state == PipelineState.RUNNING and self._capture.paused:
            state = PipelineState.PAUSED
        return PipelineStats(
            state=state, frames_captured=self._capture.frames_captured, frames_processed=processed,
            frames_dropped=self._frames.dropped, capture_fps=round(self._capture.rate.rate_hz(), 2),
            process_fps=round(self._process_rate.rate_hz(), 2), provider=self.tracker.estimator.provider,
            model_name=self.tracker.estimator.model_name, source_name=info.name, position=position,
            frame_count=info.frame_count, error=error)

    # ---- replay control -----------------------------------------------------------------------------------
    def pause(self) -> None:
        self._capture.pause()

    def resume(self) -> None:
        self._capture.resume()

    def step(self, n: int = 1) -> None:
        self._capture.step(n)

    def seek(self, index: int) -> None:
        """Continue from frame `index` (seekable sources only; InputError otherwise). The tracker's history
        is reset by the jump in frame index."""
        if not self._capture.is_alive():
            raise InputError("the run has ended: start the source again to replay it "
                             "(or build the pipeline with hold_at_end=True)")
        self._capture.seek(index)
        with self._lock:
            if self._state == PipelineState.FINISHED:
                self._state = PipelineState.RUNNING
        self._finished.clear()

    def set_speed(self, factor: float) -> None:
        self._capture.set_speed(factor)

    def update_tracker(self, change: TrackerChange) -> None:
        """Apply a live settings change to the tracker (thread-safe; takes effect from the next frame)."""
        self.tracker.update(change)

    # ---- recording ----------------------------------------------------------------------------------------
    def start_recording(self, directory: str) -> None:
        """Record raw frames and results into a session folder. RecordingError (one line) if it cannot."""
        if self._stop.is_set():
            raise RecordingError("cannot record: the pipeline is stopped")
        self._recording.start(directory)

    def stop_recording(self) -> None:
        self._recording.stop()

    def recording_status(self) -> RecordingStatus | None:
        return self._recording.status()

    def _session_meta(self) -> dict:
        info, est = self.source.info, self.tracker.estimator
        return {"source": {"kind": str(info.kind), "name": info.name, "live": info.live, "fps": info.fps,
                           "frame_count": info.frame_count, "device": dict(info.device)},
                "tracker_config": self.tracker.config.to_dict(), "model": est.model_name,
                "model_info": _model_info_dict(est.info), "provider": est.provider}

    # ---- threads ------------------------------------------------------------------------------------------
    def _run_tracker(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self._frames.get(_POLL_S)
                if frame is None:
                    if self._frames.closed:
                        break
                    self._check_held_at_end()
                    continue
                result = self.tracker.process(frame)
                with self._lock:
                    self._processed += 1
                    self._position = frame.index
                    consumers = list(self._consumers)
                self._process_rate.tick()
                self._results.put(result)
                for fn in consumers:
                    fn(result)
                self._recording.write(frame, result)
                if self.max_frames is not None and self._processed >= self.max_frames:
                    break   # exactly max_frames results: finish as if the source had ended here
                self._check_held_at_end()
        except BaseException as exc:
            self._fail(exc)
            return
        if not self._stop.is_set():
            try:
                self._recording.stop()     # the source is exhausted: finish the session on disk
            except BaseException as exc:
                self._fail(exc)
                return
        with self._lock:
            stopped = self._stop.is_set()
            if not stopped and self._state in (PipelineState.RUNNING, PipelineState.PAUSED):
                self._state = PipelineState.FINISHED
        if not stopped:
            self._finished.set()   # else stop() or _fail() sets it, once the recording is finished on disk

    def _check_held_at_end(self) -> None:
        if self._capture.at_end and self._capture.hold_at_end and len(self._frames) == 0:
            self._finished.set()

    def _source_ended(self) -> None:
        pass   # the capture thread closes the frame mailbox; the tracker drains it and finishes

    def _note_error(self, exc: BaseException) -> None:
        with self._lock:
            if self._error is None:
                self._error = one_line(exc)
                self.failure = exc

    def _fail(self, exc: BaseException) -> None:
        """A thread failed: record one line, stop everything, wake waiters."""
        self._note_error(exc)
        with self._lock:
            self._state = PipelineState.ERROR
        self._stop.set()
        self._frames.close()
        try:
            self.source.close()
        except Exception:
            pass   # the first error is the one the user needs
        self._recording.stop()
        self._finished.set()


def _model_info_dict(info) -> dict:
    import json
    return json.loads(info.to_json())
