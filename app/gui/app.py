"""Entry point of the desktop app: run_gui(config, source, options) -> exit code, called by app/cli.py with
typed values only (TrackerConfig, an opened FrameSource, RunOptions).

Chooses the Qt platform (a display, or offscreen when only a screenshot is wanted), applies the theme, merges
the remembered tuning into the configuration (settings given on the command line win), opens the main window,
starts the given source, and, for scripted runs (--max-frames / --screenshot), saves the picture after N
processed frames and exits. Errors are shown in the window and, for scripted runs, printed as one line.
Imports PySide6 and app code.
"""
from __future__ import annotations

import os
import signal
import sys

import shiboken6
from PySide6 import QtCore, QtWidgets

from app.config import TrackerChange, TrackerConfig
from app.errors import TrackerError
from app.gui.main_window import MainWindow
from app.gui.qt_compat import neutralise_refcount_defect
from app.gui.settings import Settings
from app.gui.theme import apply_theme
from app.gui.tracker_controls import PANEL_KEYS
from app.runtime.run_options import RunOptions
from app.runtime.stats import PipelineState

EXIT_INTERRUPTED = 130           # as the command line returns for Ctrl+C
SCREENSHOT_DEFAULT_FRAMES = 30   # --screenshot without --max-frames: picture after this many frames
SCRIPTED_WINDOW_SIZE = (1600, 1000)


def display_problem(need_display: bool) -> str | None:
    """Pick the Qt platform before QApplication exists. None when fine, else why the window cannot open."""
    if QtWidgets.QApplication.instance() is not None or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("win32", "darwin"):
        return None
    if not need_display:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"   # a picture needs no screen (the 3-D view says why it is off)
        return None
    return "no display found: run on a desktop, under xvfb-run, or use --headless"


def merge_remembered(config: TrackerConfig, remembered: dict, explicit: frozenset[str] = frozenset()) -> TrackerConfig:
    """Apply the remembered tuning (Settings.tracker_values) to every panel setting not in explicit (given on
    the command line or in its calibration file: that wins)."""
    changes = {key: value for key, value in remembered.items() if key in PANEL_KEYS and key not in explicit}
    try:
        return config.apply(TrackerChange.of(**changes))
    except TrackerError:
        return config   # e.g. a remembered band with near >= far: a damaged settings file must not stop the app


class ScriptedRun(QtCore.QObject):
    """Waits for N processed frames (or the end of the source, or an error), saves the screenshot, and exits."""

    def __init__(self, window: MainWindow, max_frames: int | None, screenshot: str | None) -> None:
        super().__init__(window)
        self.window = window
        self.max_frames = max_frames if max_frames else SCREENSHOT_DEFAULT_FRAMES
        self.screenshot = screenshot
        self.exit_code: int | None = None
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._check)
        self.timer.start()

    def _check(self) -> None:
        stats = self.window.host.stats()
        if stats is None:
            if self.window.errors:   # nothing could start: model or source refused
                self.finish(1)
            return
        if stats.error:
            self.finish(1)
        elif stats.frames_processed >= self.max_frames or stats.state in (PipelineState.FINISHED,
                                                                          PipelineState.STOPPED):
            self.finish(0)
        elif stats.state == PipelineState.PAUSED and stats.frame_count is not None \
                and stats.position >= stats.frame_count - 1:
            self.finish(0)   # a replay held at its last frame

    def finish(self, code: int) -> None:
        if self.exit_code is not None:
            return
        self.timer.stop()
        self.window.host.poll()   # draw the newest result before the picture
        QtWidgets.QApplication.processEvents()
        if self.screenshot and self.window.save_screenshot(self.screenshot) is None:
            code = 1
        for message in dict.fromkeys(self.window.errors):
            print(f"error: {message}", file=sys.stderr)
        self.exit_code = code
        self.window.close()   # ends run_gui's event loop


def run_gui(config: TrackerConfig, source, options: RunOptions = RunOptions(), streams=None) -> int:
    """Open the window. source: a FrameSource (opened or not) or None (the user chooses); options: max_frames,
    screenshot (PNG path), record (session folder to record into from the start), layout, explicit_settings,
    and source (its SourceSpec, to open it again after Stop); streams: started --stream outputs
    (app.streaming.Streams), fed by every pipeline the window starts. Returns the exit code."""
    max_frames, screenshot, scripted = options.max_frames, options.screenshot, options.scripted
    problem = display_problem(need_display=not screenshot)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    # pyqtgraph caches GL shader programs across views, so all GL contexts must share their resources.
    if QtWidgets.QApplication.instance() is None:
        QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    app.setApplicationName("Hand Tracker")
    neutralise_refcount_defect()
    apply_theme(app)
    settings = Settings()
    if not scripted:   # scripted runs are reproducible: command line and defaults only
        config = merge_remembered(config, settings.tracker_values(), options.explicit_settings)
    window = MainWindow(config, settings, restore_geometry=not scripted)
    summary = window.host.model_summary()
    if summary:   # as headless runs do: which model and which ONNX Runtime provider really runs
        print(summary, file=sys.stderr)
    if scripted:
        window.resize(*SCRIPTED_WINDOW_SIZE)
    if options.layout:   # explicit: wins over the remembered layout (and is remembered)
        window.set_layout(options.layout)
    window.show()
    runner = ScriptedRun(window, max_frames, screenshot) if scripted else None
    if streams is not None:
        window.host.pipeline_hooks.append(streams.attach)
    if source is not None:
        window.set_source(source, options.source)
        if window.start() and options.record:
            window.start_recording(str(options.record))
    # A local event loop that ends when the window closes, rather than app.exec()/app.exit(): QApplication.exit
    # leaves Qt refusing to run any later event loop in this process (tests, embedding).
    loop = QtCore.QEventLoop()
    window.closed.connect(loop.quit)
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    interrupted = _CtrlC(window)
    try:
        loop.exec()
    finally:
        app.setQuitOnLastWindowClosed(quit_on_close)
        interrupted.restore()
        # Delete the closed window now, while Qt is fully alive: left to interpreter exit, PySide's teardown of
        # a window holding a native GL window crashes (seen with PySide6 6.11).
        if shiboken6.isValid(window):
            shiboken6.delete(window)
    if interrupted.fired:
        return EXIT_INTERRUPTED
    return runner.exit_code if runner is not None and runner.exit_code is not None else 0


class _CtrlC:
    """Ctrl+C in the terminal closes the window cleanly (pipeline stopped, recording finished). Python runs
    signal handlers only between bytecodes, so a timer wakes the interpreter a few times a second."""

    def __init__(self, window: MainWindow) -> None:
        self.fired = False
        self._window = window
        self._previous = None
        self._timer = QtCore.QTimer(window)
        self._timer.timeout.connect(lambda: None)
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._timer.start(250)
        except ValueError:   # not the main thread: leave signals alone
            self._previous = None

    def _handle(self, _signum, _frame) -> None:
        self.fired = True
        QtCore.QTimer.singleShot(0, self._window.close)

    def restore(self) -> None:
        self._timer.stop()
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
