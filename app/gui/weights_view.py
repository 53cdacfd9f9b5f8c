"""The AWR weight maps: all J maps as a labelled grid (each over a faint copy of the crop), and the selected joint's
map enlarged over the crop that went into the network, with the joint's estimate marked.

Clicking a cell selects its joint (signal joint_clicked). Maps are shown each scaled to its own maximum, since a
softmax map's absolute values depend on the feature size. Imports PySide6, pyqtgraph, numpy, cv2, app foundation.
"""
from __future__ import annotations

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.gui import theme
from app.joints import (FINGER_COLOURS_RGB, FINGER_JOINTS, FINGER_NAMES, JOINT_FINGER, JOINT_NAMES, NUM_JOINTS,
                        WRIST_COLOUR_RGB, joint_colour_rgb)
from app.tracking.crop import norm_to_crop_px
from app.types import TrackerResult

# Anatomical grid: column 0 holds the wrist, column f + 1 finger f; rows go from the finger's base to its tip.
GRID_COLUMNS = 1 + len(FINGER_JOINTS)
GRID_ROWS = max(len(f) for f in FINGER_JOINTS)
CELL_GAP_PX = 3          # feature-map pixels between cells
HEADER_FRACTION = 0.45   # room above the grid for the column titles, in cells
UNIFORM_FLOOR = 8.0
DISPLAY_GAMMA = 0.4   # drawn value = (weight / peak) ** gamma


def grid_cell(joint_id: int) -> tuple[int, int]:
    """(row, column) of a joint's cell in the grid."""
    finger = JOINT_FINGER[int(joint_id)]
    if finger < 0:
        return 0, 0
    return FINGER_JOINTS[finger].index(int(joint_id)), finger + 1


_CELL_JOINT = {grid_cell(j): j for j in range(NUM_JOINTS)}


def cell_label(joint_id: int) -> str:
    """The part of the joint's name below its column title: 'cmc', 'pip', 'tip' ... ('wrist' for the wrist)."""
    name = JOINT_NAMES[joint_id]
    return name.split("_", 1)[1] if "_" in name else name


def scale_maps(weights: np.ndarray) -> np.ndarray:
    """Each J x F x F map divided by its own peak, so it spans [0, 1]; a peak below UNIFORM_FLOOR times the
    uniform level (1 / F^2) counts as that level, so a flat, uninformative map stays dim instead of saturating."""
    f2 = float(weights.shape[1] * weights.shape[2])
    peak = np.maximum(weights.max(axis=(1, 2), keepdims=True), UNIFORM_FLOOR / f2)
    return weights / peak


class WeightsView(QtWidgets.QWidget):
    """show_result() draws the maps of one result; set_selected_joint() chooses the enlarged map."""

    joint_clicked = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._selected = 0
        self._feature_px = 0
        self._result: TrackerResult | None = None
        # Tables from an 8-bit weight (its own peak = 255) to what is drawn: a gamma lifts the weight's tails
        # (a trained map is a few feature cells wide, invisible at cell size without it) into colour and opacity.
        shown = (np.arange(256, dtype=np.float32) / 255.0) ** DISPLAY_GAMMA
        self._heat_colour = theme.colour_lut("inferno", 256)[np.round(shown * 255).astype(np.int64)]
        self._heat_alpha = shown
        self._heat_premultiplied = self._heat_colour.astype(np.float32) * shown[:, None]
        self._one_minus_alpha = 1.0 - shown
        self.mosaic_rgb: np.ndarray | None = None   # what the grid shows (kept for inspection)
        self.overlay_rgba: np.ndarray | None = None

        self.grid_widget = pg.GraphicsLayoutWidget()
        self.grid_widget.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)   # keys stay with the window's shortcuts
        self.grid_box = self.grid_widget.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.grid_box.disableAutoRange()   # ranges are set when the sizes change; auto-ranging costs every frame
        self.grid_box.setMouseEnabled(x=False, y=False)
        self.grid_image = pg.ImageItem()
        self.grid_box.addItem(self.grid_image)
        self.cell_labels = []
        font = QtGui.QFont()
        font.setPointSizeF(7.5)
        for j, name in enumerate(JOINT_NAMES):
            # A plain Qt text item that ignores the zoom: far cheaper per redraw than pg.TextItem.
            label = QtWidgets.QGraphicsSimpleTextItem(cell_label(j))
            label.setBrush(pg.mkBrush(joint_colour_rgb(j)))
            label.setFont(font)
            label.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            label.setZValue(10)
            self.grid_box.addItem(label)
            self.cell_labels.append(label)
        header_font = QtGui.QFont()
        header_font.setPointSizeF(8.5)
        header_font.setBold(True)
        self.column_titles = []
        for col, (name, rgb) in enumerate(zip(("wrist",) + FINGER_NAMES, (WRIST_COLOUR_RGB,) + FINGER_COLOURS_RGB)):
            title_item = QtWidgets.QGraphicsSimpleTextItem(name)
            title_item.setBrush(pg.mkBrush(rgb))
            title_item.setFont(header_font)
            title_item.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            self.grid_box.addItem(title_item)
            self.column_titles.append(title_item)
        self.cell_frame = QtWidgets.QGraphicsRectItem()
        self.cell_frame.setPen(pg.mkPen("w", width=2, cosmetic=True))
        self.grid_box.addItem(self.cell_frame)
        self.grid_widget.scene().sigMouseClicked.connect(self._on_grid_clicked)

        self.zoom_title = QtWidgets.QLabel("")
        self.zoom_title.setObjectName("statValue")
        self.zoom_widget = pg.GraphicsLayoutWidget()
        self.zoom_widget.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)   # keys stay with the window's shortcuts
        self.zoom_box = self.zoom_widget.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.zoom_box.disableAutoRange()
        self._zoom_size_px = 0
        self.crop_image = pg.ImageItem()
        self.overlay_image = pg.ImageItem()
        # A wide thin ring, so the weight blob it sits on stays visible inside it.
        self.joint_marker = pg.ScatterPlotItem(symbol="o", size=26, pen=pg.mkPen("w", width=1.5), brush=None)
        self.other_joints = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(255, 255, 255, 110))
        for item in (self.crop_image, self.overlay_image, self.other_joints, self.joint_marker):
            self.zoom_box.addItem(item)

        title = QtWidgets.QLabel("WEIGHT MAPS")
        title.setObjectName("title")
        self.grid_hint = QtWidgets.QLabel("click a map to select its joint")
        self.grid_hint.setStyleSheet(f"color: {theme.TEXT_DIM};")
        left = QtWidgets.QVBoxLayout()
        header = QtWidgets.QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.grid_hint)
        left.addLayout(header)
        left.addWidget(self.grid_widget, 1)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(self.zoom_title)
        right.addWidget(self.zoom_widget, 1)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(left, 3)
        layout.addLayout(right, 2)
        self._update_title()

    # ---- public API ---------------------------------------------------------------------------------------
    def show_result(self, result: TrackerResult) -> None:
        self._result = result
        if result.pose is None or result.crop_depth is None:
            self.grid_hint.setText(f"no weight maps: {result.status.message}")
            self._update_title()
            return
        self.grid_hint.setText("click a map to select its joint")
        weights = np.asarray(result.pose.weights, dtype=np.float32)
        if weights.ndim != 3 or weights.shape[0] != NUM_JOINTS or weights.shape[1] != weights.shape[2]:
            raise ValueError(f"weight maps: expected {NUM_JOINTS} x F x F, got {weights.shape}")
        feature_px = weights.shape[1]
        if feature_px != self._feature_px:
            self._layout_grid(feature_px)
        scaled = scale_maps(weights)
        self._show_grid(scaled, np.asarray(result.crop_depth, dtype=np.float32))
        self._show_zoom(result, scaled)
        self._update_title()

    def set_selected_joint(self, joint_id: int) -> None:
        self._selected = int(joint_id)
        if self._feature_px:
            self._place_cell_frame()
            if self._result is not None and self._result.pose is not None:
                self._show_zoom(self._result, scale_maps(np.asarray(self._result.pose.weights, np.float32)))
        self._update_title()

    def cell_screen_pos(self, joint_id: int) -> QtCore.QPoint:
        """Centre of a joint's cell in grid_widget viewport coordinates (for tests)."""
        row, col = grid_cell(joint_id)
        pitch = self._feature_px + CELL_GAP_PX
        centre = QtCore.QPointF(col * pitch + self._feature_px / 2 - 0.5, row * pitch + self._feature_px / 2 - 0.5)
        return self.grid_widget.mapFromScene(self.grid_box.mapViewToScene(centre))

    def joint_at(self, x: float, y: float) -> int | None:
        """The joint whose cell contains grid point (x, y), or None in a gap/outside."""
        if not self._feature_px:
            return None
        pitch = self._feature_px + CELL_GAP_PX
        col, row = int(np.floor(x / pitch)), int(np.floor(y / pitch))
        inside = (x - col * pitch) < self._feature_px and (y - row * pitch) < self._feature_px
        return _CELL_JOINT.get((row, col)) if inside else None

    # ---- drawing -------------------------------------------------------------------------------------------
    def _layout_grid(self, feature_px: int) -> None:
        self._feature_px = feature_px
        pitch = feature_px + CELL_GAP_PX
        for j, label in enumerate(self.cell_labels):
            row, col = grid_cell(j)
            label.setPos(col * pitch - 0.5 + 1, row * pitch - 0.5)
        for col, title_item in enumerate(self.column_titles):
            title_item.setPos(col * pitch - 0.5, -HEADER_FRACTION * feature_px)
        self.grid_box.setRange(xRange=(-0.5, GRID_COLUMNS * pitch - CELL_GAP_PX - 0.5),
                               yRange=(-HEADER_FRACTION * feature_px, GRID_ROWS * pitch - CELL_GAP_PX - 0.5),
                               padding=0.01)
        self._place_cell_frame()

    def _place_cell_frame(self) -> None:
        row, col = grid_cell(self._selected)
        pitch = self._feature_px + CELL_GAP_PX
        self.cell_frame.setRect(QtCore.QRectF(col * pitch - 0.5, row * pitch - 0.5, self._feature_px + 1,
                                              self._feature_px + 1))

    def _heat_rgb(self, scaled: np.ndarray, base_grey: np.ndarray) -> np.ndarray:
        """Blend the inferno colour of each map over a grey crop, opaque where the weight is high. Table lookups
        on the 8-bit weight keep this to one pass over the maps."""
        index = np.clip(scaled * 255.0, 0, 255).astype(np.uint8)
        blended = self._heat_premultiplied[index]                      # heat * alpha, J x F x F x 3
        blended += (base_grey * self._one_minus_alpha[index])[..., None]
        return blended.astype(np.uint8)

    def _show_grid(self, scaled: np.ndarray, crop: np.ndarray) -> None:
        f = self._feature_px
        small = cv2.resize(crop, (f, f), interpolation=cv2.INTER_AREA)
        base_grey = (1.0 - small) * 0.5 * 140.0   # near = light, background (+1) = black
        cells = self._heat_rgb(scaled, np.broadcast_to(base_grey, scaled.shape))
        pitch = f + CELL_GAP_PX
        mosaic = np.full((GRID_ROWS * pitch - CELL_GAP_PX, GRID_COLUMNS * pitch - CELL_GAP_PX, 3), 22, np.uint8)
        for j in range(NUM_JOINTS):
            row, col = grid_cell(j)
            mosaic[row * pitch:row * pitch + f, col * pitch:col * pitch + f] = cells[j]
        first = self.mosaic_rgb is None or self.mosaic_rgb.shape != mosaic.shape
        self.mosaic_rgb = mosaic
        self.grid_image.setImage(mosaic, autoLevels=False, levels=(0, 255))
        if first:
            self.grid_image.setRect(QtCore.QRectF(-0.5, -0.5, mosaic.shape[1], mosaic.shape[0]))

    def _show_zoom(self, result: TrackerResult, scaled: np.ndarray) -> None:
        crop = np.asarray(result.crop_depth, dtype=np.float32)
        size_px = crop.shape[0]
        grey = ((1.0 - crop) * 0.5 * 200.0).astype(np.uint8)
        self.crop_image.setImage(grey, autoLevels=False, levels=(0, 255))
        weight = scaled[self._selected]
        rgba = np.empty(weight.shape + (4,), np.uint8)
        index = np.clip(weight * 255.0, 0, 255).astype(np.uint8)
        rgba[..., :3] = self._heat_colour[index]
        rgba[..., 3] = (self._heat_alpha[index] * 235).astype(np.uint8)
        self.overlay_rgba = rgba
        self.overlay_image.setImage(rgba, autoLevels=False, levels=(0, 255))
        if size_px != self._zoom_size_px or weight.shape[0] != getattr(self, "_zoom_feature_px", 0):
            self.crop_image.setRect(QtCore.QRectF(-0.5, -0.5, size_px, size_px))
            # The F x F map covers the same square as the S x S crop: pixel edges at -0.5 and S - 0.5.
            self.overlay_image.setRect(QtCore.QRectF(-0.5, -0.5, size_px, size_px))
            self.zoom_box.setRange(xRange=(-0.5, size_px - 0.5), yRange=(-0.5, size_px - 0.5), padding=0.0)
            self._zoom_size_px, self._zoom_feature_px = size_px, weight.shape[0]
        uv_crop = norm_to_crop_px(np.asarray(result.pose.joints_uvd)[:, :2], size_px)
        self.joint_marker.setData([uv_crop[self._selected, 0]], [uv_crop[self._selected, 1]])
        self.other_joints.setData(uv_crop[:, 0], uv_crop[:, 1])

    def _update_title(self) -> None:
        name = JOINT_NAMES[self._selected]
        text = f"<b style='color: rgb{joint_colour_rgb(self._selected)}'>{name}</b>"
        pose = self._result.pose if self._result is not None else None
        if pose is not None:
            text += f"&nbsp;&nbsp;confidence {float(pose.confidence[self._selected]):.2f}"
        self.zoom_title.setText(text)

    def _on_grid_clicked(self, event) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        point = self.grid_box.mapSceneToView(event.scenePos())
        joint = self.joint_at(point.x() + 0.5, point.y() + 0.5)
        if joint is not None:
            self.joint_clicked.emit(joint)
