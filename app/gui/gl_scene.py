"""The OpenGL scene behind the 3-D view: a GL view that reports clicks, the floor grid, the camera's axes, the
point cloud and the skeleton items (one mesh and one raw-bones line per hand slot, made once and reused, each
hand in its side's colour scheme). Takes display-frame arrays (see skeleton_view.to_display) and knows nothing
about results. Imported only once an OpenGL context is known to work. Imports PySide6, pyqtgraph.opengl.

The view is pyqtgraph's GL view logic on a QOpenGLWindow inside a window container, not a QOpenGLWidget: a
QOpenGLWidget makes Qt compose the WHOLE main window through OpenGL on every update, which with a software
renderer (Mesa llvmpipe, Xvfb, remote desktops) cost ~45 ms per redraw of a 1600 x 1000 window against ~2 ms
for the separate GL window (measured here).
"""
from __future__ import annotations

import atexit
import weakref

import numpy as np
import pyqtgraph as pg
import shiboken6
import pyqtgraph.opengl as gl
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from PySide6 import QtCore, QtGui, QtOpenGL, QtWidgets

from app.gui import theme
from app.joints import BONES, NUM_JOINTS, TIP_JOINTS

CLICK_SLOP_PX = 4.0          # a press and release closer than this is a click, not an orbit
AXIS_LENGTH_MM = 50.0        # the camera-axes triad beside the hand: its arms are the distance scale
GRID_HALF_WIDTH_MM = 200.0   # the floor grid under the hand: 400 x 400 mm ...
GRID_SPACING_MM = 50.0       # ... in 50 mm squares, on camera-frame multiples of 50 mm
FRAME_FILL = 0.6             # the hand's bounding sphere spans this share of the view's smaller side
FRAME_ELEVATION_DEG = 18.0   # the framed view: from the camera's side, a little above and to the left
FRAME_AZIMUTH_DEG = -128.0
FOLLOW_TIME_S = 0.25         # the framed view follows the hand with this time constant
BONE_RADIUS_MM = 4.0
JOINT_RADIUS_MM = 5.5
TIP_RADIUS_MM = 7.0
LIGHT_DIRECTION = np.array([-0.35, -0.8, 0.5])   # display frame: from the viewer's side, above, left


class ClickableGLView(GLViewMixin, QtOpenGL.QOpenGLWindow):
    """pyqtgraph's GL view on a QOpenGLWindow; emits clicked(pos) for a press/release without dragging (the
    drag still orbits). Shares the application's GL context (pyqtgraph caches its shader programs)."""

    clicked = QtCore.Signal(QtCore.QPointF)
    zoomed = QtCore.Signal()   # the user zoomed with the wheel: the framing keeps the user's distance

    def __init__(self) -> None:
        super().__init__(QtGui.QOpenGLContext.globalShareContext())

    def wheelEvent(self, ev) -> None:
        super().wheelEvent(ev)
        self.zoomed.emit()

    def devicePixelRatioF(self) -> float:   # the mixin and the GL items expect QWidget's API
        return float(self.devicePixelRatio())

    def rect(self) -> QtCore.QRect:
        return QtCore.QRect(0, 0, self.width(), self.height())

    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:
        self._press_pos = ev.position()
        super().mousePressEvent(ev)

    def mouseReleaseEvent(self, ev: QtGui.QMouseEvent) -> None:
        press = getattr(self, "_press_pos", None)
        if press is not None and ev.button() == QtCore.Qt.MouseButton.LeftButton:
            moved = ev.position() - press
            if abs(moved.x()) + abs(moved.y()) <= CLICK_SLOP_PX:
                self.clicked.emit(ev.position())
        self._press_pos = None
        super().mouseReleaseEvent(ev)


_live_containers: "weakref.WeakSet[QtWidgets.QWidget]" = weakref.WeakSet()


@atexit.register
def _destroy_gl_windows() -> None:
    """Delete the windows that still hold a GL view at interpreter exit, while Qt is fully alive: left to
    PySide's own teardown (after this handler), a widget tree holding a native GL window crashes (PySide6 6.11)."""
    for container in list(_live_containers):
        if shiboken6.isValid(container):
            top = container.window()
            shiboken6.delete(top if top is not None and shiboken6.isValid(top) else container)


def _unit_sphere(rows: int = 6, cols: int = 12) -> tuple[np.ndarray, np.ndarray]:
    md = gl.MeshData.sphere(rows=rows, cols=cols, radius=1.0)
    return md.vertexes().astype(np.float32), md.faces().astype(np.uint32)


def _unit_tube(cols: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A cylinder of radius 1 along z from 0 to 1 (no caps: the joint spheres close it)."""
    md = gl.MeshData.cylinder(rows=1, cols=cols, radius=[1.0, 1.0], length=1.0)
    return md.vertexes().astype(np.float32), md.faces().astype(np.uint32)


def skeleton_mesh(joints: np.ndarray, joint_rgba: np.ndarray, bone_rgba: np.ndarray, radii: np.ndarray,
                  bone_radius: float = BONE_RADIUS_MM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One triangle mesh of the skeleton in display-frame mm: a tube per bone (bone_rgba per bone) and a sphere
    per joint (radii per joint), lit from LIGHT_DIRECTION on the CPU. Returns (vertices V x 3, faces F x 3,
    colours V x 4)."""
    sphere_v, sphere_f = _SPHERE
    tube_v, tube_f = _TUBE
    joints = np.asarray(joints, dtype=np.float32)
    light = (LIGHT_DIRECTION / np.linalg.norm(LIGHT_DIRECTION)).astype(np.float32)
    # Joints: the unit sphere scaled and moved; its normals are its own vertices.
    verts = [(sphere_v[None] * radii[:, None, None] + joints[:, None]).reshape(-1, 3)]
    normals = [np.broadcast_to(sphere_v, (len(joints),) + sphere_v.shape).reshape(-1, 3)]
    colours = [np.repeat(joint_rgba, len(sphere_v), axis=0)]
    faces = [(sphere_f[None] + (np.arange(len(joints)) * len(sphere_v))[:, None, None]).reshape(-1, 3)]
    # Bones: the unit tube turned onto each bone.
    bones = np.array(BONES)
    a, b = joints[bones[:, 0]], joints[bones[:, 1]]
    axis = b - a
    length = np.linalg.norm(axis, axis=1, keepdims=True)
    w = axis / np.maximum(length, 1e-6)
    helper = np.where(np.abs(w[:, 2:3]) < 0.9, np.array([[0, 0, 1]], np.float32), np.array([[1, 0, 0]], np.float32))
    u = np.cross(helper, w)
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-6)
    v = np.cross(w, u)
    radial = tube_v[None, :, 0:1] * u[:, None] + tube_v[None, :, 1:2] * v[:, None]       # B x T x 3
    tube = a[:, None] + radial * bone_radius + tube_v[None, :, 2:3] * axis[:, None]
    offset = sum(len(x) for x in verts)
    verts.append(tube.reshape(-1, 3))
    normals.append(radial.reshape(-1, 3))
    colours.append(np.repeat(bone_rgba, len(tube_v), axis=0))
    faces.append((tube_f[None] + (offset + np.arange(len(bones)) * len(tube_v))[:, None, None]).reshape(-1, 3))
    verts, normals, colours = np.concatenate(verts), np.concatenate(normals), np.concatenate(colours).copy()
    shade = 0.45 + 0.55 * np.clip(normals @ light, 0.0, 1.0)
    colours[:, :3] *= shade[:, None]
    return verts.astype(np.float32), np.concatenate(faces).astype(np.uint32), colours.astype(np.float32)


_SPHERE = _unit_sphere()
_TUBE = _unit_tube()


def framing_distance_mm(radius_mm: float, width_px: int, height_px: int, fov_deg: float) -> float:
    """Camera distance at which a sphere of radius_mm spans FRAME_FILL of the view's smaller side (pyqtgraph's
    fov is horizontal)."""
    half_width = np.tan(np.radians(fov_deg) / 2.0)
    half_smaller = half_width * min(1.0, max(height_px, 1) / max(width_px, 1))
    return float(np.clip(radius_mm / (FRAME_FILL * half_smaller), 150.0, 4000.0))


class HandScene:
    """Owns the view and its items; set_* methods take display-frame float arrays.

    Framing: frame_hand(joints) moves the view's centre (and, until the user zooms, its distance) towards the
    hand, smoothly unless snap; the user's orbit angles are kept, reset_framing() restores the framed ones."""

    def __init__(self) -> None:
        self.view = ClickableGLView()
        self.view.setBackgroundColor(pg.mkColor(theme.BACKGROUND))
        self.widget = QtWidgets.QWidget.createWindowContainer(self.view)
        self.widget.setMinimumSize(200, 150)
        self.widget.gl_window = self.view   # screenshot.grab_window paints GL windows over the window picture
        _live_containers.add(self.widget)
        self.user_zoomed = False
        self.view.zoomed.connect(self._on_user_zoom)
        self.framed_centre: np.ndarray | None = None   # display frame mm, smoothed
        self.framed_radius_mm = 100.0

        self.grid = gl.GLGridItem(color=(255, 255, 255, 45))
        self.grid.setSize(x=2 * GRID_HALF_WIDTH_MM, y=2 * GRID_HALF_WIDTH_MM)
        self.grid.setSpacing(x=GRID_SPACING_MM, y=GRID_SPACING_MM)
        self.view.addItem(self.grid)

        self.cloud = gl.GLScatterPlotItem(pos=np.zeros((0, 3)), size=2.5, color=(0.55, 0.6, 0.7, 0.7),
                                          pxMode=True)
        self.cloud.setGLOptions("translucent")
        self.view.addItem(self.cloud)
        self.raw_bones_items: list = []   # per hand slot, primary first
        self._raw_drawn: set[int] = set()  # the slots whose raw bones are drawn
        self.skeleton_items: list = []
        self._ensure_slots(2)
        self.raw_bones, self.skeleton = self.raw_bones_items[0], self.skeleton_items[0]   # the primary's
        self.selected = gl.GLScatterPlotItem(pos=np.zeros((0, 3)), size=3.4 * TIP_RADIUS_MM,
                                             color=(1, 1, 1, 0.45), pxMode=False)
        self.selected.setGLOptions("translucent")
        self.view.addItem(self.selected)
        self._add_axes()
        tips = np.zeros(NUM_JOINTS, bool)
        tips[list(TIP_JOINTS)] = True
        self._tips = tips
        self._joint_radii = np.where(tips, TIP_RADIUS_MM, JOINT_RADIUS_MM).astype(np.float32)
        self._schemes: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._joint_rgba, self._bone_rgba, self._faded_bone_rgba = self.scheme("right")
        self.hands_joints_pos: list[np.ndarray] = []   # every hand's drawn joints (display frame), primary first
        self.hands_sides: list[str] = []
        self.joints_pos = np.zeros((0, 3), np.float32)   # the primary's (display frame), for tests and picking
        self.bones_pos = np.zeros((0, 3), np.float32)
        self.raw_bones_pos = np.zeros((0, 3), np.float32)
        self.reset_framing(np.array([0.0, 450.0, 0.0]))

    def _ensure_slots(self, count: int) -> None:
        while len(self.skeleton_items) < count:
            raw_bones = gl.GLLinePlotItem(pos=np.zeros((0, 3)), mode="lines", width=2.0, antialias=True)
            skeleton = gl.GLMeshItem(smooth=True, computeNormals=False, shader=None, glOptions="opaque",
                                     vertexes=np.zeros((3, 3), np.float32), faces=np.array([[0, 1, 2]], np.uint32))
            skeleton.hide()
            self.view.addItem(raw_bones)
            self.view.addItem(skeleton)
            self.raw_bones_items.append(raw_bones)
            self.skeleton_items.append(skeleton)

    def scheme(self, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(joint RGBA J x 4 with the tips lighter, bone RGBA B x 4, faded raw-bone RGBA 2B x 4) of a hand's
        colour scheme (theme.joint_colours_float)."""
        side = "left" if side == "left" else "right"
        if side not in self._schemes:
            joint_rgba = theme.joint_colours_float(side)
            shown = joint_rgba.copy()
            shown[self._tips, :3] = 0.55 * joint_rgba[self._tips, :3] + 0.45   # tips: lighter and larger
            children = np.array([child for _, child in BONES])
            self._schemes[side] = (shown, joint_rgba[children],
                                   joint_rgba[children.repeat(2)] * np.array([1, 1, 1, 0.45], np.float32))
        return self._schemes[side]

    def _add_axes(self) -> None:
        """The camera's axes beside the hand, AXIS_LENGTH_MM long: x (red) right, y (green) down, z (blue)
        forward, labelled, and their length as the view's distance scale."""
        self.axes_items = []
        axes = {"x": ((1, 0, 0), (0.94, 0.36, 0.36, 1)), "y": ((0, 0, -1), (0.37, 0.81, 0.5, 1)),
                "z": ((0, 1, 0), (0.31, 0.64, 1.0, 1))}
        self.axis_directions = {}
        for name, (direction, rgba) in axes.items():
            end = np.array(direction, dtype=np.float32) * AXIS_LENGTH_MM
            line = gl.GLLinePlotItem(pos=np.array([[0, 0, 0], end]), color=rgba, width=3.0, antialias=True)
            label = gl.GLTextItem(pos=end * 1.22, text=name, color=pg.mkColor(*(int(c * 255) for c in rgba)))
            font = QtGui.QFont()
            font.setPointSizeF(11.0)
            font.setBold(True)
            label.setData(font=font)
            self.view.addItem(line)
            self.view.addItem(label)
            self.axes_items += [line, label]
            self.axis_directions[name] = end
        small = QtGui.QFont()
        small.setPointSizeF(9.0)
        self.scale_label = gl.GLTextItem(pos=(6.0, 0.0, -AXIS_LENGTH_MM * 0.6),
                                         text=f"camera axes, {AXIS_LENGTH_MM:.0f} mm", color=pg.mkColor(theme.TEXT),
                                         font=small)
        self.view.addItem(self.scale_label)
        self.axes_items.append(self.scale_label)

    # ---- framing -------------------------------------------------------------------------------------------
    def _on_user_zoom(self) -> None:
        self.user_zoomed = True

    def reset_framing(self, hand_centre: np.ndarray | None = None) -> None:
        """The framed view: default angles, the distance that frames the hand, centred on it at once."""
        self.user_zoomed = False
        if hand_centre is not None:
            self.framed_centre = np.asarray(hand_centre, dtype=float)
        centre = self.framed_centre if self.framed_centre is not None else np.array([0.0, 450.0, 0.0])
        self.view.setCameraPosition(pos=pg.Vector(*centre), distance=self._framing_distance(),
                                    elevation=FRAME_ELEVATION_DEG, azimuth=FRAME_AZIMUTH_DEG)
        self._place_guides(centre)

    def _framing_distance(self) -> float:
        return framing_distance_mm(self.framed_radius_mm, self.view.width(), self.view.height(),
                                   float(self.view.opts["fov"]))

    def frame_hand(self, joints: np.ndarray, dt_s: float, snap: bool = False) -> None:
        """Move the framing towards the hand (display-frame joints): alpha = 1 - exp(-dt / FOLLOW_TIME_S)."""
        joints = np.asarray(joints, dtype=float)
        centre = joints.mean(axis=0)
        radius = float(np.linalg.norm(joints - centre, axis=1).max()) + TIP_RADIUS_MM
        alpha = 1.0 if snap or self.framed_centre is None else 1.0 - float(np.exp(-max(dt_s, 0.0) / FOLLOW_TIME_S))
        self.framed_centre = centre if self.framed_centre is None else \
            self.framed_centre + alpha * (centre - self.framed_centre)
        # The framing radius grows at once (the hand must fit) and shrinks slowly (no pumping as fingers bend).
        target = max(radius, 60.0)
        self.framed_radius_mm = target if snap or target > self.framed_radius_mm else \
            self.framed_radius_mm + 0.2 * alpha * (target - self.framed_radius_mm)
        self.view.opts["center"] = pg.Vector(*self.framed_centre)
        if not self.user_zoomed:
            self.view.opts["distance"] = self._framing_distance()
        self._place_guides(self.framed_centre)
        self.view.update()

    def _place_guides(self, centre: np.ndarray) -> None:
        """Grid under the hand (snapped to 50 mm in the camera frame) and the axes triad at its lower left."""
        r = self.framed_radius_mm
        floor = centre[2] - 1.05 * r
        gx, gy = (np.round(centre[:2] / GRID_SPACING_MM) * GRID_SPACING_MM)
        self.grid.resetTransform()
        self.grid.translate(float(gx), float(gy), float(floor))
        anchor = np.array([centre[0] - 1.35 * r, centre[1] - 0.3 * r, floor + AXIS_LENGTH_MM])
        for item in self.axes_items:
            item.resetTransform()
            item.translate(*(float(c) for c in anchor))

    # ---- data ----------------------------------------------------------------------------------------------
    def set_cloud(self, points: np.ndarray, colours: np.ndarray | None = None) -> None:
        points = np.asarray(points, dtype=np.float32).reshape(-1, 3)
        if colours is None:
            self.cloud.setData(pos=points)
        else:
            self.cloud.setData(pos=points, color=np.asarray(colours, dtype=np.float32))

    def set_skeleton(self, solid: np.ndarray | None, faded: np.ndarray | None, selected: int) -> None:
        """One right hand (the primary slot): solid joints, faded (raw) joints or None, the selected joint."""
        self.set_skeletons([("right", solid, faded)], 0, selected)

    def set_skeletons(self, hands: list[tuple[str, np.ndarray | None, np.ndarray | None]], selected_hand: int,
                      selected_joint: int) -> None:
        """Every hand, primary first, as (side, solid joints or None, faded joints or None) in the display frame;
        the selected joint's marker goes on the hand at index selected_hand. Unused slots are hidden."""
        empty = np.zeros((0, 3), np.float32)
        bone_index = np.array(BONES).reshape(-1)
        self._ensure_slots(len(hands))
        self.hands_joints_pos, self.hands_sides = [], []
        self.selected.setData(pos=empty)
        for index, skeleton in enumerate(self.skeleton_items):
            side, solid, faded = hands[index] if index < len(hands) else ("right", None, None)
            if index >= max(len(hands), 1) and not skeleton.visible() and index not in self._raw_drawn:
                continue   # an unused slot, already empty
            joint_rgba, bone_rgba, faded_rgba = self.scheme(side)
            raw_bones = self.raw_bones_items[index]
            solid_pos = empty if solid is None else np.asarray(solid, dtype=np.float32)
            if solid is None:
                skeleton.hide()
            else:
                verts, faces, colours = skeleton_mesh(solid_pos, joint_rgba, bone_rgba, self._joint_radii)
                skeleton.setMeshData(vertexes=verts, faces=faces, vertexColors=colours)
                skeleton.show()
                if index == selected_hand:
                    self.selected.setData(pos=solid_pos[selected_joint:selected_joint + 1])
            faded_pos = empty if faded is None else np.asarray(faded, dtype=np.float32)[bone_index]
            if faded is None:
                raw_bones.setData(pos=empty)
                self._raw_drawn.discard(index)
            else:
                raw_bones.setData(pos=faded_pos, color=faded_rgba)
                self._raw_drawn.add(index)
            if index < len(hands):
                self.hands_joints_pos.append(solid_pos)
                self.hands_sides.append(side)
            if index == 0:
                self.joints_pos, self.bones_pos = solid_pos, (empty if solid is None else solid_pos[bone_index])
                self.raw_bones_pos = faded_pos

    def project(self, points: np.ndarray) -> list[QtCore.QPointF]:
        """Display-frame points -> widget coordinates (logical px), with the view's current camera."""
        w, h = max(self.view.width(), 1), max(self.view.height(), 1)
        mvp = self.view.projectionMatrix((0, 0, w, h), (0, 0, w, h)) * self.view.viewMatrix()
        out = []
        for p in np.asarray(points, dtype=float).reshape(-1, 3):
            ndc = mvp.map(QtGui.QVector3D(*p))   # QMatrix4x4.map divides by w
            out.append(QtCore.QPointF((ndc.x() + 1.0) * 0.5 * w, (1.0 - ndc.y()) * 0.5 * h))
        return out
