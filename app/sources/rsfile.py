"""RealSense recordings as a frame source: ROS1 .bag (RealSense Viewer, SDK <= 2.57) and rosbag2 .db3
(SDK >= 2.58), played through librealsense's own playback device.

Frame-exact by default: playback.set_real_time(False) makes the SDK hand over every frame, in order, however
slowly the tracker consumes them (in real-time mode a slow consumer loses frames, the librealsense users'
complaint). realtime=True instead paces frames by their recorded timestamps on our side, still without dropping
any. Intrinsics and the depth scale come from the recording. End of file -> read() returns None.
Seeking restarts playback and skips to the frame (exact, cost proportional to the target index).
A file that cannot be played (damaged, cut off, not a recording, no depth) is bad input: InputError, one line.
Before the first open the file is opened once in a child process (rs_probe.py), because some damaged files make
librealsense hang or crash instead of failing. Imports pyrealsense2 and app foundation only.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pyrealsense2 as rs

from app.camera_calibration import CameraCalibration
from app.errors import InputError, SourceError
from app.sources.base import FrameSource, SourceInfo
from app.sources.spec import SourceKind
from app.sources.pacing import Pacer
from app.sources.rs_frames import (FrameConverter, depth_unit_mm_from_metres,
                                    device_description, sdk_error_line)
from app.sources.rs_index import RECORDING_SUFFIXES, count_depth_frames
from app.sources.rs_probe import probe_recording
from app.types import DepthFrame

_SLICE_MS = 100  # one wait slice: short, so close() and end-of-file are noticed promptly


class RealSenseFileSource(FrameSource):
    """Depth frames from a .bag/.db3 file. realtime: pace by recorded timestamps (default: as fast as read);
    repeat: loop forever (index keeps counting up); filters/calibration as for the live source."""

    def __init__(self, path: str | Path, realtime: bool = False, repeat: bool = False, filters=(),
                 calibration: CameraCalibration | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"recording not found: {self.path}")
        if self.path.suffix.lower() not in RECORDING_SUFFIXES:
            raise InputError(f"{self.path.name}: not a RealSense recording (expected .bag or .db3)")
        self.realtime, self.repeat = bool(realtime), bool(repeat)
        self._converter = FrameConverter(filters, calibration)
        self._closed = threading.Event()
        self._pacer = Pacer(self.realtime, self._closed)
        self._lock = threading.Lock()
        self._pipeline: rs.pipeline | None = None
        self._playback: rs.playback | None = None
        self._ended = False
        self._probed = False
        self.depth_unit_mm: float | None = None
        count = count_depth_frames(self.path)
        self._info = SourceInfo(SourceKind.RS_FILE, self.path.name, live=False, frame_count=count, seekable=True,
                                fps=30.0)

    @property
    def info(self) -> SourceInfo:
        return self._info

    def _start(self) -> None:
        cfg = rs.config()
        try:
            cfg.enable_device_from_file(str(self.path), repeat_playback=self.repeat)
            cfg.enable_stream(rs.stream.depth)
            pipeline = rs.pipeline()
            # Real-time mode must be off BEFORE playback starts: switched off after start(), the first frames
            # already raced by in real time and were dropped (measured: 1 of 45 frames kept in most runs of a
            # short file). The config caches the resolved device, so start() plays this very one.
            cfg.resolve(pipeline).get_device().as_playback().set_real_time(False)
            profile = pipeline.start(cfg)
        except RuntimeError as e:
            raise InputError(f"cannot open recording {self.path.name}: {self._open_failure(e)}") from None
        device = profile.get_device()
        self._playback = device.as_playback()
        # Our Pacer does real-time pacing; the SDK's own real-time mode would drop frames for a slow reader.
        self._playback.set_real_time(False)
        self._pipeline = pipeline
        self._ended = False
        stream = profile.get_stream(rs.stream.depth).as_video_stream_profile()
        desc = device_description(device)
        desc["file"] = str(self.path)
        self._info = SourceInfo(SourceKind.RS_FILE, self.path.name, live=False, frame_count=self._info.frame_count,
                                seekable=True, fps=float(stream.fps() or 30.0), device=desc)
        self.depth_unit_mm = None
        for sensor in device.query_sensors():
            if sensor.is_depth_sensor():
                self.depth_unit_mm = depth_unit_mm_from_metres(sensor.as_depth_sensor().get_depth_scale())
                break

    def _open_failure(self, exc: RuntimeError) -> str:
        """Why the SDK would not play the file, as one line (it answers a file without depth 'Couldn't resolve
        requests'; a garbage or cut-off file gets its reader's complaint)."""
        line = sdk_error_line(exc, self.path)
        if line.lower().startswith("couldn't resolve requests"):
            return "it holds no depth stream"
        return line

    def _stop(self) -> None:
        if self._pipeline is not None:
            try:
                self._pipeline.stop()
            except RuntimeError:  # already stopped
                pass
            self._pipeline = self._playback = None

    def open(self) -> None:
        """Start playback (a second call does nothing). InputError when the file cannot be played."""
        with self._lock:
            if self._pipeline is None and not self._closed.is_set():
                if not self._probed:
                    probe_recording(self.path)
                    self._probed = True
                self._start()

    def _next_rs_frame(self, timeout_s: float) -> "rs.frame | None":
        """Next frame set from the SDK, None at the end of the file. Caller holds the lock."""
        if self._pipeline is None:
            if self._closed.is_set():
                return None
            raise SourceError(f"{self.path.name} was read before open()")
        deadline = time.perf_counter() + timeout_s
        while not self._closed.is_set():
            ok, frames = self._pipeline.try_wait_for_frames(_SLICE_MS)
            if ok:
                return frames
            if self._playback.current_status() == rs.playback_status.stopped:
                self._ended = True
                return None
            if time.perf_counter() >= deadline:
                raise InputError(f"{self.path.name}: playback delivered no frame within {timeout_s:.1f} s "
                                 f"(damaged recording?)")
        return None

    def read(self, timeout_s: float = 1.0) -> DepthFrame | None:
        with self._lock:
            if self._ended:
                return None
            try:
                frames = self._next_rs_frame(timeout_s)
                if frames is None:
                    return None
                frame = self._converter.convert(frames)
            except (RuntimeError, SourceError) as e:
                raise InputError(f"{self.path.name}: corrupt recording ({sdk_error_line(e, self.path)})") from None
            except InputError as e:   # e.g. impossible intrinsics or depth units in the file
                raise InputError(f"{self.path.name}: corrupt recording ({e})") from None
        self._pacer.wait(frame.timestamp_ms)
        return frame

    def seek(self, index: int) -> None:
        """Next read() returns frame `index`. Backwards (or after the end) restarts playback; forwards skips."""
        count = self._info.frame_count
        if index < 0 or (count is not None and not self.repeat and index >= count):
            raise InputError(f"{self.path.name}: frame {index} out of range (0..{(count or 0) - 1})")
        with self._lock:
            if self._pipeline is None:
                raise SourceError(f"{self.path.name} was sought before open()")
            if index < self._converter.next_index or self._ended:
                self._stop()
                self._start()
                self._converter.reset(0)
            while self._converter.next_index < index:
                if self._next_rs_frame(1.0) is None:
                    return  # past the end: the next read() returns None
                self._converter.next_index += 1
            self._converter.chain.reset()  # temporal filter history from before the jump is meaningless
        self._pacer.reset()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._stop()
