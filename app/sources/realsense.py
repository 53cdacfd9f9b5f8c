"""Live Intel RealSense depth camera source (D4xx and anything else that streams z16 depth).

The camera is opened through rs.pipeline; intrinsics and the depth scale come from the stream (never
constants). The frame -> DepthFrame conversion and the post-filter chain live in rs_frames.py and are shared
with the file source; the stream itself is behind a two-method adapter so that tests can drive the same
LiveRealSenseSource code with a rs.software_device's sensor through a rs.frame_queue (from_sensor).

Unplugging: a devices-changed callback flags the camera as gone, and a read that gets no frame checks whether
the device is still listed; either way read() raises SourceError("camera disconnected ..."), never a crash.
Imports pyrealsense2 and app foundation only.
"""
from __future__ import annotations

import threading
import time

import pyrealsense2 as rs

from app.camera_calibration import CameraCalibration
from app.errors import SourceError
from app.sources.base import FrameSource, SourceInfo
from app.sources.spec import SourceKind
from app.sources.rs_frames import FrameConverter, device_description
from app.types import DepthFrame

_SLICE_MS = 100  # longest a read holds the stream lock, so close() from another thread returns promptly


def connected_serials() -> list[str]:
    """Serial numbers of the RealSense devices plugged in now (empty without a camera)."""
    serials = []
    for dev in rs.context().query_devices():
        try:
            serials.append(str(dev.get_info(rs.camera_info.serial_number)))
        except RuntimeError:  # a device that vanished while being listed
            pass
    return serials


class _CameraStream:
    """A physical camera streaming depth through rs.pipeline."""

    def __init__(self, serial: str | None, width: int, height: int, fps: int) -> None:
        self.serial, self.width, self.height, self.fps = serial, width, height, fps
        self._ctx = rs.context()
        self._pipeline: rs.pipeline | None = None
        self._device: rs.device | None = None
        self.removed = threading.Event()

    def start(self) -> dict:
        serials = connected_serials()
        if not serials:
            raise SourceError("no RealSense camera connected")
        if self.serial is not None and self.serial not in serials:
            raise SourceError(f"RealSense camera {self.serial} not found; connected: {', '.join(serials)}")
        serial = self.serial = self.serial or serials[0]
        cfg = rs.config()
        cfg.enable_device(serial)
        cfg.enable_stream(rs.stream.depth, self.width, self.height, rs.format.z16, self.fps)
        self._pipeline = rs.pipeline(self._ctx)
        try:
            profile = self._pipeline.start(cfg)
        except RuntimeError as e:
            self._pipeline = None
            raise SourceError(f"camera {serial} cannot stream depth at {self.width}x{self.height} "
                              f"{self.fps} fps: {str(e).splitlines()[0]}") from None
        self._device = profile.get_device()
        self._ctx.set_devices_changed_callback(self._on_devices_changed)
        return device_description(self._device)

    def _on_devices_changed(self, event: "rs.event_information") -> None:
        try:
            if self._device is not None and event.was_removed(self._device):
                self.removed.set()
        except RuntimeError:
            self.removed.set()

    def wait(self, timeout_ms: int) -> "rs.frame | None":
        ok, frames = self._pipeline.try_wait_for_frames(timeout_ms)
        return frames if ok else None

    def connected(self) -> bool:
        if self.removed.is_set():
            return False
        return self.serial in connected_serials()

    def stop(self) -> None:
        if self._pipeline is not None:
            try:
                self._pipeline.stop()
            except RuntimeError:  # already stopped, or the camera is gone
                pass
            self._pipeline = None


class _SensorStream:
    """Any rs.sensor started on a rs.frame_queue: a rs.software_device's sensor in tests, or a caller's own
    sensor. It counts as connected while the sensor has active streams."""

    def __init__(self, sensor: "rs.sensor", profile: "rs.stream_profile", device: dict) -> None:
        self.sensor, self.profile, self.device = sensor, profile, device
        self.queue = rs.frame_queue(8, keep_frames=True)
        self.removed = threading.Event()

    def start(self) -> dict:
        try:
            self.sensor.open(self.profile)
            self.sensor.start(self.queue)
        except RuntimeError as e:
            raise SourceError(f"cannot start the depth sensor: {str(e).splitlines()[0]}") from None
        return dict(self.device)

    def wait(self, timeout_ms: int) -> "rs.frame | None":
        ok, frame = self.queue.try_wait_for_frame(timeout_ms)
        return frame if ok else None

    def connected(self) -> bool:
        try:
            return not self.removed.is_set() and len(self.sensor.get_active_streams()) > 0
        except RuntimeError:
            return False

    def stop(self) -> None:
        for step in (self.sensor.stop, self.sensor.close):
            try:
                step()
            except RuntimeError:  # not started, or already stopped by whoever owns the sensor
                pass


class LiveRealSenseSource(FrameSource):
    """Depth frames from a live RealSense camera.

    serial: a camera serial number (None = the first camera found); width/height px and fps: the depth
    stream mode (the camera must support it); filters: any of 'spatial', 'temporal', 'hole_filling' (applied in
    that order) or () for raw depth; calibration: its intrinsics/depth-scale overrides replace the stream's."""

    def __init__(self, serial: str | None = None, width: int = 640, height: int = 480, fps: int = 30,
                 filters=(), calibration: CameraCalibration | None = None) -> None:
        self._init(_CameraStream(serial, width, height, fps), float(fps), filters, calibration,
                   f"RealSense {serial}" if serial else "RealSense camera")

    @classmethod
    def from_sensor(cls, sensor: "rs.sensor", profile: "rs.stream_profile", filters=(),
                    calibration: CameraCalibration | None = None, device: dict | None = None
                    ) -> "LiveRealSenseSource":
        """The same source driven by an already-configured rs.sensor (e.g. a rs.software_device's) through a
        frame queue instead of rs.pipeline."""
        self = cls.__new__(cls)
        fps = float(profile.fps()) if profile.fps() else 30.0
        self._init(_SensorStream(sensor, profile, device or {}), fps, filters, calibration,
                   (device or {}).get("name", "RealSense sensor"))
        return self

    def _init(self, stream, fps: float, filters, calibration, name: str) -> None:
        self._stream = stream
        self._converter = FrameConverter(filters, calibration)
        self._info = SourceInfo(SourceKind.REALSENSE, name, live=True, frame_count=None, seekable=False, fps=fps)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._opened = False

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> None:
        if self._opened:
            return
        device = self._stream.start()
        self._opened = True
        name = " ".join(v for v in (device.get("name"), device.get("serial")) if v) or self._info.name
        self._info = SourceInfo(SourceKind.REALSENSE, name, live=True, frame_count=None, seekable=False,
                                fps=self._info.fps, device=device)

    def read(self, timeout_s: float = 1.0) -> DepthFrame | None:
        """The next frame (None once closed). Raises SourceError when the camera is unplugged or sends
        nothing for timeout_s."""
        if not self._opened and not self._closed.is_set():
            raise SourceError("the RealSense source was read before open()")
        deadline = time.perf_counter() + timeout_s
        while True:
            with self._lock:
                if self._closed.is_set():
                    return None
                remaining_ms = int((deadline - time.perf_counter()) * 1000)
                try:
                    frame = self._stream.wait(max(1, min(_SLICE_MS, remaining_ms)))
                except RuntimeError:
                    frame = None  # the SDK throws when the device vanishes mid-wait; decided below
                if frame is not None:
                    try:
                        return self._converter.convert(frame)
                    except RuntimeError as e:
                        raise SourceError(f"bad frame from the camera: {str(e).splitlines()[0]}") from None
            if self._stream.removed.is_set():
                raise SourceError(f"camera disconnected ({self._info.name})")
            if time.perf_counter() >= deadline:
                if not self._stream.connected():
                    self._stream.removed.set()
                    raise SourceError(f"camera disconnected ({self._info.name})")
                raise SourceError(f"no depth frame from {self._info.name} within {timeout_s:.1f} s")

    def close(self) -> None:
        self._closed.set()
        with self._lock:  # waits for a pending read's slice (<= _SLICE_MS) to finish
            if self._opened:
                self._stream.stop()
                self._opened = False
