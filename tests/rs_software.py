"""Test helper: a pyrealsense2 software device with one z16 depth stream, the camera-less stand-in that the
real SDK offers (platform.md). Frames pushed into it travel through librealsense exactly like camera frames:
into a frame queue (live-source tests) or through rs.recorder into a .db3 file (file-source tests).
Also used, with an older pyrealsense2, by tests/fixtures/make_legacy_bag.py. Imports numpy and pyrealsense2.
"""
from __future__ import annotations

import numpy as np
import pyrealsense2 as rs


def known_depth(k: int, width: int, height: int) -> np.ndarray:
    """Frame k's known content: a tilted background plane (700-1,020 units) with a disc that moves right by
    3 px per frame at 400-430 units, zero (no depth) holes on a fixed grid, and the frame number in pixel
    (0, 0). Every frame differs, so a dropped, repeated or reordered frame is caught."""
    v, u = np.mgrid[0:height, 0:width]
    depth = 700 + (u * 200) // max(1, width - 1) + (v * 120) // max(1, height - 1)
    cu, cv = width // 4 + 3 * k, height // 2
    disc = (u - cu) ** 2 + (v - cv) ** 2 < (height // 5) ** 2
    depth = np.where(disc, 400 + (u - cu) % 31, depth)
    depth[(u % 17 == 5) & (v % 13 == 7)] = 0
    depth[0, 0] = k
    return depth.astype(np.uint16)


class SoftwareDepthCamera:
    """A software device with one depth sensor streaming width x height z16 at fps.

    fx, fy, cx, cy: intrinsics in px; depth_units_m: SDK depth units (metres per raw unit)."""

    def __init__(self, width: int = 64, height: int = 48, fps: int = 30, fx: float = 60.5, fy: float = 61.25,
                 cx: float = 31.75, cy: float = 23.5, depth_units_m: float = 0.001,
                 name: str = "Software D4xx", serial: str = "000111222") -> None:
        self.width, self.height, self.fps, self.depth_units_m = width, height, fps, depth_units_m
        self.device = rs.software_device()
        self.device.register_info(rs.camera_info.name, name)
        self.device.register_info(rs.camera_info.serial_number, serial)
        self.sensor = self.device.add_sensor("Depth")
        intr = rs.intrinsics()
        intr.width, intr.height, intr.fx, intr.fy, intr.ppx, intr.ppy = width, height, fx, fy, cx, cy
        intr.model = rs.distortion.brown_conrady
        intr.coeffs = [0.0] * 5
        stream = rs.video_stream()
        stream.type, stream.index, stream.uid = rs.stream.depth, 0, 0
        stream.width, stream.height, stream.fps, stream.bpp, stream.fmt = width, height, fps, 2, rs.format.z16
        stream.intrinsics = intr
        self.profile = self.sensor.add_video_stream(stream).as_video_stream_profile()
        self.sensor.add_read_only_option(rs.option.depth_units, depth_units_m)
        self._keep: list = []  # pixel buffers stay alive until the device is gone

    def push(self, depth: np.ndarray, frame_number: int, timestamp_ms: float, sensor=None) -> None:
        """Send one frame. sensor: the sensor to push through (the recorder's wrapper when recording)."""
        pixels = np.ascontiguousarray(depth, dtype=np.uint16)
        self._keep.append(pixels)
        frame = rs.software_video_frame()
        frame.pixels = pixels
        frame.stride = self.width * 2
        frame.bpp = 2
        frame.timestamp = timestamp_ms
        frame.domain = rs.timestamp_domain.hardware_clock
        frame.frame_number = frame_number
        frame.depth_units = self.depth_units_m
        frame.profile = self.profile
        self.sensor.on_video_frame(frame)


def record(path: str, camera: SoftwareDepthCamera, frames: list[tuple[np.ndarray, int, float]]) -> None:
    """Write `frames` (depth, frame_number, timestamp_ms) into a recording with rs.recorder (.db3 with
    pyrealsense2 >= 2.58, .bag with <= 2.57). Every frame is pulled through the queue before the recorder closes,
    so the file holds all of them."""
    recorder = rs.recorder(path, camera.device)
    sensor = recorder.query_sensors()[0]
    queue = rs.frame_queue(len(frames) + 1, keep_frames=True)
    sensor.open(sensor.get_stream_profiles()[0])
    sensor.start(queue)
    for depth, frame_number, timestamp_ms in frames:
        camera.push(depth, frame_number, timestamp_ms)
    received = 0
    while received < len(frames):
        ok, _ = queue.try_wait_for_frame(2000)
        if not ok:
            break
        received += 1
    sensor.stop()
    sensor.close()
    del sensor, recorder  # the recorder finishes the file when released
    if received != len(frames):
        raise RuntimeError(f"recorded {received} of {len(frames)} frames")
