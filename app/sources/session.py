"""Replay of a recorded session folder (app/recording) as a frame source: frame-exact, seekable, optionally
paced by the recorded timestamps. The stored per-frame results stay available through `.reader`.
A damaged session replays every complete frame: a frame whose PNG does not decode (or does not match the
intrinsics) is skipped and counted (skipped_frames, with the lines the reader left out); only a session none
of whose frames can be read is an InputError.
Imports app foundation and app.recording only.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from app.camera_calibration import CameraCalibration
from app.errors import InputError, SourceError
from app.recording.reader import SessionReader
from app.sources.base import FrameSource, SourceInfo
from app.sources.spec import SourceKind
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
        self._delivered = 0
        self.damaged = 0          # frames skipped at read time (PNG unreadable)
        meta = self.reader.meta
        source = meta.get("source") if isinstance(meta.get("source"), dict) else {}
        device = dict(meta.get("device")) if isinstance(meta.get("device"), dict) else {}
        if source.get("name"):
            device.setdefault("recorded_from", source["name"])
        name = f"{self.reader.path.name} (session)"
        self._info = SourceInfo(SourceKind.SESSION, name, live=False, frame_count=len(self.reader), seekable=True,
                                fps=self.reader.nominal_fps(), device=device)

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> None:
        if len(self.reader) == 0:
            reader = self.reader
            why = "" if not reader.skipped else (
                f" it can use ({reader.skipped} damaged or incomplete lines in frames.jsonl"
                + ("; session.json has no intrinsics" if reader.intrinsics is None else "") + ")")
            raise InputError(f"session {reader.path} has no recorded frames{why}")

    @property
    def skipped_frames(self) -> int:
        """Frames of the session left out because they are damaged (lines at load, PNGs while reading)."""
        return self.reader.skipped + self.damaged

    def read(self, timeout_s: float = 1.0) -> DepthFrame | None:
        while True:
            if self._closed.is_set() or self._position >= len(self.reader):
                if self._delivered == 0 and self.damaged and not self._closed.is_set():
                    raise InputError(f"session {self.reader.path.name}: none of its {len(self.reader)} frames can be "
                                     f"read (their depth PNGs are damaged)")
                return None
            try:
                frame = self.reader.frame(self._position)
            except SourceError:
                self.damaged += 1
                self._position += 1
                continue
            break
        self._delivered += 1
        if self.calibration is not None:
            intr = self.calibration.resolve_intrinsics(frame.intrinsics)
            if intr is not frame.intrinsics:
                frame = replace(frame, intrinsics=intr)
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
