"""The tracker's live settings panel: handedness, One Euro smoothing (on/off, min cutoff, beta, derivative
cutoff), the depth band where the hand is looked for and the crop cube size.

Labels, units, ranges, steps and tooltips come from app.config.LIVE_SETTINGS (their one home). Every edit emits
changed(TrackerChange), validated when built (an out-of-range value cannot be typed: the fields' ranges are the
settings' ranges); set_values() shows values without emitting. Imports PySide6 and app.config.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.config import LIVE_SETTINGS, Hand, TrackerChange
from app.gui import theme

SMOOTHING_KEYS = ("min_cutoff_hz", "beta", "d_cutoff_hz")
SEARCH_KEYS = ("near_mm", "far_mm", "cube_mm")
PANEL_KEYS = ("hand", "smoothing_enabled", *SMOOTHING_KEYS, *SEARCH_KEYS)   # shown here, remembered by the GUI
HAND_LABELS = {Hand.RIGHT: "Right hand", Hand.LEFT: "Left hand (mirrored)"}


class TrackerControls(QtWidgets.QWidget):
    """changed(TrackerChange) on every user edit; the tracker may still refuse one that breaks a cross-field
    rule (near < far), and the window then shows the values in force again."""

    changed = QtCore.Signal(object)
    editing_finished = QtCore.Signal()   # Enter or focus-out in a number field: hand the keys back

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.hand_combo = QtWidgets.QComboBox()
        for hand, text in HAND_LABELS.items():
            self.hand_combo.addItem(text, str(hand))
        self.hand_combo.setToolTip(LIVE_SETTINGS["hand"].help + " (H)")
        self.smoothing_check = QtWidgets.QCheckBox(LIVE_SETTINGS["smoothing_enabled"].label)
        self.smoothing_check.setChecked(True)
        self.spins: dict[str, QtWidgets.QDoubleSpinBox] = {}
        for key in (*SMOOTHING_KEYS, *SEARCH_KEYS):
            setting = LIVE_SETTINGS[key]
            spin = QtWidgets.QDoubleSpinBox()
            spin.setRange(setting.minimum, setting.maximum)
            spin.setSingleStep(setting.step)
            spin.setDecimals(setting.decimals)
            spin.setSuffix(setting.unit)
            spin.setToolTip(setting.help)
            spin.setKeyboardTracking(False)   # emit on Enter / arrows / focus-out, not on every keystroke
            spin.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
            # Enter (the field still has focus) hands the keys back; a focus change elsewhere must not.
            spin.editingFinished.connect(lambda spin=spin: spin.hasFocus() and self.editing_finished.emit())
            self.spins[key] = spin
        # Click focus only: keyboard focus must not land in a text field by itself, where Space and the arrow
        # keys would edit numbers instead of controlling the replay.
        for widget in (self.hand_combo, self.smoothing_check, *self.spins.values()):
            widget.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)

        hand_box = QtWidgets.QGroupBox("HAND")
        QtWidgets.QVBoxLayout(hand_box).addWidget(self.hand_combo)
        smooth_box = QtWidgets.QGroupBox("SMOOTHING")
        smooth_form = QtWidgets.QFormLayout(smooth_box)
        smooth_form.addRow(self.smoothing_check)
        for key in SMOOTHING_KEYS:
            smooth_form.addRow(LIVE_SETTINGS[key].label, self.spins[key])
        band_box = QtWidgets.QGroupBox("HAND SEARCH")
        band_form = QtWidgets.QFormLayout(band_box)
        for key in SEARCH_KEYS:
            band_form.addRow(LIVE_SETTINGS[key].label, self.spins[key])
        self.note = QtWidgets.QLabel("Changes apply live to the running tracker and are remembered.")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 9pt;")

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 6)
        for widget in (hand_box, smooth_box, band_box, self.note):
            layout.addWidget(widget)
        layout.addStretch(1)

        self._quiet = False
        self.hand_combo.currentIndexChanged.connect(
            lambda i: self._emit("hand", self.hand_combo.itemData(i)))
        self.smoothing_check.toggled.connect(self._on_smoothing_toggled)
        for key, spin in self.spins.items():
            spin.valueChanged.connect(lambda value, key=key: self._emit(key, float(value)))

    def values(self) -> dict:
        out = {"hand": self.hand_combo.currentData(), "smoothing_enabled": self.smoothing_check.isChecked()}
        out.update({key: float(spin.value()) for key, spin in self.spins.items()})
        return out

    def set_values(self, values: dict) -> None:
        """Show values (any subset of the keys) without emitting changed."""
        self._quiet = True
        try:
            if values.get("hand") is not None:
                index = self.hand_combo.findData(str(values["hand"]))
                if index >= 0:
                    self.hand_combo.setCurrentIndex(index)
            if "smoothing_enabled" in values:
                self.smoothing_check.setChecked(bool(values["smoothing_enabled"]))
                self._enable_smoothing_fields(bool(values["smoothing_enabled"]))
            for key, spin in self.spins.items():
                if values.get(key) is not None:
                    spin.setValue(float(values[key]))
        finally:
            self._quiet = False

    def set_hand(self, hand: Hand | str) -> None:
        """Switch hands as if the user did (keyboard shortcut)."""
        index = self.hand_combo.findData(str(hand))
        if index >= 0:
            self.hand_combo.setCurrentIndex(index)

    def toggle_hand(self) -> None:
        self.set_hand(Hand(self.hand_combo.currentData()).other)

    def _enable_smoothing_fields(self, enabled: bool) -> None:
        for key in SMOOTHING_KEYS:
            self.spins[key].setEnabled(enabled)

    def _on_smoothing_toggled(self, checked: bool) -> None:
        self._enable_smoothing_fields(checked)
        self._emit("smoothing_enabled", bool(checked))

    def _emit(self, key: str, value) -> None:
        if self._quiet:
            return
        self.changed.emit(TrackerChange.of(**{key: value}))   # the fields' ranges are the settings': valid
