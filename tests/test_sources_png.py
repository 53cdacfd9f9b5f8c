"""16-bit depth PNG source: single file and folder, intrinsics from arguments or a calibration, bad inputs."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from app.camera_calibration import CameraCalibration
from app.camera import Intrinsics
from app.errors import InputError
from app.sources.png import PngSource, png_size

INTR = Intrinsics(40, 30, 38.5, 38.0, 19.75, 14.5, 1.0)


def _depth(k: int) -> np.ndarray:
    return (np.arange(30 * 40, dtype=np.uint16).reshape(30, 40) * 37 + 1000 * k).astype(np.uint16)


@pytest.fixture()
def folder(tmp_path):
    d = tmp_path / "pngs"
    d.mkdir()
    for k, name in enumerate(["a_000.png", "a_001.png", "a_002.png", "b_000.png"]):
        cv2.imwrite(str(d / name), _depth(k))
    (d / "notes.txt").write_text("not an image")
    return d


def test_folder_in_sorted_order_bit_exact_and_seekable(folder):
    source = PngSource(folder, intrinsics=INTR, fps=20.0)
    assert (source.info.kind, source.info.frame_count, source.info.seekable) == ("png", 4, True)
    with source:
        frames = [source.read() for _ in range(4)]
        assert source.read() is None
        source.seek(2)
        again = source.read()
    assert [f.index for f in frames] == [0, 1, 2, 3] and [f.frame_number for f in frames] == [0, 1, 2, 3]
    assert [f.timestamp_ms for f in frames] == [0.0, 50.0, 100.0, 150.0]
    for k, frame in enumerate(frames):
        assert np.array_equal(frame.depth_raw, _depth(k)) and frame.intrinsics == INTR
    assert again.index == 2 and np.array_equal(again.depth_raw, _depth(2))


def test_intrinsics_and_scale_from_a_calibration(folder):
    calibration = CameraCalibration(intrinsics=INTR, depth_unit_mm=0.1)
    with PngSource(folder / "a_001.png", calibration=calibration) as source:
        frame = source.read()
        assert source.read() is None
    assert frame.intrinsics == Intrinsics(40, 30, 38.5, 38.0, 19.75, 14.5, 0.1)
    assert float(frame.depth_mm()[0, 1]) == pytest.approx((1000 + 37) * 0.1, rel=1e-6)
    # An explicit scale (the command line's, applied by CameraCalibration.with_overrides) wins over the file's.
    overridden = calibration.with_overrides(depth_unit_mm=0.25)
    assert PngSource(folder, calibration=overridden).intrinsics.depth_unit_mm == 0.25
    assert png_size(folder) == (40, 30)


def test_missing_intrinsics_names_the_options(folder):
    with pytest.raises(InputError) as err:
        PngSource(folder, intrinsics=None)
    message = str(err.value)
    assert "--intrinsics" in message and "--calibration" in message and "\n" not in message
    with pytest.raises(InputError, match="--calibration"):
        PngSource(folder, calibration=CameraCalibration(depth_unit_mm=1.0))  # a calibration without intrinsics


def test_bad_images_are_one_line_input_errors(tmp_path):
    eight = tmp_path / "gray8.png"
    cv2.imwrite(str(eight), np.full((30, 40), 200, np.uint8))
    with pytest.raises(InputError, match="^gray8.png: 8-bit PNG; depth PNGs must be 16-bit raw depth units$"):
        PngSource(eight, intrinsics=INTR).open()
    color = tmp_path / "color16.png"
    cv2.imwrite(str(color), np.zeros((30, 40, 3), np.uint16))
    with pytest.raises(InputError, match="3-channel PNG"):
        PngSource(color, intrinsics=INTR).open()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(InputError, match="^broken.png: not a readable PNG image$"):
        PngSource(broken, intrinsics=INTR).open()
    wrong_size = tmp_path / "big.png"
    cv2.imwrite(str(wrong_size), np.zeros((60, 80), np.uint16))
    with pytest.raises(InputError, match="big.png is 80x60 but the intrinsics are for 40x30"):
        PngSource(wrong_size, intrinsics=INTR).open()
    with pytest.raises(InputError, match="^not found: "):
        PngSource(tmp_path / "nope.png", intrinsics=INTR)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no .png files in folder"):
        PngSource(empty, intrinsics=INTR)
