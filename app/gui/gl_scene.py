"""The OpenGL scene behind the 3-D view: a GL view that reports clicks, the floor grid, the camera's axes, the
point cloud and the skeleton items. Takes display-frame arrays (see skeleton_view.to_display) and knows nothing
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
from app.joints import BONES

CLICK_SLOP_PX = 4.0          # a press and release closer than this is a click, not an orbit
AXIS_LENGTH_MM = 100.0
GRID_HALF_WIDTH_MM = 400.0
GRID_DEPTH_MM = (0.0, 1200.0)   # from the camera to 1.2 m
FLOOR_Y_MM = 250.0           # the grid lies 250 mm below the optical axis (camera y down)


class ClickableGLView(GLViewMixin, QtOpenGL.QOpenGLWindow):
    """pyqtgraph's GL view on a QOpenGLWindow; emits clicked(pos) for a press/release without dragging (the
    drag still orbits). Shares the application's GL context (pyqtgraph caches its shader programs)."""

    clicked = QtCore.Signal(QtCore.QPointF)

    def __init__(self) -> None:
        super().__init__(QtGui.QOpenGLContext.globalShareContext())

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


class HandScene:
    """Owns the view and its items; set_* methods take display-frame float arrays."""

    def __init__(self) -> None:
        self.view = ClickableGLView()
        self.view.setBackgroundColor(pg.mkColor(theme.BACKGROUND))
        self.widget = QtWidgets.QWidget.createWindowContainer(self.view)
        self.widget.setMinimumSize(200, 150)
        self.widget.gl_window = self.view   # screenshot.grab_window paints GL windows over the window picture
        _live_containers.add(self.widget)

        grid = gl.GLGridItem(color=(255, 255, 255, 40))
        depth0, depth1 = GRID_DEPTH_MM
        grid.setSize(x=2 * GRID_HALF_WIDTH_MM, y=depth1 - depth0)
        grid.setSpacing(x=50.0, y=50.0)
        grid.translate(0.0, (depth0 + depth1) / 2.0, -FLOOR_Y_MM)
        self.view.addItem(grid)
        self._add_camera_axes()

        self.cloud = gl.GLScatterPlotItem(pos=np.zeros((0, 3)), size=2.0, color=(0.55, 0.6, 0.7, 0.55),
                                          pxMode=True)
        self.cloud.setGLOptions("translucent")
        self.raw_bones = gl.GLLinePlotItem(pos=np.zeros((0, 3)), mode="lines", width=2.0, antialias=True)
        self.bones = gl.GLLinePlotItem(pos=np.zeros((0, 3)), mode="lines", width=4.0, antialias=True)
        self.joints = gl.GLScatterPlotItem(pos=np.zeros((0, 3)), size=9.0, pxMode=True)
        self.selected = gl.GLScatterPlotItem(pos=np.zeros((0, 3)), size=15.0, color=(1, 1, 1, 0.55), pxMode=True)
        for item in (self.cloud, self.raw_bones, self.bones, self.joints, self.selected):
            self.view.addItem(item)
        joint_rgba = theme.joint_colours_float()
        self._joint_rgba = joint_rgba
        self._bone_rgba = joint_rgba[np.array([child for _, child in BONES]).repeat(2)]
        self._faded_bone_rgba = self._bone_rgba * np.array([1, 1, 1, 0.4], np.float32)
        self.look_at(np.array([0.0, 450.0, 0.0]))

    def _add_camera_axes(self) -> None:
        """The camera at the origin: x (red) right, y (green) down, z (blue) forward, AXIS_LENGTH_MM long."""
        axes = {"x": ((1, 0, 0), (0.94, 0.36, 0.36, 1)), "y": ((0, 0, -1), (0.37, 0.81, 0.5, 1)),
                "z": ((0, 1, 0), (0.31, 0.64, 1.0, 1))}
        for name, (direction, rgba) in axes.items():
            end = np.array(direction, dtype=np.float32) * AXIS_LENGTH_MM
            self.view.addItem(gl.GLLinePlotItem(pos=np.array([[0, 0, 0], end]), color=rgba, width=2.0))
            self.view.addItem(gl.GLTextItem(pos=end * 1.12, text=name, color=pg.mkColor(*(int(c * 255) for c in rgba))))
        self.view.addItem(gl.GLTextItem(pos=(0.0, 0.0, -25.0), text="camera", color=pg.mkColor(theme.TEXT_DIM)))

    def look_at(self, hand_centre: np.ndarray) -> None:
        """Orbit around a point between the camera and the hand, seen from the camera's side and slightly from
        above and to the left, so that both the hand and the camera's axes are in view."""
        hand_centre = np.asarray(hand_centre, dtype=float)
        centre = hand_centre * np.array([0.7, 0.75, 0.7])
        distance_mm = float(np.clip(1.05 * np.linalg.norm(hand_centre), 400.0, 3000.0))
        self.view.setCameraPosition(pos=pg.Vector(*centre), distance=distance_mm, elevation=22.0,
                                    azimuth=-125.0)

    def set_cloud(self, points: np.ndarray) -> None:
        self.cloud.setData(pos=np.asarray(points, dtype=np.float32).reshape(-1, 3))

    def set_skeleton(self, solid: np.ndarray | None, faded: np.ndarray | None, selected: int) -> None:
        empty = np.zeros((0, 3), np.float32)
        if solid is None:
            self.bones.setData(pos=empty)
            self.joints.setData(pos=empty)
            self.selected.setData(pos=empty)
        else:
            self.bones.setData(pos=solid[np.array(BONES).reshape(-1)], color=self._bone_rgba)
            self.joints.setData(pos=solid, color=self._joint_rgba)
            self.selected.setData(pos=solid[selected:selected + 1])
        if faded is None:
            self.raw_bones.setData(pos=empty)
        else:
            self.raw_bones.setData(pos=faded[np.array(BONES).reshape(-1)], color=self._faded_bone_rgba)

    def project(self, points: np.ndarray) -> list[QtCore.QPointF]:
        """Display-frame points -> widget coordinates (logical px), with the view's current camera."""
        w, h = max(self.view.width(), 1), max(self.view.height(), 1)
        mvp = self.view.projectionMatrix((0, 0, w, h), (0, 0, w, h)) * self.view.viewMatrix()
        out = []
        for p in np.asarray(points, dtype=float).reshape(-1, 3):
            ndc = mvp.map(QtGui.QVector3D(*p))   # QMatrix4x4.map divides by w
            out.append(QtCore.QPointF((ndc.x() + 1.0) * 0.5 * w, (1.0 - ndc.y()) * 0.5 * h))
        return out
