"""GUI views on real widgets, fed real TrackerResult objects (tests/gui_helpers.py builds a drawn hand, its crop
and weight maps peaked at the joints). Asserts what the widgets show: image data, skeleton coordinates, labels,
selection. Runs offscreen (no display) and under xvfb-run.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from tests import gui_helpers as h
from app.camera import project_mm_to_px
from app.gui import theme
from app.gui.depth_view import DepthView
from app.gui.joint_table import JointTable, SelectedJointCard
from app.gui.skeleton_view import SkeletonView, bone_segments, hand_cloud_mm, to_display
from app.gui.weights_view import UNIFORM_FLOOR, WeightsView, cell_label, grid_cell, scale_maps
from app.joints import FINGER_JOINTS, JOINT_INDEX, JOINT_NAMES, NUM_JOINTS
from app.types import TrackingStatus


@pytest.fixture(autouse=True)
def themed(qapp):
    theme.apply_theme(qapp)


@pytest.fixture
def result():
    return h.make_result(index=7)


def test_depth_view_colours_the_band_and_marks_invalid_and_far_pixels(qtbot, result):
    view = DepthView()
    qtbot.addWidget(view)
    view.set_depth_range(300.0, 800.0)
    view.show_result(result)
    index = view.indexed_image
    depth = result.frame.depth_raw
    assert index.shape == depth.shape
    assert np.all(index[depth == 0] == 0)            # missing depth -> LUT entry 0 (black)
    assert np.all(index[depth == 900] == 255)        # the wall beyond the far end -> grey entry
    hand = (depth > 0) & (depth < 800)
    expected = np.clip((depth[hand] - 300.0) * 253.0 / 500.0, 0, 253).astype(np.uint8) + 1
    np.testing.assert_array_equal(index[hand], expected)
    assert view.colour_bar.levels() == (300.0, 800.0)


def test_depth_view_draws_the_skeleton_crop_and_centre_of_that_frame(qtbot, result):
    view = DepthView()
    qtbot.addWidget(view)
    view.show_result(result)
    uv = result.pose.joints_uv_px
    for line, finger in zip(view.finger_lines, FINGER_JOINTS):
        xs, ys = line.getData()
        chain = [0, *finger]
        np.testing.assert_allclose(xs, uv[chain, 0])
        np.testing.assert_allclose(ys, uv[chain, 1])
    u0, v0, u1, v1 = result.crop.box_px()
    rect = view.crop_box_item.rect()
    assert view.crop_box_item.isVisible()
    assert (rect.left(), rect.top(), rect.right(), rect.bottom()) == pytest.approx((u0, v0, u1, v1))
    cx, cy = view.centre_item.getData()
    assert (cx[0], cy[0]) == pytest.approx(result.location.centre_uvz[:2])
    assert view.status_label.text() == "tracking"
    assert view.frame_label.text().startswith("frame 7")


def test_depth_view_says_why_there_is_no_pose(qtbot):
    view = DepthView()
    qtbot.addWidget(view)
    view.show_result(h.make_result(index=1, status=TrackingStatus.TOO_FAR))
    assert view.status_label.text() == TrackingStatus.TOO_FAR.message
    assert "move it closer" in view.status_label.text()
    assert all(len(line.getData()[0]) == 0 for line in view.finger_lines)
    assert not view.crop_box_item.isVisible()


def test_clicking_a_joint_in_the_depth_view_selects_it(qtbot, result):
    view = DepthView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.show()
    qtbot.waitExposed(view)
    view.show_result(result)
    target = JOINT_INDEX["ring_tip"]
    pos = view.joint_screen_pos(target)
    with qtbot.waitSignal(view.joint_clicked, timeout=2000) as signal:
        qtbot.mouseClick(view.graphics.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert signal.args == [target]
    far_away = QtCore.QPoint(5, 5)   # the image corner: no joint within reach
    with qtbot.assertNotEmitted(view.joint_clicked):
        qtbot.mouseClick(view.graphics.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=far_away)


def test_weight_grid_cells_peak_at_their_joints(qtbot, result):
    view = WeightsView()
    qtbot.addWidget(view)
    view.show_result(result)
    f = result.pose.weights.shape[1]
    pitch = f + 3
    mosaic = view.mosaic_rgb.astype(np.int32)
    for j in (0, JOINT_INDEX["thumb_tip"], JOINT_INDEX["pinky_mcp"]):
        row, col = grid_cell(j)
        cell = mosaic[row * pitch:row * pitch + f, col * pitch:col * pitch + f].sum(axis=2)
        peak_cell = np.unravel_index(np.argmax(cell), cell.shape)
        expected = np.unravel_index(np.argmax(result.pose.weights[j]), (f, f))
        assert np.abs(np.subtract(peak_cell, expected)).max() <= 1
    assert grid_cell(JOINT_INDEX["index_tip"]) == (3, 2)
    assert cell_label(JOINT_INDEX["thumb_cmc"]) == "cmc"
    assert view.cell_labels[JOINT_INDEX["middle_pip"]].text() == "pip"


def test_weight_zoom_overlays_the_selected_map_on_the_crop(qtbot, result):
    view = WeightsView()
    qtbot.addWidget(view)
    view.show_result(result)
    view.set_selected_joint(JOINT_INDEX["index_tip"])
    scaled = scale_maps(result.pose.weights)[JOINT_INDEX["index_tip"]]
    alpha = view.overlay_rgba[..., 3]
    assert np.unravel_index(np.argmax(alpha), alpha.shape) == np.unravel_index(np.argmax(scaled), scaled.shape)
    np.testing.assert_array_equal(view.crop_image.image, ((1.0 - result.crop_depth) * 100.0).astype(np.uint8))
    size = result.crop_depth.shape[0]
    assert view.overlay_image.mapRectToParent(view.overlay_image.boundingRect()) == QtCore.QRectF(-0.5, -0.5,
                                                                                                  size, size)
    assert "index_tip" in view.zoom_title.text() and "confidence" in view.zoom_title.text()


def test_flat_weight_maps_stay_dim(qtbot):
    flat = np.full((NUM_JOINTS, 16, 16), 1.0 / 256, np.float32)
    assert scale_maps(flat).max() == pytest.approx(1.0 / UNIFORM_FLOOR)


def test_clicking_a_weight_cell_selects_its_joint(qtbot, result):
    view = WeightsView()
    qtbot.addWidget(view)
    view.resize(700, 320)
    view.show()
    qtbot.waitExposed(view)
    view.show_result(result)
    target = JOINT_INDEX["pinky_dip"]
    with qtbot.waitSignal(view.joint_clicked, timeout=2000) as signal:
        qtbot.mouseClick(view.grid_widget.viewport(), QtCore.Qt.MouseButton.LeftButton,
                         pos=view.cell_screen_pos(target))
    assert signal.args == [target]


def test_joint_table_and_card_show_millimetres(qtbot, result):
    table, card = JointTable(), SelectedJointCard()
    qtbot.addWidget(table)
    qtbot.addWidget(card)
    table.show_pose(result.pose)
    j = JOINT_INDEX["middle_tip"]
    xyz = result.pose.joints_xyz_mm[j]
    assert [float(table.item(j, c).text()) for c in (1, 2, 3)] == pytest.approx(xyz, abs=0.051)
    table.show_pose(result.pose, raw=True)
    assert float(table.item(j, 1).text()) == pytest.approx(xyz[0] + h.RAW_OFFSET_MM[0], abs=0.051)
    with qtbot.waitSignal(table.joint_clicked) as signal:
        table.selectRow(j)
    assert signal.args == [j]
    card.set_joint(j)
    card.show_pose(result.pose)
    assert [float(c.text()) for c in card.cells["raw"]] == pytest.approx(xyz + h.RAW_OFFSET_MM, abs=0.051)
    assert f"filter shift {np.linalg.norm(h.RAW_OFFSET_MM):.1f} mm" in card.shift_label.text()
    assert "ground truth" not in card.shift_label.text()
    truth = np.array(result.pose.joints_xyz_mm) + [0.0, 0.0, 12.0]   # every joint 12 mm off in depth
    card.show_pose(result.pose, truth)
    assert "error vs ground truth 12.0 mm (mean 12.0)" in card.shift_label.text()


def test_skeleton_view_shows_smoothed_raw_or_both(qtbot, result):
    view = SkeletonView()
    qtbot.addWidget(view)
    view.show_result(result)
    np.testing.assert_allclose(view.shown_joints_mm, result.pose.joints_xyz_mm)
    assert view.shown_raw_joints_mm is None
    view.set_mode("raw")
    np.testing.assert_allclose(view.shown_joints_mm, result.pose.joints_xyz_raw_mm)
    view.set_mode("both")
    np.testing.assert_allclose(view.shown_joints_mm, result.pose.joints_xyz_mm)
    np.testing.assert_allclose(view.shown_raw_joints_mm, result.pose.joints_xyz_raw_mm)
    view.cycle_mode()
    assert view.mode() == "smoothed"


def test_point_cloud_is_the_hand_in_millimetres(result):
    cloud = hand_cloud_mm(result, max_points=400)
    assert 100 <= len(cloud) <= 400
    uvz = project_mm_to_px(cloud, result.frame.intrinsics)
    # every point is a hand pixel (nearer than the wall) and lies near the drawn skeleton
    assert np.all(uvz[:, 2] < 700)
    gap = np.linalg.norm(cloud[:, None, :2] - result.pose.joints_xyz_mm[None, :, :2], axis=2).min(axis=1)
    assert np.percentile(gap, 95) < 40.0
    display = to_display(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(display, [[1.0, 3.0, -2.0]])
    assert bone_segments(np.arange(NUM_JOINTS * 3).reshape(-1, 3)).shape == (40, 3)
    assert JOINT_NAMES[0] == "wrist"
