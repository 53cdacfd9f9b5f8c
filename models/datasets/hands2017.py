"""HANDS 2017 challenge (BigHand2.2M subset) loader: Intel SR300 depth, 640x480, 21 joints.

On disk (<root> holds training/; a root that is itself the training folder works too):
- training/Training_Annotation.txt: one frame per line, `image_D%08d.png x1 y1 z1 ... x21 y21 z21`, camera
  frame mm (x right, y down, z forward: the project's own convention, no conversion);
- training/images/image_D%08d.png: 16-bit depth in mm.
Only the training set is labelled publicly (the challenge's test labels were held by its server), so 'train'
is the only split; hold out part of it for validation. Joint order: Wrist, TMCP, IMCP, MMCP, RMCP, PMCP, TPIP,
TDIP, TTIP, IPIP, IDIP, ITIP, MPIP, MDIP, MTIP, RPIP, RDIP, RTIP, PPIP, PDIP, PTIP; exact mapping to the
project's layout: app.joints.FROM_HANDS2017.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.errors import InputError
from app.joints import FROM_HANDS2017, from_layout
from models.datasets.common import DatasetSample, HandDataset, read_named_rows, read_png

NUM_HANDS2017_JOINTS = 21
HANDS2017_NAMES: tuple[str, ...] = (
    "Wrist", "TMCP", "IMCP", "MMCP", "RMCP", "PMCP", "TPIP", "TDIP", "TTIP", "IPIP", "IDIP", "ITIP",
    "MPIP", "MDIP", "MTIP", "RPIP", "RDIP", "RTIP", "PPIP", "PDIP", "PTIP",
)
ANNOTATION_FILE = "Training_Annotation.txt"


def read_hands2017_annotation(path: Path) -> tuple[list[str], np.ndarray]:
    """Training_Annotation.txt -> (image names, N x 21 x 3 mm)."""
    names, values = read_named_rows(path, 3 * NUM_HANDS2017_JOINTS)
    return names, values.reshape(-1, NUM_HANDS2017_JOINTS, 3)


class Hands2017(HandDataset):
    """HANDS 2017 training frames; first/count select a contiguous range (e.g. to hold out a validation part)."""

    dataset_name = "hands2017"
    layout = "hands2017_21"
    joint_names = HANDS2017_NAMES

    def __init__(self, root: str | Path, split: str = "train", first: int = 0, count: int | None = None) -> None:
        super().__init__(root)
        if split != "train":
            raise InputError(f"HANDS2017 has public labels for 'train' only, got split '{split}'")
        folder = self.root / "training"
        if not folder.is_dir() and (self.root / ANNOTATION_FILE).is_file():
            folder = self.root
        self.split, self.folder = split, folder
        names, xyz = read_hands2017_annotation(folder / ANNOTATION_FILE)
        if first < 0 or (count is not None and count < 0):
            raise InputError(f"HANDS2017: first and count must be >= 0, got {first}, {count}")
        stop = len(names) if count is None else min(len(names), first + count)
        self._names, self._joints_xyz_mm = names[first:stop], xyz[first:stop]
        if np.any(self._joints_xyz_mm[..., 2] <= 0):
            bad = int(np.nonzero(np.any(self._joints_xyz_mm[..., 2] <= 0, axis=1))[0][0])
            raise InputError(f"{folder / ANNOTATION_FILE}: {self._names[bad]} has a joint with z <= 0 mm")
        self._count = len(self._names)

    def depth_path(self, index: int) -> Path:
        return self.folder / "images" / self._names[index]

    def _load(self, index: int) -> DatasetSample:
        path = self.depth_path(index)
        raw = read_png(path, 1, (self.intrinsics.height, self.intrinsics.width))
        if raw.dtype != np.uint16:
            raise InputError(f"{path}: expected 16-bit depth, got {raw.dtype}")
        joints = self._joints_xyz_mm[index].copy()
        return DatasetSample(raw.astype(np.float32), self.intrinsics, joints, self.joint_names, self.layout,
                             from_layout(joints, FROM_HANDS2017), str(path.relative_to(self.root)))
