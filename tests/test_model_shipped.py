"""The shipped default model, checked in millimetres through the whole runtime tracker on held-out rendered
frames (a seed no training run used), for the right hand and, through mirroring, for the left hand."""
from pathlib import Path

import numpy as np
import pytest

from app.config import DEFAULT_MODEL_PATH, SmoothingConfig, TrackerConfig
from app.synth.scene import SceneConfig, render_scene
from app.tracking.estimator import Estimator
from app.tracking.tracker import HandTracker
from app.types import DepthFrame

SEED = 4242          # never used for training (train seeds 1-5; evaluation seed 9001)
FRAMES = 24
# Measured for the shipped model (v4) on these 24 frames: median per-frame mean error 9.9 mm (right) / 9.0 mm
# (left, mirrored), best frame 5.1 / 4.7 mm, hand found in 24/24 (v3: 10.5 / 10.6 mm; v2: 20.3 / 20.7 mm). The
# bounds leave ~20-30 % room; a retrained model that is worse than that fails here. The full 2,000-frame
# evaluation is in models/MODEL_CARD.md.
MAX_MEDIAN_ERROR_MM = 12.0
MAX_BEST_FRAME_ERROR_MM = 6.5
MIN_FOUND = 0.9


def run(hand: str):
    config = TrackerConfig(hand=hand, provider="cpu", smoothing=SmoothingConfig(enabled=False))
    tracker = HandTracker(config, Estimator(config.model_path, provider="cpu"))
    errors, found = [], 0
    for i in range(FRAMES):
        sample = render_scene(np.random.default_rng([SEED, i]), None, SceneConfig(hand=hand))
        tracker.reset()
        result = tracker.process(DepthFrame(i, i, 33.3 * i, 0.0, sample.depth_raw, sample.intrinsics))
        if result.pose is None:
            continue
        found += 1
        err = np.linalg.norm(result.pose.joints_xyz_raw_mm - sample.joints_xyz_mm, axis=1)
        errors.append(err)
    return np.array(errors), found / FRAMES


@pytest.fixture(scope="module")
def shipped():
    if not Path(DEFAULT_MODEL_PATH).is_file():
        pytest.fail(f"the default model {DEFAULT_MODEL_PATH} is missing")
    return Estimator(DEFAULT_MODEL_PATH, provider="cpu")


def test_shipped_model_describes_itself(shipped):
    info = shipped.info
    assert info.joint_layout == "mediapipe21" and len(info.joint_names) == 21 and info.hand == "right"
    assert info.input_size == 128 and info.feature_size == 64 and info.cube_mm > 0 and info.kernel_radius > 0
    assert Path(DEFAULT_MODEL_PATH).stat().st_size <= 20 * 1024 * 1024


@pytest.mark.parametrize("hand", ["right", "left"])
def test_shipped_model_error_in_mm_on_unseen_rendered_frames(shipped, hand):
    errors, found = run(hand)
    assert found >= MIN_FOUND, f"hand found in only {found:.0%} of frames"
    # Median over frames: a frame where the hand finder picked another object is a localiser failure, counted
    # in the model card's full evaluation; this test checks the network's accuracy on found hands.
    per_frame = errors.mean(axis=1)
    assert np.median(per_frame) < MAX_MEDIAN_ERROR_MM, per_frame.round(1)
    assert per_frame.min() < MAX_BEST_FRAME_ERROR_MM
