"""The GUI's handle on the tracking pipeline: builds the estimator, tracker and Pipeline for a chosen source,
forwards the user's commands, and polls the pipeline on a QTimer in the Qt thread.

The GUI never waits for the tracker: poll() takes the newest result without blocking (Pipeline.latest_result)
and emits result_ready only when it is a new one, so a slow display drops stale results instead of queueing
them. The tracker thread wakes the poll as soon as a result is ready (a queued signal, one per result; a poll
finding nothing new costs nothing), the timer catches state changes. Every TrackerError (missing model, unreadable file, no camera, recording refused) becomes an error(str)
signal with its one-line message. Imports PySide6 and app code (never onnxruntime or pyrealsense2 directly).
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore

from app.config import TrackerChange, TrackerConfig
from app.errors import InputError, TrackerError
from app.runtime.stats import PipelineState
from app.sources.base import FrameSource, SourceInfo
from app.gui.source_choice import SourceChoice, spec_for_choice
from app.sources.spec import SourceSpec

DEFAULT_POLL_INTERVAL_MS = 8   # faster than any display, so the newest result is picked up promptly
_ACTIVE = (PipelineState.RUNNING, PipelineState.PAUSED)
_ENDED = (PipelineState.STOPPED, PipelineState.FINISHED, PipelineState.ERROR)


class PipelineHost(QtCore.QObject):
    """result_ready(TrackerResult); state_changed(PipelineState); error(str); model_loaded(str, str)
    with (model name, provider); source_changed(SourceInfo)."""

    result_ready = QtCore.Signal(object)
    state_changed = QtCore.Signal(object)
    error = QtCore.Signal(str)
    model_loaded = QtCore.Signal(str, str)
    source_changed = QtCore.Signal(object)
    _result_arrived = QtCore.Signal()   # emitted on the tracker thread, delivered (queued) to poll()

    def __init__(self, config: TrackerConfig, poll_interval_ms: int = DEFAULT_POLL_INTERVAL_MS,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.pipeline = None
        self.estimator = None
        self.source: FrameSource | None = None
        self.source_spec: SourceSpec | None = None   # how to open the source again after Stop
        self._last_result = None
        self._last_state: PipelineState | None = None
        self._last_error: str | None = None
        self._last_recording_error: str | None = None
        self._recording_path: str | None = None
        # Called with every new Pipeline before it starts (e.g. the --stream outputs attach as its consumers).
        self.pipeline_hooks: list[Callable[[object], None]] = []
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(poll_interval_ms)
        self.timer.timeout.connect(self.poll)
        self._result_arrived.connect(self.poll, QtCore.Qt.ConnectionType.QueuedConnection)

    # ---- model and source --------------------------------------------------------------------------------
    def load_model(self) -> bool:
        """Open the ONNX model once (kept across sources). False (and error emitted) when it cannot be used."""
        if self.estimator is not None:
            return True
        from app.tracking.estimator import Estimator
        try:
            self.estimator = Estimator(self.config.model_path, provider=self.config.provider,
                                       intra_op_threads=self.config.intra_op_threads)
        except TrackerError as exc:
            self.error.emit(str(exc))
            return False
        self.model_loaded.emit(self.estimator.model_name, self.estimator.provider)
        if self.estimator.provider_note:
            self.error.emit(self.estimator.provider_note)
        return True

    def model_summary(self) -> str | None:
        """The line the command line prints about the model and the provider actually running (as headless
        runs print it), or None before a model is loaded."""
        est = self.estimator
        if est is None:
            return None
        note = f" ({est.provider_note})" if est.provider_note else ""
        return (f"model: {est.model_name} ({est.info.config_name}, trained on {est.info.hand} hands); "
                f"provider: {est.provider}{note}")

    def model_cube_mm(self) -> float | None:
        """The crop cube the tracker uses (TrackerConfig.effective_cube_mm; None before the model is loaded and
        when no cube is configured)."""
        if self.estimator is None:
            return None if self.config.cube_mm is None else float(self.config.cube_mm)
        return self.config.effective_cube_mm(self.estimator.info.cube_mm)

    @property
    def source_choice(self) -> SourceChoice | None:
        return None if self.source_spec is None else SourceChoice.of(self.source_spec.kind)

    def set_source(self, source: FrameSource, spec: SourceSpec | None = None) -> None:
        """Use this source from the next start(); spec (how it was opened) opens a fresh one for a restart after
        stop() (None: it cannot be restarted)."""
        self.stop()
        self.source, self.source_spec = source, spec
        self.source_changed.emit(source.info)

    def open_source(self, choice: SourceChoice | str, path: str | None = None) -> bool:
        """Build a source the user chose: synthetic, camera or file (path: .bag/.db3 file, session or PNG
        folder). False (and error emitted) when it cannot be opened."""
        from app.sources.factory import open_source
        try:
            spec = spec_for_choice(choice, path, self.config.hand)
            source = open_source(spec)
        except TrackerError as exc:
            self.error.emit(str(exc))
            return False
        self.set_source(source, spec)
        return True

    def source_info(self) -> SourceInfo | None:
        return None if self.source is None else self.source.info

    # ---- run control -------------------------------------------------------------------------------------
    def start(self, speed: float = 1.0) -> bool:
        """Build the tracker and pipeline for the current source and start them. speed: replay pacing of a
        recording (1.0 real time, 0 as fast as possible); a seekable recording holds at its last frame."""
        if self.is_running():
            return True
        if self.source is None:
            self.error.emit("choose a source first: synthetic hand, RealSense camera or a recording")
            return False
        if not self.load_model():
            return False
        from app.runtime.pipeline import Pipeline
        from app.tracking.tracker import HandTracker
        try:
            if self.pipeline is not None:   # a stopped pipeline closed its source: start on a fresh one
                if self.source_spec is None:
                    raise InputError("this source cannot be restarted: choose it again")
                from app.sources.factory import open_source
                self.source = open_source(self.source_spec)
                self.source_changed.emit(self.source.info)
            tracker = HandTracker(self.config, self.estimator)
            info = self.source.info
            self.pipeline = Pipeline(self.source, tracker, speed=None if info.live else speed,
                                     hold_at_end=info.seekable and not info.live)
            self.pipeline.add_consumer(lambda _result: self._result_arrived.emit())
            for hook in self.pipeline_hooks:
                hook(self.pipeline)
            self.pipeline.start()
        except TrackerError as exc:
            self.error.emit(str(exc))
            return False
        self._last_result = None
        self._last_error = self._last_recording_error = None
        self._recording_path = None
        self.timer.start()
        return True

    def stop(self) -> None:
        """Stop the pipeline (finishing a recording in progress); safe to call when nothing runs."""
        if self.pipeline is not None:
            self.pipeline.stop()
            self._recording_path = None
            self.poll()   # report the final state and any error
        self.timer.stop()

    def is_running(self) -> bool:
        stats = self.stats()
        return stats is not None and stats.state in _ACTIVE

    def stats(self):
        return None if self.pipeline is None else self.pipeline.stats()

    def _forward(self, method: str, *args) -> None:
        if self.pipeline is None:
            return
        try:
            getattr(self.pipeline, method)(*args)
        except TrackerError as exc:
            self.error.emit(str(exc))
        self.timer.start()   # a seek or step after the end of a replay brings new results

    def pause(self) -> None:
        self._forward("pause")

    def resume(self) -> None:
        self._forward("resume")

    def step(self, n: int = 1) -> None:
        self._forward("step", int(n))

    def seek(self, index: int) -> None:
        self._forward("seek", int(index))

    def set_speed(self, factor: float) -> None:
        self._forward("set_speed", float(factor))

    def seekable(self) -> bool:
        info = self.source_info()
        return self.pipeline is not None and info is not None and info.seekable and bool(info.frame_count)

    def held_at_end(self) -> bool:
        """A replay that reached its last frame and waits there (hold_at_end) for a seek."""
        stats = self.stats()
        return (stats is not None and self.seekable() and stats.frame_count is not None
                and stats.position >= stats.frame_count - 1)

    def live(self) -> bool:
        info = self.source_info()
        return self.pipeline is not None and info is not None and info.live

    def toggle_play(self) -> None:
        """Pause a playing replay (or freeze a live view); resume, from the start when held at its end."""
        if not (self.seekable() or self.live()):
            return
        if self.stats().state == PipelineState.RUNNING and not self.held_at_end():
            self.pause()
            return
        if self.seekable() and self.held_at_end():
            self.seek(0)
        self.resume()

    def step_by(self, n: int) -> None:
        """Pause and move n frames from the one shown (n < 0 goes back; live sources only step forward: the
        next n camera frames)."""
        if n == 0 or not (self.seekable() or (self.live() and n > 0)):
            return
        self.pause()
        if n > 0:
            self.step(n)
        else:   # a seek while paused delivers the frame sought and stays paused
            self.seek(max(0, self.stats().position + n))

    def seek_clamped(self, index: int) -> None:
        """Seek to index, clamped into the recording (paused: the frame sought is still shown)."""
        if self.seekable():
            self.seek(min(max(int(index), 0), self.source_info().frame_count - 1))

    # ---- recording ---------------------------------------------------------------------------------------
    def start_recording(self, directory: str) -> bool:
        if self.pipeline is None or not self.is_running():
            self.error.emit("start the tracker before recording")
            return False
        try:
            self.pipeline.start_recording(directory)
        except TrackerError as exc:
            self.error.emit(str(exc))
            return False
        self._last_recording_error = None
        self._recording_path = directory
        return True

    def stop_recording(self) -> None:
        self._recording_path = None
        if self.pipeline is not None:
            self.pipeline.stop_recording()

    def recording_active(self) -> bool:
        """A recording was started, not stopped, and has not failed."""
        status = self.recording_status()
        return self._recording_path is not None and status is not None and status.error is None

    def recording_status(self):
        return None if self.pipeline is None else self.pipeline.recording_status()

    # ---- tracker settings --------------------------------------------------------------------------------
    def config_values(self) -> dict:
        """The live settings in force (LIVE_SETTINGS keys), cube_mm the one in use (before the model is loaded:
        the configured one, else the default)."""
        model_cube = self.estimator.info.cube_mm if self.estimator is not None else self.config.localiser.cube_mm
        return self.config.live_values(model_cube)

    def update_tracker(self, change: TrackerChange) -> bool:
        """Apply a live change (and keep it for the next pipeline); False with error emitted if refused."""
        try:
            config = self.config.apply(change)
            if self.pipeline is not None and self.is_running():
                self.pipeline.update_tracker(change)
        except TrackerError as exc:
            self.error.emit(str(exc))
            return False
        self.config = config
        return True

    # ---- polling -----------------------------------------------------------------------------------------
    def poll(self) -> None:
        """Called by the timer: emit the newest result if it is new, and any state change or error."""
        if self.pipeline is None:
            return
        result = self.pipeline.latest_result()
        if result is not None and result is not self._last_result:
            self._last_result = result
            self.result_ready.emit(result)
        stats = self.pipeline.stats()
        state = stats.state
        if stats.error and stats.error != self._last_error:
            self._last_error = stats.error
            self.error.emit(stats.error)
        recording = self.pipeline.recording_status()
        if recording is not None and recording.error and recording.error != self._last_recording_error:
            self._last_recording_error = recording.error
            self._recording_path = None
            self.error.emit(f"recording stopped: {recording.error}")
        if state != self._last_state:
            self._last_state = state
            self.state_changed.emit(state)
        if state in _ENDED and result is self._last_result:
            self.timer.stop()   # nothing more will arrive
