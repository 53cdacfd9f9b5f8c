"""Animated natural hand motion for the synthetic source: smooth interpolation between sampled poses, slow global
motion that keeps the hand in view at 300-700 mm, a static backdrop, fresh sensor noise per frame.

    animator = HandAnimator(seed=0, intrinsics=intr)
    sample = animator.next_frame(t_s=0.5)        # SceneSample at 0.5 s

Deterministic: a frame depends only on (seed, t_s). With period_s set, the motion repeats exactly every period_s
seconds (keyframes and global motion are periodic), so a rendered loop replays without a seam.
Imports numpy and app foundation only.
"""
from __future__ import annotations

import numpy as np

from app.camera import Intrinsics
from app.config import Hand
from app.errors import InputError
from app.synth.hand_model import HandGeometry, clamp_pose, hand_geometry, rot_axis, sample_shape
from app.synth.noise import LABEL_HAND
from app.synth.poses import sample_bank, sample_synergy, sample_template
from app.synth.raycast import DepthCanvas
from app.synth.scene import SceneSample, cast_backdrop, finish_frame, sample_backdrop
from app.synth import animbank

KEYFRAME_INTERVAL_S = 1.3
DEPTH_RANGE_MM = (300.0, 700.0)


def _natural_pose(rng: np.random.Generator) -> np.ndarray:
    """Keyframe poses: natural bank, templates and synergies (no uniform samples: they look random)."""
    u = rng.uniform()
    if u < 0.4 and animbank.available():
        p = sample_bank(rng)
    elif u < 0.75:
        p = sample_template(rng)
    else:
        p = sample_synergy(rng)
    p[:2] = np.clip(p[:2], -25.0, 25.0)  # keep the wrist calm
    return clamp_pose(p)


class HandAnimator:
    """Smooth synthetic hand motion seen by a fixed camera.

    seed: everything (hand shape, keyframes, motion, backdrop, noise) follows from it; intrinsics: the camera;
    hand: 'right' or 'left'; period_s: None for endless non-repeating motion, else the motion's period (s);
    noise: add sensor noise."""

    def __init__(self, seed: int, intrinsics: Intrinsics, hand: str = "right", period_s: float | None = None,
                 noise: bool = True) -> None:
        if hand not in ("right", "left"):
            raise InputError(f"synthetic hand must be 'right' or 'left', got '{hand}'")
        if period_s is not None and period_s <= 0:
            raise InputError(f"motion period must be positive seconds, got {period_s}")
        self.seed, self.intrinsics, self.hand, self.noise = int(seed), intrinsics, hand, noise
        self.period_s = period_s
        rng = np.random.default_rng([self.seed, 0])
        self.shape = sample_shape(rng)
        if period_s is None:
            self.keyframe_count = None
            self.keyframe_interval_s = KEYFRAME_INTERVAL_S
        else:
            self.keyframe_count = max(2, int(round(period_s / KEYFRAME_INTERVAL_S)))
            self.keyframe_interval_s = period_s / self.keyframe_count
        self._keyframes: dict[int, np.ndarray] = {}
        # Global motion: a few sinusoids per degree of freedom (frequencies multiples of 1/period when periodic).
        base = 1.0 / period_s if period_s is not None else 0.09
        self._freq_hz = base * rng.integers(1, 4, size=(6, 2)).astype(float)
        self._phase = rng.uniform(0.0, 2.0 * np.pi, size=(6, 2))
        self._amp = np.array([[25.0, 10.0], [18.0, 8.0], [20.0, 8.0],      # yaw, pitch, roll (deg)
                              [70.0, 20.0], [50.0, 15.0], [130.0, 40.0]])  # x, y, z (mm)
        self._yaw0 = rng.uniform(-50.0, 50.0)
        self._roll0 = rng.uniform(-25.0, 25.0)
        self._z0 = float(np.mean(DEPTH_RANGE_MM))
        self.backdrop = sample_backdrop(rng, self._placed_hand(0.0), torso_probability=0.7, table_probability=0.5,
                                        wall_probability=0.9)

    # ---- motion ----
    def _keyframe(self, k: int) -> np.ndarray:
        if self.keyframe_count is not None:
            k %= self.keyframe_count
        if k not in self._keyframes:
            self._keyframes[k] = _natural_pose(np.random.default_rng([self.seed, 1, k]))
        return self._keyframes[k]

    def pose_at(self, t_s: float) -> np.ndarray:
        """Joint angles at time t_s: smoothstep between consecutive keyframes."""
        x = t_s / self.keyframe_interval_s
        k = int(np.floor(x))
        u = x - k
        s = u * u * (3.0 - 2.0 * u)
        return clamp_pose((1.0 - s) * self._keyframe(k) + s * self._keyframe(k + 1))

    def _wave(self, t_s: float) -> np.ndarray:
        return np.sum(self._amp * np.sin(2.0 * np.pi * self._freq_hz * t_s + self._phase), axis=1)

    def pose_transform(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(rotation hand frame -> camera, hand centre in mm) at t_s: palm roughly towards the camera, fingers
        up, forearm entering from below, turning and moving slowly."""
        yaw, pitch, roll, dx, dy, dz = self._wave(t_s)
        base = np.stack([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]], axis=1)  # radial +x, distal up
        rotation = (rot_axis(np.array([0.0, 1.0, 0.0]), self._yaw0 + yaw)
                    @ rot_axis(np.array([1.0, 0.0, 0.0]), pitch)
                    @ rot_axis(np.array([0.0, 0.0, 1.0]), self._roll0 + roll) @ base)
        z = float(np.clip(self._z0 + dz, *DEPTH_RANGE_MM))
        centre = np.array([dx * z / 500.0, dy * z / 500.0 - 0.02 * z, z])
        return rotation, centre

    def _placed_hand(self, t_s: float) -> HandGeometry:
        geom = hand_geometry(self.shape, self.pose_at(t_s))
        rotation, centre = self.pose_transform(t_s)
        return geom.transformed(rotation, centre - rotation @ geom.joints_mm.mean(axis=0))

    # ---- frames ----
    def next_frame(self, t_s: float) -> SceneSample:
        """Render the scene at time t_s (seconds from the start of the motion)."""
        if self.period_s is not None:
            t_s = float(t_s) % self.period_s
        hand = self._placed_hand(t_s)
        intr = self.intrinsics.mirrored() if self.hand == Hand.LEFT else self.intrinsics
        canvas = DepthCanvas(intr)
        canvas.sphere_mesh(hand.spheres, hand.cones, hand.triangles, LABEL_HAND)
        cast_backdrop(canvas, self.backdrop, hand)
        rng = np.random.default_rng([self.seed, 2, int(round(t_s * 1e6))])
        return finish_frame(rng, canvas, hand, self.intrinsics, self.hand, self.noise)
