"""Two hands in the GUI (#14): every tracked hand drawn in the depth view and the 3-D view in its side's colours,
labelled with side and id, the badge listing every hand, and the weight maps, joint table and selected-joint card
following the selected hand (click or chooser; back to the primary when the selected hand is gone). Real widgets
fed real TrackerResult objects (tests/gui_helpers.make_two_hand_result). The 3-D parts need OpenGL (xvfb-run).
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from tests import gui_helpers as h
from app.config import TrackerConfig
from app.gui import theme
from app.gui.depth_view import DepthView
from app.gui.hands import (PRIMARY, hand_label, hands_of, hands_status_text, resolve, result_for_hand,
                           still_selectable, truth_for_hand)
from app.gui.main_window import MainWindow
from app.gui.settings import ENV_SETTINGS_PATH, Settings
from app.gui.skeleton_view import SkeletonView, gl_available, hand_cloud_mm, to_display
from app.joints import BONES, FINGER_COLOURS_RGB, FINGER_JOINTS, JOINT_INDEX, finger_colours_rgb, joint_colour_rgb
from app.types import TrackingStatus


@pytest.fixture(autouse=True)
def themed(qapp):
    theme.apply_theme(qapp)


@pytest.fixture
def two():
    return h.make_two_hand_result(index=5)


def _luminance(rgb) -> float:
    r, g, b = (c / 255.0 for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _record(view) -> list[tuple[str, int]]:
    """What the view says, in order: ('hand', id) and ('joint', id)."""
    emitted = []
    view.hand_selected.connect(lambda hand_id: emitted.append(("hand", hand_id)))
    view.joint_clicked.connect(lambda joint: emitted.append(("joint", joint)))
    return emitted


def _pen_rgb(item) -> tuple[int, int, int]:
    colour = item.opts["pen"].color()
    return colour.red(), colour.green(), colour.blue()


# ---- the colour schemes and the hand helpers (no widgets) ---------------------------------------------------
def test_the_left_scheme_is_the_finger_hues_made_pale():
    assert finger_colours_rgb("right") == FINGER_COLOURS_RGB   # the one-hand colours are unchanged
    left = finger_colours_rgb("left")
    for r, l in zip(FINGER_COLOURS_RGB, left):
        assert l != r and all(lc >= rc for lc, rc in zip(l, r))
        assert _luminance(l) - _luminance(r) > 0.1   # told apart by lightness, not by hue alone
    assert joint_colour_rgb(JOINT_INDEX["index_tip"]) == FINGER_COLOURS_RGB[1]
    assert joint_colour_rgb(JOINT_INDEX["index_tip"], "left") == left[1]


def test_hand_helpers_select_label_and_fall_back(two):
    right, left = two.hands
    assert hand_label(right) == "R #3" and hand_label(left) == "L #4"
    assert hands_status_text(two.hands) == "right #3 tracking · left #4 low confidence"
    assert resolve(two.hands, PRIMARY) == 0 and resolve(two.hands, 4) == 1 and resolve(two.hands, 99) == 0
    assert result_for_hand(two, PRIMARY) is two
    as_left = result_for_hand(two, 4)
    assert as_left.pose is left.pose and as_left.crop is left.crop and as_left.crop_depth is left.crop_depth
    assert as_left.status == TrackingStatus.LOW_CONFIDENCE and as_left.frame is two.frame
    np.testing.assert_array_equal(truth_for_hand(two, 4), left.gt_xyz_mm)
    assert truth_for_hand(two, PRIMARY) is two.frame.gt_xyz_mm
    assert still_selectable(two, 4) and not still_selectable(h.make_result(), 4) and still_selectable(None, PRIMARY)
    # A result that does not list its hands (made before results did) shows its one hand; one without a pose none.
    unlisted = h.make_result(hand_id=None)
    assert unlisted.hands == () and [x.pose for x in hands_of(unlisted)] == [unlisted.pose]
    assert hands_of(h.make_result(status=TrackingStatus.NO_HAND)) == ()


# ---- the depth view ------------------------------------------------------------------------------------------
def test_depth_view_draws_every_hand_in_its_colours_with_labels(qtbot, two):
    view = DepthView()
    qtbot.addWidget(view)
    items_before = len(view.view_box.addedItems)
    view.show_result(two)
    right, left = two.hands
    for slot, hand in zip(view.slots, two.hands):
        uv = hand.pose.joints_uv_px
        for line, finger in zip(slot.finger_lines, FINGER_JOINTS):
            xs, ys = line.getData()
            np.testing.assert_allclose(xs, uv[[0, *finger], 0])
            np.testing.assert_allclose(ys, uv[[0, *finger], 1])
        points = slot.joints.getData()
        np.testing.assert_allclose(np.stack(points, axis=1), uv)
        u0, v0, u1, v1 = hand.crop.box_px()
        rect = slot.crop_box.rect()
        assert slot.crop_box.isVisible()
        assert (rect.left(), rect.top(), rect.right(), rect.bottom()) == pytest.approx((u0, v0, u1, v1))
        assert slot.label.isVisible() and slot.label.pos().x() == pytest.approx(u0)
    assert view.slots[0].label.textItem.toPlainText() == "R #3"
    assert view.slots[1].label.textItem.toPlainText() == "L #4"
    # Right: the finger colours; left: the pale scheme, square joints.
    assert [_pen_rgb(line) for line in view.slots[0].finger_lines] == list(FINGER_COLOURS_RGB)
    assert [_pen_rgb(line) for line in view.slots[1].finger_lines] == list(finger_colours_rgb("left"))
    assert view.slots[0].joints.opts["symbol"] == "o" and view.slots[1].joints.opts["symbol"] == "s"
    # The badge names both hands (amber: one is degraded); the chooser offers them.
    assert view.status_label.text() == "right #3 tracking · left #4 low confidence"
    assert theme.WARN_AMBER in view.status_label.styleSheet()
    assert not view.hand_combo.isHidden()
    assert [view.hand_combo.itemText(i) for i in range(view.hand_combo.count())] == \
        ["hand: primary", "hand: R #3", "hand: L #4"]
    # The items of two hands are made up front and reused by every frame.
    view.show_result(h.make_two_hand_result(index=6))
    assert len(view.view_box.addedItems) == items_before and len(view.slots) == 2


def test_a_following_one_hand_result_hides_the_second_hand(qtbot, two):
    view = DepthView()
    qtbot.addWidget(view)
    view.show_result(two)
    one = h.make_result(index=6)
    view.show_result(one)
    second = view.slots[1]
    assert all(len(line.getData()[0]) == 0 for line in second.finger_lines)
    assert len(second.joints.getData()[0]) == 0
    assert not second.crop_box.isVisible() and not second.label.isVisible()
    assert not view.slots[0].label.isVisible()   # one hand: no label, as before
    assert view.status_label.text() == "tracking" and view.hand_combo.isHidden()
    np.testing.assert_allclose(np.stack(view.joint_scatter.getData(), axis=1), one.pose.joints_uv_px)
    assert [_pen_rgb(line) for line in view.finger_lines] == list(FINGER_COLOURS_RGB)
    assert view.hand_joints_uv_px()[0] is not None and len(view.hand_joints_uv_px()) == 1


def test_a_left_primary_hand_is_drawn_in_the_left_scheme(qtbot):
    view = DepthView()
    qtbot.addWidget(view)
    result = h.make_two_hand_result(primary="left")
    view.show_result(result)
    assert [_pen_rgb(line) for line in view.slots[0].finger_lines] == list(finger_colours_rgb("left"))
    assert [_pen_rgb(line) for line in view.slots[1].finger_lines] == list(FINGER_COLOURS_RGB)
    assert view.status_label.text() == "left #4 low confidence · right #3 tracking"
    view.show_result(h.make_two_hand_result(primary="right"))   # the slots are re-coloured when sides swap
    assert [_pen_rgb(line) for line in view.slots[0].finger_lines] == list(FINGER_COLOURS_RGB)


def test_clicking_the_other_hand_selects_it_and_its_joint(qtbot, two):
    view = DepthView()
    h.shown(qtbot, view, 900, 480)
    view.show_result(two)
    target = JOINT_INDEX["index_tip"]
    pos = view.joint_screen_pos(target, hand_index=1)
    emitted = _record(view)
    qtbot.mouseClick(view.graphics.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert emitted == [("hand", 4), ("joint", target)]
    assert view.selected_hand_index() == 1 and view.hand_combo.currentText() == "hand: L #4"
    left = two.hands[1]
    ring_x, ring_y = view.selection_ring.getData()   # the selected joint (the wrist here) on the selected hand
    assert [ring_x[0], ring_y[0]] == pytest.approx(list(left.pose.joints_uv_px[0]))
    # The inset follows the selected hand's crop.
    u0, v0, u1, v1 = left.crop.box_px()
    assert view.inset_region == tuple(int(round(c)) for c in (u0, v0, u1, v1))
    # Clicking the selected hand's joint does not re-select the hand; the chooser brings back the primary.
    with qtbot.assertNotEmitted(view.hand_selected):
        qtbot.mouseClick(view.graphics.viewport(), QtCore.Qt.MouseButton.LeftButton,
                         pos=view.joint_screen_pos(JOINT_INDEX["wrist"]))
    with qtbot.waitSignal(view.hand_selected, timeout=2000) as signal:
        view.hand_combo.activated.emit(0)
    assert signal.args == [PRIMARY] and view.selected_hand_index() == 0


# ---- the 3-D view --------------------------------------------------------------------------------------------
def test_skeleton_view_data_holds_every_hand_and_its_cloud(qtbot, two):
    view = SkeletonView(use_gl=False)
    qtbot.addWidget(view)
    view.show_result(two)
    assert [hand.hand_id for hand, _ in view.shown_hands] == [3, 4]
    for (hand, joints), expected in zip(view.shown_hands, two.hands):
        np.testing.assert_allclose(joints, expected.pose.joints_xyz_mm)
    np.testing.assert_allclose(view.shown_joints_mm, two.pose.joints_xyz_mm)   # the selected hand: primary
    view.set_selected_hand(4)
    np.testing.assert_allclose(view.shown_joints_mm, two.hands[1].pose.joints_xyz_mm)
    # The point cloud takes in both hands' pixels.
    cloud = hand_cloud_mm(two, max_points=100000, hands=two.hands)
    only_right = hand_cloud_mm(two, max_points=100000)
    assert len(cloud) > 1.5 * len(only_right)
    assert cloud[:, 0].min() < -60 and cloud[:, 0].max() > 80
    view.show_result(h.make_result())
    assert len(view.shown_hands) == 1


@pytest.fixture
def gl_view(qtbot, qapp):
    usable, reason = gl_available()
    if not usable:
        pytest.skip(f"no OpenGL: {reason}")
    widget = SkeletonView()
    h.shown(qtbot, widget, 640, 480)
    return widget


def _projected(view, joints_mm):
    points = view.scene.project(to_display(joints_mm))
    return np.array([[p.x(), p.y()] for p in points])


@pytest.mark.gl
def test_the_3d_view_draws_both_skeletons_in_their_colours_and_frames_both(gl_view, qtbot, two):
    view = gl_view
    view.show_result(two)
    view.reset_camera()
    scene = view.scene
    assert scene.hands_sides == ["right", "left"]
    for drawn, hand, mesh in zip(scene.hands_joints_pos, two.hands, scene.skeleton_items):
        joints = to_display(hand.pose.joints_xyz_mm)
        np.testing.assert_allclose(drawn, joints, atol=1e-3)
        assert mesh.visible()
        verts = mesh.opts["meshdata"].vertexes()
        assert np.linalg.norm(verts[:, None] - joints[None], axis=2).min(axis=1).max() < 8.0
    right_rgba, left_rgba = (scene.skeleton_items[i].opts["meshdata"].vertexColors() for i in (0, 1))
    assert np.abs(right_rgba.mean(axis=0) - left_rgba.mean(axis=0))[:3].max() > 0.05
    assert left_rgba[:, :3].mean() > right_rgba[:, :3].mean()   # the left hand's scheme is the paler one
    # The framing takes in both hands.
    w, hgt = scene.view.width(), scene.view.height()
    for hand in two.hands:
        xy = _projected(view, hand.pose.joints_xyz_mm)
        assert xy[:, 0].min() > 0 and xy[:, 0].max() < w and xy[:, 1].min() > 0 and xy[:, 1].max() < hgt
    # The selected joint's marker is on the selected hand; a click on the other hand's joint selects it.
    view.set_selected_joint(JOINT_INDEX["thumb_tip"])
    np.testing.assert_allclose(scene.selected.pos, to_display(two.pose.joints_xyz_mm)[[JOINT_INDEX["thumb_tip"]]],
                               atol=1e-3)
    target = JOINT_INDEX["middle_tip"]
    pos = view.joint_screen_pos(target, hand_index=1)
    emitted = _record(view)
    qtbot.mouseClick(scene.view, QtCore.Qt.MouseButton.LeftButton, pos=pos.toPoint())
    assert emitted == [("hand", 4), ("joint", target)]
    # raw/both modes draw every hand's raw bones; a following one-hand result hides the second skeleton.
    view.set_mode("both")
    raw = to_display(two.hands[1].pose.joints_xyz_raw_mm)[np.array(BONES).reshape(-1)]
    np.testing.assert_allclose(scene.raw_bones_items[1].pos, raw, atol=1e-3)
    view.show_result(h.make_result(index=6))
    assert not scene.skeleton_items[1].visible() and len(scene.raw_bones_items[1].pos) == 0
    assert scene.hands_sides == ["right"]


# ---- the window: the selected hand's weight maps, joint table and card -------------------------------------
@pytest.fixture
def window(qtbot, qapp, tmp_path, monkeypatch, model_path):
    monkeypatch.setenv(ENV_SETTINGS_PATH, str(tmp_path / "settings.ini"))
    w = MainWindow(TrackerConfig(model_path=model_path), Settings(), restore_geometry=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def _table_xyz(window, joint: int) -> list[float]:
    return [float(window.joint_table.item(joint, c).text()) for c in (1, 2, 3)]


def test_the_window_shows_the_selected_hands_maps_and_joints(qtbot, window, two):
    window.select_joint(JOINT_INDEX["index_tip"])
    window.show_result(two)
    right, left = two.hands
    j = JOINT_INDEX["index_tip"]
    assert _table_xyz(window, j) == pytest.approx(right.pose.joints_xyz_mm[j], abs=0.051)   # the primary
    assert window.depth_view.status_label.text() == "right #3 tracking · left #4 low confidence"
    # Choose the left hand in the depth view's chooser: every panel that shows one hand follows it.
    window.depth_view.hand_combo.activated.emit(2)
    assert window.selected_hand == 4
    assert _table_xyz(window, j) == pytest.approx(left.pose.joints_xyz_mm[j], abs=0.051)
    assert float(window.joint_table.item(j, 4).text()) == pytest.approx(left.pose.confidence[j], abs=0.006)
    f = left.pose.weights.shape[1]
    brightness = window.weights_view.cell_rgba(j)[..., :3].astype(int).sum(axis=2)
    assert np.abs(np.subtract(np.unravel_index(np.argmax(brightness), brightness.shape),
                              np.unravel_index(np.argmax(left.pose.weights[j]), (f, f)))).max() <= 1
    np.testing.assert_array_equal(window.weights_view.crop_grey,
                                  ((1.0 - left.crop_depth) * 100.0).astype(np.uint8))
    assert f"confidence {left.pose.confidence[j]:.2f}" in window.weights_view.zoom_title.text()
    assert window.weights_view.title_label.text() == "WEIGHT MAPS · L #4"
    assert window.joint_card.title() == "SELECTED JOINT · L #4"
    assert [float(c.text()) for c in window.joint_card.cells["smoothed"]] == \
        pytest.approx(left.pose.joints_xyz_mm[j], abs=0.051)
    assert "error vs ground truth 0.0 mm" in window.joint_card.shift_label.text()   # the left hand's own truth
    # The next frame keeps the choice; a frame without the left hand falls back to the primary.
    window.show_result(h.make_two_hand_result(index=6))
    assert window.selected_hand == 4 and window.weights_view.title_label.text() == "WEIGHT MAPS · L #4"
    one = h.make_result(index=7, joints_mm=h.hand_joints_mm(h.RIGHT_CENTRE_MM))
    window.show_result(one)
    assert window.selected_hand == PRIMARY
    assert _table_xyz(window, j) == pytest.approx(one.pose.joints_xyz_mm[j], abs=0.051)
    assert window.weights_view.title_label.text() == "WEIGHT MAPS"
    assert window.joint_card.title() == "SELECTED JOINT"
    assert window.tabs.tabText(window.tabs.indexOf(window.joint_table)) == "Joints (camera frame, mm)"
    assert window.depth_view.status_label.text() == "tracking"


def test_clicking_a_hand_in_the_window_selects_it(qtbot, window, two):
    window.show_result(two)
    target = JOINT_INDEX["ring_tip"]
    pos = window.depth_view.joint_screen_pos(target, hand_index=1)
    qtbot.mouseClick(window.depth_view.graphics.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert window.selected_hand == 4 and window.selected_joint == target
    left = two.hands[1]
    assert _table_xyz(window, target) == pytest.approx(left.pose.joints_xyz_mm[target], abs=0.051)
    if window.skeleton_view.scene is not None:   # the 3-D view marks the joint on the chosen hand
        np.testing.assert_allclose(window.skeleton_view.scene.selected.pos,
                                   to_display(left.pose.joints_xyz_mm)[[target]], atol=1e-3)


def test_a_rendered_two_hand_scene_shows_both_hands(qtbot):
    """The synthetic two-hand renderer's frame (the picture in docs/gui_two_hands.png): both hands drawn where
    they are, each inside its own crop box."""
    result = h.two_hand_scene_result()
    view = DepthView()
    qtbot.addWidget(view)
    view.show_result(result)
    assert [hand.hand for hand in result.hands] == ["right", "left"]
    for uv, hand in zip(view.hand_joints_uv_px(), result.hands):
        np.testing.assert_allclose(uv, hand.pose.joints_uv_px)
        u0, v0, u1, v1 = hand.crop.box_px()
        assert np.all((uv[:, 0] >= u0) & (uv[:, 0] <= u1) & (uv[:, 1] >= v0) & (uv[:, 1] <= v1))
    assert view.status_label.text() == "right #3 tracking · left #4 low confidence"
