"""MSRA Hand Gesture dataset loader (Sun et al., CVPR 2015, "cvpr15_MSRAHandGestureDB"): 9 subjects x 17
gestures x ~500 frames, Intel Creative depth 320x240, 21 joints. Evaluated leave-one-subject-out.

On disk (<root> holds P0 .. P8):
- P<s>/<gesture>/joint.txt: first line N, then N lines of 21 x (x y z) mm. The file's frame is OpenGL-like:
  x right, y UP, z BACKWARD (z is negative in front of the camera); the loader converts to the project's frame
  (x, -y, -z) so that the joints project onto the depth image with the usual pinhole model.
- P<s>/<gesture>/%06d_depth.bin: six little-endian uint32 (image width, height, box left, top, right, bottom;
  right/bottom exclusive) followed by float32 depth in mm for the box only, row-major; outside the box depth is 0.
Joints: wrist, then index, middle, ring, little, thumb x (MCP, PIP, DIP, TIP); exact mapping to the project's
layout: app.joints.FROM_MSRA.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from app.errors import InputError
from app.joints import FROM_MSRA, from_layout
from models.datasets.common import DatasetSample, HandDataset, parse_number_rows, read_text, require_file

NUM_MSRA_JOINTS = 21
SUBJECTS = tuple(f"P{i}" for i in range(9))
MSRA_NAMES: tuple[str, ...] = ("wrist",) + tuple(
    f"{finger}_{part}" for finger in ("index", "middle", "ring", "little", "thumb")
    for part in ("mcp", "pip", "dip", "tip"))
_HEADER = struct.Struct("<6I")


def msra_file_to_camera(joints_file_mm: np.ndarray) -> np.ndarray:
    """MSRA's stored frame (x right, y up, z backward) -> the project's (x right, y down, z forward)."""
    out = np.array(joints_file_mm, dtype=np.float64, copy=True)
    out[..., 1:] = -out[..., 1:]
    return out


def read_msra_joints(path: Path) -> np.ndarray:
    """joint.txt -> N x 21 x 3 in the file's own frame (z negative)."""
    numbered = [(n, line) for n, line in enumerate(read_text(path).splitlines(), start=1) if line.strip()]
    if not numbered:
        raise InputError(f"{path} is empty")
    try:
        count = int(numbered[0][1].strip())
    except ValueError:
        raise InputError(f"{path}:{numbered[0][0]}: expected the frame count, got "
                         f"'{numbered[0][1].strip()[:40]}'") from None
    rows = numbered[1:]
    if count != len(rows):
        raise InputError(f"{path}: header says {count} frames, the file has {len(rows)} lines of joints")
    joints = parse_number_rows(path, [r for _, r in rows], 3 * NUM_MSRA_JOINTS, [n for n, _ in rows])
    return joints.reshape(-1, NUM_MSRA_JOINTS, 3)


def read_msra_depth(path: Path, width: int, height: int) -> np.ndarray:
    """A %06d_depth.bin -> H x W float32 mm with the stored box placed at (left, top), 0 elsewhere."""
    require_file(path)
    data = path.read_bytes()
    if len(data) < _HEADER.size:
        raise InputError(f"{path} is truncated (no 24-byte header)")
    w, h, left, top, right, bottom = _HEADER.unpack_from(data)
    if (w, h) != (width, height):
        raise InputError(f"{path}: image size {w}x{h}, expected {width}x{height}")
    if not (left < right <= w and top < bottom <= h):
        raise InputError(f"{path}: bad box left={left} top={top} right={right} bottom={bottom} for {w}x{h}")
    box_w, box_h = right - left, bottom - top
    expected = _HEADER.size + 4 * box_w * box_h
    if len(data) != expected:
        raise InputError(f"{path}: {len(data)} bytes, a {box_w}x{box_h} box needs {expected}")
    box = np.frombuffer(data, dtype="<f4", offset=_HEADER.size).reshape(box_h, box_w)
    depth = np.zeros((height, width), dtype=np.float32)
    depth[top:bottom, left:right] = np.where(np.isfinite(box) & (box > 0), box, 0.0)
    return depth


def _gestures(subject_dir: Path) -> list[Path]:
    """Gesture folders of a subject in the canonical order (sorted names: 1..9, I, IP, L, MP, RP, T, TIP, Y)."""
    if not subject_dir.is_dir():
        raise InputError(f"missing MSRA subject folder {subject_dir}")
    found = sorted(p for p in subject_dir.iterdir() if (p / "joint.txt").is_file())
    if not found:
        raise InputError(f"{subject_dir} has no gesture folders with a joint.txt")
    return found


class MSRA(HandDataset):
    """MSRA frames for leave-one-subject-out: split 'train' (all subjects but test_subject), 'test' (only
    test_subject) or 'all'. test_subject: 0..8."""

    dataset_name = "msra"
    layout = "msra21"
    joint_names = MSRA_NAMES

    def __init__(self, root: str | Path, split: str = "test", test_subject: int = 0) -> None:
        super().__init__(root)
        if split not in ("train", "test", "all"):
            raise InputError(f"MSRA split must be train, test or all, got '{split}'")
        if not 0 <= int(test_subject) < len(SUBJECTS):
            raise InputError(f"MSRA test_subject must be 0..8, got {test_subject}")
        self.split, self.test_subject = split, int(test_subject)
        if split == "test":
            subjects = [SUBJECTS[self.test_subject]]
        elif split == "train":
            subjects = [s for i, s in enumerate(SUBJECTS) if i != self.test_subject]
        else:
            subjects = list(SUBJECTS)
        self._frames: list[tuple[Path, int]] = []
        joints = []
        for subject in subjects:
            for gesture in _gestures(self.root / subject):
                stored = read_msra_joints(gesture / "joint.txt")
                self._frames += [(gesture, i) for i in range(stored.shape[0])]
                joints.append(stored)
        self._joints_xyz_mm = msra_file_to_camera(np.concatenate(joints))
        if np.any(self._joints_xyz_mm[..., 2] <= 0):
            bad = int(np.nonzero(np.any(self._joints_xyz_mm[..., 2] <= 0, axis=1))[0][0])
            folder, i = self._frames[bad]
            raise InputError(f"{folder / 'joint.txt'}: frame {i} has a joint with z >= 0 (expected negative z)")
        self._count = len(self._frames)

    def depth_path(self, index: int) -> Path:
        folder, i = self._frames[index]
        return folder / f"{i:06d}_depth.bin"

    def _load(self, index: int) -> DatasetSample:
        path = self.depth_path(index)
        depth = read_msra_depth(path, self.intrinsics.width, self.intrinsics.height)
        joints = self._joints_xyz_mm[index].copy()
        return DatasetSample(depth, self.intrinsics, joints, self.joint_names, self.layout,
                             from_layout(joints, FROM_MSRA), str(path.relative_to(self.root)))
