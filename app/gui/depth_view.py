"""The depth view: one depth frame in false colour with a mm scale bar, the 2-D skeleton drawn on the frame it came
from (bones coloured per finger), the crop box, the hand centre and the tracking state in words; beside the full
frame, a zoomed inset of the crop region with the skeleton drawn large (tips ringed white). Without a hand the
inset shows the whole frame.

Clicking near a joint selects it (signal joint_clicked). Imports PySide6, pyqtgraph, numpy and app foundation.
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.camera import raw_units_to_mm
from app.gui import theme
from app.joints import FINGER_COLOURS_RGB, FINGER_JOINTS, NUM_JOINTS, TIP_JOINTS, joint_colour_rgb
from app.types import TrackerResult

PICK_RADIUS_SCREEN_PX = 14.0   # how close (on screen) a click must be to a joint to select it
INSET_STRETCH = (4, 6)
INSET_HYSTERESIS = 0.06       # the inset's region follows the crop box when it moves by more than this share
BADGE_MAX_CHARS = 48           # longer error messages are cut in the badge (the whole text in its tooltip)         # full frame : inset, share of the view's width
_INVALID_INDEX, _BEYOND_INDEX = 0, 255   # LUT entries for missing depth and depth beyond the band's far end


_depth_colour_map = theme.depth_colour_map   # near warm and bright, far cool and dark: the hand stands out


class _PaintTimedGraphics(pg.GraphicsLayoutWidget):
    """A GraphicsLayoutWidget that reports when a paint finished (perf_counter s): the moment a frame is on
    screen, for the capture-to-display latency."""

    painted = QtCore.Signal(float)

    def paintEvent(self, ev) -> None:
        super().paintEvent(ev)
        self.painted.emit(time.perf_counter())


class DepthView(QtWidgets.QWidget):
    """Depth image + overlays. show_result() draws one TrackerResult; set_depth_range() sets the colour band;
    painted(t) says when the view finished painting (perf_counter s)."""

    joint_clicked = QtCore.Signal(int)
    painted = QtCore.Signal(float)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._near_mm, self._far_mm = 200.0, 1000.0
        self._image_shape: tuple[int, int] | None = None
        self._joints_uv_px: np.ndarray | None = None
        self._selected = 0
        self.indexed_image: np.ndarray | None = None   # the LUT indices shown (kept for inspection)

        self.status_label = QtWidgets.QLabel("no source")
        self.status_label.setObjectName("statusBadge")
        self.frame_label = QtWidgets.QLabel("")
        self.frame_label.setObjectName("statValue")
        title = QtWidgets.QLabel("DEPTH")
        title.setObjectName("title")
        header = QtWidgets.QHBoxLayout()
        header.addWidget(title)
        header.addWidget(self.status_label)
        header.addStretch(1)
        header.addWidget(self.frame_label)

        self.graphics = _PaintTimedGraphics()
        self.graphics.painted.connect(self.painted)
        self.graphics.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)   # keys stay with the window's shortcuts
        self.view_box = self.graphics.addViewBox(row=0, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.view_box.disableAutoRange()   # the range is set per image size; auto-ranging costs every frame
        self.image = pg.ImageItem()
        self.view_box.addItem(self.image)
        self._lut = self._make_lut()
        self.colour_bar = pg.ColorBarItem(values=(self._near_mm, self._far_mm), colorMap=_depth_colour_map(),
                                          label="depth (mm)", interactive=False, colorMapMenu=False, width=16)
        # The scale bar lives in its own small view, so a new frame does not repaint its axes (measured: its
        # axis pictures were replayed on every frame when it shared the image's view).
        self.bar_graphics = pg.GraphicsLayoutWidget()
        self.bar_graphics.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.bar_graphics.addItem(self.colour_bar)
        self.bar_graphics.setFixedWidth(90)

        # Plain Qt items and bare curves: a redraw sets a few numbers instead of running PlotDataItem's logic.
        self.crop_box_item = QtWidgets.QGraphicsRectItem()
        self.crop_box_item.setPen(pg.mkPen(theme.TEXT, width=1.5, style=QtCore.Qt.PenStyle.DashLine, cosmetic=True))
        self.crop_box_item.hide()
        self.centre_item = pg.ScatterPlotItem(symbol="+", size=18, pen=pg.mkPen("w", width=2), brush=None)
        self.finger_lines = [pg.PlotCurveItem(pen=pg.mkPen(rgb, width=3), antialias=True)
                             for rgb in FINGER_COLOURS_RGB]
        self.joint_scatter = pg.ScatterPlotItem(size=9, pen=pg.mkPen(theme.BACKGROUND, width=1))
        self.selection_ring = pg.ScatterPlotItem(size=20, pen=pg.mkPen("w", width=2), brush=None)
        for item in (self.crop_box_item, self.centre_item, *self.finger_lines, self.joint_scatter,
                     self.selection_ring):
            self.view_box.addItem(item)
        self._joint_brushes = [pg.mkBrush(joint_colour_rgb(j)) for j in range(NUM_JOINTS)]
        # The inset: the crop region large, with its own copy of the depth and a thicker skeleton.
        self.inset_box = self.graphics.addViewBox(row=0, col=1, lockAspect=True, invertY=True, enableMenu=False)
        self.inset_box.disableAutoRange()
        self.inset_box.setMouseEnabled(x=False, y=False)
        self.inset_box.setBorder(pg.mkPen(theme.BORDER, width=1))
        self.graphics.ci.layout.setColumnStretchFactor(0, INSET_STRETCH[0])
        self.graphics.ci.layout.setColumnStretchFactor(1, INSET_STRETCH[1])
        self.inset_image = pg.ImageItem()
        self.inset_box.addItem(self.inset_image)
        self.inset_lines = [pg.PlotCurveItem(pen=pg.mkPen(rgb, width=5), antialias=True) for rgb in FINGER_COLOURS_RGB]
        self.inset_joints = pg.ScatterPlotItem(size=13, pen=pg.mkPen(theme.BACKGROUND, width=1.5))
        self.inset_tips = pg.ScatterPlotItem(size=19, pen=pg.mkPen("w", width=2.5), brush=None)
        self.inset_ring = pg.ScatterPlotItem(size=32, pen=pg.mkPen("w", width=2), brush=None)
        for item in (*self.inset_lines, self.inset_joints, self.inset_tips, self.inset_ring):
            self.inset_box.addItem(item)
        self.inset_region: tuple[int, int, int, int] | None = None   # (u0, v0, u1, v1) px shown in the inset
        self.graphics.scene().sigMouseClicked.connect(self._on_scene_clicked)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        body = QtWidgets.QHBoxLayout()
        body.setSpacing(0)
        body.addWidget(self.graphics, 1)
        body.addWidget(self.bar_graphics)
        layout.addLayout(body, 1)
        self._set_status_badge("no source", theme.TEXT_DIM)

    # ---- public API ---------------------------------------------------------------------------------------
    def set_depth_range(self, near_mm: float, far_mm: float) -> None:
        """Colour depths in [near_mm, far_mm]; nearer clamps to the first colour, farther is grey, 0 is black."""
        if not far_mm > near_mm:
            raise ValueError(f"depth range: far_mm ({far_mm}) must exceed near_mm ({near_mm})")
        self._near_mm, self._far_mm = float(near_mm), float(far_mm)
        self.colour_bar.setLevels((self._near_mm, self._far_mm))

    def depth_range(self) -> tuple[float, float]:
        return self._near_mm, self._far_mm

    def show_result(self, result: TrackerResult) -> None:
        frame = result.frame
        self._show_depth(frame.depth_raw, frame.intrinsics.depth_unit_mm)
        if result.crop is not None:
            u0, v0, u1, v1 = result.crop.box_px()
            self.crop_box_item.setRect(QtCore.QRectF(u0, v0, u1 - u0, v1 - v0))
            self.crop_box_item.show()
        else:
            self.crop_box_item.hide()
        centre = result.location.centre_uvz if result.location is not None else None
        if centre is not None:
            self.centre_item.setData([centre[0]], [centre[1]])
        else:
            self.centre_item.setData([], [])
        self._show_skeleton(result.pose.joints_uv_px if result.pose is not None else None)
        self._show_inset(result.crop.box_px() if result.crop is not None else None)
        self._set_status_badge(result.status.message, theme.status_colour(result.status.value))
        self.frame_label.setText(f"frame {frame.index}  ·  {frame.depth_raw.shape[1]}×{frame.depth_raw.shape[0]}")

    def show_message(self, text: str, colour: str = theme.TEXT_DIM) -> None:
        """A state without a result ('waiting for frames', 'stopped')."""
        self._set_status_badge(text, colour)

    def show_error(self, message: str) -> None:
        """The error state in the badge: 'error: ...' in red, elided (the whole message as its tooltip)."""
        text = f"error: {message}"
        if len(text) > BADGE_MAX_CHARS:
            text = text[:BADGE_MAX_CHARS - 1].rstrip() + "…"
        self._set_status_badge(text, theme.ERROR_RED)
        self.status_label.setToolTip(message)

    def clear(self) -> None:
        self.image.clear()
        self.inset_image.clear()
        self.inset_region = None
        self.indexed_image = None
        self._image_shape = None
        self.crop_box_item.hide()
        self.centre_item.setData([], [])
        self._show_skeleton(None)
        self.frame_label.setText("")

    def set_selected_joint(self, joint_id: int) -> None:
        self._selected = int(joint_id)
        self._update_selection_ring()

    def select_joint_near(self, u_px: float, v_px: float, box=None) -> int | None:
        """Select the joint nearest to image point (u_px, v_px) if it is within PICK_RADIUS_SCREEN_PX on screen
        (in box: the full frame's view by default, or the inset's)."""
        if self._joints_uv_px is None:
            return None
        pixel_w, pixel_h = (box or self.view_box).viewPixelSize()   # image px per screen px
        d_screen = np.hypot((self._joints_uv_px[:, 0] - u_px) / max(pixel_w, 1e-9),
                            (self._joints_uv_px[:, 1] - v_px) / max(pixel_h, 1e-9))
        joint = int(np.argmin(d_screen))
        if d_screen[joint] > PICK_RADIUS_SCREEN_PX:
            return None
        self.joint_clicked.emit(joint)
        return joint

    def joint_screen_pos(self, joint_id: int, inset: bool = False) -> QtCore.QPoint | None:
        """Where a joint is drawn (full frame, or the inset), in self.graphics viewport coordinates."""
        if self._joints_uv_px is None:
            return None
        u, v = self._joints_uv_px[joint_id]
        box = self.inset_box if inset else self.view_box
        scene = box.mapViewToScene(QtCore.QPointF(float(u), float(v)))
        return self.graphics.mapFromScene(scene)

    # ---- drawing -------------------------------------------------------------------------------------------
    @staticmethod
    def _make_lut() -> np.ndarray:
        lut = _depth_colour_map().getLookupTable(0.0, 1.0, 256, alpha=False).astype(np.uint8)
        lut[_INVALID_INDEX] = (0, 0, 0)
        lut[_BEYOND_INDEX] = (40, 44, 54)
        return lut

    def lut_index(self, depth_mm: np.ndarray) -> np.ndarray:
        """Depth in mm -> LUT index: 1..254 across the band, 0 for missing depth, 255 beyond the far end."""
        depth_mm = np.asarray(depth_mm, dtype=np.float32)
        span = self._far_mm - self._near_mm
        # Indices 1..254 cover the band, so the LUT can keep 0 (invalid) and 255 (beyond) for themselves.
        scaled = (depth_mm - np.float32(self._near_mm)) * np.float32(253.0 / span)
        index = np.clip(scaled, 0.0, 253.0).astype(np.uint8) + np.uint8(1)
        index[depth_mm > self._far_mm] = _BEYOND_INDEX
        index[depth_mm <= 0] = _INVALID_INDEX
        return index

    def _show_depth(self, depth_raw: np.ndarray, depth_unit_mm: float) -> None:
        # One table lookup per pixel: every raw 16-bit value's LUT index, made once per depth band and unit.
        key = (float(depth_unit_mm), self._near_mm, self._far_mm)
        if key != getattr(self, "_raw_table_key", None):
            self._raw_table = self.lut_index(raw_units_to_mm(np.arange(65536), depth_unit_mm))
            self._raw_table_key = key
        index = self._raw_table[depth_raw]
        self.indexed_image = index
        # The full frame is shown small beside the inset: every second pixel is all it can show.
        self.image.setImage(index[::2, ::2], autoLevels=False, levels=(0, 255), lut=self._lut)
        shape = depth_raw.shape[:2]
        if shape != self._image_shape:
            # Pixel i covers [i - 0.5, i + 0.5], so joint pixel coordinates land on pixel centres.
            self.image.setRect(QtCore.QRectF(-0.5, -0.5, 2 * ((shape[1] + 1) // 2), 2 * ((shape[0] + 1) // 2)))
            self.view_box.setRange(xRange=(-0.5, shape[1] - 0.5), yRange=(-0.5, shape[0] - 0.5), padding=0.0)
            self._image_shape = shape

    def _show_skeleton(self, joints_uv_px: np.ndarray | None) -> None:
        self._joints_uv_px = None if joints_uv_px is None else np.asarray(joints_uv_px, dtype=np.float64)
        if self._joints_uv_px is None:
            for line in self.finger_lines + self.inset_lines:
                line.setData([], [])
            for item in (self.joint_scatter, self.inset_joints, self.inset_tips):
                item.setData([])
        else:
            uv = self._joints_uv_px
            for line, inset_line, finger in zip(self.finger_lines, self.inset_lines, FINGER_JOINTS):
                chain = (0,) + finger   # wrist -> finger base -> ... -> tip: the finger's bones in order
                line.setData(uv[list(chain), 0], uv[list(chain), 1])
                inset_line.setData(uv[list(chain), 0], uv[list(chain), 1])
            self.joint_scatter.setData(x=uv[:, 0], y=uv[:, 1], brush=self._joint_brushes)
            self.inset_joints.setData(x=uv[:, 0], y=uv[:, 1], brush=self._joint_brushes)
            tips = list(TIP_JOINTS)
            self.inset_tips.setData(x=uv[tips, 0], y=uv[tips, 1])
        self._update_selection_ring()

    def _show_inset(self, box_px: tuple[float, float, float, float] | None) -> None:
        """The crop region (or, without one, the whole frame) in the inset, with the skeleton drawn large."""
        index = self.indexed_image
        if index is None:
            return
        h, w = index.shape
        if box_px is None:
            u0, v0, u1, v1 = 0, 0, w - 1, h - 1
        else:
            u0, v0, u1, v1 = (int(round(c)) for c in box_px)
        cu0, cv0, cu1, cv1 = max(u0, 0), max(v0, 0), min(u1, w - 1), min(v1, h - 1)
        if cu1 > cu0 and cv1 > cv0:
            self.inset_image.setImage(index[cv0:cv1 + 1, cu0:cu1 + 1], autoLevels=False, levels=(0, 255),
                                      lut=self._lut)
            self.inset_image.setRect(QtCore.QRectF(cu0 - 0.5, cv0 - 0.5, cu1 - cu0 + 1, cv1 - cv0 + 1))
        else:
            self.inset_image.clear()
        if self._inset_moves(u0, v0, u1, v1):
            self.inset_box.setRange(xRange=(u0 - 0.5, u1 + 0.5), yRange=(v0 - 0.5, v1 + 0.5), padding=0.0)
            self.inset_region = (u0, v0, u1, v1)

    def _inset_moves(self, u0: int, v0: int, u1: int, v1: int) -> bool:
        """Whether the inset follows a new crop box: only when it moved or resized by more than
        INSET_HYSTERESIS of its size, so the zoomed view holds still while the hand moves a little (and does
        not re-lay out on every frame)."""
        old = self.inset_region
        if old is None:
            return True
        size = max(old[2] - old[0], old[3] - old[1], 1)
        return max(abs(a - b) for a, b in zip(old, (u0, v0, u1, v1))) > INSET_HYSTERESIS * size

    def _update_selection_ring(self) -> None:
        if self._joints_uv_px is None:
            self.selection_ring.setData([])
            self.inset_ring.setData([])
        else:
            u, v = self._joints_uv_px[self._selected]
            self.selection_ring.setData([u], [v])
            self.inset_ring.setData([u], [v])

    def _set_status_badge(self, text: str, colour: str) -> None:
        if (text, colour) == getattr(self, "_badge", None):
            return   # setStyleSheet re-polishes the widget: far too slow to repeat every frame
        self._badge = (text, colour)
        self.status_label.setToolTip("")
        self.status_label.setText(text)
        self.status_label.setStyleSheet(f"background: {colour}; color: #111418;")

    def _on_scene_clicked(self, event) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        for box in (self.view_box, self.inset_box):
            if box.sceneBoundingRect().contains(event.scenePos()):
                point = box.mapSceneToView(event.scenePos())
                self.select_joint_near(point.x(), point.y(), box)
                return
