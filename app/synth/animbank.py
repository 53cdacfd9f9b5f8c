"""Natural hand poses from Intel's hand_tracking_samples "animbank" (Apache License 2.0, IntelRealSense/
hand_tracking_samples, commit 75d5579), retargeted to this project's hand model. Imports numpy only.

The bank holds 2,336 captured poses of a 17-body right-hand model (forearm, palm, 3 segments x 5 fingers; order
thumb, index, middle, ring, little). Each body is given as position (metres) + orientation quaternion in
(x, y, z, w) order. The position is the body's centre of mass, not its frame origin: with (x, y, z, w) and
per-body centre offsets the model's joint constraints (a joint's pivot seen from both of its bodies) hold to
0.1 mm over the whole bank, while (w, x, y, z) leaves errors of centimetres (checked in convert()).

Retargeting: every body points along its local +z; the palm frame's axes (x radial, y dorsal, z distal) map
to the hand frame of hand_model.py (x radial, y distal, z palmar). Finger MCP flexion/abduction follow from the
proximal bone direction in the palm frame, PIP/DIP from the angles between consecutive bones, the wrist from
the palm's orientation relative to the forearm, and the five thumb angles are fitted (Gauss-Newton) to the
directions of the three thumb bones. The converted angles are stored beside this file (animbank_angles.npz,
derived data under the same licence, whose text is in ANIMBANK_LICENSE) so the runtime needs no download:

    python -m app.synth.animbank --source /path/to/intel_hand_poses      # regenerate animbank_angles.npz
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import numpy as np

from app.synth.hand_model import (ABDUCTION_SIGN, DOF_INDEX, NUM_DOFS, REST_SPLAY_DEG, finger_dofs, rot_z,
                                  thumb_rotations)

ANGLES_PATH = Path(__file__).with_name("animbank_angles.npz")
NUM_BODIES = 17
FOREARM, PALM = 0, 1
THUMB_BODIES = (2, 3, 4)
FINGER_BODIES = ((5, 6, 7), (8, 9, 10), (11, 12, 13), (14, 15, 16))  # index, middle, ring, little
# Intel body axes (x radial, y dorsal, z distal) -> hand_model axes (x radial, y distal, z palmar).
INTEL_TO_HAND = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def available() -> bool:
    return ANGLES_PATH.exists()


@functools.lru_cache(maxsize=1)
def pose_angles_deg() -> np.ndarray:
    """(N, NUM_DOFS) retargeted joint angles in degrees (unclamped; poses.sample_bank clamps)."""
    with np.load(ANGLES_PATH) as data:
        angles = data["angles_deg"].astype(np.float64)
    angles.setflags(write=False)
    return angles


def quaternion_xyzw_to_matrix(q: np.ndarray, order: str = "xyzw") -> np.ndarray:
    """Rotation matrices of (..., 4) unit quaternions stored as (x, y, z, w) (or 'wxyz' for the other order)."""
    if order == "wxyz":
        q = np.roll(q, -1, axis=-1)
    x, y, z, w = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack([np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
                     np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
                     np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], -2)


def load_bank(source: Path) -> tuple[dict, np.ndarray]:
    """(model_hand.json dict, (N, 17, 7) poses) from the Intel data folder."""
    model = json.loads((source / "model_hand.json").read_text())
    poses = np.loadtxt(source / "animbank.pose", dtype=np.float64)
    if poses.ndim != 2 or poses.shape[1] != NUM_BODIES * 7:
        raise ValueError(f"animbank.pose: expected {NUM_BODIES * 7} numbers per line, got {poses.shape[-1]}")
    return model, poses.reshape(-1, NUM_BODIES, 7)


def centre_offsets(model: dict, poses: np.ndarray, order: str = "xyzw") -> tuple[np.ndarray, float]:
    """Per-body centre of mass in the body frame (17 x 3, metres) such that the joints hold in all poses
    (linear least squares), and the mean remaining joint gap (metres) for the given quaternion order."""
    rot = quaternion_xyzw_to_matrix(poses[..., 3:], order)
    pos = poses[..., :3]
    rows, rhs = [], []
    for joint in model["joints"]:
        i0, i1 = joint["rbi0"], joint["rbi1"]
        p0, p1 = np.array(joint["p0"]), np.array(joint["p1"])
        a = np.zeros((len(poses), 3, 3 * NUM_BODIES))
        a[:, :, 3 * i0:3 * i0 + 3] = rot[:, i0]
        a[:, :, 3 * i1:3 * i1 + 3] = -rot[:, i1]
        rows.append(a.reshape(-1, 3 * NUM_BODIES))
        rhs.append((rot[:, i0] @ p0 + pos[:, i0] - rot[:, i1] @ p1 - pos[:, i1]).reshape(-1))
    a, y = np.concatenate(rows), np.concatenate(rhs)
    offsets = np.linalg.lstsq(a, y, rcond=None)[0]
    gap = np.linalg.norm((a @ offsets - y).reshape(-1, 3), axis=1).mean()
    return offsets.reshape(NUM_BODIES, 3), float(gap)


def _bone_dirs(rot: np.ndarray) -> np.ndarray:
    """(N, 17, 3) direction of every body's +z axis in the hand_model palm frame."""
    palm_inv = np.swapaxes(rot[:, PALM], -1, -2)
    return np.einsum("ij,njk,nbk->nbi", INTEL_TO_HAND, palm_inv, rot[..., :, 2])


def _flexion_about_x(frame: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Angle (deg) that turns frame's +y towards direction about frame's x (flexion, positive to +z)."""
    local = np.einsum("nji,nj->ni", frame, direction)
    return np.degrees(np.arctan2(local[:, 2], local[:, 1]))


# Weak pull of the fitted thumb angles to zero (per degree); MCP abduction is held more firmly because the
# fit otherwise spends it on the two models' different thumb geometry.
PRIOR_WEIGHT = np.array([0.002, 0.002, 0.002, 0.01, 0.002])


def _fit_thumb(targets: np.ndarray, iterations: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Thumb angles (N x 5) whose metacarpal/proximal/distal +y axes best match targets (N x 3 x 3) in the
    least-squares sense, with a weak pull to zero; and the mean angular error (deg) per pose."""
    def residual(x: np.ndarray) -> np.ndarray:
        dirs = np.stack([r[..., :, 1] for r in thumb_rotations(x)], axis=1)
        return np.concatenate([(dirs - targets).reshape(len(x), 9), PRIOR_WEIGHT * x], axis=1)

    x = np.tile(np.array([20.0, 20.0, 10.0, 0.0, 10.0]), (len(targets), 1))
    for _ in range(iterations):
        r = residual(x)
        jac = np.stack([(residual(x + e) - r) / 0.01 for e in np.eye(5) * 0.01], axis=2)
        jtj = np.einsum("nki,nkj->nij", jac, jac) + 1e-4 * np.eye(5)
        x = x - np.linalg.solve(jtj, np.einsum("nki,nk->ni", jac, r)[..., None])[..., 0]
    dirs = np.stack([r[..., :, 1] for r in thumb_rotations(x)], axis=1)
    err = np.degrees(np.arccos(np.clip(np.sum(dirs * targets, axis=2), -1.0, 1.0))).mean(axis=1)
    return x, err


def convert(model: dict, poses: np.ndarray) -> tuple[np.ndarray, dict]:
    """Bank poses (N x 17 x 7) -> (N x NUM_DOFS angles in degrees, report dict)."""
    _, gap = centre_offsets(model, poses[:: max(1, len(poses) // 300)])
    rot = quaternion_xyzw_to_matrix(poses[..., 3:])
    dirs = _bone_dirs(rot)
    n = len(poses)
    angles = np.zeros((n, NUM_DOFS))
    palm_inv = np.swapaxes(rot[:, PALM], -1, -2)
    for finger, bodies in enumerate(FINGER_BODIES, start=1):
        mf, ma, pip, dip = finger_dofs(finger)
        # The proximal body's x axis is its flexion axis; in the model it is Rz(heading) e_x whatever the MCP
        # flexion, so the heading (rest splay + abduction) stays well defined for a fully flexed finger.
        axis = np.einsum("ij,njk,nk->ni", INTEL_TO_HAND, palm_inv, rot[:, bodies[0], :, 0])
        heading = np.degrees(np.arctan2(axis[:, 1], axis[:, 0]))
        angles[:, ma] = ABDUCTION_SIGN[finger - 1] * (heading - REST_SPLAY_DEG[finger - 1])
        angles[:, mf] = _flexion_about_x(rot_z(heading), dirs[:, bodies[0]])
        # PIP and DIP: the child's +z in the parent's frame, flexion about the parent's x (Intel: +z -> -y).
        for dof, (parent, child) in ((pip, bodies[:2]), (dip, bodies[1:])):
            local = np.einsum("nji,nj->ni", rot[:, parent], rot[:, child, :, 2])
            angles[:, dof] = np.degrees(np.arctan2(-local[:, 1], local[:, 2]))
    angles[:, 2:7], thumb_err = _fit_thumb(dirs[:, list(THUMB_BODIES)])
    # Wrist: the palm relative to the forearm, both in hand_model axes; R_rel = Rz(dev) Rx(flex).
    rel = np.einsum("ij,njk,nkl,ml->nim", INTEL_TO_HAND, np.swapaxes(rot[:, FOREARM], -1, -2), rot[:, PALM],
                    INTEL_TO_HAND)
    angles[:, DOF_INDEX["wrist_flex"]] = np.degrees(np.arcsin(np.clip(rel[:, 2, 1], -1.0, 1.0)))
    angles[:, DOF_INDEX["wrist_dev"]] = np.degrees(np.arctan2(-rel[:, 0, 1], rel[:, 1, 1]))
    report = {"poses": n, "joint_gap_mm": round(gap * 1000.0, 3),
              "thumb_direction_error_deg_median": round(float(np.median(thumb_err)), 2),
              "thumb_direction_error_deg_p95": round(float(np.percentile(thumb_err, 95)), 2)}
    return angles, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Retarget Intel's animbank poses to app.synth's hand model.")
    parser.add_argument("--source", required=True, help="folder with model_hand.json and animbank.pose")
    parser.add_argument("--out", default=str(ANGLES_PATH), help="output .npz (default: beside this module)")
    args = parser.parse_args(argv)
    source = Path(args.source)
    if not (source / "animbank.pose").exists() or not (source / "model_hand.json").exists():
        print(f"error: {source} does not hold animbank.pose and model_hand.json", file=sys.stderr)
        return 2
    model, poses = load_bank(source)
    angles, report = convert(model, poses)
    np.savez_compressed(args.out, angles_deg=angles.astype(np.float32),
                        source=np.array("IntelRealSense/hand_tracking_samples@75d5579 animbank.pose, Apache-2.0"))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
