"""Replay of a recorded session folder (app/recording) as a frame source: frame-exact, seekable, optionally
paced by the recorded timestamps. The stored per-frame results stay available through `.reader`.
Imports app foundation and app.recording only.
"""
from __future__ import annotations

import threading
from pathlib import Path

from app.calibration import CameraCalibration
from app.errors import InputError
from app.recording.reader import SessionReader
from app.sources.base import FrameSource, SourceInfo
from app.sources.pacing import Pacer
from app.types import DepthFrame


class SessionSource(FrameSource):
    """Frames of a session in recorded order. realtime: pace by recorded timestamps (default: as fast as read);
    calibration: overrides the recorded intrinsics/depth scale (rarely wanted: the session has the device's)."""

    def __init__(self, directory: str | Path, realtime: bool = False,
                 calibration: CameraCalibration | None = None) -> None:
        self.reader = SessionReader(directory)
        self.calibration = calibration
        self._closed = threading.Event()
        self._pacer = Pacer(bool(realtime), self._closed)
        self._position = 0
        meta = self.reader.meta
        source = meta.get("source") if isinstance(meta.get("source"), dict) else {}
        device = dict(meta.get("device")) if isinstance(meta.get("device"), dict) else {}
        if source.get("name"):
            device.setdefault("recorded_from", source["name"])
        name = f"{self.reader.path.name} (session)"
        self._info = SourceInfo("session", name, live=False, frame_count=len(self.reader), seekable=True,
                                fps=self.reader.nominal_fps(), device=device)

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> None:
        if len(self.reader) == 0:
            raise InputError(f"session {self.reader.path} has no recorded frames")

    def read(self, timeout_s: float = 1.0) -> DepthFrame | None:
        if self._closed.is_set() or self._position >= len(self.reader):
            return None
        frame = self.reader.frame(self._position)
        if self.calibration is not None:
            intr = self.calibration.resolve_intrinsics(frame.intrinsics)
            if intr is not frame.intrinsics:
                frame = DepthFrame(frame.index, frame.frame_number, frame.timestamp_ms, frame.arrival_s,
                                   frame.depth_raw, intr, frame.gt_xyz_mm, frame.gt_hand)
        self._position += 1
        self._pacer.wait(frame.timestamp_ms)
        return frame

    def seek(self, index: int) -> None:
        if not 0 <= index < len(self.reader):
            raise InputError(f"session {self.reader.path.name}: frame {index} out of range "
                             f"(0..{len(self.reader) - 1})")
        self._position = index
        self._pacer.reset()

    def close(self) -> None:
        self._closed.set()
