"""ICVL, MSRA and HANDS2017 loaders on tiny fixtures written in the datasets' exact on-disk formats."""
import struct

import cv2
import numpy as np
import pytest

from app.errors import InputError
from app.joints import FROM_HANDS2017, FROM_MSRA, ICVL_NAMES, JOINT_INDEX
from models.datasets import ICVL, MSRA, Hands2017, open_dataset
from models.datasets.hands2017 import HANDS2017_NAMES
from models.datasets.msra import MSRA_NAMES


def _one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


# ---- ICVL ------------------------------------------------------------------------------------------------
ICVL_F = (240.99, 240.96, 160.0, 120.0)


def _icvl_uvd(xyz):
    fx, fy, cx, cy = ICVL_F
    return np.stack([xyz[:, 0] * fx / xyz[:, 2] + cx, xyz[:, 1] * fy / xyz[:, 2] + cy, xyz[:, 2]], axis=1)


def _icvl_fixture(root):
    rng = np.random.default_rng(2)
    xyz = {}
    for seq, n in (("test_seq_1", 2), ("test_seq_2", 1)):
        lines = []
        for i in range(n):
            name = f"{seq}/image_{i:04d}.png"
            joints = rng.uniform([-60, -60, 300], [60, 60, 450], size=(16, 3))
            joints[0] = (50.0, -30.0, 400.0)
            xyz[name] = joints
            lines.append(name + " " + " ".join(f"{v:.12g}" for v in _icvl_uvd(joints).ravel()))
            image = rng.integers(0, 65536, size=(240, 320), dtype=np.uint16)
            (root / "Testing" / "Depth" / seq).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / "Testing" / "Depth" / name), image)
            xyz[name + ":depth"] = image
        (root / "Testing" / f"{seq}.txt").write_text("\n".join(lines) + "\n\n")
    return xyz


def test_icvl_round_trip_uvd_to_xyz_and_depth(tmp_path):
    truth = _icvl_fixture(tmp_path)
    data = ICVL(tmp_path, "test")
    assert len(data) == 3 and len(ICVL(tmp_path, "test_seq_1")) == 2 and len(ICVL(tmp_path, "test_seq_2")) == 1
    sample = data[2]
    assert sample.name == "Testing/Depth/test_seq_2/image_0000.png" and sample.layout == "icvl16"
    assert sample.joint_names == ICVL_NAMES and sample.project_joints_xyz_mm is None
    assert np.allclose(sample.joints_xyz_mm, truth["test_seq_2/image_0000.png"], atol=1e-6)
    # u = 160 + 240.99 * 50 / 400 = 190.12375 px, v = 120 - 240.96 * 30 / 400 = 101.928 px -> back to mm
    assert data.joints_uvd(0)[0].tolist() == pytest.approx([190.12375, 101.928, 400.0])
    assert sample.joints_xyz_mm[0].tolist() == pytest.approx([50.0, -30.0, 400.0], abs=1e-9)
    assert sample.depth_mm.dtype == np.float32
    assert np.array_equal(sample.depth_mm, truth["test_seq_2/image_0000.png:depth"].astype(np.float32))
    assert sample.intrinsics.fx == 240.99 and sample.intrinsics.width == 320


def test_icvl_malformed_inputs(tmp_path):
    _icvl_fixture(tmp_path)
    label = tmp_path / "Testing" / "test_seq_1.txt"
    lines = label.read_text().splitlines()
    label.write_text(lines[0] + "\n" + " ".join(lines[1].split()[:-1]) + "\n")
    with pytest.raises(InputError) as err:
        ICVL(tmp_path, "test_seq_1")
    assert _one_line(err).endswith("test_seq_1.txt:2: expected 48 numbers, got 47")
    label.write_text(lines[0].replace(lines[0].split()[5], "abc") + "\n")
    with pytest.raises(InputError, match=r"test_seq_1.txt:1: not a list of finite numbers"):
        ICVL(tmp_path, "test_seq_1")
    label.write_text(lines[0] + "\n")
    cv2.imwrite(str(tmp_path / "Testing" / "Depth" / "test_seq_1" / "image_0000.png"), np.zeros((240, 320), np.uint8))
    with pytest.raises(InputError, match="expected 16-bit depth"):
        ICVL(tmp_path, "test_seq_1")[0]
    with pytest.raises(InputError) as err:
        ICVL(tmp_path, "train")
    assert "labels.txt" in _one_line(err)


# ---- MSRA ------------------------------------------------------------------------------------------------
def _write_bin(path, box, left, top, width=320, height=240):
    h, w = box.shape
    path.write_bytes(struct.pack("<6I", width, height, left, top, left + w, top + h) + box.astype("<f4").tobytes())


def _msra_fixture(root, frames_p0=((2, "1"), (1, "2"))):
    """Every subject has gesture '1' with one frame; P0 has the frames given. Joints are stored with y up and
    z negative, as in the dataset."""
    rng = np.random.default_rng(3)
    stored = {}
    for s in range(9):
        spec = frames_p0 if s == 0 else ((1, "1"),)
        for n, gesture in spec:
            folder = root / f"P{s}" / gesture
            folder.mkdir(parents=True)
            joints = rng.uniform([-50, -50, -400], [50, 50, -250], size=(n, 21, 3))
            joints[0, 0] = (10.0, 20.0, -300.0)
            stored[s, gesture] = joints
            rows = [str(n)] + [" ".join(f"{v:.6f}" for v in j.ravel()) for j in joints]
            (folder / "joint.txt").write_text("\n".join(rows) + "\n")
            for i in range(n):
                box = rng.uniform(200, 600, size=(30, 40)).astype(np.float32)
                box[0, 0] = 0.0
                _write_bin(folder / f"{i:06d}_depth.bin", box, left=100 + i, top=50)
                stored[s, gesture, i] = box
    return stored


def test_msra_sign_flip_box_placement_and_split(tmp_path):
    stored = _msra_fixture(tmp_path)
    test = MSRA(tmp_path, "test", test_subject=0)
    assert len(test) == 3 and len(MSRA(tmp_path, "train", test_subject=0)) == 8
    assert len(MSRA(tmp_path, "all")) == 11 and len(MSRA(tmp_path, "test", test_subject=4)) == 1
    sample = test[1]                                        # P0/1 frame 1
    assert sample.name == "P0/1/000001_depth.bin" and sample.layout == "msra21"
    first = test[0]
    assert first.joints_xyz_mm[0].tolist() == pytest.approx([10.0, -20.0, 300.0])   # (x, -y, -z)
    joints_file = stored[0, "1"][1]
    assert np.allclose(sample.joints_xyz_mm, joints_file * [1.0, -1.0, -1.0], atol=1e-5)
    box = stored[0, "1", 1]
    assert np.array_equal(sample.depth_mm[50:80, 101:141], box)
    assert sample.depth_mm[50, 101] == 0.0 and sample.depth_mm[50, 102] == box[0, 1]
    outside = np.ones((240, 320), bool)
    outside[50:80, 101:141] = False
    assert np.all(sample.depth_mm[outside] == 0.0)
    proj = sample.project_joints_xyz_mm
    assert proj.shape == (21, 3)
    assert np.array_equal(proj[JOINT_INDEX["thumb_tip"]], sample.joints_xyz_mm[20])
    assert np.array_equal(proj[JOINT_INDEX["pinky_mcp"]], sample.joints_xyz_mm[13])
    assert np.array_equal(proj, sample.joints_xyz_mm[list(FROM_MSRA)])
    assert MSRA_NAMES[13] == "little_mcp" and test[2].name == "P0/2/000000_depth.bin"


def test_msra_malformed_inputs(tmp_path):
    _msra_fixture(tmp_path)
    joint_file = tmp_path / "P0" / "2" / "joint.txt"
    text = joint_file.read_text()
    joint_file.write_text("3\n" + text.split("\n", 1)[1])
    with pytest.raises(InputError) as err:
        MSRA(tmp_path, "test")
    assert "header says 3 frames, the file has 1" in _one_line(err)
    joint_file.write_text(text)
    bin_path = tmp_path / "P0" / "1" / "000001_depth.bin"
    bin_path.write_bytes(bin_path.read_bytes()[:-4])
    with pytest.raises(InputError) as err:
        MSRA(tmp_path, "test")[1]
    assert "000001_depth.bin" in _one_line(err) and "bytes" in str(err.value)
    _write_bin(bin_path, np.ones((30, 40)), left=300, top=50)        # box runs past the image
    with pytest.raises(InputError, match="bad box"):
        MSRA(tmp_path, "test")[1]
    with pytest.raises(InputError, match="test_subject"):
        MSRA(tmp_path, "test", test_subject=9)
    for f in (tmp_path / "P5").rglob("*"):
        if f.is_file():
            f.unlink()
    with pytest.raises(InputError, match="P5 has no gesture folders"):
        MSRA(tmp_path, "train")


# ---- HANDS2017 -------------------------------------------------------------------------------------------
def _hands2017_fixture(folder, n=3):
    rng = np.random.default_rng(4)
    (folder / "images").mkdir(parents=True)
    joints = rng.uniform([-80, -80, 300], [80, 80, 600], size=(n, 21, 3))
    lines, images = [], []
    for i in range(n):
        name = f"image_D{i + 1:08d}.png"
        lines.append(name + "\t" + "\t".join(f"{v:.4f}" for v in joints[i].ravel()))
        image = rng.integers(0, 3000, size=(480, 640), dtype=np.uint16)
        cv2.imwrite(str(folder / "images" / name), image)
        images.append(image)
    (folder / "Training_Annotation.txt").write_text("\n".join(lines) + "\n")
    return np.round(joints, 4), images


def test_hands2017_round_trip_and_exact_mapping(tmp_path):
    joints, images = _hands2017_fixture(tmp_path / "training")
    data = open_dataset("hands2017", tmp_path, "train")
    assert isinstance(data, Hands2017) and len(data) == 3
    sample = data[1]
    assert sample.name == "training/images/image_D00000002.png" and sample.joint_names == HANDS2017_NAMES
    assert np.allclose(sample.joints_xyz_mm, joints[1], atol=1e-9)     # already y down, z forward
    assert np.array_equal(sample.depth_mm, images[1].astype(np.float32))
    proj = sample.project_joints_xyz_mm
    assert np.array_equal(proj[JOINT_INDEX["thumb_tip"]], sample.joints_xyz_mm[8])        # TTIP
    assert np.array_equal(proj[JOINT_INDEX["index_mcp"]], sample.joints_xyz_mm[2])        # IMCP
    assert np.array_equal(proj, sample.joints_xyz_mm[list(FROM_HANDS2017)])
    part = Hands2017(tmp_path / "training", first=1, count=5)          # the training folder itself as root
    assert len(part) == 2 and part[0].name == "images/image_D00000002.png"


def test_hands2017_and_registry_errors(tmp_path):
    _hands2017_fixture(tmp_path / "training")
    with pytest.raises(InputError, match="'train' only"):
        Hands2017(tmp_path, "test")
    with pytest.raises(InputError, match="unknown dataset 'kinect'"):
        open_dataset("kinect", tmp_path, "train")
    with pytest.raises(InputError) as err:
        open_dataset("hands2017", tmp_path, "train", camera=2)
    assert "camera" in _one_line(err)
    (tmp_path / "training" / "images" / "image_D00000003.png").unlink()
    with pytest.raises(InputError) as err:
        Hands2017(tmp_path)[2]
    assert "image_D00000003.png" in _one_line(err)
