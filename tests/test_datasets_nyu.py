"""NYU loader and the MATLAB v5 reader, on fixtures written here in the exact on-disk formats (no scipy)."""
import struct
import zlib

import cv2
import numpy as np
import pytest

from app.errors import InputError
from app.joints import NYU14_NAMES, NYU14_ORIGINAL_INDICES
from models.datasets.matfile import read_mat
from models.datasets.nyu import NYU, decode_nyu_depth

# ---- a minimal MATLAB v5 writer (the format as published: 128-byte header, tagged data elements) ----------
MI_INT8, MI_UINT8, MI_INT16, MI_UINT16, MI_INT32, MI_UINT32, MI_SINGLE, MI_DOUBLE = 1, 2, 3, 4, 5, 6, 7, 9
MI_MATRIX, MI_COMPRESSED = 14, 15
CLASS_OF = {np.dtype("f8"): 6, np.dtype("f4"): 7, np.dtype("i4"): 12, np.dtype("u1"): 9}
MI_OF = {MI_INT8: "i1", MI_UINT8: "u1", MI_INT16: "i2", MI_UINT16: "u2", MI_INT32: "i4", MI_UINT32: "u4",
         MI_SINGLE: "f4", MI_DOUBLE: "f8"}


def _element(e, mtype, payload):
    return struct.pack(e + "II", mtype, len(payload)) + payload + b"\0" * (-len(payload) % 8)


def _small(e, mtype, payload):
    assert len(payload) <= 4
    return struct.pack(e + "I", (len(payload) << 16) | mtype) + payload.ljust(4, b"\0")


def _matrix(e, name, value, store=None):
    """One miMATRIX element: str -> char row, list -> 1 x n cell, ndarray -> numeric (stored as `store`)."""
    raw_name = name.encode()
    name_el = _small(e, MI_INT8, raw_name) if 0 < len(raw_name) <= 4 else _element(e, MI_INT8, raw_name)
    if isinstance(value, str):
        cls, dims = 4, (1, len(value))
        data = _element(e, MI_UINT16, np.array([ord(c) for c in value], e + "u2").tobytes())
    elif isinstance(value, list):
        cls, dims = 1, (1, len(value))
        data = b"".join(_matrix(e, "", v) for v in value)
    else:
        value = np.asarray(value)
        cls, dims = CLASS_OF[value.dtype], value.shape
        mtype = store if store is not None else {6: MI_DOUBLE, 7: MI_SINGLE, 12: MI_INT32, 9: MI_UINT8}[cls]
        flat = value.ravel(order="F").astype(np.dtype(MI_OF[mtype]).newbyteorder(e))
        data = _element(e, mtype, flat.tobytes())
    body = (_element(e, MI_UINT32, struct.pack(e + "II", cls, 0))
            + _element(e, MI_INT32, np.array(dims, e + "i4").tobytes()) + name_el + data)
    return _element(e, MI_MATRIX, body)


def write_mat(path, variables, compress=True, endian="<", version=0x0100):
    """variables: name -> value or (value, stored data type)."""
    header = b"MATLAB 5.0 MAT-file, written by the AWR tests".ljust(116, b" ") + b"\0" * 8
    header += struct.pack(endian + "H", version) + (b"IM" if endian == "<" else b"MI")
    out = [header]
    for name, value in variables.items():
        value, store = value if isinstance(value, tuple) else (value, None)
        element = _matrix(endian, name, value, store)
        if compress:                        # compressed elements are not padded to 8 bytes
            packed = zlib.compress(element)
            element = struct.pack(endian + "II", MI_COMPRESSED, len(packed)) + packed
        out.append(element)
    path.write_bytes(b"".join(out))


# ---- MATLAB reader ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("compress,endian", [(True, "<"), (False, "<"), (False, ">"), (True, ">")])
def test_mat_reader_round_trips_numeric_char_and_cell_arrays(tmp_path, compress, endian):
    a4 = np.arange(2 * 3 * 4 * 3, dtype=np.float64).reshape(2, 3, 4, 3) * 0.5 - 7.25
    small_ints = np.array([[0.0, 255.0], [17.0, 3.0]])            # MATLAB stores such doubles as uint8
    negative = np.array([[-300.0, 2.0, 32000.0]])
    path = tmp_path / "v.mat"
    write_mat(path, {"joint_uvd": a4, "ab": (small_ints, MI_UINT8), "neg": (negative, MI_INT16),
                     "f": np.array([[1.5, -2.25]], np.float32), "i": np.array([[7, -8]], np.int32),
                     "joint_names": ["PINKY TIP", "palm"], "s": "hello"}, compress=compress, endian=endian)
    got = read_mat(path)
    assert got["joint_uvd"].dtype == np.float64 and np.array_equal(got["joint_uvd"], a4)   # column-major undone
    assert got["joint_uvd"][1, 2, 3, 0] == a4[1, 2, 3, 0] == 0.5 * (((1 * 3 + 2) * 4 + 3) * 3) - 7.25
    assert got["ab"].dtype == np.float64 and np.array_equal(got["ab"], small_ints)
    assert np.array_equal(got["neg"], negative)
    assert got["f"].dtype == np.float32 and got["f"].tolist() == [[1.5, -2.25]]
    assert got["i"].dtype == np.int32 and got["i"].tolist() == [[7, -8]]
    assert got["joint_names"].shape == (1, 2) and list(got["joint_names"].flat) == ["PINKY TIP", "palm"]
    assert got["s"] == "hello"
    only = read_mat(path, ("neg",))
    assert list(only) == ["neg"]


def test_mat_reader_errors_are_one_line_and_name_the_file(tmp_path):
    good = tmp_path / "good.mat"
    write_mat(good, {"x": np.ones((2, 2))})
    cases = {
        "missing variable": (good, ("joint_uvd",), "has no variable joint_uvd"),
        "not a mat file": (tmp_path / "text.mat", None, "is not a MATLAB v5 MAT-file"),
        "v7.3": (tmp_path / "v73.mat", None, "v7.3"),
        "truncated": (tmp_path / "cut.mat", ("x",), "cut.mat"),
        "absent": (tmp_path / "absent.mat", None, "absent.mat"),
    }
    (tmp_path / "text.mat").write_text("x = 1\n" * 40)
    write_mat(tmp_path / "v73.mat", {"x": np.ones(2)}, version=0x0200)
    (tmp_path / "cut.mat").write_bytes(good.read_bytes()[:-20])
    for label, (path, names, message) in cases.items():
        with pytest.raises(InputError) as err:
            read_mat(path, names)
        assert message in str(err.value), label
        assert "\n" not in str(err.value), label


# ---- NYU -------------------------------------------------------------------------------------------------
NYU_FX, NYU_FY = 588.03, 587.07


def _nyu_fixture(root, n_frames=2, split="test"):
    """joint_data.mat with uvd for 3 cameras, and RGB PNGs whose G*256+B exceeds 255*256 in places."""
    folder = root / split
    folder.mkdir(parents=True)
    rng = np.random.default_rng(5)
    uvd = np.zeros((3, n_frames, 36, 3))
    uvd[..., 0] = rng.uniform(100, 500, size=uvd.shape[:3])
    uvd[..., 1] = rng.uniform(100, 400, size=uvd.shape[:3])
    uvd[..., 2] = rng.uniform(600, 1100, size=uvd.shape[:3])
    # frame 0, camera 1, joint 0 (pinky tip): x = 100, y = -100 (above the centre: y is down), z = 1000
    uvd[0, 0, 0] = (320.0 + NYU_FX * 0.1, 240.0 - NYU_FY * 0.1, 1000.0)
    names = [f"J{i}" for i in range(36)]
    write_mat(folder / "joint_data.mat", {"joint_uvd": uvd, "joint_xyz": uvd * 0.0, "joint_names": names})
    images = {}
    for cam in (1, 2):
        for i in range(n_frames):
            bgr = rng.integers(0, 256, size=(480, 640, 3), dtype=np.uint8)
            bgr[0, 0] = (255, 255, 7)       # B=255, G=255 -> 65535 (uint8 arithmetic would wrap)
            bgr[0, 1] = (1, 200, 99)        # G*256 + B = 51201
            bgr[0, 2] = (0, 0, 250)         # 0 = invalid whatever R says
            cv2.imwrite(str(folder / f"depth_{cam}_{i + 1:07d}.png"), bgr)
            images[cam, i] = bgr
    return uvd, images


def test_nyu_depth_decode_and_joints_round_trip(tmp_path):
    uvd, images = _nyu_fixture(tmp_path)
    data = NYU(tmp_path, "test")
    assert len(data) == 2 and data.layout == "nyu14" and data.joint_names == NYU14_NAMES
    sample = data[0]
    bgr = images[1, 0]
    expected = bgr[..., 1].astype(np.int64) * 256 + bgr[..., 0].astype(np.int64)
    assert sample.depth_mm.dtype == np.float32 and np.array_equal(sample.depth_mm, expected)
    assert sample.depth_mm[0, 0] == 65535.0 and sample.depth_mm[0, 1] == 51201.0 and sample.depth_mm[0, 2] == 0.0
    assert sample.depth_mm.max() > 255 * 256
    assert np.allclose(sample.joints_xyz_mm[0], [100.0, -100.0, 1000.0], atol=1e-9)
    assert sample.project_joints_xyz_mm is None and sample.name == "test/depth_1_0000001.png"
    assert np.allclose(data.joints_uvd(1), uvd[0, 1, list(NYU14_ORIGINAL_INDICES)])
    assert not sample.depth_mm.flags.writeable
    # camera 2 uses the second camera's labels and files; all36 keeps every joint with the file's names
    cam2 = NYU(tmp_path, "test", camera=2, joints="all36")
    s2 = cam2[-1]
    assert s2.name == "test/depth_2_0000002.png" and s2.joints_xyz_mm.shape == (36, 3)
    assert cam2.joint_names[35] == "J35" and s2.layout == "nyu36"
    assert np.allclose(s2.joints_xyz_mm[:, 2], uvd[1, 1, :, 2])
    assert np.array_equal(s2.depth_mm, images[2, 1][..., 1].astype(np.float32) * 256 + images[2, 1][..., 0])
    with pytest.raises(IndexError):
        data[2]


def test_decode_widens_before_multiplying():
    bgr = np.array([[[255, 255, 0], [0, 1, 0]]], dtype=np.uint8)
    assert decode_nyu_depth(bgr).tolist() == [[65535.0, 256.0]]


def test_nyu_errors_are_one_line(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        NYU(tmp_path / "nowhere", "test")
    with pytest.raises(InputError, match="joint_data.mat"):
        NYU(tmp_path, "test")
    _nyu_fixture(tmp_path)
    (tmp_path / "test" / "depth_1_0000002.png").unlink()
    data = NYU(tmp_path, "test")
    with pytest.raises(InputError) as err:
        data[1]
    assert "depth_1_0000002.png" in str(err.value) and "\n" not in str(err.value)
    cv2.imwrite(str(tmp_path / "test" / "depth_1_0000002.png"), np.zeros((240, 320, 3), np.uint8))
    with pytest.raises(InputError, match="expected a 640x480 image"):
        data[1]
    write_mat(tmp_path / "test" / "joint_data.mat", {"joint_uvd": np.zeros((3, 2, 14, 3))})
    with pytest.raises(InputError, match=r"joint_uvd must be \(cameras, N, 36, 3\)"):
        NYU(tmp_path, "test")
    with pytest.raises(InputError, match="split"):
        NYU(tmp_path, "validation")
