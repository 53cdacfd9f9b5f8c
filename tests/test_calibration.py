"""Calibration files: round trip, the shipped example, one-line errors on malformed files, how overrides
combine with a stream's intrinsics, and `python -m app.calibration` from a recording and without a camera."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.calibration import main
from app.camera_calibration import CameraCalibration, calibration_from_dict, load_calibration, save_calibration
from app.camera import Intrinsics
from app.errors import InputError
from app.recording.writer import SessionWriter
from app.sources.factory import realsense_connected
from app.types import DepthFrame
from tests.rs_software import SoftwareDepthCamera, known_depth, record

ROOT = Path(__file__).resolve().parents[1]
STREAM = Intrinsics(640, 480, 385.5, 385.25, 321.0, 240.5, 1.0)


def test_save_load_round_trip(tmp_path):
    calibration = CameraCalibration(intrinsics=Intrinsics(640, 480, 380.0, 381.0, 320.5, 239.5, 0.1),
                                    depth_unit_mm=0.1, near_mm=120.0, far_mm=700.0, cube_mm=220.0,
                                    min_cutoff_hz=0.8, beta=0.05, d_cutoff_hz=1.5, hand="left",
                                    camera_name="Intel RealSense D415", camera_serial="123")
    save_calibration(calibration, tmp_path / "sub" / "cam.json")
    data = json.loads((tmp_path / "sub" / "cam.json").read_text())
    assert data["format"] == "awr-hand-calibration" and data["format_version"] == 1
    assert data["intrinsics"] == {"width": 640, "height": 480, "fx": 380.0, "fy": 381.0, "cx": 320.5, "cy": 239.5}
    assert load_calibration(tmp_path / "sub" / "cam.json") == calibration


def test_shipped_example_loads():
    example = load_calibration(ROOT / "calibration" / "example_d435.json")
    assert example.intrinsics is None and example.depth_unit_mm is None
    assert (example.near_mm, example.far_mm, example.hand) == (150.0, 900.0, "right")
    assert example.resolve_intrinsics(STREAM) is STREAM  # the camera's own intrinsics stay in charge


def test_overrides_combine_with_the_stream():
    assert CameraCalibration(depth_unit_mm=0.1).resolve_intrinsics(STREAM) == Intrinsics(
        640, 480, 385.5, 385.25, 321.0, 240.5, 0.1)
    own = Intrinsics(640, 480, 390.0, 390.0, 320.0, 240.0, 1.0)
    assert CameraCalibration(intrinsics=own).resolve_intrinsics(STREAM) == own
    assert CameraCalibration(intrinsics=own, depth_unit_mm=0.25).resolve_intrinsics(None).depth_unit_mm == 0.25
    with pytest.raises(InputError, match="are for 640x480 images but the stream is 848x480"):
        CameraCalibration(intrinsics=own).resolve_intrinsics(Intrinsics(848, 480, 420.0, 420.0, 424.0, 240.0))
    with pytest.raises(InputError, match="has no intrinsics"):
        CameraCalibration().resolve_intrinsics(None)


@pytest.mark.parametrize("text, message", [
    ("{\"near_mm\": 100,", "not valid JSON (Expecting property name enclosed in double quotes at line 1 column 17)"),
    ("[1, 2]", "expected a JSON object, got list"),
    ("{\"nearmm\": 100}", "unknown key 'nearmm'"),
    ("{\"near_mm\": \"close\"}", "'near_mm' must be a number, got 'close'"),
    ("{\"near_mm\": 800, \"far_mm\": 400}", "need near_mm < far_mm (the depth band's near end nearer than its far end), got 800 and 400"),
    ("{\"hand\": \"both\"}", "hand must be right or left, got 'both'"),
    ("{\"intrinsics\": {\"fx\": 1}}", "'intrinsics' must be null or an object with exactly width, height, fx"),
    ("{\"intrinsics\": {\"width\": 640, \"height\": 480, \"fx\": -1, \"fy\": 1, \"cx\": 1, \"cy\": 1}}",
     "focal lengths must be positive"),
    ("{\"depth_unit_mm\": 0}", "depth_unit_mm must be positive"),
    ("{\"cube_mm\": true}", "'cube_mm' must be a number or null, got True"),
    ("{\"format_version\": 7}", "format_version 7 is newer"),
    ("{\"format\": \"something-else\"}", "not a calibration file"),
])
def test_malformed_files_fail_with_one_line_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_calibration(path)
    line = str(err.value)
    assert line.startswith(f"calibration file {path}") and "\n" not in line
    assert message in line


def test_missing_file_and_dict_validation(tmp_path):
    with pytest.raises(InputError, match="^calibration file not found: "):
        load_calibration(tmp_path / "nope.json")
    assert calibration_from_dict({}) == CameraCalibration()


def test_command_writes_a_calibration_from_a_recording_and_a_session(tmp_path, capsys):
    camera = SoftwareDepthCamera(64, 48, fx=60.5, fy=61.25, cx=31.75, cy=23.5, depth_units_m=0.0001,
                                 name="Intel RealSense D435", serial="000111222")
    record(str(tmp_path / "take.db3"), camera, [(known_depth(k, 64, 48), k, 33.0 * k) for k in range(2)])
    assert main(["--source", str(tmp_path / "take.db3"), "--out", str(tmp_path / "cam.json"), "--hand", "left",
                 "--far-mm", "650"]) == 0
    assert "wrote" in capsys.readouterr().out
    written = load_calibration(tmp_path / "cam.json")
    assert written.intrinsics == Intrinsics(64, 48, 60.5, 61.25, 31.75, 23.5, 0.1)
    assert written.depth_unit_mm == 0.1 and written.hand == "left" and written.far_mm == 650.0
    assert (written.camera_name, written.camera_serial) == ("Intel RealSense D435", "000111222")
    session_intr = Intrinsics(32, 24, 30.0, 30.0, 15.5, 11.5, 0.125)
    with SessionWriter(tmp_path / "sess", {"device": {"name": "D405", "serial": "9"}}, min_free_mb=0) as writer:
        writer.write(DepthFrame(0, 0, 0.0, 0.0, np.ones((24, 32), np.uint16), session_intr))
    assert main(["--source", str(tmp_path / "sess"), "--out", str(tmp_path / "s.json")]) == 0
    from_session = load_calibration(tmp_path / "s.json")
    assert from_session.intrinsics == session_intr and from_session.camera_serial == "9"


@pytest.mark.skipif(realsense_connected(), reason="a RealSense camera is connected")
def test_command_without_a_camera_prints_one_line_and_fails(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "app.calibration", "--source", "realsense", "--out",
                           str(tmp_path / "x.json")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr == "error: no RealSense camera connected\n"
    assert not (tmp_path / "x.json").exists()
