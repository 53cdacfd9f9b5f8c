"""Real-time pacing for recorded sources: release each frame when its recorded timestamp says, relative to the
first frame after a start or seek. Imports the standard library only.
"""
from __future__ import annotations

import threading
import time


class Pacer:
    """enabled=False: never waits (frame-exact, as fast as the consumer reads). enabled=True: frame k is held
    until start + (timestamp_k - timestamp_first); a consumer that falls behind is not made to catch up by
    skipping (sources never drop frames), it simply gets the next frame at once. `stop` interrupts a wait."""

    def __init__(self, enabled: bool, stop: threading.Event | None = None) -> None:
        self.enabled = enabled
        self._stop = stop or threading.Event()
        self._origin: tuple[float, float] | None = None  # (host perf_counter s, frame timestamp ms)

    def reset(self) -> None:
        """Restart the clock at the next frame (after a seek or a pause)."""
        self._origin = None

    def wait(self, timestamp_ms: float) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if self._origin is None or timestamp_ms < self._origin[1]:
            self._origin = (now, timestamp_ms)
            return
        due = self._origin[0] + (timestamp_ms - self._origin[1]) / 1000.0
        if due > now:
            self._stop.wait(due - now)
