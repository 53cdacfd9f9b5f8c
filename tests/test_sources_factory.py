"""SourceSpec.parse + open_source: which source each input names, how command-line overrides apply, and
one-line errors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.camera_calibration import CameraCalibration
from app.camera import Intrinsics
from app.errors import InputError, SourceError
from app.recording.writer import SessionWriter
from app.sources.factory import open_source, realsense_connected
from app.sources.png import PngSource
from app.sources.realsense import LiveRealSenseSource
from app.sources.rsfile import RealSenseFileSource
from app.sources.session import SessionSource
from app.sources.spec import SourceKind, SourceSpec
from app.types import DepthFrame
from tests.rs_software import SoftwareDepthCamera, known_depth, record


def _open(text, **fields):
    return open_source(SourceSpec.parse(str(text), **fields))


def test_png_file_and_folder_with_intrinsics_text(tmp_path):
    cv2.imwrite(str(tmp_path / "d.png"), np.full((24, 32), 500, np.uint16))
    source = _open(tmp_path / "d.png", intrinsics_text="30, 31, 15.5, 11.5", depth_unit_mm=0.1)
    assert isinstance(source, PngSource)
    assert source.intrinsics == Intrinsics(32, 24, 30.0, 31.0, 15.5, 11.5, 0.1)
    assert isinstance(_open(tmp_path, intrinsics_text="30,31,15.5,11.5"), PngSource)
    with pytest.raises(InputError, match="--intrinsics expects four numbers"):
        _open(tmp_path, intrinsics_text="30,31")
    with pytest.raises(InputError, match="--intrinsics fx,fy,cx,cy"):
        _open(tmp_path / "d.png")


def test_session_and_recordings_are_recognised(tmp_path):
    intr = Intrinsics(16, 12, 20.0, 20.0, 7.5, 5.5, 1.0)
    with SessionWriter(tmp_path / "sess", {"source": {"fps": 30.0}}, min_free_mb=0) as writer:
        writer.write(DepthFrame(0, 0, 0.0, 0.0, np.full((12, 16), 700, np.uint16), intr))
    session = _open(tmp_path / "sess", depth_unit_mm=0.5)
    assert isinstance(session, SessionSource)
    with session:
        assert session.read().intrinsics.depth_unit_mm == 0.5  # the override reaches the frames
    with pytest.raises(InputError, match="--intrinsics cannot be used with sess"):
        _open(tmp_path / "sess", intrinsics_text="1,1,1,1")
    camera = SoftwareDepthCamera(32, 24)
    record(str(tmp_path / "t.db3"), camera, [(known_depth(k, 32, 24), k, 33.0 * k) for k in range(3)])
    recording = _open(tmp_path / "t.db3", filters=("hole_filling",))
    assert isinstance(recording, RealSenseFileSource) and recording.info.frame_count == 3
    assert recording._converter.chain.names == ("hole_filling",)


def test_realsense_spec_builds_the_live_source():
    source = _open("realsense", intrinsics_text="600,600,319.5,239.5", width_px=640, height_px=480, fps=30,
                   filters="spatial")
    assert isinstance(source, LiveRealSenseSource) and source.info.live
    assert source._converter.calibration.intrinsics == Intrinsics(640, 480, 600.0, 600.0, 319.5, 239.5)
    if not realsense_connected():
        with pytest.raises(SourceError, match="^no RealSense camera connected$"):
            source.open()


def test_unusable_inputs_fail_with_one_line(tmp_path):
    with pytest.raises(InputError) as err:
        _open(tmp_path / "missing.bag")
    assert str(err.value).startswith("input not found: ") and "\n" not in str(err.value)
    (tmp_path / "clip.mp4").write_bytes(b"x")
    with pytest.raises(InputError, match="unsupported input file clip.mp4"):
        _open(tmp_path / "clip.mp4")
    (tmp_path / "other").mkdir()
    with pytest.raises(InputError, match="neither a session folder .* nor a folder of depth PNGs"):
        _open(tmp_path / "other")
    with pytest.raises(InputError, match="--depth-scale must be a positive"):
        _open("realsense", depth_unit_mm=0.0)
    with pytest.raises(InputError, match="no input given"):
        _open("  ")


def test_calibration_with_intrinsics_feeds_png_input(tmp_path):
    cv2.imwrite(str(tmp_path / "d.png"), np.full((24, 32), 500, np.uint16))
    calibration = CameraCalibration(intrinsics=Intrinsics(32, 24, 29.0, 29.0, 16.0, 12.0), depth_unit_mm=0.125)
    source = _open(tmp_path / "d.png", calibration=calibration)
    assert source.intrinsics == Intrinsics(32, 24, 29.0, 29.0, 16.0, 12.0, 0.125)


def test_specs_are_classified_when_parsed(tmp_path):
    cv2.imwrite(str(tmp_path / "d.png"), np.full((24, 32), 500, np.uint16))
    with SessionWriter(tmp_path / "sess", {"source": {"fps": 30.0}}, min_free_mb=0) as writer:
        writer.write(DepthFrame(0, 0, 0.0, 0.0, np.full((12, 16), 700, np.uint16),
                                Intrinsics(16, 12, 20.0, 20.0, 7.5, 5.5, 1.0)))
    (tmp_path / "t.bag").write_bytes(b"")
    kinds = {text: SourceSpec.parse(str(text)).kind for text in
             ("realsense", "synthetic", tmp_path / "d.png", tmp_path, tmp_path / "sess", tmp_path / "t.bag")}
    assert list(kinds.values()) == [SourceKind.REALSENSE, SourceKind.SYNTHETIC, SourceKind.PNG, SourceKind.PNG,
                                    SourceKind.SESSION, SourceKind.RS_FILE]
    assert SourceSpec.parse("synthetic", hand="left").hand == "left"
    with pytest.raises(InputError, match="hand must be right or left"):
        SourceSpec.parse("synthetic", hand="both")


def test_depth_scale_precedence_command_line_then_calibration_then_stream(tmp_path):
    """One rule for every source: --depth-scale over the calibration file over the recording's own."""
    with SessionWriter(tmp_path / "sess", {"source": {"fps": 30.0}}, min_free_mb=0) as writer:
        writer.write(DepthFrame(0, 0, 0.0, 0.0, np.full((12, 16), 700, np.uint16),
                                Intrinsics(16, 12, 20.0, 20.0, 7.5, 5.5, 1.0)))
    calibration = CameraCalibration(depth_unit_mm=0.25)
    cases = {(None, None): 1.0, (calibration, None): 0.25, (calibration, 0.5): 0.5, (None, 0.5): 0.5}
    for (cal, unit), expected in cases.items():
        with _open(tmp_path / "sess", calibration=cal, depth_unit_mm=unit) as source:
            assert source.read().intrinsics.depth_unit_mm == expected, (cal, unit)
    cv2.imwrite(str(tmp_path / "d.png"), np.full((24, 32), 500, np.uint16))
    png_cal = CameraCalibration(intrinsics=Intrinsics(32, 24, 29.0, 29.0, 16.0, 12.0), depth_unit_mm=0.125)
    assert _open(tmp_path / "d.png", calibration=png_cal).intrinsics.depth_unit_mm == 0.125
    assert _open(tmp_path / "d.png", calibration=png_cal, depth_unit_mm=0.5).intrinsics.depth_unit_mm == 0.5


def test_synthetic_input_takes_the_command_lines_camera_or_refuses_a_bare_depth_scale():
    source = _open("synthetic", intrinsics_text="300,300,319.5,239.5", depth_unit_mm=0.5, hand="left")
    assert source.intrinsics == Intrinsics(640, 480, 300.0, 300.0, 319.5, 239.5, 0.5) and source.hand == "left"
    assert _open("synthetic").intrinsics.fx == 385.0                         # the D435-like default
    with pytest.raises(InputError, match="--depth-scale with synthetic input needs --intrinsics"):
        _open("synthetic", depth_unit_mm=0.5)
