"""The natural pose bank: quaternion order and body centres verified against the joint constraints, the stored
conversion reproducible from Intel's data (when present), and retargeted poses inside the joint limits."""
from pathlib import Path

import numpy as np
import pytest

from app.synth import animbank, poses
from app.synth.hand_model import LIMITS_DEG, NUM_DOFS, clamp_pose, within_limits

SOURCE = Path("/work/shared/data/intel_hand_poses")
needs_source = pytest.mark.skipif(not (SOURCE / "animbank.pose").exists(), reason="Intel pose bank not present")


def test_stored_bank_is_there_and_mostly_inside_the_limits():
    assert animbank.available()
    angles = animbank.pose_angles_deg()
    assert angles.shape == (2336, NUM_DOFS)
    # Retargeting keeps most angles inside the limits; clamping fixes the rest by a few degrees.
    inside = (angles >= LIMITS_DEG[:, 0] - 0.5) & (angles <= LIMITS_DEG[:, 1] + 0.5)
    assert inside.mean() > 0.9
    moved = np.abs(clamp_pose(angles) - angles)
    assert np.median(moved) < 0.5 and np.percentile(moved, 99) < 20
    # A natural bank: fingers flex together (index and middle PIP correlate), poses differ.
    assert np.corrcoef(angles[:, 9], angles[:, 13])[0, 1] > 0.5
    assert angles[:, 7:].std(axis=0).min() > 2.0


def test_bank_samples_respect_limits():
    rng = np.random.default_rng(0)
    assert all(within_limits(poses.sample_bank(rng)) for _ in range(200))


@needs_source
def test_quaternions_are_xyzw_and_positions_are_body_centres():
    model, bank = animbank.load_bank(SOURCE)
    subset = bank[::50]
    _, gap_xyzw = animbank.centre_offsets(model, subset, "xyzw")
    _, gap_wxyz = animbank.centre_offsets(model, subset, "wxyz")
    assert gap_xyzw * 1000 < 0.5 and gap_wxyz * 1000 > 10.0
    # The rest pose of model_hand.json (not exactly a constrained pose) agrees with (x, y, z, w) to a few mm
    # at the finger joints and misses by centimetres with (w, x, y, z).
    rest = np.array(model["pose"])[None]
    medians = {}
    for order in ("xyzw", "wxyz"):
        offsets, _ = animbank.centre_offsets(model, subset, order)
        rot = animbank.quaternion_xyzw_to_matrix(rest[..., 3:], order)
        gaps = []
        for joint in model["joints"]:
            i0, i1 = joint["rbi0"], joint["rbi1"]
            a = rot[0, i0] @ (np.array(joint["p0"]) - offsets[i0]) + rest[0, i0, :3]
            b = rot[0, i1] @ (np.array(joint["p1"]) - offsets[i1]) + rest[0, i1, :3]
            gaps.append(np.linalg.norm(a - b) * 1000)
        medians[order] = np.median(gaps)
    assert medians["xyzw"] < 3.0 and medians["wxyz"] > 20.0


@needs_source
def test_stored_conversion_is_reproducible():
    model, bank = animbank.load_bank(SOURCE)
    angles, report = animbank.convert(model, bank[:40])
    assert np.allclose(angles, animbank.pose_angles_deg()[:40], atol=0.05)
    assert report["thumb_direction_error_deg_median"] < 12.0
