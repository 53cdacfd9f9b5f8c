"""The GUI's source choices (the source bar's menu, remembered in the settings file) and the SourceSpec each
names. No Qt: plain values, so the host and the widgets share them.
"""
from __future__ import annotations

import enum

from app.config import Hand
from app.errors import InputError
from app.sources.spec import SourceKind, SourceSpec


class SourceChoice(enum.StrEnum):
    """What the user picks in the source bar (and the settings file remembers)."""

    SYNTHETIC = "synthetic"
    CAMERA = "camera"
    FILE = "file"

    @property
    def label(self) -> str:
        return {"synthetic": "Synthetic hand", "camera": "RealSense camera", "file": "Recording…"}[self.value]

    @staticmethod
    def of(kind: SourceKind) -> "SourceChoice":
        return {SourceKind.SYNTHETIC: SourceChoice.SYNTHETIC,
                SourceKind.REALSENSE: SourceChoice.CAMERA}.get(kind, SourceChoice.FILE)


def spec_for_choice(choice: SourceChoice | str, path: str | None, hand: Hand) -> SourceSpec:
    """The source a GUI choice names: the synthetic hand (rendering the tracked hand, live-like), the camera, or
    a recording (played frame-exact; the GUI's speed control paces it). InputError (one line) otherwise."""
    try:
        choice = SourceChoice(choice)
    except ValueError:
        raise InputError(f"unknown source kind '{choice}' (expected synthetic, camera or file)") from None
    if choice == SourceChoice.SYNTHETIC:
        return SourceSpec(SourceKind.SYNTHETIC, hand=hand, realtime=True)
    if choice == SourceChoice.CAMERA:
        from app.sources.factory import realsense_connected
        if not realsense_connected():
            raise InputError("no RealSense camera found: plug one in (USB 3) or choose another source")
        return SourceSpec(SourceKind.REALSENSE)
    if not path:
        raise InputError("choose a recording file or folder")
    return SourceSpec.parse(path, realtime=False)
