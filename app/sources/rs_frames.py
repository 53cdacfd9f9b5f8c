"""pyrealsense2 frames -> DepthFrame: the conversion and post-filter chain shared by the live camera source,
the .bag/.db3 file source and the tests (which feed a rs.software_device through a rs.frame_queue).

Intrinsics and the depth scale are read from each frame's own stream profile and depth units, never from
constants; a CameraCalibration may override them explicitly. Imports pyrealsense2, numpy and app
foundation only (only app/sources/ may import pyrealsense2).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyrealsense2 as rs

from app.camera_calibration import CameraCalibration
from app.camera import Intrinsics
from app.errors import InputError, SourceError
from app.types import DepthFrame, readonly

# Intel's recommended order for the post-processing blocks we offer; user order does not matter.
FILTER_NAMES = ("spatial", "temporal", "hole_filling")

# RealSense depth units are metres per raw unit (float32 in the SDK); the project uses mm per raw unit.
_MM_PER_M = 1000.0


def depth_unit_mm_from_metres(units_m: float) -> float:
    """SDK depth units (m per raw unit, a float32: 0.001 arrives as 0.0010000000474974513) -> mm per raw unit,
    rounded to float32's 7 significant digits so the project sees 1.0 and 0.1, not 1.0000000474974513."""
    return float(f"{float(units_m) * _MM_PER_M:.7g}")


def intrinsics_from_rs(intr: "rs.intrinsics", depth_unit_mm: float) -> Intrinsics:
    """rs.intrinsics (ppx/ppy principal point, px) -> app Intrinsics. D4xx depth streams have no distortion, so
    only the pinhole part is kept. The SDK stores float32: each value becomes the shortest decimal that is the
    same float32 (23.2, not 23.200000762939453), so files and logs show what the device reported."""
    def f32(x: float) -> float:
        return float(str(np.float32(x)))

    return Intrinsics(int(intr.width), int(intr.height), f32(intr.fx), f32(intr.fy), f32(intr.ppx),
                      f32(intr.ppy), float(depth_unit_mm))


def validate_filters(filters) -> tuple[str, ...]:
    """Normalise a filter selection (None, a comma string or an iterable of names) to FILTER_NAMES order."""
    if filters is None:
        return ()
    names = [f.strip() for f in filters.split(",")] if isinstance(filters, str) else [str(f) for f in filters]
    names = [n for n in names if n and n != "none"]
    unknown = [n for n in names if n not in FILTER_NAMES]
    if unknown:
        raise InputError(f"unknown depth filter '{unknown[0]}' (choose from {', '.join(FILTER_NAMES)} or none)")
    return tuple(n for n in FILTER_NAMES if n in names)


class FilterChain:
    """The selected librealsense post-processing blocks, applied in Intel's recommended order. The temporal
    filter keeps history, so one chain belongs to one stream; reset() forgets it (after a seek)."""

    def __init__(self, filters=()) -> None:
        self.names = validate_filters(filters)
        self._blocks: list = []
        self.reset()

    def reset(self) -> None:
        makers = {"spatial": rs.spatial_filter, "temporal": rs.temporal_filter,
                  "hole_filling": rs.hole_filling_filter}
        self._blocks = [makers[name]() for name in self.names]

    def process(self, frame: "rs.frame") -> "rs.frame":
        for block in self._blocks:
            frame = block.process(frame)
        return frame


class FrameConverter:
    """Turns successive rs depth frames of one stream into DepthFrames with a gap-free 0-based index.

    The pixel data is copied out of the SDK's buffer (the SDK recycles it once the frame is released) and made
    read-only; the Intrinsics object is rebuilt only when the stream profile or depth units change."""

    def __init__(self, filters=(), calibration: CameraCalibration | None = None) -> None:
        self.chain = FilterChain(filters)
        self.calibration = calibration
        self.next_index = 0
        self._cache_key: tuple | None = None
        self._cache: Intrinsics | None = None

    def reset(self, next_index: int = 0) -> None:
        self.next_index = next_index
        self.chain.reset()

    def intrinsics_of(self, depth: "rs.depth_frame") -> Intrinsics:
        profile = depth.get_profile().as_video_stream_profile()
        units = depth.get_units()
        key = (profile.unique_id(), profile.width(), profile.height(), units)
        if key != self._cache_key:
            stream = intrinsics_from_rs(profile.get_intrinsics(), depth_unit_mm_from_metres(units))
            self._cache = stream if self.calibration is None else self.calibration.resolve_intrinsics(stream)
            self._cache_key = key
        return self._cache

    def convert(self, frame: "rs.frame", arrival_s: float | None = None) -> DepthFrame:
        """One rs frame (a depth frame or a frameset holding one) -> DepthFrame; runs the filter chain."""
        arrival = time.perf_counter() if arrival_s is None else arrival_s
        if frame.is_frameset():
            depth = frame.as_frameset().get_depth_frame()
            if not depth:
                raise SourceError("the RealSense stream delivered a frame set without depth")
        else:
            depth = frame
        if not depth.is_depth_frame():
            raise SourceError("the RealSense stream delivered a non-depth frame")
        frame_number = int(depth.get_frame_number())
        timestamp_ms = float(depth.get_timestamp())
        depth = self.chain.process(depth).as_depth_frame()
        data = np.asanyarray(depth.get_data())
        if data.dtype != np.uint16 or data.ndim != 2:
            raise SourceError(f"expected a 16-bit depth image (z16), got {data.dtype} with shape {data.shape}")
        out = DepthFrame(index=self.next_index, frame_number=frame_number, timestamp_ms=timestamp_ms,
                         arrival_s=arrival, depth_raw=readonly(np.array(data, copy=True)),
                         intrinsics=self.intrinsics_of(depth))
        self.next_index += 1
        return out


def sdk_error_line(exc: BaseException, path: str | Path | None = None) -> str:
    """A librealsense error as one short line a user can act on: its first non-blank line, from its last
    'Reason: ' on (file errors arrive wrapped as 'Failed to resolve request. Request to
    enable_device_from_file("...") was invalid, Reason: ...'), with `path` shortened to the file's name."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    _, found, reason = lines[0].rpartition("Reason: ")
    line = reason.strip() if found and reason.strip() else lines[0]
    if path is not None:
        line = line.replace(str(path), Path(path).name)
    return line.rstrip(".")


def device_description(device: "rs.device") -> dict:
    """The camera_info fields a device reports (name, serial, firmware, product line, USB type), for SourceInfo
    and recordings."""
    fields = {"name": rs.camera_info.name, "serial": rs.camera_info.serial_number,
              "firmware": rs.camera_info.firmware_version, "product_line": rs.camera_info.product_line,
              "usb_type": rs.camera_info.usb_type_descriptor}
    out = {}
    for key, info in fields.items():
        try:
            if device.supports(info):
                out[key] = str(device.get_info(info))
        except (RuntimeError, UnicodeDecodeError):  # unplugged while being described; garbage text in a file
            pass
    return out
