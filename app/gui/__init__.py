"""The desktop app (PySide6 + pyqtgraph): the only Qt code in the project.

run_gui(config, source, options) -> exit code is imported lazily, so `import app.gui` stays cheap and Qt is only
loaded when the window is really opened.
"""
from __future__ import annotations


def run_gui(config, source, options, streams=None) -> int:
    """Open the main window (see app/gui/app.py)."""
    from app.gui.app import run_gui as _run_gui
    return _run_gui(config, source, options, streams=streams)
