"""The OpenGL 3-D view: skeleton vertices in millimetres, rendering, clicking a joint, and window pictures that
include the GL view. Needs an X server with OpenGL (run the suite under `xvfb-run -a`); skipped offscreen, where
the same view shows a "3-D view unavailable" message instead (also tested here).
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from tests import gui_helpers as h
from app.gui import theme
from app.gui.screenshot import grab_window
from app.gui.skeleton_view import SkeletonView, gl_available, to_display
from app.joints import BONES, FINGER_COLOURS_RGB, JOINT_INDEX


@pytest.fixture
def gl(qapp):
    theme.apply_theme(qapp)
    usable, reason = gl_available()
    if not usable:
        pytest.skip(f"no OpenGL: {reason}")


@pytest.fixture
def view(qtbot, gl):
    widget = SkeletonView()
    qtbot.addWidget(widget)
    widget.resize(640, 480)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_without_opengl_the_view_says_so(qtbot, qapp):
    widget = SkeletonView(use_gl=False)
    qtbot.addWidget(widget)
    assert widget.scene is None
    assert widget.placeholder.text().startswith("3-D view unavailable")
    widget.show_result(h.make_result())   # the data path still works
    assert widget.shown_joints_mm is not None


@pytest.mark.gl
def test_skeleton_vertices_are_the_joints_in_millimetres(view):
    result = h.make_result(index=3)
    view.show_result(result)
    scene = view.scene
    joints = to_display(result.pose.joints_xyz_mm)
    np.testing.assert_allclose(scene.joints.pos, joints, atol=1e-3)
    np.testing.assert_allclose(scene.bones.pos, joints[np.array(BONES).reshape(-1)], atol=1e-3)
    assert len(scene.raw_bones.pos) == 0
    view.set_mode("both")
    raw = to_display(result.pose.joints_xyz_raw_mm)
    np.testing.assert_allclose(scene.raw_bones.pos, raw[np.array(BONES).reshape(-1)], atol=1e-3)
    view.set_selected_joint(JOINT_INDEX["thumb_tip"])
    np.testing.assert_allclose(scene.selected.pos, joints[[JOINT_INDEX["thumb_tip"]]], atol=1e-3)
    assert 100 < len(scene.cloud.pos) <= 3000


@pytest.mark.gl
def test_the_skeleton_is_rendered_in_finger_colours(view, qtbot):
    view.show_result(h.make_result())
    qtbot.wait(50)
    image = view.scene.view.grabFramebuffer()
    assert not image.isNull()
    ptr = image.convertToFormat(image.Format.Format_RGB888)
    rgb = np.frombuffer(ptr.constBits(), np.uint8).reshape(ptr.height(), ptr.bytesPerLine())[:, :ptr.width() * 3]
    rgb = rgb.reshape(ptr.height(), ptr.width(), 3).astype(int)
    index_colour = np.array(FINGER_COLOURS_RGB[1])
    close = np.abs(rgb - index_colour).max(axis=2) < 40
    assert close.sum() > 20   # the index finger's bones are on screen


@pytest.mark.gl
def test_clicking_a_joint_in_3d_selects_it(view, qtbot):
    view.show_result(h.make_result())
    target = JOINT_INDEX["middle_tip"]
    pos = view.joint_screen_pos(target)
    assert 0 < pos.x() < view.scene.view.width() and 0 < pos.y() < view.scene.view.height()
    with qtbot.waitSignal(view.joint_clicked, timeout=2000) as signal:
        qtbot.mouseClick(view.scene.view, QtCore.Qt.MouseButton.LeftButton, pos=pos.toPoint())
    assert signal.args == [target]


@pytest.mark.gl
def test_window_pictures_include_the_gl_view(view, qtbot):
    view.show_result(h.make_result())
    qtbot.wait(50)
    picture = grab_window(view).toImage()
    top_left = view.scene.widget.mapTo(view, QtCore.QPoint(0, 0))
    region = picture.copy(QtCore.QRect(top_left, view.scene.widget.size()))
    background = QtWidgets.QApplication.palette().base().color()
    colours = {region.pixel(x, y) for x in range(0, region.width(), 7) for y in range(0, region.height(), 7)}
    assert len(colours) > 5 and background.rgb() in colours | {background.rgb()}
