"""Temporal smoothing of joint positions: the One Euro filter (Casiez, Roussel, Vogel, CHI 2012).

Each coordinate is low-passed with an exponential filter whose cutoff rises with speed:
fc = min_cutoff_hz + beta * |speed|, where speed (mm/s) is itself low-passed at d_cutoff_hz. Still hands get a
low cutoff (jitter removed), fast hands a high one (little lag). The filter uses the frames' real timestamps,
so dropped frames and uneven rates are handled. Units: positions in mm, so beta is in 1/mm (a filter tuned in
metres needs beta x 1000 smaller here). Tuning: lower min_cutoff_hz until a still hand stops jittering, then
raise beta until fast motion has no visible lag. Reset on track loss (the next detection starts fresh).
Imports numpy only.
"""
from __future__ import annotations

import math
import numpy as np

from app.config import SmoothingConfig


def smoothing_alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    """Exponential smoothing factor of a first-order low-pass with the given cutoff for a step of dt_s."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, dtype=np.float64))
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """One Euro filter over an array of any shape (e.g. J x 3 joints in mm), all elements independent."""

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = config if config is not None else SmoothingConfig()
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t_s: float | None = None

    def reset(self) -> None:
        """Forget the past: the next sample passes through unchanged."""
        self._x = self._dx = self._t_s = None

    @property
    def active(self) -> bool:
        return self._x is not None

    def __call__(self, x: np.ndarray, t_s: float) -> np.ndarray:
        """Filter sample x taken at time t_s (seconds, any clock that increases). A timestamp that does not
        increase (a seek backwards, a repeated frame) restarts the filter rather than dividing by zero."""
        x = np.asarray(x, dtype=np.float64)
        cfg = self.config
        if not cfg.enabled:
            return x.copy()
        if self._x is None or self._t_s is None or t_s <= self._t_s or self._x.shape != x.shape:
            self._x, self._dx, self._t_s = x.copy(), np.zeros_like(x), float(t_s)
            return x.copy()
        dt = float(t_s) - self._t_s
        dx = (x - self._x) / dt
        a_d = smoothing_alpha(cfg.d_cutoff_hz, dt)
        self._dx = a_d * dx + (1.0 - a_d) * self._dx
        cutoff = cfg.min_cutoff_hz + cfg.beta * np.abs(self._dx)
        a = smoothing_alpha(cutoff, dt)
        self._x = a * x + (1.0 - a) * self._x
        self._t_s = float(t_s)
        return self._x.copy()
