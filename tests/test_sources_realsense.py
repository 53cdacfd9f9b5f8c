"""The live RealSense source, driven without a camera: a real pyrealsense2 software device's sensor feeds the
same LiveRealSenseSource code (frame conversion, filters, timeouts, disconnect) through a frame queue."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from app.camera_calibration import CameraCalibration
from app.camera import Intrinsics
from app.errors import InputError, SourceError
from app.sources.realsense import LiveRealSenseSource, connected_serials
from app.sources.rs_frames import FilterChain, depth_unit_mm_from_metres, validate_filters
from tests.rs_software import SoftwareDepthCamera, known_depth

W, H = 64, 48


def _live(camera: SoftwareDepthCamera, **kwargs) -> LiveRealSenseSource:
    return LiveRealSenseSource.from_sensor(camera.sensor, camera.profile,
                                           device={"name": "Software D4xx", "serial": "000111222"}, **kwargs)


def test_frames_convert_exactly_with_stream_intrinsics():
    camera = SoftwareDepthCamera(W, H, depth_units_m=0.0001)
    source = _live(camera)
    with source:
        assert source.info.live and not source.info.seekable and source.info.frame_count is None
        assert source.info.name == "Software D4xx 000111222"
        frames = []
        for k in range(5):
            camera.push(known_depth(k, W, H), 70 + 2 * k, 1000.0 + 33.5 * k)  # device skipped numbers
            frames.append(source.read(2.0))
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]  # gap-free, whatever the device numbering
    assert [f.frame_number for f in frames] == [70, 72, 74, 76, 78]
    assert [f.timestamp_ms for f in frames] == [1000.0, 1033.5, 1067.0, 1100.5, 1134.0]
    for k, frame in enumerate(frames):
        assert np.array_equal(frame.depth_raw, known_depth(k, W, H))
        assert not frame.depth_raw.flags.writeable
    assert frames[0].intrinsics == Intrinsics(W, H, 60.5, 61.25, 31.75, 23.5, 0.1)
    assert frames[0].intrinsics is frames[4].intrinsics  # built once per stream, not per frame
    assert frames[0].arrival_s <= frames[4].arrival_s
    assert float(frames[2].depth_mm()[20, 5]) == pytest.approx(known_depth(2, W, H)[20, 5] * 0.1, rel=1e-6)


def test_depth_units_from_the_stream_not_a_constant():
    assert depth_unit_mm_from_metres(np.float32(0.001)) == 1.0
    assert depth_unit_mm_from_metres(np.float32(0.0001)) == 0.1
    assert depth_unit_mm_from_metres(np.float32(0.000125)) == 0.125
    camera = SoftwareDepthCamera(W, H, depth_units_m=0.001)
    with _live(camera) as source:
        camera.push(known_depth(0, W, H), 1, 0.0)
        assert source.read(2.0).intrinsics.depth_unit_mm == 1.0


def test_hole_filling_and_spatial_filters_run_on_sdk_frames():
    camera = SoftwareDepthCamera(W, H)
    flat = np.full((H, W), 800, np.uint16)
    holed = flat.copy()
    holed[10, 10] = holed[30, 40] = 0
    with _live(camera, filters="hole_filling,spatial") as source:
        camera.push(holed, 1, 0.0)
        frame = source.read(2.0)
    assert np.array_equal(frame.depth_raw, flat)  # both holes filled with the surrounding 800, nothing else moved
    camera = SoftwareDepthCamera(W, H)
    with _live(camera, filters=None) as source:  # raw depth: holes stay holes
        camera.push(holed, 2, 0.0)
        assert np.array_equal(source.read(2.0).depth_raw, holed)
    assert FilterChain(["temporal", "spatial"]).names == ("spatial", "temporal")  # Intel's order, not the user's
    assert validate_filters("none") == ()
    with pytest.raises(InputError, match="unknown depth filter 'median'"):
        validate_filters(["spatial", "median"])


def test_calibration_overrides_stream_intrinsics_and_scale():
    camera = SoftwareDepthCamera(W, H, depth_units_m=0.001)
    own = Intrinsics(W, H, 70.0, 71.0, 32.0, 24.0)
    with _live(camera, calibration=CameraCalibration(intrinsics=own, depth_unit_mm=0.5)) as source:
        camera.push(known_depth(0, W, H), 1, 0.0)
        assert source.read(2.0).intrinsics == Intrinsics(W, H, 70.0, 71.0, 32.0, 24.0, 0.5)
    wrong_size = CameraCalibration(intrinsics=Intrinsics(640, 480, 600.0, 600.0, 320.0, 240.0))
    camera = SoftwareDepthCamera(W, H)
    with _live(camera, calibration=wrong_size) as source:
        camera.push(known_depth(0, W, H), 1, 0.0)
        with pytest.raises(InputError, match="^calibration intrinsics are for 640x480 images but the stream is "
                                             "64x48$"):
            source.read(2.0)


def test_no_frame_within_timeout_is_a_source_error():
    camera = SoftwareDepthCamera(W, H)
    with _live(camera) as source:
        with pytest.raises(SourceError, match=r"no depth frame from Software D4xx 000111222 within 0.2 s"):
            source.read(0.2)


def test_sensor_gone_mid_run_reads_as_disconnected():
    camera = SoftwareDepthCamera(W, H)
    source = _live(camera)
    source.open()
    camera.push(known_depth(0, W, H), 1, 0.0)
    assert source.read(2.0).frame_number == 1
    camera.sensor.stop()  # the stream disappears behind the source's back, as when the cable is pulled
    camera.sensor.close()
    with pytest.raises(SourceError, match=r"^camera disconnected \(Software D4xx 000111222\)$"):
        source.read(0.3)
    with pytest.raises(SourceError, match="camera disconnected"):  # and stays so, without waiting again
        source.read(5.0)
    source.close()
    source.close()


def test_close_from_another_thread_unblocks_a_read():
    camera = SoftwareDepthCamera(W, H)
    source = _live(camera)
    source.open()
    results = []
    reader = threading.Thread(target=lambda: results.append(source.read(30.0)))
    reader.start()
    time.sleep(0.2)
    source.close()
    reader.join(5.0)
    assert not reader.is_alive()
    assert results == [None]  # a closed source reads as the end of the stream


def test_missing_serial_lists_the_connected_ones(monkeypatch):
    # Enumeration is the only part replaced: two cameras cannot be plugged into a test machine.
    monkeypatch.setattr("app.sources.realsense.connected_serials", lambda: ["111", "222"])
    with pytest.raises(SourceError, match="^RealSense camera 999 not found; connected: 111, 222$"):
        LiveRealSenseSource(serial="999").open()


@pytest.mark.skipif(bool(connected_serials()), reason="a RealSense camera is connected")
def test_no_camera_is_a_clear_error():
    with pytest.raises(SourceError, match="^no RealSense camera connected$"):
        LiveRealSenseSource().open()
    with pytest.raises(SourceError, match="^no RealSense camera connected$"):
        LiveRealSenseSource(serial="123456789").open()
