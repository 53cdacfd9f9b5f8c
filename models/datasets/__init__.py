"""Loaders for the public depth-based hand pose datasets (NYU, ICVL, MSRA, HANDS2017) and their conversion to
AWR training crops. None of the data ships with the project: point a loader at the dataset's folder.

    from models.datasets import open_dataset, to_training_crop
    test = open_dataset("nyu", "/data/nyu", "test")
    crop, joints_uvd, geom = to_training_crop(test[0], cube_mm=test.cube_mm)
"""
from __future__ import annotations

import inspect
from pathlib import Path

from app.errors import InputError
from models.datasets.common import (
    DATASET_CUBE_MM, DATASET_INTRINSICS, DatasetSample, HandDataset, dataset_intrinsics, to_training_crop,
)
from models.datasets.hands2017 import HANDS2017_NAMES, Hands2017
from models.datasets.icvl import ICVL
from models.datasets.msra import MSRA, MSRA_NAMES
from models.datasets.nyu import NYU

DATASETS: dict[str, type[HandDataset]] = {"nyu": NYU, "icvl": ICVL, "msra": MSRA, "hands2017": Hands2017}


def open_dataset(name: str, root: str | Path, split: str, **options) -> HandDataset:
    """The loader for dataset `name` (nyu, icvl, msra, hands2017) over `root` and `split`; options go to the
    loader (NYU: camera, joints; MSRA: test_subject; HANDS2017: first, count)."""
    try:
        cls = DATASETS[name.lower()]
    except KeyError:
        raise InputError(f"unknown dataset '{name}' (known: {', '.join(DATASETS)})") from None
    try:
        inspect.signature(cls).bind(root, split, **options)
    except TypeError as e:                      # an option this loader does not take
        raise InputError(f"{name}: {e}") from None
    return cls(root, split, **options)


__all__ = [
    "DATASETS", "DATASET_CUBE_MM", "DATASET_INTRINSICS", "DatasetSample", "HANDS2017_NAMES", "HandDataset",
    "Hands2017", "ICVL", "MSRA", "MSRA_NAMES", "NYU", "dataset_intrinsics", "open_dataset", "to_training_crop",
]
