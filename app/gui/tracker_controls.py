"""The tracker's live settings panel: handedness, One Euro smoothing (on/off, min cutoff, beta, derivative
cutoff), the depth band where the hand is looked for and the crop cube size.

Every edit emits changed({key: value}) with the keys Pipeline.update_tracker() takes (hand, smoothing_enabled,
min_cutoff_hz, beta, d_cutoff_hz, near_mm, far_mm, cube_mm); set_values() shows values without emitting.
Imports PySide6 only.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.gui import theme

# key: (label, minimum, maximum, step, decimals, suffix, tooltip)
NUMBER_FIELDS = {
    "min_cutoff_hz": ("min cutoff", 0.01, 30.0, 0.1, 2, " Hz",
                      "One Euro minimum cutoff: lower = steadier when still, more lag"),
    "beta": ("beta", 0.0, 2.0, 0.005, 4, "", "One Euro speed coefficient: higher = less lag in fast moves"),
    "d_cutoff_hz": ("derivative cutoff", 0.1, 30.0, 0.5, 1, " Hz", "cutoff of the speed estimate"),
    "near_mm": ("near", 50.0, 3000.0, 10.0, 0, " mm", "nearest depth where a hand is looked for"),
    "far_mm": ("far", 100.0, 5000.0, 10.0, 0, " mm", "farthest depth where a hand is looked for"),
    "cube_mm": ("cube", 100.0, 500.0, 10.0, 0, " mm", "side of the metric crop cube around the hand"),
}
HANDS = (("right", "Right hand"), ("left", "Left hand (mirrored)"))


class TrackerControls(QtWidgets.QWidget):
    """changed(dict) on every user edit; the values are validated by the tracker, which may refuse them."""

    changed = QtCore.Signal(dict)
    editing_finished = QtCore.Signal()   # Enter or focus-out in a number field: hand the keys back

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.hand_combo = QtWidgets.QComboBox()
        for key, text in HANDS:
            self.hand_combo.addItem(text, key)
        self.hand_combo.setToolTip("the hand being tracked; the model's other hand is mirrored (H)")
        self.smoothing_check = QtWidgets.QCheckBox("smoothing (One Euro)")
        self.smoothing_check.setChecked(True)
        self.spins: dict[str, QtWidgets.QDoubleSpinBox] = {}
        for key, (_label, lo, hi, step, decimals, suffix, tip) in NUMBER_FIELDS.items():
            spin = QtWidgets.QDoubleSpinBox()
            spin.setRange(lo, hi)
            spin.setSingleStep(step)
            spin.setDecimals(decimals)
            spin.setSuffix(suffix)
            spin.setToolTip(tip)
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
        for key in ("min_cutoff_hz", "beta", "d_cutoff_hz"):
            smooth_form.addRow(NUMBER_FIELDS[key][0], self.spins[key])
        band_box = QtWidgets.QGroupBox("HAND SEARCH")
        band_form = QtWidgets.QFormLayout(band_box)
        for key in ("near_mm", "far_mm", "cube_mm"):
            band_form.addRow(NUMBER_FIELDS[key][0], self.spins[key])
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
            if "hand" in values:
                index = self.hand_combo.findData(values["hand"])
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

    def set_hand(self, hand: str) -> None:
        """Switch hands as if the user did (keyboard shortcut)."""
        index = self.hand_combo.findData(hand)
        if index >= 0:
            self.hand_combo.setCurrentIndex(index)

    def toggle_hand(self) -> None:
        self.set_hand("left" if self.hand_combo.currentData() == "right" else "right")

    def _enable_smoothing_fields(self, enabled: bool) -> None:
        for key in ("min_cutoff_hz", "beta", "d_cutoff_hz"):
            self.spins[key].setEnabled(enabled)

    def _on_smoothing_toggled(self, checked: bool) -> None:
        self._enable_smoothing_fields(checked)
        self._emit("smoothing_enabled", bool(checked))

    def _emit(self, key: str, value) -> None:
        if not self._quiet:
            self.changed.emit({key: value})
