"""The capture thread: the only user of the frame source. It opens the source, reads frames, stamps their
arrival time and hands them to the tracker thread.

Live sources go into a LatestSlot (a slow tracker sees the newest frame; older ones are dropped and counted).
Recordings go into a BoundedQueue of one (lockstep: every frame is processed, results are deterministic).
Replay control for finite sources: pause / resume / step(n) / seek(index) / set_speed(factor), where speed 1.0
paces frames by their timestamps in real time, 2.0 twice as fast, and 0 means as fast as the tracker goes.
On a live source, pause discards frames (the camera keeps streaming) and step(n) lets n through.

Commands change shared state under one condition lock and bump a control generation. The capture thread notes
the generation when it starts a read; a result that a later command made stale is re-evaluated instead of acted
on, so a command is never lost to a read that was already in flight (e.g. seek + resume sent while the read that
finds the end of the stream is running: the thread seeks and plays on instead of pausing at the end; a seek
sent while a frame is being read or paced drops that frame, so the frame sought is the next one delivered).
Imports the standard library and app foundation only.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from typing import Callable

from app.errors import InputError
from app.mailbox import BoundedQueue, LatestSlot
from app.runtime.stats import RateMeter
from app.sources.base import FrameSource

_FAILURE_DRAIN_S = 2.0
_POLL_S = 0.1   # how often a waiting capture thread looks at stop/pause/seek requests


class CaptureThread(threading.Thread):
    """source: an unopened FrameSource; out: where frames go; stop: the pipeline's stop event;
    on_error(exc): called once if the source fails; on_end(): called when a finite source runs out (or, with
    hold_at_end on a seekable source, when it reaches the end and waits there for a seek); max_frames: in
    lockstep, the stream ends after this many frames were handed over (the next one is never read), so a run
    limited to N frames reads, processes and records exactly N (None = no limit; a live source's frames are
    limited by the tracker instead, since some of them are dropped)."""

    def __init__(self, source: FrameSource, out: LatestSlot | BoundedQueue, stop: threading.Event, *,
                 speed: float, on_error: Callable[[BaseException], None], on_end: Callable[[], None],
                 hold_at_end: bool = False, max_frames: int | None = None) -> None:
        super().__init__(name="capture", daemon=True)
        self.source = source
        self.out = out
        self.stop_event = stop
        self.live = source.info.live
        self.lockstep = isinstance(out, BoundedQueue)
        self.hold_at_end = hold_at_end and source.info.seekable
        self.max_frames = max_frames if self.lockstep else None
        self._on_error, self._on_end = on_error, on_end
        self._cond = threading.Condition()
        self._paused = False
        self._steps = 0
        self._seek_to: int | None = None
        self._gen = 0          # bumped by every pause/resume/step/seek: which reads a command made stale
        self._ended = False    # a finite source ran out and the thread is finishing: seeks are refused
        self._speed = float(speed)
        self._pace_ref: tuple[float, float] | None = None   # (wall perf_counter s, frame timestamp ms)
        self.frames_captured = 0
        self.at_end = False
        self.rate = RateMeter()

    # ---- control (any thread) -----------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._command()

    def resume(self) -> None:
        with self._cond:
            self._paused, self._steps, self._pace_ref = False, 0, None
            self._command()

    def step(self, n: int = 1) -> None:
        """While paused, let n more frames through (then stay paused)."""
        if n < 1:
            raise InputError(f"step needs n >= 1, got {n}")
        with self._cond:
            self._paused = True
            self._steps += int(n)
            self._pace_ref = None
            self._command()

    def seek(self, index: int) -> None:
        """Next frame delivered is `index`; when paused, that one frame is delivered so it is shown."""
        info = self.source.info
        if not info.seekable:
            raise InputError(f"{info.name} cannot seek (live or sequential source)")
        if index < 0 or (info.frame_count is not None and index >= info.frame_count):
            raise InputError(f"seek: frame {index} is outside 0..{(info.frame_count or 1) - 1}")
        with self._cond:
            if self._ended:
                raise InputError("the run has ended: the source cannot seek any more")
            self._seek_to = int(index)
            self._pace_ref = None
            self.at_end = False   # at once, so nobody sees "held at the end" between this seek and its frame
            if self._paused:
                self._steps = max(self._steps, 1)
            self._command()

    def _command(self) -> None:
        """A control command changed the state (caller holds the lock): reads in flight are now stale."""
        self._gen += 1
        self._cond.notify_all()

    def set_speed(self, factor: float) -> None:
        if not factor >= 0:
            raise InputError(f"speed must be >= 0 (0 = as fast as possible), got {factor}")
        with self._cond:
            self._speed, self._pace_ref = float(factor), None
            self._cond.notify_all()   # a frame waiting to be due is re-timed at the new speed

    @property
    def speed(self) -> float:
        return self._speed

    # ---- thread -------------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self.source.open()
            self._loop()
        except BaseException as exc:   # reported as one line by the pipeline, never a traceback
            if not self.stop_event.is_set():
                if self.lockstep:
                    # Frames read before the failure are processed first (bounded wait).
                    self.out.wait_for_taker(_FAILURE_DRAIN_S)
                self._on_error(exc)
        finally:
            self.out.close()

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            if self.max_frames is not None and self.frames_captured >= self.max_frames:
                self._limit_reached()
                return
            gen = self._ready_to_read()
            if gen is None:
                continue
            # Lockstep reads the next frame while the tracker still processes the previous one (decoding
            # overlaps inference); _deliver hands it over when the tracker waits for it.
            frame = self.source.read(timeout_s=1.0)
            if self.stop_event.is_set():
                return
            if frame is None:
                if self._reached_end(gen):
                    return
                continue
            if frame.arrival_s <= 0:
                frame = dataclasses.replace(frame, arrival_s=time.perf_counter())
            if self._pace(frame.timestamp_ms, gen):
                return
            if not self._admit():
                continue
            self.frames_captured += 1
            self.rate.tick()
            if not self._deliver(frame):
                return

    def _ready_to_read(self) -> int | None:
        """Apply a pending seek; wait (briefly) while paused with no steps left on a finite source. The control
        generation the coming read starts under, or None when it should not read now."""
        with self._cond:
            if self._seek_to is not None:
                self.source.seek(self._seek_to)
                self._seek_to = None
            if self._paused and self._steps == 0 and not self.live:
                self._cond.wait(_POLL_S)
                return None
            return self._gen

    def _admit(self) -> bool:
        """After the read (and pacing): does the frame go on? Counts a step when paused."""
        with self._cond:
            if self._seek_to is not None:
                # Sent while this frame was read or paced: the frame is from before the jump. Dropping it
                # keeps the step a paused seek granted for the frame sought (applied by the next loop).
                return False
            if self._paused and self._steps == 0:
                # A paused camera's frames are discarded. A replay's frame that was in flight when the pause
                # came is delivered: the source has moved past it, so dropping it would skip it for good.
                return not self.live
            if self._paused:
                self._steps -= 1
            return True

    def _limit_reached(self) -> None:
        """max_frames frames were handed over: the stream ends here, like a source that ran out."""
        with self._cond:
            self.at_end, self._ended = True, True
        self._on_end()

    def _reached_end(self, gen: int) -> bool:
        """End of a finite stream (found by a read that started under generation `gen`): finish, or
        (hold_at_end) wait paused at the end for a seek. True when the thread should finish."""
        with self._cond:
            if self._gen != gen:
                # A command came while the end was being read (e.g. seek + resume from a GUI at the last
                # frame): act on it rather than pause over it. If it does not move the source, the next read
                # finds the end again under the new generation and lands here with nothing pending.
                return False
            self.at_end = True
            if self.hold_at_end:
                self._paused, self._steps = True, 0
            else:
                self._ended = True
        self._on_end()
        return not self.hold_at_end

    def _pace(self, timestamp_ms: float, gen: int) -> bool:
        """Real-time pacing of recordings by their timestamps (speed > 0): wait until the frame is due. A
        command sent since the read started (generation `gen`) ends the wait at once (_admit then decides) and a
        speed change re-times it, so a seek is not stuck behind a long wait at a slow speed. True when stopped."""
        if self.live:
            return False
        with self._cond:
            while not self.stop_event.is_set():
                if self._speed <= 0 or self._gen != gen:
                    return False
                if self._pace_ref is None or timestamp_ms < self._pace_ref[1]:
                    self._pace_ref = (time.perf_counter(), timestamp_ms)
                wall0, ts0 = self._pace_ref
                remaining_s = wall0 + (timestamp_ms - ts0) / 1e3 / self._speed - time.perf_counter()
                if remaining_s <= 0:
                    return False
                self._cond.wait(min(remaining_s, _POLL_S))   # woken by commands; polls the stop event
        return True

    def _deliver(self, frame) -> bool:
        if not self.lockstep:
            return self.out.put(frame)
        while not self.stop_event.is_set():
            if not self.out.wait_for_taker(_POLL_S):
                if self.out.closed:
                    return False
                continue
            # A recording's frame "arrives" when it is handed to the waiting tracker: its latency is then the
            # tracker's processing time, as for a camera delivering frames at this pace, not the time it was
            # held while the previous frame was processed.
            if self.out.put(dataclasses.replace(frame, arrival_s=time.perf_counter()), timeout_s=_POLL_S):
                return True
            if self.out.closed:
                return False
        return False
