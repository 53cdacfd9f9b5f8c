"""Joint read-outs: the joint list (every joint's name in its finger's colour, its camera-frame position in mm and
confidence; selecting a row selects the joint, signal joint_clicked) and the selected-joint card (smoothed vs raw
position and how far the filter moved it). Imports PySide6, numpy and app foundation only.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.joints import JOINT_NAMES, NUM_JOINTS, joint_colour_rgb
from app.types import HandPose

COLUMNS = ("joint", "x mm", "y mm", "z mm", "conf")


class JointTable(QtWidgets.QTableWidget):
    """21 rows, one per joint, in the layout's order."""

    joint_clicked = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(NUM_JOINTS, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(20)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)   # keep arrow keys for frame stepping
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        mono = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        for row, name in enumerate(JOINT_NAMES):
            item = QtWidgets.QTableWidgetItem(name)
            item.setForeground(QtGui.QColor(*joint_colour_rgb(row)))
            self.setItem(row, 0, item)
            for col in range(1, len(COLUMNS)):
                cell = QtWidgets.QTableWidgetItem("—")
                cell.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                cell.setFont(mono)
                self.setItem(row, col, cell)
        self._updating_selection = False
        self.itemSelectionChanged.connect(self._on_selection_changed)

    def show_pose(self, pose: HandPose | None, raw: bool = False) -> None:
        """Fill the table from a pose (smoothed joints, or raw ones), or dashes when there is none."""
        if pose is None:
            for row in range(NUM_JOINTS):
                for col in range(1, len(COLUMNS)):
                    self.item(row, col).setText("—")
            return
        xyz = np.asarray(pose.joints_xyz_raw_mm if raw else pose.joints_xyz_mm, dtype=np.float64)
        conf = np.asarray(pose.confidence, dtype=np.float64)
        for row in range(NUM_JOINTS):
            for col in range(3):
                self.item(row, col + 1).setText(f"{xyz[row, col]:7.1f}")
            self.item(row, 4).setText(f"{conf[row]:.2f}")

    def set_selected_joint(self, joint_id: int) -> None:
        self._updating_selection = True
        try:
            self.selectRow(int(joint_id))
        finally:
            self._updating_selection = False

    def selected_joint(self) -> int | None:
        rows = self.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def _on_selection_changed(self) -> None:
        row = self.selected_joint()
        if row is not None and not self._updating_selection:
            self.joint_clicked.emit(row)


class SelectedJointCard(QtWidgets.QGroupBox):
    """The selected joint at a glance: smoothed and raw position (mm), how far smoothing moved it, confidence."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("SELECTED JOINT", parent)
        self.name_label = QtWidgets.QLabel("")
        grid = QtWidgets.QGridLayout(self)
        grid.setHorizontalSpacing(8)
        grid.addWidget(self.name_label, 0, 0, 1, 4)
        for col, axis in enumerate(("x mm", "y mm", "z mm")):
            header = QtWidgets.QLabel(axis)
            header.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
            header.setStyleSheet("color: #8a90a0;")
            grid.addWidget(header, 1, col + 1)
        self.cells: dict[str, list[QtWidgets.QLabel]] = {}
        for row, key in enumerate(("smoothed", "raw"), start=2):
            grid.addWidget(QtWidgets.QLabel(key), row, 0)
            self.cells[key] = []
            for col in range(3):
                cell = QtWidgets.QLabel("—")
                cell.setObjectName("statValue")
                cell.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
                grid.addWidget(cell, row, col + 1)
                self.cells[key].append(cell)
        self.shift_label = QtWidgets.QLabel("")
        self.shift_label.setObjectName("statValue")
        self.shift_label.setWordWrap(True)
        grid.addWidget(self.shift_label, 4, 0, 1, 4)
        self._joint = 0
        self.set_joint(0)

    def set_joint(self, joint_id: int) -> None:
        self._joint = int(joint_id)
        r, g, b = joint_colour_rgb(self._joint)
        self.name_label.setText(f"<b style='color: rgb({r},{g},{b}); font-size: 12pt'>{JOINT_NAMES[self._joint]}</b>")

    def show_pose(self, pose: HandPose | None, gt_xyz_mm: np.ndarray | None = None) -> None:
        """pose: the result's pose (None: dashes); gt_xyz_mm: J x 3 ground truth when the source has it
        (synthetic, datasets), to show the error of this joint and the mean over all joints."""
        if pose is None:
            for cells in self.cells.values():
                for cell in cells:
                    cell.setText("—")
            self.shift_label.setText("")
            return
        j = self._joint
        smoothed = np.asarray(pose.joints_xyz_mm[j], dtype=np.float64)
        raw = np.asarray(pose.joints_xyz_raw_mm[j], dtype=np.float64)
        for key, xyz in (("smoothed", smoothed), ("raw", raw)):
            for cell, value in zip(self.cells[key], xyz):
                cell.setText(f"{value:.1f}")
        lines = [f"filter shift {np.linalg.norm(raw - smoothed):.1f} mm",
                 f"confidence {float(pose.confidence[j]):.2f}"]
        if gt_xyz_mm is not None and np.shape(gt_xyz_mm) == np.shape(pose.joints_xyz_mm):
            errors = np.linalg.norm(np.asarray(pose.joints_xyz_mm) - np.asarray(gt_xyz_mm), axis=1)
            lines.append(f"error vs ground truth {errors[j]:.1f} mm (mean {errors.mean():.1f})")
        self.shift_label.setText("\n".join(lines))
