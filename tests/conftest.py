"""Fixtures shared by the test files: the untrained real model (exported by models.export, cached) and an
onnxruntime estimator on it, and the moving-hand frames the pipeline and streaming tests run on. A test file may
still define a fixture of the same name for its own needs; pytest then uses that one."""
from __future__ import annotations

import numpy as np
import pytest

from tests.tracking_model import random_model_path
from tests.tracking_scenes import hand_scene


@pytest.fixture(scope="module")
def model_path() -> str:
    """Path of the untrained 'tiny' ONNX model."""
    return random_model_path()


@pytest.fixture(scope="module")
def estimator(model_path):
    """A real Estimator (onnxruntime, CPU) on the untrained model."""
    from app.tracking.estimator import Estimator

    return Estimator(model_path, "cpu")


@pytest.fixture(scope="module")
def moving_hand():
    """(depths_mm, joints_mm): 7 frames (480 x 640 float mm, tracking_scenes.INTR): a hand with its forearm
    moving 12 mm right and 10 mm away per frame from (-30, 0, 480) mm, then one frame without a hand (its
    joints: the last hand's)."""
    depths, joints = [], []
    for k in range(6):
        d, j = hand_scene((-30.0 + 12.0 * k, 0.0, 480.0 + 10.0 * k))
        depths.append(d)
        joints.append(j)
    depths.append(np.zeros_like(depths[0]))
    joints.append(joints[-1])
    return depths, joints
