"""The main window: routes the user's commands (control bars, shortcuts, clicks) to the PipelineHost, draws each
new result once, shows errors in a banner and the status bar, and remembers its settings. The panels and their
arrangement are in window_layout.py. Imports PySide6 and app code.
"""
from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.config import TrackerChange, TrackerConfig
from app.gui.controls import format_bytes, format_elapsed
from app.gui.hands import PRIMARY, hand_label, hands_of, resolve, result_for_hand, still_selectable, truth_for_hand
from app.gui.pipeline_host import PipelineHost
from app.gui.qt_compat import neutralise_refcount_defect
from app.gui.screenshot import grab_window
from app.gui.settings import Settings
from app.gui.source_choice import SourceChoice
from app.gui.shortcuts import install_shortcuts, shortcut_help_text
from app.gui.window_layout import DEFAULT_SPLITTER_SIZES, LAYOUTS, apply_layout, build_window_layout, splitters
from app.joints import NUM_JOINTS
from app.runtime.stats import PipelineState
from app.sources.spec import SourceSpec
from app.types import TrackerResult

STATS_INTERVAL_MS = 250
# While a replay or camera runs, the panels that cost most to draw are refreshed less often than every frame;
# the depth and 3-D views always show the newest result. Paused or stepping, everything is drawn.
TABLE_INTERVAL_S = 0.2     # joint table and selected-joint card: 5 Hz
WEIGHTS_INTERVAL_S = 0.1   # weight-map grid and zoom: 10 Hz


class MainWindow(QtWidgets.QMainWindow):
    """config: the tracker configuration to start with; settings: where choices are remembered.
    closed: emitted once the window has closed (pipeline stopped, settings saved)."""

    closed = QtCore.Signal()

    def __init__(self, config: TrackerConfig, settings: Settings, *, restore_geometry: bool = True) -> None:
        neutralise_refcount_defect()   # before the first redraw (see qt_compat.py)
        super().__init__()
        self.settings = settings
        self.host = PipelineHost(config, parent=self)
        self.shown_result: TrackerResult | None = None
        self.displayed_frames = 0
        self.selected_joint = 0
        self.selected_hand = PRIMARY   # the hand the weight maps and the joint table show: an id, or PRIMARY
        self.errors: list[str] = []
        self._display_times: deque[float] = deque(maxlen=120)
        self._table_shown_s = self._weights_shown_s = 0.0
        self._awaiting_paint: TrackerResult | None = None
        self.update_ms: deque[float] = deque(maxlen=300)   # time to update the views for one result
        self.setWindowTitle("Hand Tracker")
        build_window_layout(self)
        self._status_timer = QtCore.QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.timeout.connect(lambda: self.message_label.set_full_text(""))
        self._connect()
        self._restore(restore_geometry)
        install_shortcuts(self)
        # The window's own body holds keyboard focus, so Space and the arrows reach the shortcuts; a number field
        # has them only while it is being edited.
        self.centralWidget().setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.centralWidget().setFocus()
        self.tracker_controls.editing_finished.connect(self.centralWidget().setFocus)
        self.stats_timer = QtCore.QTimer(self)
        self.stats_timer.setInterval(STATS_INTERVAL_MS)
        self.stats_timer.timeout.connect(self.refresh_stats)
        self.stats_timer.start()
        self.depth_view.show_message("choose a source to begin: synthetic hand, camera or a recording")
        self.host.load_model()   # show the model and provider (or why the model cannot be used) at once

    # ---- construction --------------------------------------------------------------------------------------
    def _connect(self) -> None:
        h = self.host
        h.result_ready.connect(self.show_result)
        h.error.connect(self.show_error)
        h.state_changed.connect(self._on_state_changed)
        h.model_loaded.connect(self._on_model_loaded)
        h.source_changed.connect(self._on_source_changed)
        self.source_bar.source_requested.connect(self._on_source_requested)
        self.source_bar.start_stop_clicked.connect(self.toggle_running)
        self.source_bar.record_toggled.connect(self._on_record_button)
        self.source_bar.screenshot_clicked.connect(lambda: self.save_screenshot())
        self.source_bar.help_clicked.connect(self.show_shortcuts)
        self.timeline.play_pause_clicked.connect(self.toggle_play_pause)
        self.timeline.step_requested.connect(self.step)
        self.timeline.seek_requested.connect(self.seek)
        self.timeline.speed_changed.connect(self._on_speed_changed)
        self.tracker_controls.changed.connect(self._on_tracker_changed)
        for view in (self.depth_view, self.skeleton_view, self.weights_view, self.joint_table):
            view.joint_clicked.connect(self.select_joint)
        for view in (self.depth_view, self.skeleton_view):
            view.hand_selected.connect(self.select_hand)
        self.skeleton_view.mode_changed.connect(self._on_view_mode_changed)
        self.depth_view.painted.connect(self._on_depth_painted)

    def _restore(self, restore_geometry: bool) -> None:
        s = self.settings
        values = self.host.config_values()   # run_gui already merged the remembered tuning into the config
        self.tracker_controls.set_values(values)
        mode = s.get("view/skeleton_mode", "smoothed", str)
        self.skeleton_view.set_mode(mode if mode in ("smoothed", "raw", "both") else "smoothed")
        self.timeline.set_speed(s.get("replay/speed", 1.0, float))
        self.select_joint(min(max(s.get("view/selected_joint", 8, int), 0), NUM_JOINTS - 1))
        self.depth_view.set_depth_range(values["near_mm"], values["far_mm"])
        geometry = s.get_bytes("window/geometry") if restore_geometry else None
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1600, 1000)
        for key, splitter in splitters(self).items():
            state = s.get_bytes(f"window/{key}") if restore_geometry else None
            if state is not None:
                splitter.restoreState(state)
            else:
                splitter.setSizes(DEFAULT_SPLITTER_SIZES[key])
        layout = s.get("view/layout", "standard", str) if restore_geometry else "standard"
        if layout in LAYOUTS and layout != "standard":
            apply_layout(self, layout)

    # ---- sources and running -------------------------------------------------------------------------------
    def set_source(self, source, spec: SourceSpec | None = None) -> None:
        """Use an opened-elsewhere source; spec (how it was opened) lets Stop/Start open it again."""
        self.host.set_source(source, spec)

    def open_source(self, choice: SourceChoice | str, path: str | None = None, start: bool = True) -> bool:
        """Choose a source (synthetic, camera, or file with a path) and, by default, start tracking it."""
        if not self.host.open_source(choice, path):
            return False
        self.settings.set("source/kind", str(choice))
        if path:
            self.settings.set("source/path", path)
        return self.start() if start else True

    def start(self) -> bool:
        self.stats_panel.clear_history()
        ok = self.host.start(speed=self.timeline.speed())
        if ok:
            self.hide_error()
            self.depth_view.show_message("waiting for frames")
        self.refresh_stats()
        return ok

    def stop(self) -> None:
        self.host.stop()
        self.refresh_stats()

    def toggle_running(self) -> None:
        self.stop() if self.host.is_running() else self.start()

    def toggle_play_pause(self) -> None:
        self.host.toggle_play()
        self.refresh_stats()

    def step(self, n: int) -> None:
        """Step n frames (n < 0 goes back) from the frame shown; pauses a running replay first."""
        self.host.step_by(n)
        self.refresh_stats()

    def seek(self, index: int) -> None:
        self.host.seek_clamped(index)

    def seek_to_end(self) -> None:
        self.host.seek_clamped(10 ** 9)

    # ---- recording and screenshots -------------------------------------------------------------------------
    def start_recording(self, directory: str | None = None) -> bool:
        if directory is None:
            parent = Path(self.settings.get("record/parent", str(Path.home() / "hand-tracker-recordings"), str))
            directory = str(parent / time.strftime("session-%Y%m%d-%H%M%S"))
        ok = self.host.start_recording(directory)
        self.refresh_stats()
        return ok

    def stop_recording(self) -> None:
        self.host.stop_recording()
        status = self.host.recording_status()
        if status is not None:
            self.show_status(f"recorded {status.frames} frames ({format_bytes(status.bytes)}) into {status.path}",
                             15000)
        self.refresh_stats()

    def toggle_recording(self) -> None:
        self.stop_recording() if self._recording_active() else self.start_recording()

    def _recording_active(self) -> bool:
        return self.host.recording_active()

    def _on_record_button(self, checked: bool) -> None:
        self.start_recording() if checked else self.stop_recording()

    def save_screenshot(self, path: str | None = None) -> str | None:
        """Save the whole window as PNG (default: the screenshot folder with a timestamped name)."""
        if path is None:
            folder = Path(self.settings.get("screenshot/folder", str(_pictures_folder()), str))
            path = str(folder / time.strftime("hand-tracker-%Y%m%d-%H%M%S.png"))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if not grab_window(self).save(path):
            self.show_error(f"could not save the screenshot to {path}")
            return None
        self.show_status(f"screenshot saved to {path}", 8000)
        return path

    # ---- drawing -------------------------------------------------------------------------------------------
    def show_result(self, result: TrackerResult) -> None:
        """Draw one new result (called once per new result by the host's poll)."""
        start_s = time.perf_counter()
        self.shown_result = result
        if not still_selectable(result, self.selected_hand):   # the selected hand is gone: back to the primary
            self._set_selected_hand(PRIMARY)
        self.depth_view.show_result(result)
        self.skeleton_view.show_result(result)
        stats = self.host.stats()
        playing = stats is not None and stats.state == PipelineState.RUNNING
        self._show_selected_hand_panels(result, start_s, force=not playing)
        self.timeline.set_position(result.frame.index)
        self._awaiting_paint = result
        self.update_ms.append((time.perf_counter() - start_s) * 1e3)

    def _show_selected_hand_panels(self, result: TrackerResult, now_s: float, force: bool) -> None:
        """Weight maps, joint table and selected-joint card of the selected hand (at their own rates unless
        force)."""
        hand_result = result_for_hand(result, self.selected_hand)
        hands = hands_of(result)
        label = hand_label(hands[resolve(hands, self.selected_hand)]) if len(hands) > 1 else ""
        if force or now_s - self._weights_shown_s >= WEIGHTS_INTERVAL_S:
            self.weights_view.show_result(hand_result, hand_label=label)
            self._weights_shown_s = now_s
        if force or now_s - self._table_shown_s >= TABLE_INTERVAL_S:
            self.joint_table.show_pose(hand_result.pose, raw=self.skeleton_view.mode() == "raw")
            self.joint_card.show_pose(hand_result.pose, truth_for_hand(result, self.selected_hand))
            self._show_hand_titles(label)
            self._table_shown_s = now_s

    def _show_hand_titles(self, label: str) -> None:
        """With several hands, the joint tab and the selected-joint card name the hand they show."""
        index = self.tabs.indexOf(self.joint_table)
        text = "Joints (camera frame, mm)" if not label else f"Joints {label} (camera frame, mm)"
        if index >= 0 and self.tabs.tabText(index) != text:
            self.tabs.setTabText(index, text)
        title = "SELECTED JOINT" if not label else f"SELECTED JOINT · {label}"
        if self.joint_card.title() != title:
            self.joint_card.setTitle(title)

    def select_hand(self, hand_id: int) -> None:
        """Show the hand with this id (hands.PRIMARY: whichever is primary) in the weight maps, the joint table,
        the selected-joint card, the depth view's inset and both views' selection marks."""
        self._set_selected_hand(int(hand_id))
        if self.shown_result is not None:
            self._show_selected_hand_panels(self.shown_result, time.perf_counter(), force=True)

    def _set_selected_hand(self, hand_id: int) -> None:
        self.selected_hand = hand_id
        self.depth_view.set_selected_hand(hand_id)
        self.skeleton_view.set_selected_hand(hand_id)

    def _on_depth_painted(self, painted_s: float) -> None:
        """The depth view painted: the result drawn last is on screen now (capture-to-display latency)."""
        result, self._awaiting_paint = self._awaiting_paint, None
        if result is None:
            return
        self.displayed_frames += 1
        self._display_times.append(painted_s)
        arrival_s = result.frame.arrival_s
        self.stats_panel.add_result(result, (painted_s - arrival_s) * 1e3 if arrival_s > 0 else float("nan"))

    def display_fps(self) -> float:
        times = self._display_times
        if len(times) < 2 or time.perf_counter() - times[-1] > 1.0:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-6)

    def refresh_stats(self) -> None:
        stats = self.host.stats()
        recording = self.host.recording_status()
        rec_text = None
        if recording is not None and self.host.recording_active():
            rec_text = (f"REC {format_elapsed(recording.elapsed_s)}  ·  {recording.frames} frames  ·  "
                        f"{format_bytes(recording.bytes)}")
        self.source_bar.set_recording(rec_text)
        fps = self.display_fps()
        self.stats_panel.show_stats(stats, fps, rec_text or "",
                                    float(np.median(self.update_ms)) if self.update_ms else None)
        state = None if stats is None else stats.state
        self.state_label.setText("no source" if state is None else state.value)
        self.fps_label.setText("" if stats is None else f"{stats.process_fps:.1f} fps tracked · {fps:.1f} shown")
        self.source_bar.set_running(state in (PipelineState.RUNNING, PipelineState.PAUSED))
        self.timeline.set_playing(state == PipelineState.RUNNING and not self.host.held_at_end())

    # ---- selection and settings ----------------------------------------------------------------------------
    def select_joint(self, joint_id: int) -> None:
        self.selected_joint = int(joint_id)
        for view in (self.depth_view, self.skeleton_view, self.weights_view, self.joint_table):
            view.set_selected_joint(self.selected_joint)
        self.joint_card.set_joint(self.selected_joint)
        if self.shown_result is not None:
            hand_result = result_for_hand(self.shown_result, self.selected_hand)
            self.joint_card.show_pose(hand_result.pose, truth_for_hand(self.shown_result, self.selected_hand))
        self.settings.set("view/selected_joint", self.selected_joint)

    def set_layout(self, name: str) -> None:
        """'standard' or 'demo' (the presentation layout); remembered."""
        apply_layout(self, name)
        self.settings.set("view/layout", name)

    def toggle_layout(self) -> None:
        self.set_layout("standard" if self.layout_name == "demo" else "demo")

    def select_next_joint(self, step: int) -> None:
        self.select_joint((self.selected_joint + step) % NUM_JOINTS)

    def _on_tracker_changed(self, change: TrackerChange) -> None:
        if self.host.update_tracker(change):
            self.settings.set_tracker_values(change.values())
            if change.near_mm is not None or change.far_mm is not None:
                values = self.tracker_controls.values()
                self.depth_view.set_depth_range(values["near_mm"], values["far_mm"])
        else:   # refused: show what is really in force
            self.tracker_controls.set_values(self.host.config_values())

    def _on_speed_changed(self, factor: float) -> None:
        self.host.set_speed(factor)
        self.settings.set("replay/speed", factor)

    def _on_view_mode_changed(self, mode: str) -> None:
        self.settings.set("view/skeleton_mode", mode)
        if self.shown_result is not None:
            self.joint_table.show_pose(result_for_hand(self.shown_result, self.selected_hand).pose, raw=mode == "raw")

    # ---- host events ---------------------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        """Show a one-line error in the banner and the status bar (never a blocking dialog)."""
        self.errors.append(message)
        self.banner_row.show_message(message)
        self.show_status(message, 15000)
        self.depth_view.show_error(message)
        if self.shown_result is None or not self.host.is_running():
            self.weights_view.show_message("no weight maps: " + ("error" if self.host.pipeline is not None
                                                                 else "nothing is running"))

    def show_status(self, message: str, timeout_ms: int = 8000) -> None:
        """A message in the status bar, elided to the room there (the whole text as its tooltip), for a while."""
        self.message_label.set_full_text(message)
        self._status_timer.start(timeout_ms)

    def hide_error(self) -> None:
        self.banner_row.hide()

    @property
    def last_error(self) -> str | None:
        return self.errors[-1] if self.errors else None

    def _on_state_changed(self, state: PipelineState) -> None:
        if state == PipelineState.FINISHED:
            self.show_status("end of the recording", 8000)
        elif state == PipelineState.STOPPED:
            self.depth_view.show_message("stopped")
        self.refresh_stats()

    def _on_model_loaded(self, model_name: str, provider: str) -> None:
        self.stats_panel.set_model(model_name, provider)
        self.provider_label.setText(f"{model_name} on {provider}")
        cube = self.host.model_cube_mm()
        if cube is not None:
            self.tracker_controls.set_values({"cube_mm": cube})

    def _on_source_changed(self, info) -> None:
        self.source_bar.set_source(self.host.source_choice, info.name)
        self.timeline.set_source(info.frame_count, info.seekable and not info.live, live=info.live)
        self.setWindowTitle(f"Hand Tracker — {info.name}")

    def _on_source_requested(self, kind: str) -> None:
        choice = SourceChoice(kind)
        if choice == SourceChoice.FILE:
            path = self.choose_recording()
            if path:
                self.open_source(choice, path)
        else:
            self.open_source(choice)

    def choose_recording(self) -> str | None:
        """Ask for a recording: a .bag/.db3 file, or any file inside a session or PNG folder (its folder)."""
        start = self.settings.get("source/path", str(Path.home()), str)
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open a recording", start,
            "Recordings (*.bag *.db3 *.json *.jsonl *.png);;All files (*)")
        if not path:
            return None
        return path if Path(path).suffix.lower() in (".bag", ".db3") else str(Path(path).parent)

    def show_shortcuts(self) -> None:
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.NoIcon, "Keyboard shortcuts",
                                    shortcut_help_text(), parent=self)
        box.setModal(False)
        box.show()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        """Stop everything (finishing a recording in progress) and remember the window."""
        self.stats_timer.stop()
        self.host.stop()
        layout = self.layout_name
        apply_layout(self, "standard")   # the splitters are remembered in their standard arrangement
        self.settings.set("view/layout", layout)
        self.settings.set("window/geometry", self.saveGeometry())
        for key, splitter in splitters(self).items():
            self.settings.set(f"window/{key}", splitter.saveState())
        self.settings.sync()
        super().closeEvent(event)
        self.closed.emit()


def _pictures_folder() -> Path:
    location = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.PicturesLocation)
    return Path(location) if location else Path.home()
