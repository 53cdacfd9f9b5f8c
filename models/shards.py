"""Read rendered shards (models/render_shards.py) into memory, and turn crop predictions back into millimetres.

numpy only (the trainer wraps the arrays into torch tensors).
"""
from __future__ import annotations

import glob
import json
import os
import zipfile
from dataclasses import dataclass

import numpy as np

from app.errors import InputError

FIELDS = ("crops", "joints_uvd", "joints_xyz_mm", "centre_uvz", "cube_mm", "image_to_crop", "intrinsics",
          "frame_id", "centre_error_mm")


@dataclass(frozen=True)
class ShardData:
    """All samples of one or more shard folders. crops (N,S,S) float16 normalised; joints_uvd (N,J,3) normalised
    crop coordinates; joints_xyz_mm (N,J,3) camera frame; centre_uvz (N,3) u_px, v_px, z_mm; cube_mm (N,);
    image_to_crop (N,3,3); intrinsics (N,7) width, height, fx, fy, cx, cy, depth_unit_mm; frame_id (N,)."""

    crops: np.ndarray
    joints_uvd: np.ndarray
    joints_xyz_mm: np.ndarray
    centre_uvz: np.ndarray
    cube_mm: np.ndarray
    image_to_crop: np.ndarray
    intrinsics: np.ndarray
    frame_id: np.ndarray
    centre_error_mm: np.ndarray
    localiser_failures: dict

    def __len__(self) -> int:
        return int(self.crops.shape[0])

    def subset(self, idx: np.ndarray) -> "ShardData":
        return ShardData(*(getattr(self, f)[idx] for f in FIELDS), localiser_failures=self.localiser_failures)


def load_shards(folders: list[str] | str, limit: int | None = None) -> ShardData:
    """Load every shard_*.npz under the given folder(s); InputError when none exist."""
    folders = [folders] if isinstance(folders, str) else list(folders)
    if not folders:
        raise InputError("no shard folders given")
    paths = []
    for folder in folders:   # every folder named must exist and hold shards: none is skipped silently
        if not os.path.isdir(folder):
            raise InputError(f"shard folder {folder} does not exist: render it with python -m models.render_shards")
        found = sorted(p for p in glob.glob(os.path.join(folder, "shard_*.npz")) if ".tmp." not in p)
        if not found:
            raise InputError(f"no shards (shard_*.npz) in {folder}: render them with python -m models.render_shards")
        paths += found
    parts: dict[str, list[np.ndarray]] = {f: [] for f in FIELDS}
    failures: dict[str, int] = {}
    total = 0
    for path in paths:
        try:
            with np.load(path) as z:
                if "crops" not in z.files:
                    continue  # a shard in which the localiser accepted no frame
                arrays = {f: z[f] for f in FIELDS}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot read shard {path}: {type(exc).__name__}: {exc}") from None
        for f in FIELDS:
            parts[f].append(arrays[f])
        total += arrays["crops"].shape[0]
        info = path[:-4] + ".json"
        if os.path.exists(info):
            for k, v in json.load(open(info)).get("failures", {}).items():
                failures[k] = failures.get(k, 0) + v
        if limit is not None and total >= limit:
            break
    if not parts["crops"]:
        raise InputError(f"the shards in {', '.join(folders)} hold no crops (the hand finder kept no frame)")
    arrays = {f: np.concatenate(parts[f])[:limit] for f in FIELDS}
    return ShardData(**arrays, localiser_failures=failures)


def crop_uvd_to_xyz_mm_batch(uvd: np.ndarray, centre_uvz: np.ndarray, cube_mm: np.ndarray,
                             image_to_crop: np.ndarray, intrinsics: np.ndarray, size_px: int) -> np.ndarray:
    """Vectorised app.tracking.crop.crop_uvd_to_xyz_mm for N samples: (N,J,3) normalised -> (N,J,3) mm."""
    uvd = np.asarray(uvd, dtype=np.float64)
    uv_crop = (uvd[..., :2] + 1.0) * (size_px / 2.0) - 0.5
    inv = np.linalg.inv(image_to_crop)                                   # (N,3,3)
    uv_img = np.einsum("nij,nkj->nki", inv[:, :2, :2], uv_crop) + inv[:, None, :2, 2]
    z = uvd[..., 2] * (cube_mm[:, None] / 2.0) + centre_uvz[:, None, 2]
    fx, fy, cx, cy = (intrinsics[:, None, i] for i in (2, 3, 4, 5))
    return np.stack([(uv_img[..., 0] - cx) * z / fx, (uv_img[..., 1] - cy) * z / fy, z], axis=-1)
