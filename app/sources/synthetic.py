"""Synthetic depth source: an animated right or left hand (app.synth.motion), or both hands of a person crossing
and separating (hands=2, app.synth.two_hand_motion), with ground-truth joints, for demos, tests and benchmarks
without a camera. Imports numpy and app only.

Rendering a noisy 640x480 frame costs tens of milliseconds, so frames are rendered once into a loop (the motion
is periodic with the loop's length, so replay has no seam) by a background thread started at open(), and
replayed from memory: after the first pass any frame rate is sustainable. A read that needs a frame the thread
has not rendered yet waits for it. realtime=True paces reads to fps like a camera (and skips frames when the
reader falls behind); realtime=False returns frames as fast as they are asked for, in order.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace

from app.camera import Intrinsics
from app.config import Hand, parse_hand
from app.errors import InputError, SourceError
from app.sources.base import FrameSource, SourceInfo
from app.sources.spec import SourceKind
from app.synth.motion import HandAnimator
from app.synth.two_hand_motion import DEFAULT_PERIOD_S, TwoHandAnimator
from app.types import DepthFrame, readonly

# A typical Intel RealSense D435 depth stream at 640x480 (hands.md: D435 f ~ 383-390 px); real sources read
# their intrinsics from the device.
D435_LIKE = Intrinsics(640, 480, 385.0, 385.0, 320.0, 240.0)
RENDER_WAIT_S = 30.0  # the longest a read waits for the render thread, whatever its timeout
SYNTHETIC_HANDS = (1, 2)   # hands the synthetic source can show (--synthetic-hands)
MAX_LOOP_FRAMES = 240  # ~150 MB of 640x480 frames; at high fps the loop gets shorter rather than bigger


class SyntheticSource(FrameSource):
    """seed: motion, hand shape and noise; intrinsics: None = D435-like 640x480; fps: frame rate (Hz); hand:
    'right' | 'left'; frame_count: None = endless, else the number of frames (then seekable); realtime: pace
    reads to fps; loop_s: length of the rendered motion loop in seconds (frames repeat after it; at most
    MAX_LOOP_FRAMES frames are kept, so at high fps the loop is shorter); hands: 1 (the given hand) or 2 (both
    hands, their ground truth in DepthFrame.gt_hands; hand is then ignored)."""

    def __init__(self, seed: int = 0, intrinsics: Intrinsics | None = None, fps: float = 30.0, hand: Hand | str = Hand.RIGHT,
                 frame_count: int | None = None, realtime: bool = True, loop_s: float = 4.0, hands: int = 1) -> None:
        if not fps > 0:
            raise InputError(f"synthetic source: fps must be positive, got {fps}")
        if frame_count is not None and frame_count <= 0:
            raise InputError(f"synthetic source: frame count must be positive, got {frame_count}")
        hand = parse_hand(hand, "synthetic source: hand")
        if hands not in SYNTHETIC_HANDS:
            raise InputError(f"synthetic source: hands must be 1 or 2, got {hands}")
        self.hands = int(hands)
        if not loop_s > 0:
            raise InputError(f"synthetic source: loop length must be positive seconds, got {loop_s}")
        self.seed, self.fps, self.hand, self.realtime = int(seed), float(fps), hand, bool(realtime)
        self.intrinsics = intrinsics if intrinsics is not None else D435_LIKE
        self.frame_count = frame_count
        self.loop_frames = min(max(1, int(round(loop_s * fps))), MAX_LOOP_FRAMES)
        # A short finite stream is rendered whole with non-repeating motion.
        self._period_s: float | None = self.loop_frames / self.fps
        if frame_count is not None and frame_count <= self.loop_frames:
            self.loop_frames, self._period_s = frame_count, None
        what = f"{hand} hand" if self.hands == 1 else "two hands"
        self._info = SourceInfo(kind=SourceKind.SYNTHETIC, name=f"synthetic {what} (seed {seed})", live=self.realtime,
                                frame_count=frame_count, seekable=frame_count is not None, fps=self.fps,
                                device={"intrinsics": self.intrinsics.as_dict(), "seed": self.seed,
                                        "loop_frames": self.loop_frames, "hands": self.hands})
        # Per loop slot: (depth_raw, joints_xyz_mm or gt_hands), read-only, or None until rendered.
        self._frames: list[tuple | None] = [None] * self.loop_frames
        self._cond = threading.Condition()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._opened = False
        self._error: BaseException | None = None
        self._next = 0            # frame number the next read returns
        self._index = 0           # gap-free index of delivered frames
        self._start_s = 0.0

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> None:
        if self._opened:
            return
        self._opened = True
        self._closed.clear()
        self._thread = threading.Thread(target=self._render_loop, name="synthetic-render", daemon=True)
        self._thread.start()
        self._start_s = time.perf_counter()

    def _render_loop(self) -> None:
        try:
            if self.hands == 1:
                animator = HandAnimator(self.seed, self.intrinsics, self.hand, period_s=self._period_s)
            else:
                animator = TwoHandAnimator(self.seed, self.intrinsics,
                                           period_s=self._period_s or DEFAULT_PERIOD_S)
            for slot in range(self.loop_frames):
                if self._closed.is_set():
                    return
                # The clean depth is dropped: only what frames carry is kept.
                if self.hands == 1:
                    sample = animator.next_frame(slot / self.fps)
                    kept = (readonly(sample.depth_raw), readonly(sample.joints_xyz_mm))
                else:
                    sample = animator.frame(slot / self.fps)
                    kept = (readonly(sample.depth_raw), sample.ground_truths())
                with self._cond:
                    self._frames[slot] = kept
                    self._cond.notify_all()
        except BaseException as exc:  # reported by the next read
            with self._cond:
                self._error = exc
                self._cond.notify_all()

    def _sample(self, slot: int) -> tuple | None:
        with self._cond:
            deadline = time.perf_counter() + RENDER_WAIT_S
            while self._frames[slot] is None and self._error is None and not self._closed.is_set():
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise SourceError("synthetic source: rendering stalled")
                self._cond.wait(min(left, 0.1))
            if self._error is not None:
                raise SourceError(f"synthetic source: rendering failed ({self._error})")
            return self._frames[slot]

    def read(self, timeout_s: float = 1.0) -> DepthFrame | None:
        if not self._opened:
            raise SourceError("synthetic source: read() before open()")
        if self._closed.is_set():
            return None
        number = self._next
        if self.frame_count is not None and number >= self.frame_count:
            return None
        if self.realtime:
            now = time.perf_counter()
            due = self._start_s + number / self.fps
            behind = int((now - due) * self.fps)
            if behind >= 1:  # like a camera: frames that passed while nobody read are gone
                number += behind
                if self.frame_count is not None and number >= self.frame_count:
                    return None
            elif due > now:
                if self._closed.wait(due - now):
                    return None
        sample = self._sample(number % self.loop_frames)
        if sample is None:
            return None
        depth_raw, truth = sample
        frame = DepthFrame(index=self._index, frame_number=number, timestamp_ms=number * 1000.0 / self.fps,
                           arrival_s=time.perf_counter(), depth_raw=depth_raw, intrinsics=self.intrinsics)
        if self.hands == 1:
            frame = replace(frame, gt_xyz_mm=truth, gt_hand=self.hand)
        else:
            frame = replace(frame, gt_hands=truth)
        self._index += 1
        self._next = number + 1
        return frame

    def seek(self, index: int) -> None:
        if self.frame_count is None:
            raise NotImplementedError(f"{self.info.name} is endless and cannot seek")
        if not 0 <= index < self.frame_count:
            raise InputError(f"synthetic source: frame {index} is outside 0..{self.frame_count - 1}")
        self._next = int(index)
        self._index = int(index)
        # Realtime pacing restarts from the sought frame.
        self._start_s = time.perf_counter() - index / self.fps

    def close(self) -> None:
        self._closed.set()
        with self._cond:
            self._cond.notify_all()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)

    def rendered_frames(self) -> int:
        """How many loop frames are rendered so far (for progress displays)."""
        with self._cond:
            return sum(f is not None for f in self._frames)


