"""The joint list: every joint's name (in its finger's colour), its camera-frame position in mm and confidence.

Selecting a row selects the joint (signal joint_clicked); the selected joint is kept highlighted. Imports PySide6,
numpy and app foundation only.
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
