"""Keyboard shortcuts of the main window, defined once: the key bindings and the help text built from them.

Shortcuts are window-wide; text fields (spin boxes) keep the keys they need while they have focus, so typing a
number never triggers a shortcut. Imports PySide6 and app.gui.source_choice (the window is passed in, not
imported).
"""
from __future__ import annotations

from PySide6 import QtGui

from app.gui.source_choice import SourceChoice

# (key sequence, what it does, how the window does it)
SHORTCUTS = (
    ("Space", "play / pause the replay", lambda w: w.toggle_play_pause()),
    ("Right", "step one frame forward", lambda w: w.step(1)),
    ("Left", "step one frame back", lambda w: w.step(-1)),
    ("Shift+Right", "step ten frames forward", lambda w: w.step(10)),
    ("Shift+Left", "step ten frames back", lambda w: w.step(-10)),
    ("Home", "go to the first frame", lambda w: w.seek(0)),
    ("End", "go to the last frame", lambda w: w.seek_to_end()),
    ("+", "replay faster", lambda w: w.timeline.change_speed(1)),
    ("-", "replay slower", lambda w: w.timeline.change_speed(-1)),
    ("F5", "start / stop the tracker", lambda w: w.toggle_running()),
    ("R", "start / stop recording", lambda w: w.toggle_recording()),
    ("S", "save a screenshot", lambda w: w.save_screenshot()),
    ("Ctrl+O", "open a recording", lambda w: w._on_source_requested(SourceChoice.FILE)),
    ("M", "3-D view: smoothed / raw / both", lambda w: w.skeleton_view.cycle_mode()),
    ("H", "switch between right and left hand", lambda w: w.tracker_controls.toggle_hand()),
    ("D", "presentation (demo) layout on / off", lambda w: w.toggle_layout()),
    ("]", "select the next joint", lambda w: w.select_next_joint(1)),
    ("[", "select the previous joint", lambda w: w.select_next_joint(-1)),
    ("F1", "show these shortcuts", lambda w: w.show_shortcuts()),
    ("Ctrl+Q", "quit", lambda w: w.close()),
)


def install_shortcuts(window) -> list[QtGui.QShortcut]:
    """Create the window's QShortcuts (kept on window.shortcuts so they live as long as it does)."""
    window.shortcuts = []
    for keys, _text, action in SHORTCUTS:
        shortcut = QtGui.QShortcut(QtGui.QKeySequence(keys), window)
        shortcut.activated.connect(lambda action=action: action(window))
        window.shortcuts.append(shortcut)
    return window.shortcuts


def shortcut_help_text() -> str:
    rows = "".join(f"<tr><td><b>{keys}</b>&nbsp;&nbsp;&nbsp;</td><td>{text}</td></tr>"
                   for keys, text, _action in SHORTCUTS)
    return f"<table>{rows}</table><p>Drag in the 3-D view to orbit, wheel to zoom, Ctrl+drag to pan; " \
           f"click a joint in any view to select it.</p>"
