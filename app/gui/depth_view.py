"""The depth view: one depth frame in false colour with a mm scale bar, the 2-D skeleton drawn on the frame it came
from (bones coloured per finger), the crop box, the hand centre and the tracking state in words; beside the full
frame, a zoomed inset of the crop region with the skeleton drawn large (tips ringed white). Without a hand the
inset shows the whole frame.

Every hand of a result is drawn, each in its hand's colour scheme (app.joints: right in the finger colours, left
pale, with square joints); with more than one hand each is labelled with its side and id ('R #3'), the badge
lists every hand, and a "hand" chooser picks the one the inset, the selection ring, the weight maps and the joint
table follow (signal hand_selected: a hand id, or hands.PRIMARY). The items of each hand slot are made once and
reused (a slot beyond the first two is made when a result first has that many hands).

Clicking near a joint selects it (signal joint_clicked), and its hand when that is another one; a click inside
another hand's crop box selects that hand. Imports PySide6, pyqtgraph, numpy and app foundation.
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from app.camera import raw_units_to_mm
from app.gui import theme
from app.gui.hands import PRIMARY, hand_label, hands_of, hands_status_text, resolve, worst_status_value
from app.joints import FINGER_JOINTS, NUM_JOINTS, TIP_JOINTS, finger_colours_rgb, joint_colour_rgb
from app.types import TrackedHand, TrackerResult

PICK_RADIUS_SCREEN_PX = 14.0   # how close (on screen) a click must be to a joint to select it
INSET_STRETCH = (4, 6)
INSET_HYSTERESIS = 0.06       # the inset's region follows the crop box when it moves by more than this share
BADGE_MAX_CHARS = 48           # longer error messages are cut in the badge (the whole text in its tooltip)         # full frame : inset, share of the view's width
_INVALID_INDEX, _BEYOND_INDEX = 0, 255   # LUT entries for missing depth and depth beyond the band's far end


_depth_colour_map = theme.depth_colour_map   # near warm and bright, far cool and dark: the hand stands out
_JOINT_SYMBOLS = {"right": "o", "left": "s"}   # joint markers: a second cue besides the colours
_OVERLAY_Z = 1000.0                            # the selection rings and the labels stay above every hand's items


class _HandSlot:
    """The items that draw one hand (full frame and inset), made once and reused; set_side() re-colours them
    only when the hand in the slot changes side."""

    def __init__(self, view_box: pg.ViewBox, inset_box: pg.ViewBox) -> None:
        self.side: str | None = None
        self.crop_box = QtWidgets.QGraphicsRectItem()
        self.crop_box.setPen(pg.mkPen(theme.TEXT, width=1.5, style=QtCore.Qt.PenStyle.DashLine, cosmetic=True))
        self.crop_box.hide()
        self.centre = pg.ScatterPlotItem(symbol="+", size=18, pen=pg.mkPen("w", width=2), brush=None)
        self.finger_lines = [pg.PlotCurveItem(antialias=True) for _ in FINGER_JOINTS]
        self.joints = pg.ScatterPlotItem(size=9, pen=pg.mkPen(theme.BACKGROUND, width=1))
        self.label = pg.TextItem("", color=theme.TEXT, fill=pg.mkBrush(22, 24, 29, 200), anchor=(0, 1))
        self.label.hide()
        for item in (self.crop_box, self.centre, *self.finger_lines, self.joints):
            view_box.addItem(item)
        view_box.addItem(self.label, ignoreBounds=True)
        self.label.setZValue(_OVERLAY_Z)
        self.inset_lines = [pg.PlotCurveItem(antialias=True) for _ in FINGER_JOINTS]
        self.inset_joints = pg.ScatterPlotItem(size=13, pen=pg.mkPen(theme.BACKGROUND, width=1.5))
        self.inset_tips = pg.ScatterPlotItem(size=19, pen=pg.mkPen("w", width=2.5), brush=None)
        for item in (*self.inset_lines, self.inset_joints, self.inset_tips):
            inset_box.addItem(item)
        self.joints_uv_px: np.ndarray | None = None
        self.box_px: tuple[float, float, float, float] | None = None
        self.set_side("right")

    def set_side(self, side: str) -> None:
        side = "left" if side == "left" else "right"
        if side == self.side:
            return
        self.side = side
        for line, inset_line, rgb in zip(self.finger_lines, self.inset_lines, finger_colours_rgb(side)):
            line.setPen(pg.mkPen(rgb, width=3))
            inset_line.setPen(pg.mkPen(rgb, width=5))
        self.brushes = [pg.mkBrush(joint_colour_rgb(j, side)) for j in range(NUM_JOINTS)]
        for scatter in (self.joints, self.inset_joints):
            scatter.setSymbol(_JOINT_SYMBOLS[side])   # the default for the points setData gives it

    def show(self, crop_box_px, centre_uvz, joints_uv_px, label: str) -> None:
        """Draw the hand: crop box (u0, v0, u1, v1) px or None, centre (u, v, z) or None, J x 2 joints or None,
        the label text ('' hides it)."""
        self.box_px = crop_box_px
        if crop_box_px is not None:
            u0, v0, u1, v1 = crop_box_px
            self.crop_box.setRect(QtCore.QRectF(u0, v0, u1 - u0, v1 - v0))
            self.crop_box.show()
        else:
            self.crop_box.hide()
        if centre_uvz is not None:
            self.centre.setData([centre_uvz[0]], [centre_uvz[1]])
        else:
            self.centre.setData([], [])
        self.joints_uv_px = None if joints_uv_px is None else np.asarray(joints_uv_px, dtype=np.float64)
        uv = self.joints_uv_px
        if uv is None:
            for line in self.finger_lines + self.inset_lines:
                line.setData([], [])
            for item in (self.joints, self.inset_joints, self.inset_tips):
                item.setData([])
        else:
            for line, inset_line, finger in zip(self.finger_lines, self.inset_lines, FINGER_JOINTS):
                chain = list((0,) + finger)   # wrist -> finger base -> ... -> tip: the finger's bones in order
                line.setData(uv[chain, 0], uv[chain, 1])
                inset_line.setData(uv[chain, 0], uv[chain, 1])
            self.joints.setData(x=uv[:, 0], y=uv[:, 1], brush=self.brushes)
            self.inset_joints.setData(x=uv[:, 0], y=uv[:, 1], brush=self.brushes)
            tips = list(TIP_JOINTS)
            self.inset_tips.setData(x=uv[tips, 0], y=uv[tips, 1])
        anchor = self._label_anchor()
        if label and anchor is not None:
            if self.label.textItem.toPlainText() != label:
                self.label.setText(label)
            self.label.setPos(*anchor)
            self.label.show()
        else:
            self.label.hide()

    def hide(self) -> None:
        if self.box_px is not None or self.joints_uv_px is not None or self.label.isVisible() \
                or len(self.centre.data):
            self.show(None, None, None, "")

    def _label_anchor(self) -> tuple[float, float] | None:
        """Above the crop box's top-left corner; without a box, above the highest joint."""
        if self.box_px is not None:
            return float(self.box_px[0]), float(self.box_px[1])
        if self.joints_uv_px is not None:
            top = int(np.argmin(self.joints_uv_px[:, 1]))
            return float(self.joints_uv_px[top, 0]), float(self.joints_uv_px[top, 1]) - 6.0
        return None


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
    hand_selected = QtCore.Signal(int)   # the user chose a hand: its id, or hands.PRIMARY
    painted = QtCore.Signal(float)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._near_mm, self._far_mm = 200.0, 1000.0
        self._image_shape: tuple[int, int] | None = None
        self._joints_uv_px: np.ndarray | None = None   # the selected hand's joints (ring, picking, positions)
        self._selected = 0
        self._hands: tuple[TrackedHand, ...] = ()
        self._selected_hand = PRIMARY   # a hand id, or PRIMARY
        self._hand_choices: tuple = ()
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
        self.hand_combo = QtWidgets.QComboBox()   # shown while a result has more than one hand
        self.hand_combo.setToolTip("the hand the inset, the weight maps and the joint table show")
        self.hand_combo.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.hand_combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.hand_combo.hide()
        self.hand_combo.activated.connect(self._on_hand_chosen)
        header.addWidget(self.hand_combo)
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

        # The inset: the selected hand's crop region large, with its own copy of the depth and thicker skeletons.
        self.inset_box = self.graphics.addViewBox(row=0, col=1, lockAspect=True, invertY=True, enableMenu=False)
        self.inset_box.disableAutoRange()
        self.inset_box.setMouseEnabled(x=False, y=False)
        self.inset_box.setBorder(pg.mkPen(theme.BORDER, width=1))
        self.graphics.ci.layout.setColumnStretchFactor(0, INSET_STRETCH[0])
        self.graphics.ci.layout.setColumnStretchFactor(1, INSET_STRETCH[1])
        self.inset_image = pg.ImageItem()
        self.inset_box.addItem(self.inset_image)
        # One slot of items per hand, primary first: plain Qt items and bare curves, so a redraw sets a few
        # numbers instead of running PlotDataItem's logic. Two slots up front; more are made when needed.
        self.slots: list[_HandSlot] = []
        self._ensure_slots(2)
        self.selection_ring = pg.ScatterPlotItem(size=20, pen=pg.mkPen("w", width=2), brush=None)
        self.view_box.addItem(self.selection_ring)
        self.inset_ring = pg.ScatterPlotItem(size=32, pen=pg.mkPen("w", width=2), brush=None)
        self.inset_box.addItem(self.inset_ring)
        for ring in (self.selection_ring, self.inset_ring):
            ring.setZValue(_OVERLAY_Z)
        # The primary hand's items under their old names.
        primary = self.slots[0]
        self.crop_box_item, self.centre_item = primary.crop_box, primary.centre
        self.finger_lines, self.joint_scatter = primary.finger_lines, primary.joints
        self.inset_lines, self.inset_joints, self.inset_tips = primary.inset_lines, primary.inset_joints, \
            primary.inset_tips
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
        hands = hands_of(result)
        self._hands = hands
        several = len(hands) > 1
        self._ensure_slots(len(hands))
        # The primary slot draws the result's own fields (the primary hand's, and the frame's centre and status
        # when no hand was found), so a one-hand result looks as it always did.
        centre = result.location.centre_uvz if result.location is not None else None
        self.slots[0].set_side(hands[0].hand if hands else "right")
        self.slots[0].show(result.crop.box_px() if result.crop is not None else None, centre,
                           result.pose.joints_uv_px if result.pose is not None else None,
                           hand_label(hands[0]) if several else "")
        for slot, hand in zip(self.slots[1:], hands[1:]):
            slot.set_side(hand.hand)
            slot.show(hand.crop.box_px() if hand.crop is not None else None,
                      hand.location.centre_uvz if hand.location is not None else None,
                      hand.pose.joints_uv_px if hand.pose is not None else None, hand_label(hand))
        for slot in self.slots[max(len(hands), 1):]:
            slot.hide()
        self._update_hand_choices()
        self._show_selected_hand()
        if several:
            self._set_status_badge(hands_status_text(hands), theme.status_colour(worst_status_value(hands)))
        else:
            self._set_status_badge(result.status.message, theme.status_colour(result.status.value))
        self.frame_label.setText(f"frame {frame.index}  ·  {frame.depth_raw.shape[1]}×{frame.depth_raw.shape[0]}")

    def set_selected_hand(self, hand_id: int) -> None:
        """Follow the hand with this id (hands.PRIMARY: the primary one) in the inset and the selection ring; an
        id the result does not have shows the primary hand."""
        self._selected_hand = int(hand_id)
        self._update_hand_choices()
        if self._image_shape is not None:
            self._show_selected_hand()

    def selected_hand_index(self) -> int:
        """Index (in the result's hands, primary first) of the hand the inset and the ring follow."""
        return resolve(self._hands, self._selected_hand)

    def hand_joints_uv_px(self) -> list[np.ndarray | None]:
        """The drawn joints of every hand of the result shown, primary first (for inspection)."""
        return [slot.joints_uv_px for slot in self.slots[:max(len(self._hands), 1)]]

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
        for slot in self.slots:
            slot.hide()
        self._hands = ()
        self._update_hand_choices()
        self._joints_uv_px = None
        self._update_selection_ring()
        self.frame_label.setText("")

    def set_selected_joint(self, joint_id: int) -> None:
        self._selected = int(joint_id)
        self._update_selection_ring()

    def select_joint_near(self, u_px: float, v_px: float, box=None) -> int | None:
        """Select the joint nearest to image point (u_px, v_px), of any hand, if it is within
        PICK_RADIUS_SCREEN_PX on screen (in box: the full frame's view by default, or the inset's); a joint of
        another hand than the selected one selects that hand first (hand_selected). Without a joint in reach, a
        point inside another hand's crop box selects that hand."""
        pixel_w, pixel_h = (box or self.view_box).viewPixelSize()   # image px per screen px
        best: tuple[float, int, int] | None = None   # (screen distance, slot index, joint)
        for index, slot in enumerate(self.slots[:max(len(self._hands), 1)]):
            uv = slot.joints_uv_px
            if uv is None:
                continue
            d_screen = np.hypot((uv[:, 0] - u_px) / max(pixel_w, 1e-9), (uv[:, 1] - v_px) / max(pixel_h, 1e-9))
            joint = int(np.argmin(d_screen))
            if best is None or d_screen[joint] < best[0]:
                best = (float(d_screen[joint]), index, joint)
        if best is None or best[0] > PICK_RADIUS_SCREEN_PX:
            self._select_hand_at(u_px, v_px)
            return None
        self._choose_hand(best[1])
        self.joint_clicked.emit(best[2])
        return best[2]

    def joint_screen_pos(self, joint_id: int, inset: bool = False, hand_index: int | None = None
                         ) -> QtCore.QPoint | None:
        """Where a joint is drawn (full frame, or the inset), in self.graphics viewport coordinates: of the
        selected hand, or of the hand at hand_index (primary first)."""
        uv = self._joints_uv_px if hand_index is None else self.slots[hand_index].joints_uv_px
        if uv is None:
            return None
        u, v = uv[joint_id]
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

    def _ensure_slots(self, count: int) -> None:
        while len(self.slots) < count:
            self.slots.append(_HandSlot(self.view_box, self.inset_box))

    def _show_selected_hand(self) -> None:
        """The selected hand's joints carry the selection ring, and its crop fills the inset."""
        slot = self.slots[self.selected_hand_index()]
        self._joints_uv_px = slot.joints_uv_px
        self._update_selection_ring()
        self._show_inset(slot.box_px)

    def _update_hand_choices(self) -> None:
        """The hand chooser: 'primary' and every hand by label, shown while there is more than one hand."""
        hands = self._hands
        choices = tuple((h.hand_id, hand_label(h)) for h in hands) if len(hands) > 1 else ()
        if choices != self._hand_choices:
            self._hand_choices = choices
            self.hand_combo.blockSignals(True)
            self.hand_combo.clear()
            if choices:
                self.hand_combo.addItem("hand: primary", PRIMARY)
                for hand_id, label in choices:
                    self.hand_combo.addItem(f"hand: {label}", hand_id)
            self.hand_combo.blockSignals(False)
            self.hand_combo.setVisible(bool(choices))
        if choices:
            index = self.hand_combo.findData(self._selected_hand)
            if self.hand_combo.currentIndex() != max(index, 0):
                self.hand_combo.blockSignals(True)
                self.hand_combo.setCurrentIndex(max(index, 0))
                self.hand_combo.blockSignals(False)

    def _on_hand_chosen(self, index: int) -> None:
        hand_id = self.hand_combo.itemData(index)
        if hand_id is None:
            return
        self.set_selected_hand(int(hand_id))
        self.hand_selected.emit(int(hand_id))

    def _choose_hand(self, index: int) -> None:
        """The user picked the hand at index (primary first): select it by id unless it is already shown."""
        if len(self._hands) < 2 or index == self.selected_hand_index():
            return
        hand_id = self._hands[index].hand_id
        self.set_selected_hand(hand_id)
        self.hand_selected.emit(hand_id)

    def _select_hand_at(self, u_px: float, v_px: float) -> None:
        for index, slot in enumerate(self.slots[:len(self._hands)]):
            box = slot.box_px
            if box is not None and box[0] <= u_px <= box[2] and box[1] <= v_px <= box[3]:
                self._choose_hand(index)
                return

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
