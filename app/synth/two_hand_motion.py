"""Both hands of one person in motion, crossing and separating: frames for measuring whether a tracker keeps each
hand's identity, and for the built-in two-hand demo.

    animator = TwoHandAnimator(seed=3, intrinsics=intr)
    sample = animator.frame(t_s=1.25)       # TwoHandSample at 1.25 s: depth, and each hand's ground truth

The hands swing sideways in opposite directions (each period_s they cross twice: the right hand, at the image's
left at t = 0, is at the image's right at half a period), one 60-120 mm nearer the camera than the other so they
pass in front of each other, bob up and down, and turn slowly; the fingers move between natural poses as in
the one-hand animation (app/synth/motion.py). The person (shoulders, torso, wall) stays put. Deterministic: a
frame depends only on (seed, t_s), and the motion repeats every period_s. Imports numpy and app foundation (the renderer's modules) only.
"""
from __future__ import annotations

import numpy as np

from app.camera import Intrinsics, unproject_px_to_mm
from app.synth.hand_model import hand_geometry, rot_axis, sample_shape
from app.synth.motion import HandAnimator
from app.synth.two_hands import (TwoHandSample, arm_rotation, mirrored_geometry, placed, render_people,
                                 sample_person, sample_shoulders)

DEFAULT_PERIOD_S = 4.0


class TwoHandAnimator:
    """seed: everything follows from it; intrinsics: the camera; period_s: one swing out and back (s)."""

    def __init__(self, seed: int, intrinsics: Intrinsics, period_s: float = DEFAULT_PERIOD_S,
                 noise: bool = True) -> None:
        self.seed, self.intrinsics, self.period_s, self.noise = int(seed), intrinsics, float(period_s), noise
        rng = np.random.default_rng([self.seed, 10])
        self.shape = sample_shape(rng)
        intr = intrinsics
        z = rng.uniform(420.0, 600.0)
        self.middle_mm = unproject_px_to_mm(np.array([rng.uniform(0.45, 0.55) * intr.width,
                                                      rng.uniform(0.4, 0.55) * intr.height, z]), intr)
        self.swing_mm = rng.uniform(110.0, 200.0)             # half the largest distance between the hands
        self.bob_mm = rng.uniform(10.0, 40.0)
        self.left_nearer_mm = rng.uniform(60.0, 120.0) * (1.0 if rng.uniform() < 0.5 else -1.0)
        right0, left0 = self._centres(self.period_s / 4.0)   # mid-swing: the arms' rest direction
        chest, self.right_shoulder, self.left_shoulder = sample_shoulders(rng, right0, left0)
        self.person = sample_person(rng, chest, self.right_shoulder, self.left_shoulder)
        # the fingers' motion repeats with the swing, so a loop of one period replays without a seam
        self._fingers = [HandAnimator(self.seed * 2 + k, intrinsics, period_s=self.period_s, noise=False)
                         for k in (0, 1)]
        rest = hand_geometry(self.shape, self._fingers[0].pose_at(0.0))
        self._rotations = (_lowered_arm(rng, rest, right0, self.right_shoulder),
                           _lowered_arm(rng, mirrored_geometry(rest), left0, self.left_shoulder))
        self._turn_phase = rng.uniform(0.0, 2.0 * np.pi, size=2)

    def _centres(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        phase = 2.0 * np.pi * t_s / self.period_s
        dx = self.swing_mm * np.cos(phase)
        dy = self.bob_mm * np.sin(2.0 * phase)
        right = self.middle_mm + np.array([-dx, dy, 0.0])
        left = self.middle_mm + np.array([dx, -dy, -self.left_nearer_mm])
        return right, left

    def frame(self, t_s: float) -> TwoHandSample:
        """The scene at t_s seconds from the start."""
        right_c, left_c = self._centres(t_s)
        geoms = []
        for k, (centre, mirrored) in enumerate(((right_c, False), (left_c, True))):
            geom = hand_geometry(self.shape, self._fingers[k].pose_at(t_s))
            if mirrored:
                geom = mirrored_geometry(geom)
            turn = rot_axis(np.array([0.0, 1.0, 0.0]),
                            12.0 * np.sin(2.0 * np.pi * t_s / (1.7 * self.period_s) + self._turn_phase[k]))
            geoms.append(placed(geom, turn @ self._rotations[k], centre))
        rng = np.random.default_rng([self.seed, 11, int(round(t_s * 1e6))])
        crossed = bool(right_c[0] > left_c[0])
        return render_people(rng, self.intrinsics, geoms[0], geoms[1], self.person, self.noise,
                             "crossed" if crossed else "apart")


def _lowered_arm(rng: np.random.Generator, geom, centre_mm: np.ndarray, shoulder_mm: np.ndarray,
                 tries: int = 100) -> np.ndarray:
    """An arm rotation (two_hands.arm_rotation) whose forearm also runs downwards in the image from the wrist,
    as when both hands are held up in front of the body for a while."""
    forearm = geom.elbow_mm - geom.joints_mm[0]
    forearm = forearm / np.linalg.norm(forearm)
    rotation = arm_rotation(rng, geom, centre_mm, shoulder_mm)
    for _ in range(tries):
        if (rotation @ forearm)[1] > 0.3:      # y down
            break
        rotation = arm_rotation(rng, geom, centre_mm, shoulder_mm)
    return rotation
