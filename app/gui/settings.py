"""Settings remembered between runs of the desktop app (QSettings in an INI file).

Where: the path given to Settings(path), else the environment variable HAND_TRACKER_SETTINGS (tests point it at a
temporary file), else Qt's per-user location (e.g. ~/.config/hand-tracker/hand-tracker.ini on Linux).
What: window geometry and splitters, the last source and folders, the tracker's tuning (handedness, smoothing,
depth band, cube: the tracker panel's keys, app.gui.tracker_controls.PANEL_KEYS, typed and checked by
app.config's LIVE_SETTINGS), the 3-D view mode, the selected joint and the replay speed. Imports PySide6 and app
code.
"""
from __future__ import annotations

import os

from PySide6 import QtCore

from app.config import LIVE_SETTINGS, Hand, check_setting
from app.errors import InputError
from app.gui.tracker_controls import PANEL_KEYS

ENV_SETTINGS_PATH = "HAND_TRACKER_SETTINGS"
ORGANISATION = "hand-tracker"
APPLICATION = "hand-tracker"

# Tracker tuning keys remembered in the GUI, with the type each is stored as (a Hand as its string).
TRACKER_KEYS: dict[str, type] = {key: (str if LIVE_SETTINGS[key].kind is Hand else LIVE_SETTINGS[key].kind)
                                 for key in PANEL_KEYS}


class Settings:
    """Typed access to the app's QSettings. Values are written through at once (sync on close)."""

    def __init__(self, path: str | None = None) -> None:
        path = path or os.environ.get(ENV_SETTINGS_PATH)
        if path:
            self._qs = QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat)
        else:
            self._qs = QtCore.QSettings(QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope,
                                        ORGANISATION, APPLICATION)

    @property
    def path(self) -> str:
        return self._qs.fileName()

    def get(self, key: str, default, kind: type):
        """The stored value converted to kind, or default when missing or unreadable."""
        if not self._qs.contains(key):
            return default
        raw = self._qs.value(key)
        try:
            if kind is bool:
                return raw if isinstance(raw, bool) else str(raw).strip().lower() in ("true", "1", "yes")
            return kind(raw)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value) -> None:
        self._qs.setValue(key, value)

    def get_bytes(self, key: str) -> QtCore.QByteArray | None:
        raw = self._qs.value(key)
        return raw if isinstance(raw, QtCore.QByteArray) else None

    def tracker_values(self) -> dict:
        """The remembered tracker tuning (only keys that were stored and hold a valid value: a damaged settings
        file must not stop the app), e.g. {'hand': Hand.LEFT, 'beta': 0.02}."""
        out = {}
        for key, kind in TRACKER_KEYS.items():
            value = self.get(f"tracker/{key}", None, kind)
            if value is None:
                continue
            try:
                out[key] = check_setting(key, value)
            except InputError:
                continue
        return out

    def set_tracker_values(self, values: dict) -> None:
        for key, value in values.items():
            if key in TRACKER_KEYS:
                self.set(f"tracker/{key}", str(value) if isinstance(value, Hand) else value)

    def sync(self) -> None:
        self._qs.sync()

    def clear(self) -> None:
        self._qs.clear()
