"""The whole window on the real pipeline: a real ONNX model (untrained 'tiny', tests/tracking_model.py), real
sources (depth PNGs drawn by tests/gui_helpers.py, recorded sessions), real threads. Asserts what the widgets
show after play, pause, step, seek, record/replay, joint selection and live tuning. Settings go to a temporary
file (HAND_TRACKER_SETTINGS). Runs offscreen and under xvfb-run.
"""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from tests import gui_helpers as h
from app.config import TrackerChange, TrackerConfig
from app.gui import theme
from app.gui.main_window import MainWindow
from app.gui.settings import ENV_SETTINGS_PATH, Settings
from app.joints import JOINT_INDEX
from app.recording.reader import SessionReader
from app.sources.png import PngSource

FRAMES = 12
WAIT_MS = 20000


@pytest.fixture(scope="module")
def png_folder(tmp_path_factory):
    """FRAMES depth PNGs of a hand moving right by 4 mm per frame."""
    folder = tmp_path_factory.mktemp("pngs")
    for i in range(FRAMES):
        depth = h.render_depth(h.hand_joints_mm(centre_mm=(4.0 * i - 20.0, -5.0, 450.0)))
        cv2.imwrite(str(folder / f"depth_{i:03d}.png"), depth)
    return folder


def png_source(folder) -> PngSource:
    return PngSource(folder, intrinsics=h.INTRINSICS)


@pytest.fixture
def make_window(qtbot, qapp, tmp_path, monkeypatch, model_path):
    monkeypatch.setenv(ENV_SETTINGS_PATH, str(tmp_path / "settings.ini"))
    theme.apply_theme(qapp)

    def make(**config_changes) -> MainWindow:
        config = TrackerConfig(model_path=config_changes.pop("model_path", model_path), **config_changes)
        window = MainWindow(config, Settings(), restore_geometry=False)
        qtbot.addWidget(window)   # closed (pipeline stopped) at teardown
        window.show()
        activate(window)
        qtbot.waitActive(window)
        return window
    return make


def activate(window) -> None:
    with warnings.catch_warnings():   # deprecated, but the offscreen platform activates no window by itself
        warnings.simplefilter("ignore", DeprecationWarning)
        QtWidgets.QApplication.setActiveWindow(window)   # shortcuts reach the active window only


def press(qtbot, window, key) -> None:
    """Press a key as the user would, on the active window (another test's window may have taken focus)."""
    activate(window)
    qtbot.waitActive(window)
    qtbot.keyClick(window, key)


def settle(qtbot, window) -> int:
    """Wait until a paused replay has shown every frame it processed; returns the index shown."""
    def settled():
        stats = window.host.stats()
        shown = window.shown_result
        return (stats.state.value == "paused" and stats.frames_processed == stats.frames_captured
                and shown is not None and shown.frame.index == stats.position)
    qtbot.waitUntil(settled, timeout=WAIT_MS)
    return window.shown_result.frame.index


def shows_frame(window, index: int) -> bool:
    return window.shown_result is not None and window.shown_result.frame.index == index


def held_at_end(window) -> bool:
    """The replay played through and waits at its last frame: a quiet state to issue commands from (a seek or
    resume sent while the capture thread is hitting the end can be lost in the pipeline, see report)."""
    return window.host.held_at_end() and shows_frame(window, FRAMES - 1)


def test_replay_play_pause_step_seek(qtbot, make_window, png_folder):
    window = make_window()
    window.set_source(png_source(png_folder))
    assert window.timeline.position_label.text() == f"0/{FRAMES}"
    assert window.start()
    qtbot.waitUntil(lambda: window.displayed_frames > 0, timeout=WAIT_MS)
    assert window.depth_view.status_label.text() in ("tracking", "low confidence")
    qtbot.waitUntil(lambda: held_at_end(window), timeout=WAIT_MS)
    window.refresh_stats()
    assert window.timeline.position_label.text() == f"{FRAMES}/{FRAMES}"
    assert window.timeline.slider.value() == FRAMES - 1
    assert window.timeline.play_button.text().endswith("Play")

    target = 5
    window.timeline.slider.setValue(target)   # as a click on the slider's track does
    qtbot.waitUntil(lambda: shows_frame(window, target), timeout=WAIT_MS)
    assert window.timeline.position_label.text() == f"6/{FRAMES}"
    assert window.depth_view.frame_label.text().startswith("frame 5")

    press(qtbot, window, QtCore.Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: shows_frame(window, 6), timeout=WAIT_MS)
    assert window.timeline.position_label.text() == f"7/{FRAMES}"
    press(qtbot, window, QtCore.Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: shows_frame(window, 5), timeout=WAIT_MS)
    window.step(3)
    qtbot.waitUntil(lambda: shows_frame(window, 8), timeout=WAIT_MS)
    assert window.timeline.slider.value() == 8

    press(qtbot, window, QtCore.Qt.Key.Key_End)
    qtbot.waitUntil(lambda: held_at_end(window), timeout=WAIT_MS)
    press(qtbot, window, QtCore.Qt.Key.Key_Minus)   # slower: 0.5x
    assert window.timeline.speed() == 0.5
    press(qtbot, window, QtCore.Qt.Key.Key_Space)   # held at the end: plays again from the start
    qtbot.waitUntil(lambda: window.shown_result.frame.index < FRAMES - 1, timeout=WAIT_MS)
    window.refresh_stats()
    assert window.timeline.play_button.text().endswith("Pause")
    press(qtbot, window, QtCore.Qt.Key.Key_Space)   # pause while playing
    shown = settle(qtbot, window)
    window.refresh_stats()
    assert window.timeline.play_button.text().endswith("Play")
    assert window.timeline.position_label.text() == f"{shown + 1}/{FRAMES}"


def test_record_a_session_and_replay_it(qtbot, make_window, png_folder, tmp_path):
    window = make_window()
    window.timeline.set_speed(0.0)   # as fast as the tracker goes
    window.set_source(png_source(png_folder))
    window.host.start(speed=0.0)
    window.host.pause()
    session = tmp_path / "session"
    assert window.start_recording(str(session))
    window.refresh_stats()
    assert window.source_bar.record_button.isChecked()
    assert window.source_bar.record_label.text().startswith("REC 00:00")
    window.host.seek(0)
    window.host.resume()
    qtbot.waitUntil(lambda: window.host.held_at_end(), timeout=WAIT_MS)
    press(qtbot, window, QtCore.Qt.Key.Key_R)   # R stops the recording
    status = window.host.recording_status()
    assert status.error is None and status.frames >= FRAMES
    window.refresh_stats()
    assert not window.source_bar.record_button.isChecked()
    assert f"recorded {status.frames} frames" in window.message_label.full_text

    assert window.open_source("file", str(session))
    assert window.host.source_info().frame_count == len(SessionReader(session))
    assert window.timeline.position_label.text().endswith(f"/{len(SessionReader(session))}")
    qtbot.waitUntil(lambda: window.host.stats().frames_processed > 0, timeout=WAIT_MS)
    window.host.pause()
    settle(qtbot, window)   # a seek issued while a frame is being read would be consumed by that frame
    window.seek(3)
    qtbot.waitUntil(lambda: window.shown_result is not None and window.shown_result.frame.frame_number
                    == SessionReader(session).frame(3).frame_number, timeout=WAIT_MS)
    original = cv2.imread(str(sorted(png_folder.iterdir())[window.shown_result.frame.frame_number]),
                          cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(window.shown_result.frame.depth_raw, original)


def test_closing_the_window_finishes_the_recording(qtbot, make_window, png_folder, tmp_path):
    window = make_window()
    window.set_source(png_source(png_folder))
    assert window.start()
    session = tmp_path / "closing"
    assert window.start_recording(str(session))
    qtbot.waitUntil(lambda: window.host.recording_status().frames >= 3, timeout=WAIT_MS)
    pipeline = window.host.pipeline
    window.close()
    assert pipeline.stats().state.value == "stopped"
    assert len(SessionReader(session)) == pipeline.recording_status().frames >= 3


def test_selecting_a_joint_updates_every_view(qtbot, make_window):
    window = make_window()
    result = h.make_result(index=4)
    window.show_result(result)
    qtbot.waitExposed(window)
    target = JOINT_INDEX["thumb_tip"]
    pos = window.depth_view.joint_screen_pos(target)
    qtbot.mouseClick(window.depth_view.graphics.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert window.selected_joint == target
    assert "thumb_tip" in window.weights_view.zoom_title.text()
    assert window.joint_table.selected_joint() == target
    assert "thumb_tip" in window.joint_card.name_label.text()
    window.joint_table.selectRow(JOINT_INDEX["ring_pip"])
    assert window.selected_joint == JOINT_INDEX["ring_pip"]
    press(qtbot, window, QtCore.Qt.Key.Key_BracketRight)
    assert window.selected_joint == JOINT_INDEX["ring_dip"]
    assert window.settings.get("view/selected_joint", 0, int) == JOINT_INDEX["ring_dip"]


def test_smoothing_and_hand_change_the_running_tracker(qtbot, make_window, png_folder):
    window = make_window()
    window.set_source(png_source(png_folder))
    assert window.start()
    qtbot.waitUntil(lambda: window.displayed_frames > 0, timeout=WAIT_MS)
    spins = window.tracker_controls.spins
    spins["min_cutoff_hz"].setValue(3.5)
    assert window.host.config.smoothing.min_cutoff_hz == 3.5
    assert window.host.pipeline.tracker.config.smoothing.min_cutoff_hz == 3.5
    assert window.settings.get("tracker/min_cutoff_hz", 0.0, float) == 3.5

    window.tracker_controls.smoothing_check.setChecked(False)
    assert not spins["beta"].isEnabled()
    window.tracker_controls.set_hand("left")
    qtbot.waitUntil(lambda: held_at_end(window), timeout=WAIT_MS)
    window.host.seek(0)
    window.host.resume()
    qtbot.waitUntil(lambda: window.shown_result.pose is not None and window.shown_result.pose.hand == "left"
                    and window.shown_result.frame.index > 1, timeout=WAIT_MS)
    pose = window.shown_result.pose
    np.testing.assert_allclose(pose.joints_xyz_mm, pose.joints_xyz_raw_mm)   # smoothing off: raw is shown
    assert window.settings.get("tracker/hand", "", str) == "left"

    spins["far_mm"].setValue(700.0)
    assert window.depth_view.depth_range() == (150.0, 700.0)
    spins["near_mm"].setValue(900.0)   # beyond the far end: refused, the control shows what is in force
    assert "near" in window.last_error and "far" in window.last_error
    assert spins["near_mm"].value() == 150.0


def test_errors_are_shown_in_the_window(qtbot, make_window, png_folder, tmp_path):
    window = make_window(model_path=str(tmp_path / "missing.onnx"))
    assert "model file not found" in window.last_error
    assert window.banner_row.isVisible() and "missing.onnx" in window.banner.text()
    window.set_source(png_source(png_folder))
    assert not window.start()

    window = make_window()
    bogus = tmp_path / "broken.bag"
    bogus.write_text("not a recording")
    window.open_source("file", str(bogus))   # refused when built, or when the capture thread opens it
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=WAIT_MS)
    assert window.banner_row.isVisible() and "broken.bag" in window.last_error
    assert window.depth_view.status_label.text().startswith("error")
    no_intrinsics = tmp_path / "bare"
    no_intrinsics.mkdir()
    cv2.imwrite(str(no_intrinsics / "d.png"), h.render_depth(h.hand_joints_mm()))
    assert not window.open_source("file", str(no_intrinsics))
    assert "intrinsics" in window.last_error


def test_a_failing_source_is_reported_not_raised(qtbot, make_window, png_folder):
    from app.errors import SourceError

    class Unplugged(PngSource):
        def read(self, timeout_s=1.0):
            frame = super().read(timeout_s)
            if frame is not None and frame.index >= 3:
                raise SourceError("camera disconnected (USB)")
            return frame

    window = make_window()
    window.set_source(Unplugged(png_folder, intrinsics=h.INTRINSICS))
    assert window.start()
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=WAIT_MS)
    assert "camera disconnected" in window.banner.text()
    window.refresh_stats()
    assert window.stats_panel.values["state"].text().startswith("error")


def test_settings_are_remembered(qtbot, make_window):
    from app.gui.app import merge_remembered

    window = make_window()
    window.set_layout("demo")
    window.tracker_controls.spins["beta"].setValue(0.25)
    window.skeleton_view.set_mode("raw")
    window.select_joint(12)
    window.timeline.set_speed(2.0)
    window.close()
    remembered = Settings().tracker_values()
    assert remembered["beta"] == 0.25
    assert merge_remembered(TrackerConfig(), remembered).smoothing.beta == 0.25
    explicit = TrackerConfig().apply(TrackerChange.of(beta=0.5))   # given on the command line: it wins
    assert merge_remembered(explicit, remembered, {"beta"}).smoothing.beta == 0.5
    assert Settings().get("view/layout", "", str) == "demo"
    again = make_window()
    assert again.skeleton_view.mode() == "raw"
    assert again.selected_joint == 12
    assert again.timeline.speed() == 2.0
    assert Path(again.settings.path).parent == Path(Settings().path).parent


def test_stop_then_start_reopens_the_command_line_source(qtbot, make_window, png_folder, model_path):
    from app.cli import build_parser, source_spec_from_args
    from app.sources.factory import open_source

    args = build_parser().parse_args(["--source", str(png_folder), "--model", model_path,
                                      "--intrinsics", "190,190,159.5,119.5"])
    spec = source_spec_from_args(args, args.source, None, "right")
    source = open_source(spec)
    window = make_window()
    window.set_source(source, spec)   # as run_gui does with the command line's RunOptions.source
    assert window.start()
    qtbot.waitUntil(lambda: window.host.stats().frames_processed >= 3, timeout=WAIT_MS)
    press(qtbot, window, QtCore.Qt.Key.Key_F5)   # stop
    assert window.host.stats().state.value == "stopped"
    assert window.source_bar.start_button.text().endswith("Start")
    press(qtbot, window, QtCore.Qt.Key.Key_F5)   # start again, on a freshly opened source
    assert window.host.source is not source
    qtbot.waitUntil(lambda: window.host.stats().frames_processed >= 3, timeout=WAIT_MS)
    assert window.host.source.info.frame_count == FRAMES
    assert window.source_bar.start_button.text().endswith("Stop")


def test_a_live_view_can_be_frozen_and_stepped(qtbot, make_window):
    from app.sources.synthetic import SyntheticSource

    window = make_window()
    window.set_source(SyntheticSource(fps=30.0, realtime=True, loop_s=0.5))
    assert window.timeline.position_label.text() == "live"
    assert window.timeline.play_button.isEnabled() and not window.timeline.slider.isEnabled()
    assert window.start()
    qtbot.waitUntil(lambda: window.displayed_frames > 0, timeout=WAIT_MS)
    press(qtbot, window, QtCore.Qt.Key.Key_Space)   # freeze
    qtbot.waitUntil(lambda: window.host.stats().state.value == "paused", timeout=WAIT_MS)
    qtbot.wait(300)   # a frame already handed to the tracker may still arrive
    frozen = window.host.stats().frames_processed
    qtbot.waitUntil(lambda: shows_frame(window, window.host.stats().position), timeout=WAIT_MS)
    shown = window.shown_result.frame.index
    press(qtbot, window, QtCore.Qt.Key.Key_Right)   # let exactly one camera frame through
    qtbot.waitUntil(lambda: window.host.stats().frames_processed == frozen + 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.shown_result.frame.index > shown, timeout=WAIT_MS)
    assert window.host.stats().state.value == "paused"
    press(qtbot, window, QtCore.Qt.Key.Key_Space)   # live again
    qtbot.waitUntil(lambda: window.host.stats().frames_processed > frozen + 3, timeout=WAIT_MS)


# Every remembered tracker setting: (command-line options that set it to its default, the remembered value, the
# config's value of it). An explicit option wins even when it names the default.
REMEMBERED = {
    "hand": (["--hand", "right"], "left", lambda c: c.hand),
    "smoothing_enabled": (["--no-smoothing"], True, lambda c: c.smoothing.enabled),
    "min_cutoff_hz": (["--min-cutoff", "1.0"], 3.0, lambda c: c.smoothing.min_cutoff_hz),
    "beta": (["--beta", "0.02"], 0.4, lambda c: c.smoothing.beta),
    "d_cutoff_hz": (["--d-cutoff", "1.0"], 4.0, lambda c: c.smoothing.d_cutoff_hz),
    "near_mm": (["--near-mm", "150"], 250.0, lambda c: c.localiser.near_mm),
    "far_mm": (["--far-mm", "1000"], 800.0, lambda c: c.localiser.far_mm),
    "cube_mm": (["--cube-mm", "280"], 300.0, lambda c: c.cube_mm),
}


@pytest.mark.parametrize("key", sorted(REMEMBERED))
def test_an_explicit_option_wins_over_a_remembered_setting(key, tmp_path):
    from app.cli import build_parser, config_from_args, explicit_settings
    from app.gui.app import merge_remembered
    from app.gui.settings import TRACKER_KEYS

    assert set(REMEMBERED) == set(TRACKER_KEYS)   # every remembered setting is covered
    flags, remembered, value_of = REMEMBERED[key]
    args = build_parser().parse_args(flags)
    config = config_from_args(args)
    stated = value_of(config)
    merged = merge_remembered(config, {key: remembered}, explicit_settings(args, None))
    assert value_of(merged) == stated != remembered
    plain = build_parser().parse_args([])   # not given: the remembered value applies
    merged = merge_remembered(config_from_args(plain), {key: remembered}, explicit_settings(plain, None))
    assert value_of(merged) == remembered


def test_a_calibration_file_counts_as_explicit(tmp_path):
    from app.camera_calibration import CameraCalibration, load_calibration, save_calibration
    from app.cli import build_parser, config_from_args, explicit_settings
    from app.gui.app import merge_remembered

    path = tmp_path / "cam.json"
    save_calibration(CameraCalibration(hand="right", beta=0.05), path)
    args = build_parser().parse_args(["--calibration", str(path)])
    merged = merge_remembered(config_from_args(args, load_calibration(path)),
                              {"hand": "left", "beta": 0.4, "cube_mm": 300.0},
                              explicit_settings(args, load_calibration(path)))
    assert (merged.hand, merged.smoothing.beta, merged.cube_mm) == ("right", 0.05, 300.0)


def test_the_error_state_keeps_the_layout_and_says_so(qtbot, make_window, tmp_path):
    """A corrupt recording: the badge shows the error, the weight-map cells and labels keep their places, the
    status bar elides the long message (whole text as tooltip). The picture is kept for inspection."""
    window = make_window()
    window.resize(1600, 1000)
    corrupt = tmp_path / ("a-recording-with-a-rather-long-name-" * 3 + "corrupt.db3")
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\x13" * 4000)
    window.open_source("file", str(corrupt))
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=WAIT_MS)
    qtbot.wait(100)
    message = window.last_error
    badge = window.depth_view.status_label
    assert badge.text().startswith("error: ") and badge.toolTip() == message
    assert "waiting" not in badge.text()
    assert theme.ERROR_RED.lower() in badge.styleSheet().lower()
    label = window.message_label
    assert label.full_text == message and label.toolTip() == message
    assert label.text().endswith("…") and len(label.text()) < len(message)
    assert label.fontMetrics().horizontalAdvance(label.text()) <= label.width()
    labels = list(window.weights_view.grid.label_rects().values())
    assert len(labels) == 21
    assert not any(a.intersects(b) for i, a in enumerate(labels) for b in labels[i + 1:])
    assert "no weight maps" in window.weights_view.grid.message
    picture = tmp_path / "error_state.png"
    assert window.save_screenshot(str(picture)) == str(picture)
    image = QtGui.QImage(str(picture))
    top_left = badge.mapTo(window, QtCore.QPoint(0, 0))
    red = QtGui.QColor(theme.ERROR_RED)
    pixels = [image.pixelColor(top_left.x() + x, top_left.y() + y)
              for x in range(4, badge.width() - 4, 3) for y in range(3, badge.height() - 3, 3)]
    reddish = [p for p in pixels if abs(p.red() - red.red()) < 20 and abs(p.green() - red.green()) < 20]
    assert len(reddish) > 0.5 * len(pixels)   # the badge is drawn red in the picture
    if os.environ.get("HAND_TRACKER_TEST_PICTURES"):   # a folder to keep the picture in, to look at it
        shutil.copy(picture, Path(os.environ["HAND_TRACKER_TEST_PICTURES"]) / picture.name)


def test_the_demo_layout_shows_views_large_and_the_selected_finger(qtbot, make_window, png_folder):
    window = make_window()
    window.resize(1600, 1000)
    window.set_source(png_source(png_folder))
    assert window.start()
    qtbot.waitUntil(lambda: window.shown_result is not None, timeout=WAIT_MS)
    standard_depth = window.depth_view.width() * window.depth_view.height()
    press(qtbot, window, QtCore.Qt.Key.Key_D)
    qtbot.wait(50)
    assert window.layout_name == "demo"
    for hidden in (window.controls_scroll, window.tabs, window.source_bar, window.timeline):
        assert not hidden.isVisible()
    assert window.depth_view.width() * window.depth_view.height() > 1.3 * standard_depth
    window.select_joint(JOINT_INDEX["ring_pip"])
    assert sorted(window.weights_view.grid.cell_rects) == [13, 14, 15, 16]
    press(qtbot, window, QtCore.Qt.Key.Key_D)
    assert window.layout_name == "standard" and window.tabs.isVisible()
    assert len(window.weights_view.grid.cell_rects) == 21


def test_the_enlarged_map_shows_the_networks_votes_when_the_model_has_offsets(qtbot, make_window, png_folder):
    from tests.offsets_model import offsets_model_path

    window = make_window(model_path=offsets_model_path())
    window.set_source(png_source(png_folder))
    assert window.start()
    qtbot.waitUntil(lambda: window.shown_result is not None and window.shown_result.pose is not None,
                    timeout=WAIT_MS)
    window.host.pause()
    settle(qtbot, window)
    window.select_joint(JOINT_INDEX["thumb_tip"])
    window.weights_view.show_result(window.shown_result)
    votes = window.weights_view.zoom.votes
    pose = window.shown_result.pose
    assert votes["source"] == "network" and "network's vote" in window.weights_view.vote_caption.text()
    size = window.shown_result.crop_depth.shape[0]
    step_px = (votes["end_px"] - votes["start_px"]) * 2.0 / size   # back to normalised units
    f = pose.weights.shape[1]
    j = JOINT_INDEX["thumb_tip"]
    cells = np.floor((votes["start_px"] + 0.5) * f / size).astype(int)   # (column, row) of each pixel
    np.testing.assert_allclose(step_px, pose.offsets[j, :2, cells[:, 1], cells[:, 0]], atol=1e-5)


def test_the_synthetic_choice_renders_the_tracked_hand_and_reopens_the_same(qtbot, make_window):
    """The GUI's own chooser goes through the same SourceSpec route as the command line: a left-hand tracker
    gets a left synthetic hand (it used to get a right one), and Stop/Start opens the same spec again."""
    window = make_window(hand="left")
    assert window.open_source("synthetic", start=False)
    assert window.host.source_spec.kind == "synthetic" and window.host.source_spec.hand == "left"
    assert window.host.source.hand == "left" and "left hand" in window.host.source.info.name
    assert window.source_bar.source_combo.currentData() == "synthetic"
    assert window.start()
    qtbot.waitUntil(lambda: window.host.stats().frames_processed >= 2, timeout=WAIT_MS)
    first = window.host.source
    window.stop()
    assert window.start()
    assert window.host.source is not first and window.host.source.hand == "left"
    qtbot.waitUntil(lambda: window.shown_result is not None and window.shown_result.frame.gt_hand == "left",
                    timeout=WAIT_MS)
