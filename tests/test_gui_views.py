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
from app.gui.weights_view import (HEAT_LUT, WeightGrid, WeightsView, cell_label, finger_joints_of, grid_cell,
                                  heat_values, vote_arrows)
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
    h.shown(qtbot, view, 640, 480)
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
    for j in (0, JOINT_INDEX["thumb_tip"], JOINT_INDEX["pinky_mcp"]):
        brightness = view.cell_rgba(j)[..., :3].astype(int).sum(axis=2)   # inferno brightens with the weight
        peak_cell = np.unravel_index(np.argmax(brightness), brightness.shape)
        expected = np.unravel_index(np.argmax(result.pose.weights[j]), (f, f))
        assert np.abs(np.subtract(peak_cell, expected)).max() <= 1
    assert grid_cell(JOINT_INDEX["index_tip"]) == (3, 2)
    assert cell_label(JOINT_INDEX["thumb_cmc"]) == "cmc"


def test_heat_scale_is_weight_over_uniform_on_a_log_scale():
    f = 16
    flat = np.full((NUM_JOINTS, f, f), 1.0 / f ** 2, np.float32)
    assert heat_values(flat).max() == 0.0            # a uniform map is fully transparent
    assert HEAT_LUT[0, 3] == 0
    peaked = flat.copy()
    peaked[:, 3, 4] = 10.0 / f ** 2                  # ten times the uniform weight ...
    assert heat_values(peaked)[0, 3, 4] == pytest.approx(1.0 / 2.0)   # ... one of the scale's two decades


def test_weight_grid_fills_its_panel(qtbot, result):
    # The panel shapes the window gives the grid (standard layout, resized windows, the presentation layout).
    for size in ((700, 320), (420, 520), (600, 300), (520, 520), (900, 260)):
        grid = WeightGrid()
        h.shown(qtbot, grid, *size)
        box = grid.grid_rect()
        w, ht = size
        assert box.width() >= 0.9 * w or box.height() >= 0.9 * ht, size   # one side fills the panel
        if 0.5 <= w / ht <= 2.5:   # square cells in a 6 x 4 grid cannot fill a strip
            assert box.width() * box.height() >= 0.6 * w * ht, size
        assert box.left() >= -0.5 and box.top() >= -0.5 and box.right() <= w + 0.5 and box.bottom() <= ht + 0.5
        cells = list(grid.cell_rects.values())
        assert len(cells) == NUM_JOINTS and min(c.width() for c in cells) > 0.12 * min(w, ht)
        grid.set_joints(finger_joints_of(JOINT_INDEX["ring_dip"]))   # the presentation layout: one finger
        assert sorted(grid.cell_rects) == list(FINGER_JOINTS[3])
        box = grid.grid_rect()
        assert box.width() >= 0.9 * w or box.height() >= 0.9 * ht, size


def test_weight_labels_stay_apart_with_and_without_maps(qtbot, result):
    view = WeightsView()
    h.shown(qtbot, view, 700, 320)
    for shown in (None, result):   # no result yet (an error state) and with maps
        if shown is not None:
            view.show_result(shown)
        labels = view.grid.label_rects()
        rects = list(labels.values())
        assert len(rects) == NUM_JOINTS
        for a in range(len(rects)):
            for b in range(a + 1, len(rects)):
                assert not rects[a].intersects(rects[b])
        for j, rect in labels.items():
            assert view.grid.cell_rects[j].contains(rect.center())


def test_weight_zoom_overlays_the_selected_map_on_the_crop(qtbot, result):
    view = WeightsView()
    qtbot.addWidget(view)
    view.show_result(result)
    view.set_selected_joint(JOINT_INDEX["index_tip"])
    weights = result.pose.weights[JOINT_INDEX["index_tip"]]
    brightness = view.overlay_rgba[..., :3].astype(int).sum(axis=2)
    assert np.unravel_index(np.argmax(brightness), brightness.shape) == \
        np.unravel_index(np.argmax(weights), weights.shape)
    np.testing.assert_array_equal(view.crop_grey, ((1.0 - result.crop_depth) * 100.0).astype(np.uint8))
    assert "index_tip" in view.zoom_title.text() and "confidence" in view.zoom_title.text()
    # This pose has no per-pixel offsets: the lines go to the estimate, and the caption says so.
    votes = view.zoom.votes
    assert votes["source"] == "estimate"
    expected_end = h.norm_to_crop_px(result.pose.joints_uvd[JOINT_INDEX["index_tip"], :2], h.CROP_SIZE_PX)
    np.testing.assert_allclose(votes["end_px"], np.broadcast_to(expected_end, votes["end_px"].shape))
    assert "does not output its per-pixel offsets" in view.vote_caption.text()


def test_vote_arrows_start_at_the_heaviest_pixels_and_follow_the_offsets(result):
    weights = np.asarray(result.pose.weights)
    j = JOINT_INDEX["middle_tip"]
    f = weights.shape[1]
    offsets = np.zeros((NUM_JOINTS, 3, f, f), np.float32)
    offsets[:, 0] = 0.05   # every pixel votes 0.05 (normalised) to its right
    votes = vote_arrows(weights, result.pose.joints_uvd, offsets, result.crop_depth, j)
    assert votes["source"] == "network"
    heaviest = np.sort(weights[j].ravel())[::-1][:len(votes["weight"])]
    np.testing.assert_allclose(np.sort(votes["weight"])[::-1], heaviest)
    assert votes["mass"] == pytest.approx(heaviest.sum() / weights[j].sum())
    shift_px = 0.05 * h.CROP_SIZE_PX / 2
    np.testing.assert_allclose(votes["end_px"] - votes["start_px"], np.tile([shift_px, 0.0], (len(heaviest), 1)))
    # the pixels with the largest weights sit around the joint's own position
    joint_px = h.norm_to_crop_px(result.pose.joints_uvd[j, :2], h.CROP_SIZE_PX)
    assert np.linalg.norm(votes["start_px"][0] - joint_px) < 2.5 * h.CROP_SIZE_PX / f


def test_clicking_a_weight_cell_selects_its_joint(qtbot, result):
    view = WeightsView()
    h.shown(qtbot, view, 700, 320)
    view.show_result(result)
    target = JOINT_INDEX["pinky_dip"]
    with qtbot.waitSignal(view.joint_clicked, timeout=2000) as signal:
        qtbot.mouseClick(view.grid, QtCore.Qt.MouseButton.LeftButton, pos=view.cell_screen_pos(target))
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
