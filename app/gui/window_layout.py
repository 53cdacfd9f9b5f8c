"""The main window's layout: which panels exist and where they sit, and the error banner.

Source bar on top; tracker settings and the selected-joint card in a fixed-width column on the left; the depth
view and the 3-D view side by side; the weight maps and a Performance / Joints tab below them; the replay
timeline at the bottom; state, rates and provider in the status bar. build_window_layout(window) creates the
panels as attributes of the window (window.depth_view, window.timeline, ...).

Two arrangements of the same panels (apply_layout): 'standard' (all of the above) and 'demo', the presentation
layout: the depth view with its hand inset and the 3-D view large, the selected finger's weight maps below them,
no control column, tabs, source bar or timeline. Imports PySide6 and app.gui.
"""
from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.gui.controls import ElidedLabel, SourceBar, TimelineBar
from app.gui.depth_view import DepthView
from app.gui.joint_table import JointTable, SelectedJointCard
from app.gui.skeleton_view import SkeletonView
from app.gui.stats_panel import StatsPanel
from app.gui.tracker_controls import TrackerControls
from app.gui.weights_view import WeightsView
from app.runtime.run_options import LAYOUTS
from app.runtime.stats import PipelineState

LEFT_PANEL_WIDTH_PX = 290
# Splitter sizes (px) for a 1600 x 1000 window, before the user moves them (then they are remembered).
DEFAULT_SPLITTER_SIZES = {"top": [660, 660], "bottom": [840, 480], "views": [530, 410]}
DEMO_VIEWS_SHARE = (0.68, 0.32)   # demo layout: depth + 3-D views above, the finger's weight maps below


class ErrorBanner(QtWidgets.QWidget):
    """A dismissable one-line message above the views: errors never open a blocking dialog."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QtWidgets.QLabel("")
        self.label.setObjectName("banner")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QtWidgets.QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("dismiss")
        self.close_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(8, 0, 8, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.close_button)
        self.close_button.clicked.connect(self.hide)
        self.hide()

    def show_message(self, message: str) -> None:
        self.label.setText(f"⚠  {message}")
        self.show()


def build_window_layout(window: QtWidgets.QMainWindow) -> None:
    """Create the window's panels (as attributes) and arrange them."""
    w = window
    w.source_bar, w.timeline, w.tracker_controls = SourceBar(), TimelineBar(), TrackerControls()
    w.depth_view, w.skeleton_view, w.weights_view = DepthView(), SkeletonView(), WeightsView()
    w.stats_panel, w.joint_table, w.joint_card = StatsPanel(), JointTable(), SelectedJointCard()
    controls_layout = w.tracker_controls.layout()
    controls_layout.insertWidget(controls_layout.count() - 1, w.joint_card)   # above the final stretch
    w.banner_row = ErrorBanner()
    w.banner = w.banner_row.label

    w.tabs = QtWidgets.QTabWidget()
    w.tabs.addTab(w.stats_panel, "Performance")
    w.tabs.addTab(w.joint_table, "Joints (camera frame, mm)")
    w.top_splitter = _splitter(QtCore.Qt.Orientation.Horizontal, w.depth_view, w.skeleton_view)
    w.bottom_splitter = _splitter(QtCore.Qt.Orientation.Horizontal, w.weights_view, w.tabs)
    w.view_splitter = _splitter(QtCore.Qt.Orientation.Vertical, w.top_splitter, w.bottom_splitter)
    w.view_splitter.setStretchFactor(0, 3)
    w.view_splitter.setStretchFactor(1, 2)

    scroll = QtWidgets.QScrollArea()
    scroll.setWidget(w.tracker_controls)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    # A fixed width that fits the controls, plus room for a vertical scroll bar on short screens.
    scroll.setFixedWidth(LEFT_PANEL_WIDTH_PX + scroll.verticalScrollBar().sizeHint().width())
    w.tracker_controls.setFixedWidth(LEFT_PANEL_WIDTH_PX)
    w.controls_scroll = scroll
    middle = QtWidgets.QHBoxLayout()
    middle.setContentsMargins(4, 0, 4, 0)
    middle.addWidget(scroll)
    middle.addWidget(w.view_splitter, 1)

    central = QtWidgets.QWidget()
    column = QtWidgets.QVBoxLayout(central)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(4)
    column.addWidget(w.source_bar)
    column.addWidget(w.banner_row)
    column.addLayout(middle, 1)
    column.addWidget(w.timeline)
    w.setCentralWidget(central)
    w.state_label, w.fps_label, w.provider_label = QtWidgets.QLabel(PipelineState.IDLE.value), QtWidgets.QLabel(""), QtWidgets.QLabel("")
    w.message_label = ElidedLabel()   # messages: elided to the room left, the whole text as a tooltip
    w.statusBar().addWidget(w.message_label, 1)
    for label in (w.state_label, w.fps_label, w.provider_label):
        w.statusBar().addPermanentWidget(label)
    w.layout_name = "standard"
    w._standard_sizes = None


def apply_layout(w, name: str) -> None:
    """Arrange the window's panels as 'standard' or 'demo' (see the module docstring)."""
    if name not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got '{name}'")
    if name == w.layout_name:
        return
    demo = name == "demo"
    if demo:   # keep the standard arrangement to return to
        w._standard_sizes = {key: sp.sizes() for key, sp in splitters(w).items()}
    for widget in (w.controls_scroll, w.tabs, w.source_bar, w.timeline):
        widget.setVisible(not demo)
    w.weights_view.set_finger_only(demo)
    if demo:
        # The panels' sizes before the window is shown are not yet its own: size from the window.
        total = max(sum(w.view_splitter.sizes()), w.height() - 60, 400)
        w.view_splitter.setSizes([int(total * DEMO_VIEWS_SHARE[0]), int(total * DEMO_VIEWS_SHARE[1])])
        half = max(sum(w.top_splitter.sizes()), w.width() - 20, 400) // 2
        w.top_splitter.setSizes([half, half])
    elif w._standard_sizes is not None:
        for key, sp in splitters(w).items():
            sp.setSizes(w._standard_sizes[key])
    w.layout_name = name


def splitters(window) -> dict[str, QtWidgets.QSplitter]:
    """The splitters whose positions are remembered, by settings key."""
    return {"top": window.top_splitter, "bottom": window.bottom_splitter, "views": window.view_splitter}


def _splitter(orientation, first: QtWidgets.QWidget, second: QtWidgets.QWidget) -> QtWidgets.QSplitter:
    splitter = QtWidgets.QSplitter(orientation)
    splitter.addWidget(first)
    splitter.addWidget(second)
    splitter.setChildrenCollapsible(False)
    return splitter
