"""What every public-dataset loader returns, the datasets' camera constants, shared file readers, and the
conversion of a loaded sample into an AWR training crop.

A loader turns its dataset's files into DatasetSample: depth in mm (0 = invalid), the dataset's intrinsics, and
the labelled joints in the project's camera frame (x right, y down, z forward, mm) in the dataset's own joint
order. project_joints_xyz_mm carries the same joints in the project's 21-joint layout where the correspondence
is exact (HANDS2017, MSRA); for ICVL and NYU it is None and app/joints.py gives the approximate
correspondence (TO_ICVL_APPROX, TO_NYU14_APPROX), which every report that uses it must call approximate.
Imports numpy, cv2 and app foundation only.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.camera import Intrinsics, project_mm_to_px
from app.errors import InputError
from app.tracking.crop import CropGeometry, crop_depth, crop_geometry, xyz_mm_to_crop_uvd
from app.types import readonly

# Camera constants of each dataset (awr.md "Metrics"). NYU's evaluation kit uses fy = -587.07 (y up); the
# project's frame is y down, so fy is positive here and distances are unchanged.
DATASET_INTRINSICS: dict[str, Intrinsics] = {
    "nyu": Intrinsics(640, 480, 588.03, 587.07, 320.0, 240.0),
    "icvl": Intrinsics(320, 240, 240.99, 240.96, 160.0, 120.0),
    "msra": Intrinsics(320, 240, 241.42, 241.42, 160.0, 120.0),
    "hands2017": Intrinsics(640, 480, 475.065948, 475.065857, 315.944855, 245.287079),
}
# Crop cube side used by AWR per dataset (mm); MSRA uses 150-200 per subject, 200 covers all of them.
DATASET_CUBE_MM: dict[str, float] = {"nyu": 300.0, "icvl": 250.0, "msra": 200.0, "hands2017": 200.0}


def dataset_intrinsics(name: str) -> Intrinsics:
    try:
        return DATASET_INTRINSICS[name.lower()]
    except KeyError:
        known = ", ".join(DATASET_INTRINSICS)
        raise InputError(f"unknown dataset '{name}' (known: {known})") from None


@dataclass(frozen=True)
class DatasetSample:
    """One labelled depth frame of a public dataset (arrays read-only).

    depth_mm: H x W float32 millimetres, 0 = invalid; intrinsics: the dataset's camera;
    joints_xyz_mm: K x 3 float64 labelled joints, camera frame (x right, y down, z forward), mm, dataset order;
    joint_names: K names; layout: the dataset layout's name (e.g. 'nyu14', 'msra21');
    project_joints_xyz_mm: 21 x 3 in the project layout (app.joints) when the mapping is exact, else None;
    name: where the frame came from (relative file path), for messages and reports.
    """

    depth_mm: np.ndarray
    intrinsics: Intrinsics
    joints_xyz_mm: np.ndarray
    joint_names: tuple[str, ...]
    layout: str
    project_joints_xyz_mm: np.ndarray | None
    name: str

    def __post_init__(self) -> None:
        if self.depth_mm.shape != (self.intrinsics.height, self.intrinsics.width):
            raise InputError(f"{self.name}: depth is {self.depth_mm.shape[1::-1]} px, the dataset's camera is "
                             f"{self.intrinsics.width}x{self.intrinsics.height}")
        if self.joints_xyz_mm.shape != (len(self.joint_names), 3):
            raise InputError(f"{self.name}: {self.joints_xyz_mm.shape} joints for {len(self.joint_names)} names")
        readonly(self.depth_mm)
        readonly(self.joints_xyz_mm)
        readonly(self.project_joints_xyz_mm)


class HandDataset:
    """Base of the loaders: a sequence of DatasetSample. Subclasses fill self._count and implement _load(i)."""

    dataset_name = ""
    layout = ""
    joint_names: tuple[str, ...] = ()

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"dataset folder {self.root} does not exist")
        self.intrinsics = DATASET_INTRINSICS[self.dataset_name]
        self.cube_mm = DATASET_CUBE_MM[self.dataset_name]
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> DatasetSample:
        index = int(index)
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(f"{self.dataset_name}: index {index} out of range for {self._count} frames")
        return self._load(index)

    def _load(self, index: int) -> DatasetSample:
        raise NotImplementedError


# ---- shared readers --------------------------------------------------------------------------------------
def require_file(path: Path) -> Path:
    if not path.is_file():
        raise InputError(f"missing dataset file {path}")
    return path


def read_png(path: Path, channels: int, shape_hw: tuple[int, int]) -> np.ndarray:
    """Read a PNG unchanged (channels 1 -> H x W, 3 -> H x W x 3 in BGR order) and check its size."""
    require_file(path)
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"cannot decode image {path}")
    got = 1 if image.ndim == 2 else image.shape[2]
    if got != channels or image.shape[:2] != shape_hw:
        raise InputError(f"{path}: expected a {shape_hw[1]}x{shape_hw[0]} image with {channels} channel(s), "
                         f"got {image.shape[1]}x{image.shape[0]} with {got}")
    return image


def read_text(path: Path) -> str:
    require_file(path)
    try:
        return path.read_text(encoding="ascii", errors="strict")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path} as text ({e})") from None


def read_named_rows(path: Path, values_per_row: int, chunk_rows: int = 50_000) -> tuple[list[str], np.ndarray]:
    """A label file of lines `name v1 v2 ...` -> (names, N x values_per_row float64). Blank lines are skipped.

    Streams the file in chunks: HANDS2017's annotation is ~600 MB of text, too much to hold as one string."""
    require_file(path)
    names: list[str] = []
    blocks: list[np.ndarray] = []
    rows: list[str] = []
    line_numbers: list[int] = []
    try:
        with open(path, encoding="ascii") as f:
            for line_number, line in enumerate(f, start=1):
                parts = line.split(maxsplit=1)
                if not parts:
                    continue                    # blank lines (e.g. a trailing one) carry no frame
                names.append(parts[0])
                rows.append(parts[1] if len(parts) > 1 else "")
                line_numbers.append(line_number)
                if len(rows) == chunk_rows:
                    blocks.append(parse_number_rows(path, rows, values_per_row, line_numbers))
                    rows, line_numbers = [], []
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path} as text ({e})") from None
    if rows:
        blocks.append(parse_number_rows(path, rows, values_per_row, line_numbers))
    values = np.concatenate(blocks) if blocks else np.zeros((0, values_per_row))
    return names, values


def parse_number_rows(path: Path, rows: list[str], values_per_row: int,
                      line_numbers: list[int] | None = None) -> np.ndarray:
    """Whitespace-separated numbers, values_per_row per row -> (len(rows), values_per_row) float64.

    Fast path: one numpy parse of everything; only when the count is off are rows checked one by one, so the
    error names the first bad line (line_numbers[i] is row i's line in the file; default i + 1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # numpy warns (instead of failing) on a non-number
        try:
            values = np.fromstring(" ".join(rows), dtype=np.float64, sep=" ")
        except (ValueError, DeprecationWarning):
            values = None
    if values is not None and values.size == len(rows) * values_per_row and np.all(np.isfinite(values)):
        return values.reshape(len(rows), values_per_row)
    for i, row in enumerate(rows):
        where = f"{path}:{line_numbers[i] if line_numbers is not None else i + 1}"
        tokens = row.split()
        if len(tokens) != values_per_row:
            raise InputError(f"{where}: expected {values_per_row} numbers, got {len(tokens)}")
        try:
            finite = all(np.isfinite(float(t)) for t in tokens)
        except ValueError:
            finite = False
        if not finite:
            raise InputError(f"{where}: not a list of finite numbers")
    raise InputError(f"{path}: could not parse the numbers")   # unreachable: some row above is bad


# ---- training crops --------------------------------------------------------------------------------------
def to_training_crop(sample: DatasetSample, cube_mm: float, size_px: int = 128, centre: str = "gt",
                     use_project_layout: bool = False, localiser_config=None,
                     ) -> tuple[np.ndarray, np.ndarray, CropGeometry]:
    """The AWR input and target of one dataset frame -> (crop S x S float32, joints_uvd K x 3 float32, geometry).

    centre='gt': the crop is centred on the mean of the labelled joints (the research convention, which hides
    hand-finding errors); centre='localiser': on what app.tracking.localise.HandLocaliser finds, exactly as at
    run time (localiser_config defaults to a 150-1500 mm band with this cube). joints_uvd are normalised crop
    coordinates (u, v in [-1, 1] across the crop, d = (z - cz) / (cube/2)). use_project_layout: label the
    project's 21 joints instead of the dataset's (only where the mapping is exact). Raises InputError when the
    localiser finds no hand (the caller skips the frame) or the layout is unavailable.
    """
    joints = sample.joints_xyz_mm
    if use_project_layout:
        if sample.project_joints_xyz_mm is None:
            raise InputError(f"{sample.name}: layout {sample.layout} has no exact mapping to the project's joints")
        joints = sample.project_joints_xyz_mm
    if not cube_mm > 0 or size_px < 8:
        raise InputError(f"training crop: need cube_mm > 0 and size_px >= 8, got {cube_mm}, {size_px}")
    if centre == "gt":
        centre_uvz = tuple(float(c) for c in project_mm_to_px(joints.mean(axis=0), sample.intrinsics))
    elif centre == "localiser":
        centre_uvz = _localiser_centre(sample, cube_mm, localiser_config)
    else:
        raise InputError(f"training crop: centre must be 'gt' or 'localiser', got '{centre}'")
    if not centre_uvz[2] > 0:
        raise InputError(f"{sample.name}: hand centre depth {centre_uvz[2]:.1f} mm is not in front of the camera")
    geom = crop_geometry(centre_uvz, cube_mm, size_px, sample.intrinsics)
    crop = crop_depth(sample.depth_mm, geom)
    uvd = xyz_mm_to_crop_uvd(joints, geom, sample.intrinsics).astype(np.float32)
    return crop, uvd, geom


def _localiser_centre(sample: DatasetSample, cube_mm: float, config) -> tuple[float, float, float]:
    # Imported here: the localiser is a runtime component that loaders do not otherwise need.
    from app.config import LocaliserConfig
    from app.tracking.localise import HandLocaliser

    if config is None:
        config = LocaliserConfig(near_mm=150.0, far_mm=1500.0, cube_mm=cube_mm, compute_mask=False)
    location = HandLocaliser(config).locate(sample.depth_mm, sample.intrinsics)
    if location.centre_uvz is None:
        raise InputError(f"{sample.name}: the hand localiser found no hand ({location.status.value})")
    return tuple(float(c) for c in location.centre_uvz)
