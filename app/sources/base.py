"""The frame-source contract every source implements (live RealSense, .bag/.db3 file, session, PNG, synthetic).

A source is used by one thread at a time (the capture thread; the command line may open a recording before
handing it over): open() (a second call does nothing), read() until it returns None (end of stream), close()
from any thread to unblock a pending read. Imports numpy and app foundation only.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field

from app.sources.spec import SourceKind
from app.types import DepthFrame


@dataclass(frozen=True)
class SourceInfo:
    """What a source is. kind: a SourceKind (a str enum: 'realsense' | 'rs-file' | 'session' | 'png' |
    'synthetic'); name: shown to the
    user; live: frames arrive at the device's pace and cannot be re-read; frame_count: number of frames for
    finite sources (None when unknown/live); seekable: seek() works; fps: nominal frame rate (Hz);
    device: free-form device description (serial, firmware, product) written into recordings."""

    kind: SourceKind
    name: str
    live: bool
    frame_count: int | None
    seekable: bool
    fps: float
    device: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", SourceKind(self.kind))


class FrameSource(abc.ABC):
    """Base class. Subclasses implement open/read/close (+ seek when seekable)."""

    @property
    @abc.abstractmethod
    def info(self) -> SourceInfo: ...

    @abc.abstractmethod
    def open(self) -> None:
        """Start streaming; a second call does nothing. Raises InputError (bad input: a missing, unreadable or
        damaged file) or SourceError (a device problem) with a one-line message on failure."""

    @abc.abstractmethod
    def read(self, timeout_s: float = 1.0) -> DepthFrame | None:
        """Next frame; None at the end of a finite stream. Raises SourceError on failure (e.g. unplugged).
        A live source that has no frame within timeout_s raises SourceError."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop streaming and release the device/file. Safe to call twice and from another thread."""

    @property
    def skipped_frames(self) -> int:
        """Frames of a recording left out because they are damaged (0 for sources that never skip)."""
        return 0

    def seek(self, index: int) -> None:
        """Make the next read() return frame `index` (0-based). Only when info.seekable."""
        raise NotImplementedError(f"{self.info.name} cannot seek")

    def __enter__(self) -> "FrameSource":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
