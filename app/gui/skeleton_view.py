"""The 3-D view: the skeleton in millimetres in the camera frame (bones as tubes, joints as spheres, tips lighter
and larger, finger colours), over the hand's (subsampled) point cloud coloured by depth, with a 50 mm floor grid
under the hand and the camera's axes beside it (50 mm long: the distance scale). The view frames the hand and
follows it smoothly ('follow hand' off locks it); reset returns to the framed view. Orbit (drag), zoom (wheel),
pan (ctrl/middle drag); a click on a joint selects it. Shows smoothed joints, raw joints or both (raw faded) for a
visible filter comparison. Every hand of a result is drawn, each in its side's colour scheme (app.joints), and the
framing takes in all of them; the selected joint is marked on the selected hand (set_selected_hand), and a click
on another hand's joint selects that hand too (signal hand_selected).

OpenGL needs a real (or virtual, Xvfb) display: under Qt's offscreen platform, or when no GL context can be made,
the view shows a message instead and keeps its data logic, so everything else still works and tests run.
Display coordinates are camera coordinates turned so the view's "up" is the image's up: (x, z, -y).
Imports PySide6, pyqtgraph(.opengl), numpy and app foundation.
"""
from __future__ import annotations

import os
import time

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.camera import point_cloud_mm
from app.gui import theme
from app.gui.hands import PRIMARY, hands_of, resolve
from app.joints import BONES, NUM_JOINTS
from app.types import TrackedHand, TrackerResult

MODES = ("smoothed", "raw", "both")
MAX_CLOUD_POINTS = 3000
CLOUD_DEPTH_SPAN_MM = 160.0   # the cloud's colours span this depth range around the hand's median depth
PICK_RADIUS_SCREEN_PX = 14.0
_NO_GL_PLATFORMS = ("offscreen", "minimal", "vnc")
_gl_state: tuple[bool, str] | None = None


def gl_available() -> tuple[bool, str]:
    """(usable, reason): whether an OpenGL context can be made on this display. Cached after the first call."""
    global _gl_state
    if _gl_state is None:
        _gl_state = _probe_gl()
    return _gl_state


def _probe_gl() -> tuple[bool, str]:
    if os.environ.get("HAND_TRACKER_NO_GL"):
        return False, "disabled by HAND_TRACKER_NO_GL"
    platform = QtGui.QGuiApplication.platformName()
    if platform in _NO_GL_PLATFORMS:
        return False, f"no OpenGL on the '{platform}' Qt platform (run under a display or xvfb-run)"
    try:
        import OpenGL.GL  # noqa: F401  (pyqtgraph.opengl needs PyOpenGL)
    except ImportError as exc:
        return False, f"PyOpenGL is missing ({exc})"
    context, surface = QtGui.QOpenGLContext(), QtGui.QOffscreenSurface()
    surface.create()
    if not context.create() or not context.makeCurrent(surface):
        return False, "could not create an OpenGL context"
    context.doneCurrent()
    return True, ""


def to_display(xyz_mm: np.ndarray) -> np.ndarray:
    """Camera frame (x right, y down, z forward) -> display frame (x right, depth away, up)."""
    xyz = np.asarray(xyz_mm, dtype=np.float32)
    return np.stack([xyz[..., 0], xyz[..., 2], -xyz[..., 1]], axis=-1)


def bone_segments(joints: np.ndarray) -> np.ndarray:
    """(2 * bones) x 3 vertex list, parent then child for every bone (for a 'lines' plot)."""
    joints = np.asarray(joints)
    return joints[np.array(BONES).reshape(-1)]


def _hand_mask(depth_mm: np.ndarray, location, crop) -> np.ndarray | None:
    """A hand's pixels: the localiser's mask when it has one, else the crop's cube; None without either."""
    mask = location.mask if location is not None else None
    if mask is not None:
        return np.asarray(mask, dtype=bool)
    if crop is None:
        return None
    u0, v0, u1, v1 = crop.box_px()
    half = crop.cube_mm / 2.0
    cz = crop.centre_uvz[2]
    vs, us = np.mgrid[0:depth_mm.shape[0], 0:depth_mm.shape[1]]
    return (us >= u0) & (us <= u1) & (vs >= v0) & (vs <= v1) & (np.abs(depth_mm - cz) < half)


def hand_cloud_mm(result: TrackerResult, max_points: int = MAX_CLOUD_POINTS,
                  hands: tuple[TrackedHand, ...] | None = None) -> np.ndarray:
    """The hands' points in camera-frame mm: the result's own hand (its localiser mask when it has one, else its
    crop's cube), or with hands, the pixels of any of them (each hand's mask or cube), max_points in all."""
    frame = result.frame
    depth_mm = frame.depth_mm()
    if hands is None or len(hands) < 2:
        mask = _hand_mask(depth_mm, result.location, result.crop)
    else:
        masks = [m for m in (_hand_mask(depth_mm, h.location, h.crop) for h in hands) if m is not None]
        mask = np.logical_or.reduce(masks) if masks else None
    if mask is None:
        return np.zeros((0, 3))
    count = int(np.count_nonzero(mask))
    step = max(1, int(np.ceil(np.sqrt(count / max_points)))) if count else 1
    return point_cloud_mm(depth_mm, frame.intrinsics, mask=np.asarray(mask, dtype=bool), step=step)


def cloud_colours(cloud_mm: np.ndarray, span_mm: float = CLOUD_DEPTH_SPAN_MM) -> np.ndarray:
    """N x 4 float RGBA for camera-frame points, by depth (the depth view's colours: near warm, far cool) over
    span_mm around their median depth, so the hand's relief shows."""
    if len(cloud_mm) == 0:
        return np.zeros((0, 4), np.float32)
    z = np.asarray(cloud_mm, dtype=np.float32)[:, 2]
    t = np.clip((z - np.median(z)) / span_mm + 0.5, 0.0, 1.0)
    rgb = _CLOUD_LUT[np.round(t * 255).astype(np.int64)]
    return np.concatenate([rgb, np.full((len(z), 1), 0.85, np.float32)], axis=1)


_CLOUD_LUT = theme.depth_colour_map().getLookupTable(0.0, 1.0, 256, alpha=False).astype(np.float32) / 255.0


class SkeletonView(QtWidgets.QWidget):
    """show_result() draws one result; set_mode() picks smoothed/raw/both; joint_clicked(int) on a joint click."""

    joint_clicked = QtCore.Signal(int)
    hand_selected = QtCore.Signal(int)   # a click on another hand's joint: that hand's id
    mode_changed = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None, use_gl: bool | None = None) -> None:
        super().__init__(parent)
        usable, reason = gl_available()
        self.gl_enabled = usable if use_gl is None else (use_gl and usable)
        self.unavailable_reason = reason
        self._selected = 0
        self._framed = False        # the next skeleton snaps the framing (first one, or after reset)
        self._last_frame_s: float | None = None
        self.shown_joints_mm: np.ndarray | None = None       # the selected hand's camera-frame joints drawn solid
        self.shown_raw_joints_mm: np.ndarray | None = None   # its camera-frame raw joints drawn faded (mode 'both')
        self.shown_hands: list[tuple[TrackedHand, np.ndarray | None]] = []   # every hand and its solid joints
        self._selected_hand = PRIMARY
        self.cloud_mm: np.ndarray = np.zeros((0, 3))

        title = QtWidgets.QLabel("3-D  ·  camera frame, mm")
        title.setToolTip("joints in millimetres in the camera frame; floor grid 50 mm; the axes are 50 mm long")
        title.setMinimumWidth(40)
        title.setObjectName("title")
        self.mode_combo = QtWidgets.QComboBox()
        self.mode_combo.addItems(MODES)
        self.mode_combo.setToolTip("smoothed joints, raw network joints, or both (raw faded)")
        self.mode_combo.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.cloud_check = QtWidgets.QCheckBox("point cloud")
        self.cloud_check.setChecked(True)
        self.cloud_check.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.follow_check = QtWidgets.QCheckBox("follow hand")
        self.follow_check.setChecked(True)
        self.follow_check.setToolTip("the view follows the hand; off: the view stays where it is")
        self.follow_check.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.reset_button = QtWidgets.QPushButton("reset view")
        self.reset_button.setToolTip("back to the framed view of the hand")
        self.reset_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        header = QtWidgets.QHBoxLayout()
        for widget in (title,):
            header.addWidget(widget)
        header.addStretch(1)
        for widget in (self.follow_check, self.cloud_check, self.mode_combo, self.reset_button):
            header.addWidget(widget)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        if self.gl_enabled:
            from app.gui.gl_scene import HandScene   # imports pyqtgraph.opengl only when GL works
            self.scene = HandScene()
            self.scene.view.clicked.connect(self._on_view_clicked)
            layout.addWidget(self.scene.widget, 1)
        else:
            self.scene = None
            self.placeholder = QtWidgets.QLabel(f"3-D view unavailable\n{reason}")
            self.placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            self.placeholder.setWordWrap(True)
            self.placeholder.setObjectName("card")
            self.placeholder.setStyleSheet(f"color: {theme.TEXT_DIM};")
            layout.addWidget(self.placeholder, 1)
        self.mode_combo.currentTextChanged.connect(self._on_mode_changed)
        self.cloud_check.toggled.connect(self._on_cloud_toggled)
        self.reset_button.clicked.connect(self.reset_camera)
        self._result: TrackerResult | None = None

    # ---- public API ---------------------------------------------------------------------------------------
    def mode(self) -> str:
        return self.mode_combo.currentText()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"3-D view mode must be one of {MODES}, got '{mode}'")
        self.mode_combo.setCurrentText(mode)

    def cycle_mode(self) -> None:
        self.set_mode(MODES[(MODES.index(self.mode()) + 1) % len(MODES)])

    def set_selected_joint(self, joint_id: int) -> None:
        self._selected = int(joint_id)
        self._redraw()

    def set_selected_hand(self, hand_id: int) -> None:
        """Mark the selected joint on the hand with this id (hands.PRIMARY, or an id not shown: the primary)."""
        self._selected_hand = int(hand_id)
        self._redraw()

    def show_result(self, result: TrackerResult) -> None:
        self._result = result
        self.cloud_mm = hand_cloud_mm(result, hands=hands_of(result)) \
            if (self.cloud_check.isChecked() and result.pose is not None) else np.zeros((0, 3))
        if self.scene is not None:
            self.scene.set_cloud(to_display(self.cloud_mm), cloud_colours(self.cloud_mm))
        self._redraw()

    def following(self) -> bool:
        return self.follow_check.isChecked()

    def set_following(self, on: bool) -> None:
        self.follow_check.setChecked(bool(on))

    def reset_camera(self) -> None:
        """Back to the framed view: default angles and distance, centred on the hand shown."""
        self._framed = False
        if self.scene is not None:
            self.scene.reset_framing()
        self._redraw()

    def joint_screen_pos(self, joint_id: int, hand_index: int | None = None) -> QtCore.QPointF | None:
        """Where the solid skeleton's joint appears in the GL widget (logical px), or None: of the selected hand,
        or of the hand at hand_index (primary first)."""
        joints = self.shown_joints_mm if hand_index is None else self.shown_hands[hand_index][1]
        if self.scene is None or joints is None:
            return None
        return self.scene.project(to_display(joints[joint_id:joint_id + 1]))[0]

    # ---- internals -----------------------------------------------------------------------------------------
    def _redraw(self) -> None:
        mode = self.mode()
        hands = hands_of(self._result)
        drawn = []   # (side, solid camera-frame joints, faded ones) per hand, primary first
        for index, hand in enumerate(hands):
            pose = self._result.pose if index == 0 else hand.pose   # the primary: the result's own pose
            if pose is None:
                drawn.append((hand.hand, None, None))
                continue
            smoothed = np.asarray(pose.joints_xyz_mm, dtype=np.float64)
            raw = np.asarray(pose.joints_xyz_raw_mm, dtype=np.float64)
            drawn.append((hand.hand, raw if mode == "raw" else smoothed, raw if mode == "both" else None))
        self.shown_hands = [(hand, solid) for hand, (_, solid, _) in zip(hands, drawn)]
        selected = resolve(hands, self._selected_hand)
        _, self.shown_joints_mm, self.shown_raw_joints_mm = drawn[selected] if drawn else ("right", None, None)
        if self.scene is None:
            return
        self.scene.set_skeletons([(side, None if solid is None else to_display(solid),
                                   None if faded is None else to_display(faded)) for side, solid, faded in drawn],
                                 selected, self._selected)
        every = [to_display(solid) for _, solid, _ in drawn if solid is not None]
        if not every:
            return
        solid = np.concatenate(every)   # the framing takes in every hand
        now = time.perf_counter()
        if not self._framed:
            self.scene.frame_hand(solid, 0.0, snap=True)
            self.scene.reset_framing()
            self._framed = True
        elif self.following():
            self.scene.frame_hand(solid, now - (self._last_frame_s or now))
        self._last_frame_s = now

    def _on_mode_changed(self, mode: str) -> None:
        self._redraw()
        self.mode_changed.emit(mode)

    def _on_cloud_toggled(self, _checked: bool) -> None:
        if self._result is not None:
            self.show_result(self._result)

    def _on_view_clicked(self, pos: QtCore.QPointF) -> None:
        if self.scene is None:
            return
        best = None   # (screen distance, hand index, joint)
        for index, (_, joints_mm) in enumerate(self.shown_hands):
            if joints_mm is None:
                continue
            screen = self.scene.project(to_display(joints_mm))
            d = np.array([np.hypot(p.x() - pos.x(), p.y() - pos.y()) for p in screen])
            joint = int(np.argmin(d))
            if best is None or d[joint] < best[0]:
                best = (float(d[joint]), index, joint)
        if best is None or best[0] > PICK_RADIUS_SCREEN_PX or not 0 <= best[2] < NUM_JOINTS:
            return
        hands = [hand for hand, _ in self.shown_hands]
        if len(hands) > 1 and best[1] != resolve(tuple(hands), self._selected_hand):
            self._selected_hand = hands[best[1]].hand_id
            self._redraw()
            self.hand_selected.emit(self._selected_hand)
        self.joint_clicked.emit(best[2])
