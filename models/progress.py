"""Progress bars for the long jobs (rendering, training, evaluation): tqdm, with a plain-text fallback.

tqdm is a development dependency (requirements-dev.txt); a bare GPU machine that has only torch, numpy and
OpenCV (models/gpu_recipe.py) may lack it, and then the same calls print one plain line at most every
`PLAIN_EVERY_S` seconds (and at the end) with the count, rate, elapsed time and ETA. Both go to stderr, both are
silent with quiet=True.

    with progress_bar(total=2000, desc="evaluate", unit="frame") as bar:
        for ...: bar.update(1)

For a time-budgeted loop the total is the budget in seconds and the bar is advanced by elapsed time, so its ETA
is the real remaining time, not an estimate (`bar.update_to(elapsed_s)`).
"""
from __future__ import annotations

import sys
import time

PLAIN_EVERY_S = 10.0


class _Plain:
    """The fallback: a line like 'train: 120/600 s (20%) 3.1 s/s, 38 s elapsed, eta 153 s | loss 0.01'."""

    def __init__(self, total: float, desc: str, unit: str, quiet: bool):
        self.total, self.desc, self.unit, self.quiet = total, desc, unit, quiet
        self.n = 0.0
        self.postfix = ""
        self.started = time.perf_counter()
        self._last_print = -1e9

    def update(self, n: float = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self._last_print >= PLAIN_EVERY_S:
            self._last_print = now
            self._print()

    def update_to(self, value: float) -> None:
        self.update(value - self.n)

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text

    def write(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def _print(self) -> None:
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.started
        rate = self.n / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.n) / rate if rate > 0 else float("inf")
        pct = 100.0 * self.n / self.total if self.total else 100.0
        tail = f" | {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {self.n:.0f}/{self.total:.0f} {self.unit} ({pct:.0f}%) {rate:.1f} {self.unit}/s, "
              f"{elapsed:.0f} s elapsed, eta {eta:.0f} s{tail}", file=sys.stderr, flush=True)

    def close(self) -> None:
        self._print()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(total: float, desc: str, unit: str = "it", quiet: bool = False):
    """A tqdm bar (or the plain fallback) with update(n), update_to(value), set_postfix_str, write, close."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _Plain(total, desc, unit, quiet)

    class _Bar(tqdm):
        def update_to(self, value: float) -> None:
            self.update(value - self.n)

        def write(self, text: str) -> None:          # a message above the bar, on stderr like the bar
            if not self.disable:
                tqdm.write(text, file=sys.stderr)

    return _Bar(total=total, desc=desc, unit=unit, disable=quiet, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5, smoothing=0.1)
