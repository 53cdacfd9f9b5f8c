"""The desktop app's look: a dark Fusion palette, one stylesheet, pyqtgraph defaults and the colour maps.

Imports PySide6, pyqtgraph, numpy and app.joints only. Everything visual that more than one view shares lives
here, so the views stay about data and the app looks the same everywhere.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

from app.joints import NUM_JOINTS, joint_colour_rgb

BACKGROUND = "#16181d"      # plots and views
PANEL = "#1f2229"           # widgets
PANEL_LIGHT = "#2a2e37"     # inputs, buttons
BORDER = "#343946"
TEXT = "#d8dce6"
TEXT_DIM = "#8a90a0"
ACCENT = "#4fa3ff"
OK_GREEN = "#5fcf80"
WARN_AMBER = "#f0b429"
ERROR_RED = "#ef5b5b"
RECORD_RED = "#ff4d4d"

# Pens for the stage-latency plot, one per stage, readable on the dark background.
STAGE_COLOURS = {
    "wait": "#8a90a0", "localise": "#4fa3ff", "crop": "#5fcf80", "infer": "#f0b429",
    "postprocess": "#c678dd", "smooth": "#56b6c2", "end_to_end": "#ffffff", "display": "#ef5b5b",
}

STYLESHEET = f"""
QWidget {{ color: {TEXT}; font-size: 10pt; }}
QMainWindow, QDialog {{ background: {PANEL}; }}
QGroupBox {{ border: 1px solid {BORDER}; border-radius: 6px; margin-top: 14px; padding: 8px 6px 6px 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {TEXT_DIM};
                    font-weight: bold; }}
QPushButton, QToolButton {{ background: {PANEL_LIGHT}; border: 1px solid {BORDER}; border-radius: 5px;
                            padding: 4px 10px; }}
QPushButton:hover, QToolButton:hover {{ border-color: {ACCENT}; }}
QPushButton:pressed, QToolButton:pressed {{ background: {BORDER}; }}
QPushButton:disabled, QToolButton:disabled {{ color: #5a6070; }}
QPushButton:checked, QToolButton:checked {{ background: #2f4f7a; border-color: {ACCENT}; }}
QPushButton#recordButton:checked {{ background: #7a2a2a; border-color: {RECORD_RED}; }}
QComboBox, QSpinBox, QDoubleSpinBox, QLineEdit {{ background: {PANEL_LIGHT}; border: 1px solid {BORDER};
                            border-radius: 4px; padding: 2px 6px; min-height: 20px; }}
QComboBox QAbstractItemView {{ background: {PANEL_LIGHT}; selection-background-color: #2f4f7a; }}
QSlider::groove:horizontal {{ height: 6px; background: {PANEL_LIGHT}; border-radius: 3px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 3px; }}
QSlider::handle:horizontal {{ background: {TEXT}; width: 14px; margin: -5px 0; border-radius: 7px; }}
QTabWidget::pane {{ border: 1px solid {BORDER}; border-radius: 4px; }}
QTabBar::tab {{ background: {PANEL}; padding: 5px 14px; border: 1px solid {BORDER}; border-bottom: none;
                border-top-left-radius: 5px; border-top-right-radius: 5px; color: {TEXT_DIM}; }}
QTabBar::tab:selected {{ background: {PANEL_LIGHT}; color: {TEXT}; }}
QListWidget, QTableWidget {{ background: {BACKGROUND}; border: 1px solid {BORDER}; border-radius: 4px;
                             gridline-color: {BORDER}; }}
QListWidget::item:selected, QTableWidget::item:selected {{ background: #2f4f7a; }}
QHeaderView::section {{ background: {PANEL}; color: {TEXT_DIM}; border: none; padding: 2px 4px; }}
QStatusBar {{ background: {BACKGROUND}; color: {TEXT_DIM}; }}
QSplitter::handle {{ background: {PANEL}; }}
QLabel#title {{ color: {TEXT_DIM}; font-weight: bold; }}
QLabel#statusBadge {{ border-radius: 5px; padding: 3px 10px; font-weight: bold; }}
QLabel#banner {{ background: #4a1f24; border: 1px solid {ERROR_RED}; border-radius: 5px; padding: 6px 10px; }}
QLabel#statValue {{ font-family: monospace; }}
QFrame#card {{ background: {BACKGROUND}; border: 1px solid {BORDER}; border-radius: 6px; }}
"""


def apply_theme(app: QtWidgets.QApplication) -> None:
    """Dark Fusion palette + stylesheet for the whole application, and pyqtgraph's global options."""
    app.setStyle("Fusion")
    palette = QtGui.QPalette()
    roles = {
        QtGui.QPalette.ColorRole.Window: PANEL, QtGui.QPalette.ColorRole.WindowText: TEXT,
        QtGui.QPalette.ColorRole.Base: BACKGROUND, QtGui.QPalette.ColorRole.AlternateBase: PANEL,
        QtGui.QPalette.ColorRole.Text: TEXT, QtGui.QPalette.ColorRole.Button: PANEL_LIGHT,
        QtGui.QPalette.ColorRole.ButtonText: TEXT, QtGui.QPalette.ColorRole.Highlight: ACCENT,
        QtGui.QPalette.ColorRole.HighlightedText: "#ffffff", QtGui.QPalette.ColorRole.ToolTipBase: PANEL_LIGHT,
        QtGui.QPalette.ColorRole.ToolTipText: TEXT, QtGui.QPalette.ColorRole.PlaceholderText: TEXT_DIM,
    }
    for role, colour in roles.items():
        palette.setColor(role, QtGui.QColor(colour))
    app.setPalette(palette)
    app.setStyleSheet(STYLESHEET)
    configure_pyqtgraph()


def configure_pyqtgraph() -> None:
    """Row-major images (numpy H x W, like the depth frames), dark backgrounds, antialiased lines."""
    pg.setConfigOptions(imageAxisOrder="row-major", background=BACKGROUND, foreground=TEXT, antialias=True)


def colour_lut(name: str, n: int = 256, invalid_rgb: tuple[int, int, int] | None = None) -> np.ndarray:
    """n x 3 uint8 lookup table from a pyqtgraph colour map; with invalid_rgb, entry 0 is reserved for it."""
    cmap = pg.colormap.get(name)
    lut = cmap.getLookupTable(0.0, 1.0, n, alpha=False).astype(np.uint8)
    if invalid_rgb is not None:
        lut[0] = invalid_rgb
    return lut


def depth_colour_map() -> pg.ColorMap:
    """Turbo reversed: near is warm and bright, far is cool and dark (the depth view and the 3-D point cloud)."""
    positions, colours = pg.colormap.get("turbo").getStops()   # get() shares one object: build a new one
    return pg.ColorMap(positions, colours[::-1])


def joint_colours_float(hand: str = "right") -> np.ndarray:
    """J x 4 float RGBA in [0, 1] per joint (finger colours in the hand's scheme, app.joints), for OpenGL items."""
    rgb = np.array([joint_colour_rgb(j, hand) for j in range(NUM_JOINTS)], dtype=np.float32) / 255.0
    return np.concatenate([rgb, np.ones((NUM_JOINTS, 1), np.float32)], axis=1)


def status_colour(status_value: str) -> str:
    """Badge colour for a TrackingStatus value ('tracking' green, degraded amber, no pose red)."""
    if status_value == "tracking":
        return OK_GREEN
    if status_value in ("at_border", "low_confidence"):
        return WARN_AMBER
    return ERROR_RED
