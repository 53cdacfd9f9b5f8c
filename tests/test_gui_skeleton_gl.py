"""The OpenGL 3-D view: skeleton vertices in millimetres, rendering, clicking a joint, and window pictures that
include the GL view. Needs an X server with OpenGL (run the suite under `xvfb-run -a`); skipped offscreen, where
the same view shows a "3-D view unavailable" message instead (also tested here).
"""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from tests import gui_helpers as h
from app.gui import theme
from app.gui.gl_scene import FOLLOW_TIME_S
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
    h.shown(qtbot, widget, 640, 480)
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
    np.testing.assert_allclose(scene.joints_pos, joints, atol=1e-3)
    np.testing.assert_allclose(scene.bones_pos, joints[np.array(BONES).reshape(-1)], atol=1e-3)
    # The drawn mesh: a sphere around every joint (tips larger) and a tube along every bone.
    verts = scene.skeleton.opts["meshdata"].vertexes()
    gap = np.linalg.norm(verts[:, None] - joints[None], axis=2).min(axis=1)
    assert gap.max() < 8.0   # every vertex is on a sphere or near a bone's end ...
    for j in range(len(joints)):   # ... and every joint has its sphere
        assert np.sum(np.abs(np.linalg.norm(verts - joints[j], axis=1) - scene._joint_radii[j]) < 1e-3) >= 20
    assert scene._joint_radii[JOINT_INDEX["index_tip"]] > scene._joint_radii[JOINT_INDEX["index_pip"]]
    assert len(scene.raw_bones_pos) == 0
    view.set_mode("both")
    raw = to_display(result.pose.joints_xyz_raw_mm)
    np.testing.assert_allclose(scene.raw_bones_pos, raw[np.array(BONES).reshape(-1)], atol=1e-3)
    view.set_selected_joint(JOINT_INDEX["thumb_tip"])
    np.testing.assert_allclose(scene.selected.pos, joints[[JOINT_INDEX["thumb_tip"]]], atol=1e-3)
    assert 100 < len(scene.cloud.pos) <= 3000
    colours = scene.cloud.color   # coloured by depth: near and far points differ
    depth = view.cloud_mm[:, 2]
    near, far = colours[np.argmin(depth)], colours[np.argmax(depth)]
    assert np.abs(near[:3] - far[:3]).max() > 0.2


def _projected_span(view, joints_mm):
    points = view.scene.project(to_display(joints_mm))
    xs, ys = np.array([p.x() for p in points]), np.array([p.y() for p in points])
    return xs, ys, view.scene.view.width(), view.scene.view.height()


@pytest.mark.gl
def test_the_view_frames_the_hand(view, qtbot):
    """The hand's joints, projected with the 3-D view's camera, span at least a third of the view, inside it."""
    for centre in ((10.0, -5.0, 450.0), (-120.0, 60.0, 700.0), (80.0, 40.0, 300.0)):
        joints = h.hand_joints_mm(centre_mm=centre)
        view.show_result(h.make_result(joints_mm=joints))
        view.reset_camera()   # (the first hand is framed at once; a new one is followed, see below)
        xs, ys, w, hgt = _projected_span(view, joints)
        assert max((xs.max() - xs.min()) / w, (ys.max() - ys.min()) / hgt) >= 1 / 3, centre
        assert xs.min() > 0 and xs.max() < w and ys.min() > 0 and ys.max() < hgt, centre


@pytest.mark.gl
def test_the_view_follows_the_hand_smoothly_unless_locked(view, qtbot):
    start = h.hand_joints_mm(centre_mm=(0.0, 0.0, 450.0))
    moved = h.hand_joints_mm(centre_mm=(150.0, 0.0, 450.0))
    t0 = time.perf_counter()
    view.show_result(h.make_result(joints_mm=start))
    centre0 = np.array(view.scene.view.opts["center"])
    view.show_result(h.make_result(index=1, joints_mm=moved))   # at once: only part of the way
    dt_s = time.perf_counter() - t0     # at least the time the view saw between the two frames
    centre1 = np.array(view.scene.view.opts["center"])
    # The view moves by 1 - exp(-dt / FOLLOW_TIME_S) of the way: some, but no more than dt_s allows.
    most_mm = 150.0 * (1.0 - np.exp(-dt_s / FOLLOW_TIME_S))
    assert 0.0 < centre1[0] - centre0[0] <= most_mm + 1e-3 and most_mm < 150.0, (centre1 - centre0, dt_s)
    qtbot.wait(400)
    view.show_result(h.make_result(index=2, joints_mm=moved))   # after a while: (nearly) there
    centre2 = np.array(view.scene.view.opts["center"])
    assert centre2[0] - centre0[0] > 0.7 * 150.0
    xs, ys, w, _ = _projected_span(view, moved)
    assert 0 < xs.min() and xs.max() < w
    view.set_following(False)   # locked: the view stays
    before = np.array(view.scene.view.opts["center"])
    qtbot.wait(300)
    view.show_result(h.make_result(index=3, joints_mm=start))
    np.testing.assert_allclose(np.array(view.scene.view.opts["center"]), before)
    view.scene.view.setCameraPosition(azimuth=10.0, elevation=60.0, distance=3000.0)   # the user orbits away
    view.reset_camera()   # reset returns to the framed view of the hand shown
    xs, ys, w, hgt = _projected_span(view, start)
    assert max((xs.max() - xs.min()) / w, (ys.max() - ys.min()) / hgt) >= 1 / 3


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
