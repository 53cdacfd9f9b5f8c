"""Placeholder: the Intel natural-pose bank conversion (filled in by the next commit)."""
from __future__ import annotations

import numpy as np


def available() -> bool:
    return False


def pose_angles_deg() -> np.ndarray:
    raise FileNotFoundError("the natural pose bank is not converted yet")
