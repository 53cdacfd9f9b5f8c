"""The AWR weight maps: every joint's map as a heat map over the crop that went into the network, in a grid that
fills its panel, and the selected joint's map enlarged with the votes that make AWR what it is.

AWR estimates a joint as the weighted mean of votes cast by every feature pixel; the weight map says how much
each pixel's vote counts. Heat maps share one logarithmic scale (shown beside the grid): a pixel's weight as a
multiple of the uniform weight 1 / F^2, transparent at 1x and below, so a map's hot spot is as bright as its
weight is concentrated and maps can be compared. The enlarged map draws, for the pixels that carry most of the
weight, an arrow from the pixel to what it votes for: the network's own per-pixel vote when the model outputs
its offsets (app.model_info.OUTPUT_OFFSETS), else (labelled so) a line from the pixel to the final estimate,
which shows where the weight sits but not what each pixel voted. Clicking a cell selects its joint (signal
joint_clicked). Both panels are painted with QPainter from images composed and scaled once per result with
numpy/OpenCV (drawing 42 scaled, blended images per repaint cost ~7 ms). Imports PySide6, numpy, cv2, app
foundation.
"""
from __future__ import annotations

import cv2
import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.gui import theme
from app.joints import (FINGER_COLOURS_RGB, FINGER_JOINTS, FINGER_NAMES, JOINT_FINGER, JOINT_NAMES, NUM_JOINTS,
                        WRIST_COLOUR_RGB, joint_colour_rgb)
from app.tracking.crop import norm_to_crop_px
from app.types import TrackerResult

# Anatomical grid: column 0 holds the wrist, column f + 1 finger f; rows go from the finger's base to its tip.
GRID_COLUMNS = 1 + len(FINGER_JOINTS)
GRID_ROWS = max(len(f) for f in FINGER_JOINTS)
CELL_GAP_PX = 4               # screen px between cells
FRAME_PAD_PX = 2              # room around the cells for the selected cell's frame
TITLE_STRIP_PX = 18           # room for the column (or row) titles
SCALE_STRIP_PX = 58           # room for the colour scale at the grid's right
SCALE_DECADES_MIN = 2.0       # the scale spans at least 1x .. 100x uniform
VOTE_MASS = 0.8               # arrows for the heaviest pixels that together carry this share of the weight ...
MAX_VOTE_ARROWS = 60          # ... but at most this many
MIN_VOTE_ARROWS = 24
ZOOM_MARGIN = 0.22            # the enlarged map shows the joints' part of the crop with this margin ...
ZOOM_MIN_FRACTION = 0.4       # ... at least this share of the crop, re-framed when it moves by > 10 %


def grid_cell(joint_id: int) -> tuple[int, int]:
    """(row, column) of a joint's cell in the anatomical grid (fingers as columns, base to tip downwards)."""
    finger = JOINT_FINGER[int(joint_id)]
    if finger < 0:
        return 0, 0
    return FINGER_JOINTS[finger].index(int(joint_id)), finger + 1


def cell_label(joint_id: int) -> str:
    """The part of the joint's name below its column title: 'cmc', 'pip', 'tip' ... ('wrist' for the wrist)."""
    name = JOINT_NAMES[joint_id]
    return name.split("_", 1)[1] if "_" in name else name


def finger_joints_of(joint_id: int) -> tuple[int, ...]:
    """The joints of the selected joint's finger, base to tip (the wrist: the wrist alone)."""
    finger = JOINT_FINGER[int(joint_id)]
    return (0,) if finger < 0 else tuple(FINGER_JOINTS[finger])


def scale_decades(feature_px: int) -> float:
    """Decades the heat scale spans: from the uniform weight to a quarter of all weight on one pixel."""
    return max(SCALE_DECADES_MIN, float(np.log10(feature_px * feature_px / 4.0)))


def heat_values(weights: np.ndarray) -> np.ndarray:
    """J x F x F softmax maps -> [0, 1]: log10(weight x F^2) / scale_decades(F), 0 at (and below) uniform."""
    f = weights.shape[-1]
    ratio = np.maximum(np.asarray(weights, dtype=np.float32) * np.float32(f * f), np.float32(1.0))
    return np.clip(np.log10(ratio) / np.float32(scale_decades(f)), 0.0, 1.0)


def _heat_lut() -> np.ndarray:
    """256 x 4 RGBA: inferno colour, opacity rising with the value (0 = clear, so the depth shows through)."""
    v = np.linspace(0.0, 1.0, 256, dtype=np.float32)
    rgb = theme.colour_lut("inferno", 256).astype(np.float32)
    shown = rgb[np.clip(np.round((0.25 + 0.75 * v) * 255), 0, 255).astype(np.int64)]   # skip the near-black
    alpha = np.clip(v / 0.35, 0.0, 1.0) ** 0.8 * 235.0
    lut = np.concatenate([shown, alpha[:, None]], axis=1)
    lut[0, 3] = 0.0
    return lut.astype(np.uint8)


HEAT_LUT = _heat_lut()


def heat_rgba(weights: np.ndarray) -> np.ndarray:
    """J x F x F maps -> J x F x F x 4 uint8 RGBA heat (contiguous)."""
    index = np.round(heat_values(weights) * 255.0).astype(np.uint8)
    return np.ascontiguousarray(HEAT_LUT[index])


def crop_grey(crop_depth: np.ndarray) -> np.ndarray:
    """S x S normalised crop (-1 near ... +1 background) -> uint8 grey: near light, background black."""
    crop = np.asarray(crop_depth, dtype=np.float32)
    return np.ascontiguousarray(((1.0 - crop) * 100.0).astype(np.uint8))


def vote_arrows(weights: np.ndarray, joints_uvd: np.ndarray, offsets: np.ndarray | None, crop_depth: np.ndarray,
                joint_id: int) -> dict:
    """The votes shown for one joint, in crop pixels: the heaviest pixels (by weight, together VOTE_MASS of it,
    MIN..MAX_VOTE_ARROWS of them) and what each votes for.

    Returns {"start_px": K x 2, "end_px": K x 2, "weight": K (the pixels' weights), "mass": their share of the
    weight, "source": "network" (end = pixel + the network's offset for it) or "estimate" (the model has no
    offsets output: end = the joint's estimate)}."""
    w = np.asarray(weights[joint_id], dtype=np.float64)
    f = w.shape[-1]
    s = crop_depth.shape[0]
    order = np.argsort(w, axis=None)[::-1]
    cumulative = np.cumsum(w.reshape(-1)[order]) / max(float(w.sum()), 1e-12)
    count = int(np.clip(np.searchsorted(cumulative, VOTE_MASS) + 1, MIN_VOTE_ARROWS, MAX_VOTE_ARROWS))
    chosen = order[:count]
    rows, cols = np.unravel_index(chosen, (f, f))
    axis = (np.arange(f) + 0.5) * (2.0 / f) - 1.0
    start_norm = np.stack([axis[cols], axis[rows]], axis=1)
    if offsets is not None:
        step = np.asarray(offsets[joint_id], dtype=np.float64)[:2, rows, cols].T   # K x (du, dv)
        end_norm, source = start_norm + step, "network"
    else:
        end_norm, source = np.broadcast_to(np.asarray(joints_uvd)[joint_id, :2], start_norm.shape), "estimate"
    return {"start_px": norm_to_crop_px(start_norm, s), "end_px": norm_to_crop_px(end_norm, s),
            "weight": w.reshape(-1)[chosen], "mass": float(cumulative[count - 1]), "source": source}


def compose(grey: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    """Heat RGBA (..., 4) over a grey image of the same size -> RGB uint8 (...,  3)."""
    alpha = rgba[..., 3:4].astype(np.float32) * np.float32(1.0 / 255.0)
    out = rgba[..., :3].astype(np.float32) * alpha + grey[..., None].astype(np.float32) * (1.0 - alpha)
    return np.ascontiguousarray(out.astype(np.uint8))


def _qimage(array: np.ndarray, fmt: QtGui.QImage.Format) -> QtGui.QImage:
    """A QImage over a contiguous numpy array (the caller keeps the array alive while the image is used)."""
    h, w = array.shape[:2]
    return QtGui.QImage(array.data, w, h, array.strides[0], fmt)


class _MapData:
    """What both panels draw from one result: crop grey image, heat RGBA per joint, joints in crop px."""

    def __init__(self, result: TrackerResult) -> None:
        pose = result.pose
        weights = np.asarray(pose.weights, dtype=np.float32)
        if weights.ndim != 3 or weights.shape[0] != NUM_JOINTS or weights.shape[1] != weights.shape[2]:
            raise ValueError(f"weight maps: expected {NUM_JOINTS} x F x F, got {weights.shape}")
        self.result = result
        self.weights = weights
        self.feature_px = weights.shape[1]
        self.crop = np.asarray(result.crop_depth, dtype=np.float32)
        self.size_px = self.crop.shape[0]
        self.grey = crop_grey(self.crop)
        self.rgba = heat_rgba(weights)
        small_grey = cv2.resize(self.grey, (self.feature_px, self.feature_px), interpolation=cv2.INTER_AREA)
        self.cells_rgb = compose(np.broadcast_to(small_grey, self.rgba.shape[:3]), self.rgba)   # J x F x F x 3
        self._scaled: dict[tuple, list] = {}
        self.joints_crop_px = norm_to_crop_px(np.asarray(pose.joints_uvd)[:, :2], self.size_px)
        self.offsets = None if pose.offsets is None else np.asarray(pose.offsets)

    def scaled_cell(self, joint_id: int, side_px: int) -> QtGui.QImage:
        """Joint's heat-over-crop cell scaled to side_px (cached per size; keeps its array alive)."""
        key = ("cell", joint_id, side_px)
        if key not in self._scaled:
            array = np.ascontiguousarray(cv2.resize(self.cells_rgb[joint_id], (side_px, side_px),
                                                    interpolation=cv2.INTER_LINEAR))
            self._scaled[key] = [array, _qimage(array, QtGui.QImage.Format.Format_RGB888)]
        return self._scaled[key][1]

    def scaled_zoom(self, joint_id: int, side_px: int) -> QtGui.QImage:
        """The joint's heat over the full-resolution crop, scaled to side_px."""
        key = ("zoom", joint_id, side_px)
        if key not in self._scaled:
            grey = cv2.resize(self.grey, (side_px, side_px), interpolation=cv2.INTER_LINEAR)
            heat = cv2.resize(self.rgba[joint_id], (side_px, side_px), interpolation=cv2.INTER_LINEAR)
            array = compose(grey, heat)
            self._scaled = {k: v for k, v in self._scaled.items() if k[0] != "zoom"}   # one zoom at a time
            self._scaled[key] = [array, _qimage(array, QtGui.QImage.Format.Format_RGB888)]
        return self._scaled[key][1]


def _paint_scale(painter: QtGui.QPainter, rect: QtCore.QRectF, feature_px: int) -> None:
    """The heat scale: a vertical bar from 1x (bottom) to the top of the scale, decades labelled."""
    decades = scale_decades(feature_px)
    bar = QtCore.QRectF(rect.left() + 4, rect.top() + 16, 10, max(rect.height() - 34, 10))
    gradient = QtGui.QLinearGradient(bar.bottomLeft(), bar.topLeft())
    for v in np.linspace(0.0, 1.0, 9):
        r, g, b, a = (int(c) for c in HEAT_LUT[int(round(v * 255))])
        gradient.setColorAt(float(v), QtGui.QColor(r, g, b, max(a, 40)))
    painter.fillRect(bar, QtGui.QColor(theme.PANEL_LIGHT))
    painter.fillRect(bar, QtGui.QBrush(gradient))
    painter.setPen(QtGui.QColor(theme.TEXT_DIM))
    font = painter.font()
    font.setPointSizeF(7.5)
    painter.setFont(font)
    painter.drawText(QtCore.QRectF(rect.left(), rect.top(), rect.width(), 14),
                     QtCore.Qt.AlignmentFlag.AlignLeft, "weight")
    painter.drawText(QtCore.QRectF(rect.left(), bar.bottom() + 2, rect.width(), 14),
                     QtCore.Qt.AlignmentFlag.AlignLeft, "× uniform")
    for decade in range(int(np.floor(decades)) + 1):
        y = bar.bottom() - bar.height() * decade / decades
        painter.drawLine(QtCore.QPointF(bar.right(), y), QtCore.QPointF(bar.right() + 3, y))
        painter.drawText(QtCore.QRectF(bar.right() + 5, y - 7, rect.width() - 20, 14),
                         QtCore.Qt.AlignmentFlag.AlignVCenter, f"{10 ** decade:g}")


class WeightGrid(QtWidgets.QWidget):
    """The maps of a set of joints (all 21, or one finger's) in cells as large as the widget allows, each the
    heat map over the crop, with titles, labels and the heat scale. joint_clicked(int) on a click in a cell."""

    joint_clicked = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(160, 100)
        self.data: _MapData | None = None
        self.selected = 0
        self.joints: tuple[int, ...] = tuple(range(NUM_JOINTS))
        self.transposed = False   # True: fingers as rows (chosen when that gives larger cells)
        self.cell_rects: dict[int, QtCore.QRectF] = {}
        self.title_rects: list[tuple[QtCore.QRectF, str, tuple[int, int, int]]] = []
        self.scale_rect = QtCore.QRectF()
        self.message = ""
        self._layout_cells()

    # ---- layout --------------------------------------------------------------------------------------------
    def set_joints(self, joints: tuple[int, ...]) -> None:
        if tuple(joints) != self.joints:
            self.joints = tuple(joints)
            self._layout_cells()
            self.update()

    def _positions(self) -> dict[int, tuple[int, int]]:
        """(row, column) per shown joint with fingers as columns; a one-finger set is one column."""
        if len(self.joints) == NUM_JOINTS:
            return {j: grid_cell(j) for j in self.joints}
        return {j: (k, 0) for k, j in enumerate(self.joints)}

    def _layout_cells(self) -> None:
        positions = self._positions()
        rows = max(r for r, _ in positions.values()) + 1
        cols = max(c for _, c in positions.values()) + 1
        width = max(self.width() - SCALE_STRIP_PX - 2 * FRAME_PAD_PX, 10)
        height = max(self.height() - 2 * FRAME_PAD_PX, 10)

        upright = min((width - CELL_GAP_PX * (cols - 1)) / cols,
                      (height - TITLE_STRIP_PX - CELL_GAP_PX * (rows - 1)) / rows)
        turned = min((width - TITLE_STRIP_PX - CELL_GAP_PX * (rows - 1)) / rows,
                     (height - CELL_GAP_PX * (cols - 1)) / cols)
        self.transposed = turned > upright * 1.02
        size = max(turned if self.transposed else upright, 4.0)
        pitch = size + CELL_GAP_PX
        n_cols, n_rows = (rows, cols) if self.transposed else (cols, rows)
        left_pad = TITLE_STRIP_PX if self.transposed else 0.0
        top_pad = 0.0 if self.transposed else TITLE_STRIP_PX
        used_w = left_pad + n_cols * pitch - CELL_GAP_PX
        used_h = top_pad + n_rows * pitch - CELL_GAP_PX
        x0 = FRAME_PAD_PX + (width - used_w) / 2.0 + left_pad
        y0 = FRAME_PAD_PX + (height - used_h) / 2.0 + top_pad
        self.cell_rects = {}
        for j, (r, c) in positions.items():
            gr, gc = (c, r) if self.transposed else (r, c)
            self.cell_rects[j] = QtCore.QRectF(x0 + gc * pitch, y0 + gr * pitch, size, size)
        self.title_rects = []
        groups = sorted({c for _, c in positions.values()})
        for c in groups:
            members = [j for j, (_, cc) in positions.items() if cc == c]
            finger = JOINT_FINGER[members[0]]
            name = "wrist" if finger < 0 else FINGER_NAMES[finger]
            rgb = WRIST_COLOUR_RGB if finger < 0 else FINGER_COLOURS_RGB[finger]
            first = self.cell_rects[min(members, key=lambda j: positions[j][0])]
            if self.transposed:
                rect = QtCore.QRectF(first.left() - TITLE_STRIP_PX, first.top(), TITLE_STRIP_PX - 2, size)
            else:
                rect = QtCore.QRectF(first.left(), first.top() - TITLE_STRIP_PX, size, TITLE_STRIP_PX - 2)
            self.title_rects.append((rect, name, rgb))
        right = max(r.right() for r in self.cell_rects.values())
        top = min(r.top() for r in self.cell_rects.values())
        bottom = max(r.bottom() for r in self.cell_rects.values())
        self.scale_rect = QtCore.QRectF(right + 6, top, SCALE_STRIP_PX - 8, bottom - top)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        self._layout_cells()
        super().resizeEvent(event)

    def grid_rect(self) -> QtCore.QRectF:
        """The rectangle the cells, titles and scale occupy (widget px)."""
        rect = QtCore.QRectF()
        for r in self.cell_rects.values():
            rect = rect.united(r)
        for r, _name, _rgb in self.title_rects:
            rect = rect.united(r)
        return rect.united(self.scale_rect)

    def label_rects(self) -> dict[int, QtCore.QRectF]:
        """Where each cell's joint label is drawn (widget px): inside its own cell's top-left corner."""
        metrics = QtGui.QFontMetricsF(self._label_font())
        return {j: QtCore.QRectF(r.left() + 3, r.top() + 1, metrics.horizontalAdvance(cell_label(j)) + 2,
                                 metrics.height()) for j, r in self.cell_rects.items()}

    def joint_at(self, x: float, y: float) -> int | None:
        for j, rect in self.cell_rects.items():
            if rect.contains(QtCore.QPointF(x, y)):
                return j
        return None

    # ---- data ----------------------------------------------------------------------------------------------
    def set_data(self, data: _MapData | None, message: str = "") -> None:
        self.data, self.message = data, message
        self.update()

    def set_selected(self, joint_id: int) -> None:
        self.selected = int(joint_id)
        self.update()

    # ---- painting ------------------------------------------------------------------------------------------
    def _label_font(self) -> QtGui.QFont:
        font = QtGui.QFont(self.font())
        font.setPointSizeF(7.5 if min((r.width() for r in self.cell_rects.values()), default=60) < 70 else 8.5)
        return font

    def paintEvent(self, _event) -> None:
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QtGui.QColor(theme.BACKGROUND))
        data = self.data
        title_font = QtGui.QFont(self.font())
        title_font.setPointSizeF(8.5)
        title_font.setBold(True)
        painter.setFont(title_font)
        for rect, name, rgb in self.title_rects:
            painter.setPen(QtGui.QColor(*rgb))
            if self.transposed:   # row titles read bottom-up at the left of the row
                painter.save()
                painter.translate(rect.center())
                painter.rotate(-90)
                painter.drawText(QtCore.QRectF(-rect.height() / 2, -rect.width() / 2, rect.height(), rect.width()),
                                 QtCore.Qt.AlignmentFlag.AlignCenter, name)
                painter.restore()
            else:
                painter.drawText(rect, QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignBottom, name)
        label_font = self._label_font()
        labels = self.label_rects()
        for j, rect in self.cell_rects.items():
            painter.fillRect(rect, QtGui.QColor(theme.PANEL))
            if data is not None:
                side = max(int(round(rect.width())), 1)
                painter.drawImage(QtCore.QRectF(rect.left(), rect.top(), side, side), data.scaled_cell(j, side))
            painter.setFont(label_font)
            painter.setPen(QtGui.QColor(*joint_colour_rgb(j)))
            painter.drawText(labels[j], QtCore.Qt.AlignmentFlag.AlignLeft, cell_label(j))
            if j == self.selected:
                painter.setPen(QtGui.QPen(QtGui.QColor("white"), 2))
                painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                painter.drawRect(rect.adjusted(-1, -1, 1, 1))
        _paint_scale(painter, self.scale_rect, data.feature_px if data is not None else 64)
        if data is None and self.message:
            painter.setPen(QtGui.QColor(theme.TEXT_DIM))
            painter.setFont(self.font())
            box = self.grid_rect()
            painter.fillRect(QtCore.QRectF(box.left(), box.center().y() - 14, box.width(), 28),
                             QtGui.QColor(22, 24, 29, 220))
            painter.drawText(box, QtCore.Qt.AlignmentFlag.AlignCenter, self.message)
        painter.end()

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            joint = self.joint_at(event.position().x(), event.position().y())
            if joint is not None:
                self.joint_clicked.emit(joint)
        super().mousePressEvent(event)


class VoteView(QtWidgets.QWidget):
    """The selected joint's map enlarged over the crop, with its estimate (ring), the other joints (dots) and
    arrows for the heaviest pixels' votes (see vote_arrows)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(120, 120)
        self.data: _MapData | None = None
        self.selected = 0
        self.votes: dict | None = None
        self.window_px: tuple[float, float, float] | None = None   # (x0, y0, side) of the crop shown, crop px

    def set_data(self, data: _MapData | None) -> None:
        self.data = data
        if data is not None:
            self._frame_window(data)
        self._update_votes()

    def _frame_window(self, d: _MapData) -> None:
        """Show the square of the crop around the joints (with a margin), held still while it moves by less
        than 10 % of its side."""
        s = d.size_px
        pts_x, pts_y = d.joints_crop_px[:, 0], d.joints_crop_px[:, 1]
        if not np.all(np.isfinite(d.joints_crop_px)):
            window = (-0.5, -0.5, float(s))
        else:
            side = max(pts_x.max() - pts_x.min(), pts_y.max() - pts_y.min()) * (1 + 2 * ZOOM_MARGIN) + 1
            side = float(np.clip(side, ZOOM_MIN_FRACTION * s, s))
            cx, cy = (pts_x.max() + pts_x.min()) / 2.0, (pts_y.max() + pts_y.min()) / 2.0
            x0 = float(np.clip(cx - side / 2, -0.5, s - 0.5 - side))
            y0 = float(np.clip(cy - side / 2, -0.5, s - 0.5 - side))
            window = (x0, y0, side)
        old = self.window_px
        if old is None or max(abs(a - b) for a, b in zip(old, window)) > 0.1 * old[2]:
            self.window_px = window

    def set_selected(self, joint_id: int) -> None:
        self.selected = int(joint_id)
        self._update_votes()

    def _update_votes(self) -> None:
        d = self.data
        self.votes = None if d is None else vote_arrows(d.weights, d.result.pose.joints_uvd, d.offsets, d.crop,
                                                        self.selected)
        self.update()

    def map_rect(self) -> QtCore.QRectF:
        """The square the crop is drawn into (widget px)."""
        side = float(min(self.width(), self.height()))
        return QtCore.QRectF((self.width() - side) / 2.0, (self.height() - side) / 2.0, side, side)

    def crop_to_widget(self, crop_px: np.ndarray) -> np.ndarray:
        """Crop pixel coordinates -> widget px, through the shown window of the crop."""
        rect = self.map_rect()
        x0, y0, side = self.window_px if self.window_px is not None else (-0.5, -0.5, 1.0)
        p = np.asarray(crop_px, dtype=np.float64)
        return np.stack([rect.left() + (p[..., 0] - x0) * rect.width() / side,
                         rect.top() + (p[..., 1] - y0) * rect.height() / side], axis=-1)

    def paintEvent(self, _event) -> None:
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QtGui.QColor(theme.BACKGROUND))
        rect = self.map_rect()
        painter.fillRect(rect, QtGui.QColor(theme.PANEL))
        d = self.data
        if d is None:
            painter.end()
            return
        side = max(int(round(rect.width())), 1)
        x0, y0, window = self.window_px
        full = side * d.size_px / window   # the whole crop scaled so the window fills the square
        painter.save()
        painter.setClipRect(rect)
        painter.drawImage(QtCore.QRectF(rect.left() - (x0 + 0.5) * side / window,
                                        rect.top() - (y0 + 0.5) * side / window, full, full),
                          d.scaled_zoom(self.selected, max(int(round(full)), 1)))
        painter.restore()
        votes = self.votes
        if votes is not None and len(votes["weight"]):
            start, end = self.crop_to_widget(votes["start_px"]), self.crop_to_widget(votes["end_px"])
            top = float(votes["weight"].max())
            colour = QtGui.QColor(120, 230, 255) if votes["source"] == "network" else QtGui.QColor(200, 200, 200)
            for (x0, y0), (x1, y1), w in zip(start, end, votes["weight"]):
                share = float(w) / top
                colour.setAlphaF(0.35 + 0.6 * share)
                painter.setPen(QtGui.QPen(colour, 0.8 + 1.8 * share))
                painter.drawLine(QtCore.QPointF(x0, y0), QtCore.QPointF(x1, y1))
                _arrow_head(painter, x0, y0, x1, y1, 4.0 + 3.0 * share)
                painter.setBrush(colour)
                painter.drawEllipse(QtCore.QPointF(x0, y0), 1.6, 1.6)
                painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        joints = self.crop_to_widget(d.joints_crop_px)
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(QtGui.QColor(255, 255, 255, 120))
        for x, y in joints:
            painter.drawEllipse(QtCore.QPointF(x, y), 2.5, 2.5)
        x, y = joints[self.selected]
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.setPen(QtGui.QPen(QtGui.QColor("white"), 2.0))
        painter.drawEllipse(QtCore.QPointF(x, y), 11.0, 11.0)
        painter.setPen(QtGui.QPen(QtGui.QColor(*joint_colour_rgb(self.selected)), 2.0))
        painter.drawEllipse(QtCore.QPointF(x, y), 8.0, 8.0)
        painter.setPen(QtGui.QColor(theme.TEXT_DIM))
        painter.drawText(rect.adjusted(4, 2, -4, -2), QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignBottom,
                         f"crop zoomed ×{d.size_px / window:.1f}")
        painter.end()


def _arrow_head(painter: QtGui.QPainter, x0: float, y0: float, x1: float, y1: float, size: float) -> None:
    dx, dy = x1 - x0, y1 - y0
    length = float(np.hypot(dx, dy))
    if length < 3.0:
        return
    ux, uy = dx / length, dy / length
    for side in (1.0, -1.0):
        painter.drawLine(QtCore.QPointF(x1, y1),
                         QtCore.QPointF(x1 - size * (ux * 0.87 - side * uy * 0.5),
                                        y1 - size * (uy * 0.87 + side * ux * 0.5)))


class WeightsView(QtWidgets.QWidget):
    """show_result() draws the maps of one result; set_selected_joint() chooses the enlarged map;
    set_finger_only(True) shows only the selected joint's finger (the presentation layout)."""

    joint_clicked = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._selected = 0
        self._finger_only = False
        self._result: TrackerResult | None = None
        self._data: _MapData | None = None

        self.grid = WeightGrid()
        self.grid.joint_clicked.connect(self.joint_clicked)
        self.zoom = VoteView()
        title = QtWidgets.QLabel("WEIGHT MAPS")
        title.setObjectName("title")
        self.title_label = title
        self.grid_hint = QtWidgets.QLabel("vote weights over the crop · click to select")
        self.grid_hint.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.grid_hint.setMinimumWidth(40)
        self.zoom_title = QtWidgets.QLabel("")
        self.zoom_title.setObjectName("statValue")
        self.zoom_title.setMinimumWidth(40)
        self.vote_caption = QtWidgets.QLabel("")
        self.vote_caption.setWordWrap(True)
        self.vote_caption.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 8.5pt;")

        left = QtWidgets.QVBoxLayout()
        header = QtWidgets.QHBoxLayout()
        header.addWidget(title)
        header.addWidget(self.grid_hint, 1)
        left.addLayout(header)
        left.addWidget(self.grid, 1)
        self.zoom_panel = QtWidgets.QWidget()
        right = QtWidgets.QVBoxLayout(self.zoom_panel)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.zoom_title)
        right.addWidget(self.zoom, 1)
        right.addWidget(self.vote_caption)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(left, 1)
        layout.addWidget(self.zoom_panel)
        self._update_title()

    # ---- public API ---------------------------------------------------------------------------------------
    def show_result(self, result: TrackerResult, hand_label: str = "") -> None:
        """The maps of the result's pose; hand_label ('L #4') names the hand in the title when several are
        tracked."""
        title = f"WEIGHT MAPS · {hand_label}" if hand_label else "WEIGHT MAPS"
        if self.title_label.text() != title:
            self.title_label.setText(title)
        self._result = result
        if result.pose is None or result.crop_depth is None:
            self.show_message(f"no weight maps: {result.status.message}")
            return
        self._data = _MapData(result)
        self.grid.set_data(self._data)
        self.zoom.set_data(self._data)
        self._update_title()

    def show_message(self, text: str) -> None:
        """No maps to show (no hand, no source, an error): empty cells in place, the reason over them."""
        self._data = None
        self.grid.set_data(None, text)
        self.zoom.set_data(None)
        self._update_title()

    def set_selected_joint(self, joint_id: int) -> None:
        self._selected = int(joint_id)
        self.grid.set_selected(self._selected)
        self.zoom.set_selected(self._selected)
        if self._finger_only:
            self.grid.set_joints(finger_joints_of(self._selected))
        self._update_title()

    def set_finger_only(self, on: bool) -> None:
        self._finger_only = bool(on)
        self.grid.set_joints(finger_joints_of(self._selected) if on else tuple(range(NUM_JOINTS)))

    @property
    def overlay_rgba(self) -> np.ndarray | None:
        """The selected joint's heat RGBA (F x F x 4) drawn over the enlarged crop."""
        return None if self._data is None else self._data.rgba[self._selected]

    @property
    def crop_grey(self) -> np.ndarray | None:
        return None if self._data is None else self._data.grey

    def cell_rgba(self, joint_id: int) -> np.ndarray | None:
        return None if self._data is None else self._data.rgba[joint_id]

    def cell_screen_pos(self, joint_id: int) -> QtCore.QPoint:
        """Centre of a joint's cell in grid widget coordinates (for tests)."""
        return self.grid.cell_rects[joint_id].center().toPoint()

    # ---- internals -----------------------------------------------------------------------------------------
    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        # The enlarged map is square: as tall as the panel allows, at most 40 % of its width.
        side = int(min(self.height() - 48, self.width() * 0.4))
        self.zoom_panel.setFixedWidth(max(side, 120))
        super().resizeEvent(event)

    def _update_title(self) -> None:
        name = JOINT_NAMES[self._selected]
        text = f"<b style='color: rgb{joint_colour_rgb(self._selected)}'>{name}</b>"
        pose = self._result.pose if self._result is not None else None
        if pose is not None and self._data is not None:
            text += f"&nbsp;&nbsp;confidence {float(pose.confidence[self._selected]):.2f}"
        self.zoom_title.setText(text)
        votes = self.zoom.votes
        if votes is None:
            self.vote_caption.setText("")
        elif votes["source"] == "network":
            self.vote_caption.setText(f"arrows: the network's vote of the {len(votes['weight'])} heaviest pixels "
                                      f"({100 * votes['mass']:.0f} % of the weight); the joint is the weighted "
                                      f"mean of every pixel's vote")
        else:
            self.vote_caption.setText(f"lines: the {len(votes['weight'])} heaviest pixels "
                                      f"({100 * votes['mass']:.0f} % of the weight) to the estimate; this model "
                                      f"does not output its per-pixel offsets, so each pixel's own vote is not "
                                      f"shown")
