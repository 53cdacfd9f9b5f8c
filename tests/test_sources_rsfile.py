"""RealSense recordings through the real pyrealsense2 playback: a .db3 written here with rs.recorder around a
software device, and a ROS1 .bag written by pyrealsense2 2.57 (tests/fixtures/make_legacy_bag.py); broken or
depth-less recordings fail with one line, also through the CLI."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyrealsense2 as rs
import pytest

from app.errors import InputError
from app.sources.rs_frames import sdk_error_line
from app.sources.rs_index import count_depth_frames
from app.sources.rsfile import RealSenseFileSource
from tests.rs_software import SoftwareDepthCamera, record, known_depth
from tests.tracking_model import random_model_path

FIXTURES = Path(__file__).parent / "fixtures"
W, H, N, FIRST = 64, 48, 45, 1000


def _legacy_params():
    spec = importlib.util.spec_from_file_location("make_legacy_bag", FIXTURES / "make_legacy_bag.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def db3(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "take.db3"
    camera = SoftwareDepthCamera(W, H, fps=30, fx=60.5, fy=61.25, cx=31.75, cy=23.5, depth_units_m=0.0001)
    record(str(path), camera, [(known_depth(k, W, H), FIRST + k, 5000.0 + k * 33.25) for k in range(N)])
    return path


def _read_all(source) -> list:
    frames = []
    while (frame := source.read(2.0)) is not None:
        frames.append(frame)
    return frames


def test_db3_replays_every_frame_bit_exact(db3):
    source = RealSenseFileSource(db3)
    assert source.info.frame_count == N  # counted from the file's index before playing
    with source:
        frames = _read_all(source)
        assert source.read() is None  # stays at the end
    assert [f.index for f in frames] == list(range(N))
    assert [f.frame_number for f in frames] == [FIRST + k for k in range(N)]
    assert [f.timestamp_ms for f in frames] == pytest.approx([5000.0 + k * 33.25 for k in range(N)], abs=1e-6)
    for k, frame in enumerate(frames):
        assert frame.depth_raw.dtype == np.uint16
        assert np.array_equal(frame.depth_raw, known_depth(k, W, H)), f"frame {k} differs"
        assert not frame.depth_raw.flags.writeable
    intr = frames[0].intrinsics
    assert (intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy) == (W, H, 60.5, 61.25, 31.75, 23.5)
    assert intr.depth_unit_mm == 0.1
    assert source.info.fps == 30.0
    assert source.depth_unit_mm == 0.1
    assert source.info.device["name"] == "Software D4xx"
    assert source.info.device["serial"] == "000111222"


def test_db3_seek_is_frame_exact(db3):
    with RealSenseFileSource(db3) as source:
        source.seek(30)
        assert source.read().frame_number == FIRST + 30
        source.seek(3)  # backwards: playback restarts
        frame = source.read()
        assert (frame.index, frame.frame_number) == (3, FIRST + 3)
        assert np.array_equal(frame.depth_raw, known_depth(3, W, H))
        source.seek(N - 1)
        assert source.read().frame_number == FIRST + N - 1
        assert source.read() is None
        source.seek(0)  # after the end
        assert source.read().frame_number == FIRST
        with pytest.raises(InputError, match="out of range"):
            source.seek(N)


def test_filters_run_on_playback(db3):
    with RealSenseFileSource(db3, filters=("hole_filling",)) as source:
        frame = source.read()
    raw = known_depth(0, W, H)
    holes = raw == 0
    holes[0, 0] = False  # pixel (0, 0) holds the frame number (0 here), a hole at the corner
    assert holes.sum() > 10
    assert np.all(frame.depth_raw[holes] > 0)  # every grid hole filled from its neighbours
    assert np.array_equal(frame.depth_raw[raw > 0], raw[raw > 0])  # valid pixels untouched


def test_legacy_ros1_bag_from_sdk_2_57_plays():
    params = _legacy_params()
    path = FIXTURES / "legacy_sdk257.bag"
    assert path.stat().st_size < 1_000_000
    source = RealSenseFileSource(path)
    assert source.info.frame_count == params.FRAMES
    with source:
        frames = _read_all(source)
    assert len(frames) == params.FRAMES
    for k, frame in enumerate(frames):
        assert frame.index == k
        assert frame.frame_number == params.FIRST_FRAME_NUMBER + k
        assert frame.timestamp_ms == pytest.approx(params.FIRST_TIMESTAMP_MS + k * 1000.0 / params.FPS, abs=1e-3)
        assert np.array_equal(frame.depth_raw, known_depth(k, params.WIDTH, params.HEIGHT))
    intr = frames[0].intrinsics
    assert (intr.width, intr.height) == (params.WIDTH, params.HEIGHT)
    assert (intr.fx, intr.fy, intr.cx, intr.cy) == (params.FX, params.FY, params.CX, params.CY)
    assert intr.depth_unit_mm == pytest.approx(params.DEPTH_UNITS_M * 1000.0)
    assert source.info.device["serial"] == params.SERIAL


def test_count_without_index_is_unknown(tmp_path):
    cut = tmp_path / "cut.bag"
    data = (FIXTURES / "legacy_sdk257.bag").read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # the index lives at the end: a cut-off recording has none
    assert count_depth_frames(cut) is None
    assert count_depth_frames(tmp_path / "missing.db3") is None


def test_bad_recordings_fail_with_one_line(tmp_path):
    with pytest.raises(InputError, match="recording not found"):
        RealSenseFileSource(tmp_path / "nope.bag")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(InputError, match="expected .bag or .db3"):
        RealSenseFileSource(text)
    junk = tmp_path / "junk.bag"
    junk.write_bytes(b"this is not a ROS bag" * 10)
    source = RealSenseFileSource(junk)
    assert source.info.frame_count is None
    with pytest.raises(InputError) as err:
        source.open()
    assert "junk.bag" in str(err.value) and "\n" not in str(err.value)
    source.close()


def test_sdk_error_line_keeps_the_reason_only():
    wrapped = RuntimeError('\nFailed to resolve request. Request to enable_device_from_file("/data/take 1.bag") '
                           'was invalid, Reason: Failed to open \'/data/take 1.bag\': Error reading version line.\n'
                           '  second line of detail\n')
    assert sdk_error_line(wrapped, Path("/data/take 1.bag")) == ("Failed to open 'take 1.bag': "
                                                                 "Error reading version line")
    assert sdk_error_line(RuntimeError("plain failure")) == "plain failure"
    assert sdk_error_line(RuntimeError("  \n")) == "RuntimeError"


@pytest.mark.parametrize("name, reason", [
    ("garbage.bag", "Failed to create ros reader: Error reading version line"),
    ("garbage.db3", "Failed to open .db3 file 'garbage.db3': Failed to setup storage. Error: Error when processing "
                    "SQL statement. SQLite error (26): file is not a database"),
])
def test_garbage_recording_fails_with_the_sdk_reason_in_one_line(tmp_path, name, reason):
    path = tmp_path / name
    path.write_bytes(bytes(range(256)) * 12)
    source = RealSenseFileSource(path)
    with pytest.raises(InputError) as err:
        source.open()
    source.close()
    assert str(err.value) == f"cannot open recording {name}: {reason}"


def test_cut_off_bag_fails_with_one_line(tmp_path):
    cut = tmp_path / "cut.bag"
    data = (FIXTURES / "legacy_sdk257.bag").read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as err:
        RealSenseFileSource(cut).open()
    assert str(err.value) == ("cannot open recording cut.bag: Failed to create ros reader: Error reading from "
                              "file: wanted 4 bytes, read 0 bytes")


def _infrared_only_recording(path: Path) -> None:
    """A valid .db3 with a single y8 infrared stream and no depth."""
    device = rs.software_device()
    sensor = device.add_sensor("Infrared")
    intr = rs.intrinsics()
    intr.width, intr.height, intr.fx, intr.fy, intr.ppx, intr.ppy = W, H, 60.0, 60.0, 32.0, 24.0
    stream = rs.video_stream()
    stream.type, stream.index, stream.uid = rs.stream.infrared, 1, 0
    stream.width, stream.height, stream.fps, stream.bpp, stream.fmt = W, H, 30, 1, rs.format.y8
    stream.intrinsics = intr
    profile = sensor.add_video_stream(stream).as_video_stream_profile()
    recorder = rs.recorder(str(path), device)
    wrapped = recorder.query_sensors()[0]
    queue = rs.frame_queue(4, keep_frames=True)
    wrapped.open(wrapped.get_stream_profiles()[0])
    wrapped.start(queue)
    pixels = np.zeros((H, W), np.uint8)
    frame = rs.software_video_frame()
    frame.pixels, frame.stride, frame.bpp, frame.timestamp = pixels, W, 1, 1000.0
    frame.domain, frame.frame_number, frame.profile = rs.timestamp_domain.hardware_clock, 1, profile
    sensor.on_video_frame(frame)
    assert queue.try_wait_for_frame(2000)[0]
    wrapped.stop()
    wrapped.close()
    del wrapped, recorder  # the recorder finishes the file when released


def test_recording_without_depth_says_so(tmp_path):
    path = tmp_path / "ir.db3"
    _infrared_only_recording(path)
    with pytest.raises(InputError) as err:
        RealSenseFileSource(path).open()
    assert str(err.value) == "cannot open recording ir.db3: it holds no depth stream"


def test_cli_on_a_garbage_bag_prints_one_line_and_exits_2(tmp_path):
    path = tmp_path / "broken.bag"
    path.write_bytes(b"#ROSBAG V2.0\n" + bytes(range(256)) * 4)   # right magic, garbage after it
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(repo))
    proc = subprocess.run([sys.executable, str(repo / "run_tracker.py"), "--headless", "--source", str(path),
                           "--model", random_model_path()], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.stderr.splitlines() == errors and len(errors) == 1, proc.stderr   # not even a "model:" line
    assert errors[0].startswith("error: cannot open recording broken.bag: Failed to create ros reader: ")
    assert str(tmp_path) not in errors[0]


def test_realtime_pacing_still_delivers_every_frame(db3):
    with RealSenseFileSource(db3, realtime=True) as source:
        source.seek(N - 8)
        numbers = [f.frame_number for f in _read_all(source)]
    assert numbers == [FIRST + k for k in range(N - 8, N)]


def _run_cli(*args, env_extra=None):
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(repo), **(env_extra or {}))
    return subprocess.run([sys.executable, str(repo / "run_tracker.py"), *map(str, args)], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_on_a_cut_off_db3_is_one_line_and_exit_2(db3, tmp_path):
    cut = tmp_path / "cut.db3"
    cut.write_bytes(db3.read_bytes()[:5000])
    proc = _run_cli("--headless", "--source", cut, "--model", random_model_path())
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [proc.stderr.strip()] and proc.stderr.startswith(
        "error: cannot open recording cut.db3: "), proc.stderr


def _with_renamed_topic(db3: Path, out: Path, old: str, new: str) -> Path:
    import sqlite3

    out.write_bytes(db3.read_bytes())
    con = sqlite3.connect(out)
    assert con.execute("UPDATE topics SET name = ? WHERE name = ?", (new, old)).rowcount == 1
    con.commit()
    con.close()
    return out


def test_a_recording_that_makes_the_sdk_hang_is_reported_as_damaged(db3, tmp_path):
    # A mutation the fuzzer found: librealsense 2.59 spins for ever in rs.config.resolve() (holding the GIL)
    # when an option's value topic has no matching description topic. The probe child takes the hang.
    option = "/device_0/sensor_0/option/Depth_Units/value"
    bad = _with_renamed_topic(db3, tmp_path / "hangs.db3", option, option.replace("Units", "UnitX"))
    from app.sources.rs_probe import probe_recording

    probe_recording(db3, timeout_s=20)                       # an intact file passes
    with pytest.raises(InputError, match="^cannot open recording hangs.db3: the RealSense SDK stopped "
                                         "responding while reading it"):
        probe_recording(bad, timeout_s=3)
    proc = _run_cli("--headless", "--source", bad, "--model", random_model_path(),
                    env_extra={"HANDTRACKER_RS_PROBE_TIMEOUT_S": "3"})
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: cannot open recording hangs.db3: the RealSense SDK stopped responding "
                                   "while reading it (3 s); the file is damaged")
