"""16-bit depth PNGs as a frame source: one file, or a folder of them in sorted file-name order.

PNGs carry no intrinsics or depth scale, so they come from the caller (--intrinsics / --depth-scale) or a
calibration file; without them the source refuses to start with a one-line InputError. 8-bit or unreadable
images are rejected the same way (an 8-bit image has lost the depth values). Frame numbers are the file order;
timestamps are frame_number / fps. Seekable and frame-exact. Imports numpy, cv2 and app foundation only.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np

from app.camera_calibration import CameraCalibration
from app.camera import Intrinsics
from app.errors import InputError
from app.sources.base import FrameSource, SourceInfo
from app.sources.spec import SourceKind
from app.sources.pacing import Pacer
from app.types import DepthFrame, readonly

_MISSING_INTRINSICS = ("depth PNGs carry no camera intrinsics: pass --intrinsics fx,fy,cx,cy (and "
                       "--depth-scale) or --calibration FILE")


def png_files(path: str | Path) -> list[Path]:
    """The PNG files a path names: the file itself, or a folder's *.png sorted by name. InputError if none."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"not found: {path}")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".png" and p.is_file())
        if not files:
            raise InputError(f"no .png files in folder {path}")
        return files
    if path.suffix.lower() != ".png":
        raise InputError(f"{path.name}: not a PNG file")
    return [path]


def read_depth_png(path: Path) -> np.ndarray:
    """A single-channel 16-bit PNG -> H x W uint16 (raw depth units). InputError for anything else."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from None
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise InputError(f"{path.name}: not a readable PNG image")
    if img.dtype != np.uint16:
        bits = img.dtype.itemsize * 8
        raise InputError(f"{path.name}: {bits}-bit PNG; depth PNGs must be 16-bit raw depth units")
    if img.ndim != 2:
        raise InputError(f"{path.name}: {img.shape[2]}-channel PNG; depth PNGs must be single-channel")
    return img


def png_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of the first PNG a path names (so --intrinsics text can be parsed for it)."""
    img = read_depth_png(png_files(path)[0])
    return img.shape[1], img.shape[0]


class PngSource(FrameSource):
    """Depth PNG(s) at `path`. calibration: the camera parameters (app/camera_calibration.py; PNGs carry none,
    so it must hold intrinsics; its depth_unit_mm, else the intrinsics' own, is the depth scale); intrinsics: a
    shortcut for a calibration holding just these; fps: nominal rate for timestamps and realtime pacing."""

    def __init__(self, path: str | Path, intrinsics: Intrinsics | None = None,
                 calibration: CameraCalibration | None = None, fps: float = 30.0, realtime: bool = False) -> None:
        self.path = Path(path)
        self.files = png_files(self.path)
        if not fps > 0:
            raise InputError(f"fps must be positive, got {fps}")
        self.fps = float(fps)
        if intrinsics is not None:
            calibration = (calibration or CameraCalibration()).with_overrides(intrinsics)
        if calibration is None or calibration.intrinsics is None:
            raise InputError(_MISSING_INTRINSICS)
        base = calibration.resolve_intrinsics(None)
        self.intrinsics = base
        self._closed = threading.Event()
        self._pacer = Pacer(bool(realtime), self._closed)
        self._position = 0
        self._opened = False
        name = self.path.name if len(self.files) == 1 else f"{self.path.name}/ ({len(self.files)} PNGs)"
        self._info = SourceInfo(SourceKind.PNG, name, live=False, frame_count=len(self.files), seekable=True,
                                fps=self.fps, device={"path": str(self.path)})

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> None:
        # Check the first image now so a wrong size or bit depth fails at start, not mid-run.
        if not self._opened:
            self._load(0)
            self._opened = True

    def _load(self, i: int) -> np.ndarray:
        img = read_depth_png(self.files[i])
        if img.shape != (self.intrinsics.height, self.intrinsics.width):
            raise InputError(f"{self.files[i].name} is {img.shape[1]}x{img.shape[0]} but the intrinsics are for "
                             f"{self.intrinsics.width}x{self.intrinsics.height}")
        return img

    def read(self, timeout_s: float = 1.0) -> DepthFrame | None:
        if self._closed.is_set() or self._position >= len(self.files):
            return None
        i = self._position
        depth = self._load(i)
        self._position += 1
        timestamp_ms = i * 1000.0 / self.fps
        self._pacer.wait(timestamp_ms)
        return DepthFrame(index=i, frame_number=i, timestamp_ms=timestamp_ms, arrival_s=time.perf_counter(),
                          depth_raw=readonly(depth), intrinsics=self.intrinsics)

    def seek(self, index: int) -> None:
        if not 0 <= index < len(self.files):
            raise InputError(f"{self._info.name}: frame {index} out of range (0..{len(self.files) - 1})")
        self._position = index
        self._pacer.reset()

    def close(self) -> None:
        self._closed.set()
