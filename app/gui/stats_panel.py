"""The stats panel: what is running (state, source, model, execution provider) and how fast (capture, processing
and display rates, dropped frames, per-stage latency as a live plot, capture-to-display latency percentiles).

Capture-to-display latency = host time when the window finished drawing a result - the frame's arrival_s (both
time.perf_counter()). Imports PySide6, pyqtgraph, numpy and app foundation; reads PipelineStats by attribute.
"""
from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.gui import theme
from app.gui.controls import ElidedLabel
from app.types import STAGES, TrackerResult

HISTORY_FRAMES = 300
PLOTTED = STAGES + ("end_to_end", "display")
PLOT_LABELS = {"end_to_end": "arrival→result", "display": "arrival→display"}
FIELDS = (
    ("state", "State"), ("source", "Source"), ("model", "Model"), ("provider", "Provider"),
    ("capture_fps", "Capture"), ("process_fps", "Processing"), ("display_fps", "Display"),
    ("dropped", "Dropped frames"), ("infer", "Inference"), ("end_to_end", "Arrival → result"),
    ("display_latency", "Arrival → display"),
)


class StatsPanel(QtWidgets.QWidget):
    """add_result() feeds the latency history; show_stats() refreshes labels and the plot (call a few Hz)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._history = {name: deque(maxlen=HISTORY_FRAMES) for name in PLOTTED}
        self._frame_index: deque[int] = deque(maxlen=HISTORY_FRAMES)

        card = QtWidgets.QFrame()
        card.setObjectName("card")
        form = QtWidgets.QGridLayout(card)
        form.setContentsMargins(10, 6, 10, 6)
        form.setVerticalSpacing(2)
        form.setHorizontalSpacing(10)
        self.values: dict[str, QtWidgets.QLabel] = {}
        rows = (len(FIELDS) + 1) // 2
        for index, (key, text) in enumerate(FIELDS):   # two columns of name/value pairs
            row, col = index % rows, 2 * (index // rows)
            name = QtWidgets.QLabel(text)
            name.setStyleSheet(f"color: {theme.TEXT_DIM};")
            value = ElidedLabel()   # a narrow panel cuts values short (whole text in the tooltip)
            value.set_full_text("—")
            value.setObjectName("statValue")
            value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addWidget(name, row, col)
            form.addWidget(value, row, col + 1)
            self.values[key] = value
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)

        self.plot = pg.PlotWidget()
        self.plot.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)   # keys stay with the window's shortcuts
        self.plot.setLabel("left", "latency", units="ms")
        self.plot.setLabel("bottom", "frame")
        # No grid: pyqtgraph draws grid lines inside its axis items, which then cost ~10 ms per repaint here.
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.legend = self.plot.addLegend(offset=(6, 4), colCount=4, labelTextSize="8pt",
                                          brush=pg.mkBrush(22, 24, 29, 210))
        self.curves = {}
        for name in PLOTTED:
            width = 2 if name in ("infer", "display") else 1.5
            self.curves[name] = self.plot.plot(pen=pg.mkPen(theme.STAGE_COLOURS[name], width=width),
                                               name=PLOT_LABELS.get(name, name))

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(card)
        layout.addWidget(self.plot, 1)

    def add_result(self, result: TrackerResult, display_latency_ms: float) -> None:
        timings = result.timings
        for name in STAGES + ("end_to_end",):
            self._history[name].append(float(getattr(timings, name)))
        self._history["display"].append(float(display_latency_ms))
        self._frame_index.append(int(result.frame.index))

    def clear_history(self) -> None:
        for values in self._history.values():
            values.clear()
        self._frame_index.clear()

    def history(self, name: str) -> np.ndarray:
        return np.array(self._history[name], dtype=np.float64)

    def display_latency_percentiles(self) -> tuple[float, float] | None:
        """(p50, p95) capture-to-display latency in ms over the recent history, None before any frame."""
        values = self.history("display")
        if values.size == 0:
            return None
        return float(np.percentile(values, 50)), float(np.percentile(values, 95))

    def show_stats(self, stats, display_fps: float, recording_text: str = "", update_ms: float | None = None) -> None:
        """Refresh the labels from a PipelineStats (or None when no pipeline) and redraw the plot; update_ms: the
        window's time to update its views for one result (median)."""
        v = self.values
        if stats is None:
            v["source"].set_full_text("—")
            for key in ("state", "capture_fps", "process_fps", "dropped"):
                v[key].setText("—")
        else:
            state = getattr(stats.state, "value", str(stats.state))
            v["state"].setText(state + (f"  ·  {recording_text}" if recording_text else ""))
            v["source"].set_full_text(str(stats.source_name))
            v["model"].set_full_text(str(stats.model_name))
            v["provider"].setText(str(stats.provider))
            v["capture_fps"].setText(f"{stats.capture_fps:5.1f} fps")
            v["process_fps"].setText(f"{stats.process_fps:5.1f} fps")
            dropped_share = stats.frames_dropped / max(stats.frames_captured, 1)
            v["dropped"].setText(f"{stats.frames_dropped}  ({100.0 * dropped_share:.1f} %)")
        v["display_fps"].setText(f"{display_fps:5.1f} fps" + ("" if update_ms is None else
                                                             f"  ·  update {update_ms:.1f} ms"))
        for key, name in (("infer", "infer"), ("end_to_end", "end_to_end")):
            values = self.history(name)
            v[key].setText("—" if values.size == 0 else f"{np.median(values[-30:]):6.1f} ms")
        percentiles = self.display_latency_percentiles()
        v["display_latency"].setText("—" if percentiles is None else
                                     f"p50 {percentiles[0]:5.1f} ms  ·  p95 {percentiles[1]:5.1f} ms")
        x = np.array(self._frame_index, dtype=np.float64)
        for name, curve in self.curves.items():
            values = self.history(name)
            n = min(values.size, x.size)
            curve.setData(x[-n:], values[-n:]) if n else curve.setData([], [])

    def set_model(self, model_name: str, provider: str) -> None:
        """Before the first stats arrive, say which model and provider were asked for."""
        self.values["model"].set_full_text(model_name)
        self.values["provider"].setText(provider)
