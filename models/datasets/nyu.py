"""NYU Hand Pose Dataset loader (Tompson et al. 2014): Kinect v1 depth, 640x480, 36 labelled joints of which
the field evaluates 14.

On disk (per split folder, e.g. <root>/train, <root>/test):
- depth_<cam>_<%07d>.png, 1-based frame numbers, cameras 1..3 (camera 1 is the frontal one everyone uses):
  an 8-bit RGB PNG with depth_mm = G * 256 + B (R is unused);
- joint_data.mat (MATLAB v5): joint_uvd and joint_xyz, each (3 cameras, N frames, 36 joints, 3), and
  joint_names. joint_xyz is y-up; the loader instead unprojects joint_uvd (u, v in pixels, d in mm) with the
  dataset intrinsics, which yields the project's y-down frame and agrees with the depth image by construction.
The 14-joint evaluation subset (app.joints.NYU14_ORIGINAL_INDICES) is the default; its correspondence to the
project's layout is approximate (no wrist centre, a palm point), so project_joints_xyz_mm is None.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.camera import unproject_px_to_mm
from app.errors import InputError
from app.joints import NYU14_NAMES, NYU14_ORIGINAL_INDICES
from models.datasets.common import DatasetSample, HandDataset, read_png, require_file
from models.datasets.matfile import read_mat

NUM_NYU_JOINTS = 36
SPLITS = ("train", "test")


def decode_nyu_depth(bgr: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 in OpenCV's BGR order -> H x W float32 mm (G * 256 + B; 0 = invalid).

    The channels are widened before the multiplication: in uint8 arithmetic G * 256 would wrap to 0."""
    g = bgr[..., 1].astype(np.uint32)
    b = bgr[..., 0].astype(np.uint32)
    return ((g << 8) | b).astype(np.float32)


class NYU(HandDataset):
    """NYU frames of one split and camera. joints='eval14' (default, layout 'nyu14') or 'all36' ('nyu36')."""

    dataset_name = "nyu"

    def __init__(self, root: str | Path, split: str = "test", camera: int = 1, joints: str = "eval14") -> None:
        super().__init__(root)
        if split not in SPLITS:
            raise InputError(f"NYU split must be one of {', '.join(SPLITS)}, got '{split}'")
        if camera not in (1, 2, 3):
            raise InputError(f"NYU camera must be 1, 2 or 3, got {camera}")
        if joints not in ("eval14", "all36"):
            raise InputError(f"NYU joints must be 'eval14' or 'all36', got '{joints}'")
        self.split, self.camera = split, camera
        self.folder = self.root / split
        mat_path = require_file(self.folder / "joint_data.mat")
        wanted = ("joint_uvd", "joint_names") if joints == "all36" else ("joint_uvd",)
        mat = read_mat(mat_path, wanted)
        uvd = mat["joint_uvd"]
        if not (isinstance(uvd, np.ndarray) and uvd.ndim == 4 and uvd.shape[2] == NUM_NYU_JOINTS
                and uvd.shape[3] == 3 and uvd.shape[0] >= camera):
            shape = getattr(uvd, "shape", type(uvd).__name__)
            raise InputError(f"{mat_path}: joint_uvd must be (cameras, N, {NUM_NYU_JOINTS}, 3), got {shape}")
        uvd = uvd[camera - 1]
        if joints == "eval14":
            uvd = uvd[:, list(NYU14_ORIGINAL_INDICES)]
            self.layout, self.joint_names = "nyu14", NYU14_NAMES
        else:
            self.layout, self.joint_names = "nyu36", _joint_names(mat["joint_names"])
        # float64 for the unprojection, then one copy per split kept in memory (8252 x 14 x 3 for test).
        self._joints_xyz_mm = unproject_px_to_mm(np.ascontiguousarray(uvd, dtype=np.float64), self.intrinsics)
        self._joints_uvd = np.ascontiguousarray(uvd, dtype=np.float64)
        self._count = uvd.shape[0]

    def depth_path(self, index: int) -> Path:
        return self.folder / f"depth_{self.camera}_{index + 1:07d}.png"

    def joints_uvd(self, index: int) -> np.ndarray:
        """The labels as stored: K x (u_px, v_px, d_mm)."""
        return self._joints_uvd[index].copy()

    def _load(self, index: int) -> DatasetSample:
        path = self.depth_path(index)
        depth = decode_nyu_depth(read_png(path, 3, (self.intrinsics.height, self.intrinsics.width)))
        return DatasetSample(depth, self.intrinsics, self._joints_xyz_mm[index].copy(), self.joint_names,
                             self.layout, None, str(path.relative_to(self.root)))


def _joint_names(cells) -> tuple[str, ...]:
    """joint_names is a 1 x 36 cell array of strings; neutral names when it holds something else."""
    if isinstance(cells, np.ndarray) and cells.size == NUM_NYU_JOINTS and all(isinstance(c, str) for c in cells.flat):
        return tuple(str(c) for c in cells.flat)
    return tuple(f"nyu_{i:02d}" for i in range(NUM_NYU_JOINTS))
