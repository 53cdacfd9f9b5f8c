"""Pose prior for the synthetic hand: gesture templates with jitter, synergy sampling, uniform sampling within the
joint limits, and the Intel natural-pose bank (animbank.py) when its data are present. Imports numpy only.

Every sampler returns a NUM_DOFS vector of joint angles in degrees (hand_model.DOF_NAMES order) that satisfies
hand_model.clamp_pose (limits, abduction shrinking with MCP flexion, DIP coupled to PIP).
"""
from __future__ import annotations

import numpy as np

from app.synth import animbank
from app.synth.hand_model import (DOF_INDEX, LIMITS_DEG, NUM_DOFS, HandShape, clamp_pose, finger_chain,
                                  finger_dofs, thumb_chain)

# Mixture weights (hands.md): templates + N(0, 12 deg) jitter, synergies, and the rest (0.20) uniform; a share
# from the natural bank.
TEMPLATE_SHARE, SYNERGY_SHARE = 0.45, 0.35
BANK_SHARE = 0.30
TEMPLATE_JITTER_DEG = 12.0

_EXT = (0.0, 0.0, 0.0, 0.0)          # finger (mcp_flex, mcp_abd, pip_flex, dip_flex)
_FIST = (85.0, 0.0, 100.0, 62.0)
_HALF = (35.0, 0.0, 40.0, 27.0)
_THUMB_REST = (0.0, 0.0, 0.0, 0.0, 0.0)  # thumb (cmc_flex, cmc_abd, mcp_flex, mcp_abd, ip_flex)
_THUMB_OVER_FIST = (45.0, 20.0, 35.0, 0.0, 30.0)

# Gesture templates: thumb, then index, middle, ring, pinky. Thumb angles of the pinches were solved with
# solve_thumb_to_finger on the average hand (the tests check that every fingertip can be reached).
TEMPLATES: dict[str, tuple] = {
    "open": ((0.0, 0.0, 0.0, 0.0, 0.0), (0.0, 12.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0), (0.0, 8.0, 0.0, 0.0),
             (0.0, 15.0, 0.0, 0.0)),
    # Fingers together: adducted against the rest splay.
    "flat": ((18.0, -10.0, 0.0, 0.0, 0.0), (0.0, -6.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0), (0.0, -5.0, 0.0, 0.0),
             (0.0, -9.0, 0.0, 0.0)),
    "relaxed": ((15.0, 15.0, 10.0, 0.0, 10.0), (15.0, 3.0, 25.0, 17.0), (20.0, 0.0, 30.0, 20.0),
                (25.0, 3.0, 35.0, 23.0), (30.0, 5.0, 40.0, 27.0)),
    "fist": (_THUMB_OVER_FIST, _FIST, _FIST, _FIST, _FIST),
    "point": (_THUMB_OVER_FIST, _EXT, _FIST, _FIST, _FIST),
    "v": ((50.0, 20.0, 35.0, 0.0, 35.0), (0.0, 12.0, 0.0, 0.0), (0.0, -8.0, 0.0, 0.0), _FIST, _FIST),
    "three": ((55.0, 15.0, 30.0, 0.0, 35.0), (0.0, 8.0, 0.0, 0.0), _EXT, (0.0, 6.0, 0.0, 0.0), _FIST),
    "rock": (_THUMB_OVER_FIST, _EXT, _FIST, _FIST, (0.0, 10.0, 0.0, 0.0)),
    "thumbs_up": ((12.0, 0.0, -5.0, 0.0, -10.0), _FIST, _FIST, _FIST, _FIST),
    "pinch": ((27.7, 18.5, 4.7, -8.3, 11.4), _HALF, (20.0, 0.0, 30.0, 20.0), (25.0, 0.0, 35.0, 23.0),
              (30.0, 0.0, 40.0, 27.0)),
    "ok": ((27.7, 18.5, 4.7, -8.3, 11.4), _HALF, (0.0, 0.0, 0.0, 0.0), (0.0, 6.0, 0.0, 0.0),
           (0.0, 12.0, 0.0, 0.0)),
    "pinch_middle": ((42.6, 14.6, 1.6, -3.4, 4.1), (10.0, 5.0, 15.0, 10.0), _HALF, (30.0, 0.0, 40.0, 27.0),
                     (30.0, 5.0, 40.0, 27.0)),
    "pinch_ring": ((47.4, 14.8, 11.8, -9.0, 11.7), (5.0, 5.0, 10.0, 7.0), (10.0, 0.0, 15.0, 10.0), _HALF,
                   (30.0, 5.0, 40.0, 27.0)),
    "thumb_little": ((52.2, 17.2, 24.7, -10.0, 18.7), (5.0, 5.0, 10.0, 7.0), (5.0, 0.0, 10.0, 7.0),
                     (10.0, 0.0, 15.0, 10.0), _HALF),
    "grasp": ((30.0, 45.0, 20.0, 0.0, 15.0), (45.0, 0.0, 50.0, 33.0), (50.0, 0.0, 50.0, 33.0),
              (55.0, 0.0, 50.0, 33.0), (60.0, 0.0, 50.0, 33.0)),
    "claw": ((20.0, 30.0, 20.0, 0.0, 40.0), (-10.0, 8.0, 90.0, 60.0), (-10.0, 0.0, 90.0, 60.0),
             (-10.0, 5.0, 90.0, 60.0), (-10.0, 10.0, 90.0, 60.0)),
}
TEMPLATE_NAMES = tuple(TEMPLATES)


def template_pose(name: str) -> np.ndarray:
    """The template's angles (wrist straight) as a NUM_DOFS vector."""
    thumb, *fingers = TEMPLATES[name]
    p = np.zeros(NUM_DOFS)
    p[2:7] = thumb
    for finger, values in enumerate(fingers, start=1):
        p[list(finger_dofs(finger))] = values
    return clamp_pose(p)


def _wrist(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    p[DOF_INDEX["wrist_flex"]] = rng.normal(0.0, 20.0)
    p[DOF_INDEX["wrist_dev"]] = rng.normal(0.0, 10.0)
    return p


def sample_template(rng: np.random.Generator) -> np.ndarray:
    p = template_pose(TEMPLATE_NAMES[rng.integers(len(TEMPLATE_NAMES))])
    p = p + rng.normal(0.0, TEMPLATE_JITTER_DEG, NUM_DOFS)
    return clamp_pose(_wrist(rng, p))


def sample_synergy(rng: np.random.Generator) -> np.ndarray:
    """One closure value for the whole hand, per-finger deviations, spread falling as the hand closes, the thumb
    closing with the hand."""
    closure = rng.beta(1.2, 1.2)
    p = np.zeros(NUM_DOFS)
    spread = (1.0 - closure) * rng.uniform(0.0, 1.0)
    for finger in range(1, 5):
        mf, ma, pip, dip = finger_dofs(finger)
        c = np.clip(closure + rng.normal(0.0, 0.15), 0.0, 1.0)
        p[mf] = c * 85.0 + rng.normal(0.0, 8.0) - 10.0 * (1.0 - c) * rng.uniform()
        p[pip] = c * 100.0 + rng.normal(0.0, 10.0)
        p[dip] = p[pip] * 2.0 / 3.0 + rng.normal(0.0, 5.0)
        p[ma] = spread * LIMITS_DEG[ma, 1] + rng.normal(0.0, 3.0)
    p[2:7] = (closure * 45.0 + rng.normal(0.0, 12.0), 10.0 + closure * 25.0 + rng.normal(0.0, 15.0),
              closure * 35.0 + rng.normal(0.0, 10.0), rng.normal(0.0, 4.0), closure * 45.0 + rng.normal(0.0, 12.0))
    return clamp_pose(_wrist(rng, p))


def sample_uniform(rng: np.random.Generator) -> np.ndarray:
    return clamp_pose(rng.uniform(LIMITS_DEG[:, 0], LIMITS_DEG[:, 1]))


def sample_pose(rng: np.random.Generator, use_bank: bool = True) -> np.ndarray:
    """A pose from the full prior (bank share only when the bank's data are available)."""
    if use_bank and animbank.available() and rng.uniform() < BANK_SHARE:
        return sample_bank(rng)
    u = rng.uniform()
    if u < TEMPLATE_SHARE:
        return sample_template(rng)
    if u < TEMPLATE_SHARE + SYNERGY_SHARE:
        return sample_synergy(rng)
    return sample_uniform(rng)


def sample_bank(rng: np.random.Generator) -> np.ndarray:
    """A natural captured pose (fingers, thumb and wrist as captured) with a little N(0, 4 deg) jitter."""
    bank = animbank.pose_angles_deg()
    p = bank[rng.integers(len(bank))] + rng.normal(0.0, 4.0, NUM_DOFS)
    return clamp_pose(p)


def solve_thumb_to_finger(shape: HandShape, pose_deg: np.ndarray, finger: int, iterations: int = 40) -> np.ndarray:
    """Thumb angles (damped least squares, numeric Jacobian) that bring the thumb pad onto finger 1..4's pad:
    tip-sphere centres one sum of radii apart, with a weak pull towards a natural opposition posture."""
    prior = np.array([35.0, 40.0, 15.0, 0.0, 15.0])
    target = finger_chain(shape, finger, pose_deg)[3]
    contact = shape.radii_mm[0, 3] + shape.radii_mm[finger, 3]
    q = np.array(pose_deg, dtype=np.float64)

    def residual(x: np.ndarray) -> np.ndarray:
        q[2:7] = x
        gap = np.linalg.norm(thumb_chain(shape, q)[3] - target) - contact
        return np.concatenate([[gap], 0.02 * (x - prior)])

    x = prior.copy()
    for _ in range(iterations):
        r = residual(x)
        jac = np.stack([(residual(x + e) - r) / 1e-3 for e in np.eye(5) * 1e-3], axis=1)
        x = x + np.linalg.solve(jac.T @ jac + np.eye(5), -jac.T @ r)
        x = np.clip(x, LIMITS_DEG[2:7, 0], LIMITS_DEG[2:7, 1])
    out = np.array(pose_deg, dtype=np.float64)
    out[2:7] = x
    return out
