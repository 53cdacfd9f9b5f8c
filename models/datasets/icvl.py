"""ICVL Hand Posture Dataset loader (Tang et al. 2014): Intel Creative depth, 320x240, 16 joints.

On disk (<root> is the folder holding Training/ and Testing/):
- Training/labels.txt, Testing/test_seq_1.txt (702 lines), Testing/test_seq_2.txt (894 lines): one frame per
  line, `relpath u1 v1 d1 ... u16 v16 d16` (u, v in pixels, d in mm);
- Training/Depth/<relpath>, Testing/Depth/<relpath>: 16-bit PNG depth in mm.
Joints: palm, then thumb, index, middle, ring, pinky x (root, mid, tip); they are unprojected with the dataset
intrinsics into the project's camera frame. The correspondence to the project's 21 joints is approximate (no
DIP joints, a palm point instead of the wrist: app.joints.TO_ICVL_APPROX), so project_joints_xyz_mm is None.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.camera import unproject_px_to_mm
from app.errors import InputError
from app.joints import ICVL_NAMES
from models.datasets.common import DatasetSample, HandDataset, read_named_rows, read_png

NUM_ICVL_JOINTS = 16
# split -> (folder, label files in order)
SPLITS: dict[str, tuple[str, tuple[str, ...]]] = {
    "train": ("Training", ("labels.txt",)),
    "test_seq_1": ("Testing", ("test_seq_1.txt",)),
    "test_seq_2": ("Testing", ("test_seq_2.txt",)),
    "test": ("Testing", ("test_seq_1.txt", "test_seq_2.txt")),
}


def read_icvl_labels(path: Path) -> tuple[list[str], np.ndarray]:
    """One label file -> (relative image paths, N x 16 x 3 uvd)."""
    names, values = read_named_rows(path, 3 * NUM_ICVL_JOINTS)
    return names, values.reshape(-1, NUM_ICVL_JOINTS, 3)


class ICVL(HandDataset):
    """ICVL frames of one split: 'train', 'test_seq_1', 'test_seq_2' or 'test' (both sequences, in order)."""

    dataset_name = "icvl"
    layout = "icvl16"
    joint_names = ICVL_NAMES

    def __init__(self, root: str | Path, split: str = "test") -> None:
        super().__init__(root)
        if split not in SPLITS:
            raise InputError(f"ICVL split must be one of {', '.join(SPLITS)}, got '{split}'")
        self.split = split
        folder, label_files = SPLITS[split]
        self.image_folder = self.root / folder / "Depth"
        names, uvds = [], []
        for label_file in label_files:
            n, uvd = read_icvl_labels(self.root / folder / label_file)
            names += n
            uvds.append(uvd)
        self._names = names
        self._joints_uvd = np.concatenate(uvds) if names else np.zeros((0, NUM_ICVL_JOINTS, 3))
        if np.any(self._joints_uvd[..., 2] <= 0):
            bad = int(np.nonzero(np.any(self._joints_uvd[..., 2] <= 0, axis=1))[0][0])
            raise InputError(f"ICVL {split}: frame {self._names[bad]} has a joint with depth <= 0 mm")
        self._joints_xyz_mm = unproject_px_to_mm(self._joints_uvd, self.intrinsics)
        self._count = len(names)

    def depth_path(self, index: int) -> Path:
        return self.image_folder / self._names[index]

    def joints_uvd(self, index: int) -> np.ndarray:
        """The labels as stored: 16 x (u_px, v_px, d_mm)."""
        return self._joints_uvd[index].copy()

    def _load(self, index: int) -> DatasetSample:
        path = self.depth_path(index)
        raw = read_png(path, 1, (self.intrinsics.height, self.intrinsics.width))
        if raw.dtype != np.uint16:
            raise InputError(f"{path}: expected 16-bit depth, got {raw.dtype}")
        return DatasetSample(raw.astype(np.float32), self.intrinsics, self._joints_xyz_mm[index].copy(),
                             self.joint_names, self.layout, None, str(path.relative_to(self.root)))
