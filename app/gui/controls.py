"""The window's two control bars, which only emit what the user asked for (the main window acts on it):

SourceBar (top): source choice (synthetic hand / RealSense camera / a recording), start/stop, record with its
elapsed time and size, screenshot and shortcut help. TimelineBar (bottom): play/pause, step, a seek slider with
"n/N" and the replay speed; disabled for live sources. Imports PySide6 only.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.gui.source_choice import SourceChoice
from app.gui import theme

SPEEDS = ((0.25, "0.25×"), (0.5, "0.5×"), (1.0, "1×"), (2.0, "2×"), (4.0, "4×"), (0.0, "max"))


def format_bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def format_elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}" if seconds < 3600 else \
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _button(text: str, tooltip: str, checkable: bool = False) -> QtWidgets.QPushButton:
    button = QtWidgets.QPushButton(text)
    button.setToolTip(tooltip)
    button.setCheckable(checkable)
    button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)   # keys stay with the window's shortcuts
    return button


class ElidedLabel(QtWidgets.QLabel):
    """A one-line label that shows as much of its text as fits, ending in '…', with the whole text as its
    tooltip (long error messages in the status bar)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.full_text = ""
        self.setMinimumWidth(40)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self._elide()

    def setText(self, text: str) -> None:   # noqa: N802 (Qt's name): the same as set_full_text
        if text != self.full_text:
            self.set_full_text(text)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        super().setText(metrics.elidedText(self.full_text, QtCore.Qt.TextElideMode.ElideRight,
                                           max(self.width(), 10)))


class SourceBar(QtWidgets.QWidget):
    """source_requested(kind) when the user picks a source kind; start_stop_clicked; record_toggled(bool);
    screenshot_clicked; help_clicked."""

    source_requested = QtCore.Signal(str)
    start_stop_clicked = QtCore.Signal()
    record_toggled = QtCore.Signal(bool)
    screenshot_clicked = QtCore.Signal()
    help_clicked = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_combo = QtWidgets.QComboBox()
        for choice in SourceChoice:
            self.source_combo.addItem(choice.label, str(choice))
        self.source_combo.setToolTip("where frames come from (Ctrl+O opens a recording)")
        self.source_combo.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.source_label = ElidedLabel()
        self.source_label.set_full_text("no source")
        self.source_label.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.source_label.setMinimumWidth(160)
        self.start_button = _button("▶  Start", "start or stop the tracker (F5)")
        self.record_button = _button("●  Record", "record raw depth and results into a session folder (R)", True)
        self.record_button.setObjectName("recordButton")
        self.record_label = QtWidgets.QLabel("")
        self.record_label.setObjectName("statValue")
        self.screenshot_button = _button("Screenshot", "save a picture of the window (S)")
        self.help_button = _button("?", "keyboard shortcuts (F1)")
        title = QtWidgets.QLabel("HAND TRACKER")
        title.setStyleSheet(f"color: {theme.ACCENT}; font-weight: bold; letter-spacing: 2px;")

        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 2)
        layout.addWidget(title)
        layout.addSpacing(16)
        layout.addWidget(QtWidgets.QLabel("Source"))
        layout.addWidget(self.source_combo)
        layout.addWidget(self.source_label, 1)
        layout.addWidget(self.start_button)
        layout.addSpacing(12)
        layout.addWidget(self.record_button)
        layout.addWidget(self.record_label)
        layout.addSpacing(12)
        layout.addWidget(self.screenshot_button)
        layout.addWidget(self.help_button)

        self.source_combo.activated.connect(lambda i: self.source_requested.emit(self.source_combo.itemData(i)))
        self.start_button.clicked.connect(self.start_stop_clicked)
        self.record_button.clicked.connect(self.record_toggled)
        self.screenshot_button.clicked.connect(self.screenshot_clicked)
        self.help_button.clicked.connect(self.help_clicked)

    def set_source(self, choice: SourceChoice | None, name: str) -> None:
        """Show the current source (without emitting source_requested)."""
        index = self.source_combo.findData(str(choice)) if choice else -1
        if index >= 0:
            self.source_combo.setCurrentIndex(index)
        self.source_label.set_full_text(name)

    def set_running(self, running: bool) -> None:
        self.start_button.setText("■  Stop" if running else "▶  Start")

    def set_recording(self, status_text: str | None) -> None:
        """status_text None: not recording; else what to show next to the (checked) record button."""
        self.record_button.setChecked(status_text is not None)
        self.record_label.setText(status_text or "")
        self.record_label.setStyleSheet(f"color: {theme.RECORD_RED};" if status_text else "")


class TimelineBar(QtWidgets.QWidget):
    """play_pause_clicked; step_requested(n) (n < 0 steps back); seek_requested(index); speed_changed(factor),
    factor 0 = as fast as possible."""

    play_pause_clicked = QtCore.Signal()
    step_requested = QtCore.Signal(int)
    seek_requested = QtCore.Signal(int)
    speed_changed = QtCore.Signal(float)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.back_button = _button("◀◀", "step one frame back (←)")
        self.play_button = _button("❚❚  Pause", "play / pause (Space)")
        self.forward_button = _button("▶▶", "step one frame forward (→)")
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.slider.setToolTip("seek (Home / End jump to the ends)")
        self.position_label = QtWidgets.QLabel("live")
        self.position_label.setObjectName("statValue")
        self.position_label.setMinimumWidth(110)
        self.position_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.speed_combo = QtWidgets.QComboBox()
        for factor, text in SPEEDS:
            self.speed_combo.addItem(text, factor)
        self.speed_combo.setCurrentIndex(2)
        self.speed_combo.setToolTip("replay speed (+ / -); max = as fast as the tracker runs")
        self.speed_combo.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)

        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 6)
        for widget in (self.back_button, self.play_button, self.forward_button):
            layout.addWidget(widget)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.position_label)
        layout.addSpacing(12)
        layout.addWidget(QtWidgets.QLabel("speed"))
        layout.addWidget(self.speed_combo)

        self._frame_count: int | None = None
        self._programmatic = False
        self.back_button.clicked.connect(lambda: self.step_requested.emit(-1))
        self.forward_button.clicked.connect(lambda: self.step_requested.emit(1))
        self.play_button.clicked.connect(self.play_pause_clicked)
        self.slider.sliderReleased.connect(lambda: self.seek_requested.emit(self.slider.value()))
        self.slider.valueChanged.connect(self._on_value_changed)
        self.speed_combo.currentIndexChanged.connect(
            lambda i: self.speed_changed.emit(float(self.speed_combo.itemData(i))))
        self.set_source(None, seekable=False)

    def set_source(self, frame_count: int | None, seekable: bool, live: bool = False) -> None:
        """A finite, seekable recording enables the whole timeline; a live source can only be frozen (pause)
        and stepped forward, and shows 'live'; nothing is enabled without a source."""
        self._frame_count = frame_count if seekable else None
        enabled = self._frame_count is not None and self._frame_count > 0
        for widget in (self.back_button, self.slider, self.speed_combo):
            widget.setEnabled(enabled)
        for widget in (self.play_button, self.forward_button):
            widget.setEnabled(enabled or live)
        self._programmatic = True
        try:
            self.slider.setRange(0, max((self._frame_count or 1) - 1, 0))
            self.slider.setValue(0)
        finally:
            self._programmatic = False
        self.position_label.setText(f"0/{self._frame_count}" if enabled else "live")

    def set_position(self, index: int) -> None:
        """Show the last processed frame; ignored while the user drags the slider."""
        if self._frame_count is None or self.slider.isSliderDown():
            return
        self._programmatic = True
        try:
            self.slider.setValue(max(0, int(index)))
        finally:
            self._programmatic = False
        self.position_label.setText(f"{int(index) + 1}/{self._frame_count}")

    def set_playing(self, playing: bool) -> None:
        self.play_button.setText("❚❚  Pause" if playing else "▶  Play")

    def speed(self) -> float:
        return float(self.speed_combo.currentData())

    def set_speed(self, factor: float) -> None:
        index = self.speed_combo.findData(float(factor))
        if index >= 0:
            self.speed_combo.setCurrentIndex(index)

    def change_speed(self, steps: int) -> None:
        """Move the speed choice by steps (keyboard + / -), staying within the list."""
        index = min(max(self.speed_combo.currentIndex() + steps, 0), self.speed_combo.count() - 1)
        self.speed_combo.setCurrentIndex(index)

    def _on_value_changed(self, value: int) -> None:
        if self._programmatic or self._frame_count is None:
            return
        self.position_label.setText(f"{value + 1}/{self._frame_count}")
        if not self.slider.isSliderDown():   # page clicks and keys seek at once; a drag seeks on release
            self.seek_requested.emit(value)
