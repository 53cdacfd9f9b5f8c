"""Synthetic frames with both hands: a right hand and a left hand of one person (true mirrored geometry: the left
hand is the right-hand model reflected in its own frame, x -> -x, so its skin, joints and forearm are a left
hand's), each with its forearm and upper arm, in one of four arrangements, with ground truth for each hand.

    sample = render_two_hands(np.random.default_rng(7))
    for hand in sample.hands: hand.hand, hand.joints_xyz_mm      # 'right' / 'left', 21 x 3 camera-frame mm

Arrangements (TWO_HAND_ARRANGEMENTS): 'apart' (150-400 mm between the hand centres, side by side), 'close'
(90-150 mm), 'front' (one hand 60-160 mm in front of the other and overlapping it in the image), 'crossed'
(apart, but each hand on the other's side of the image). Facing the camera, a person's right hand is seen on the
image's left (x < 0); only 'crossed' swaps that. Deterministic for a generator state. Imports numpy and app code
(the renderer's own modules) only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.camera import Intrinsics, project_mm_to_px, unproject_px_to_mm
from app.config import Hand
from app.errors import InputError
from app.synth.hand_model import HandGeometry, hand_geometry, sample_shape
from app.synth.noise import LABEL_HAND
from app.synth.poses import sample_pose
from app.synth.raycast import DepthCanvas
from app.types import HandGroundTruth, readonly
from app.synth.scene import (LABEL_BACKGROUND, cast_torso, cast_upper_arm, random_intrinsics, random_rotation,
                             sensor_frame)

TWO_HAND_ARRANGEMENTS = ("apart", "close", "front", "crossed")
_SEPARATION_MM = {"apart": (150.0, 400.0), "close": (90.0, 150.0), "front": (20.0, 80.0), "crossed": (150.0, 350.0)}
_FRONT_GAP_MM = (60.0, 160.0)   # 'front': depth between the two hands' centres


@dataclass(frozen=True)
class HandTruth:
    """One hand's ground truth: hand 'right' / 'left'; joints_xyz_mm 21 x 3 (camera frame, app.joints order);
    centre_uvz: the mean joint projected (u_px, v_px, z_mm)."""

    hand: Hand
    joints_xyz_mm: np.ndarray
    centre_uvz: tuple[float, float, float]


@dataclass(frozen=True)
class TwoHandSample:
    """One rendered frame: depth_raw H x W uint16 (intrinsics.depth_unit_mm units, 0 = invalid), clean_depth_raw
    the same without sensor noise, hands (right first), arrangement (one of TWO_HAND_ARRANGEMENTS)."""

    depth_raw: np.ndarray
    intrinsics: Intrinsics
    hands: tuple[HandTruth, ...]
    arrangement: str
    clean_depth_raw: np.ndarray = field(repr=False)

    def truth(self, hand: Hand | str) -> HandTruth:
        return next(h for h in self.hands if h.hand == hand)

    def ground_truths(self) -> tuple[HandGroundTruth, ...]:
        """Each hand's ground truth as a DepthFrame carries it (DepthFrame.gt_hands), read-only."""
        return tuple(HandGroundTruth(str(h.hand), readonly(h.joints_xyz_mm)) for h in self.hands)


def mirrored_geometry(geom: HandGeometry) -> HandGeometry:
    """The same hand reflected through the plane x = 0 of its frame: a right hand becomes a left hand (the
    joints keep their names: the left thumb is the mirrored right thumb)."""
    flip = np.array([-1.0, 1.0, 1.0])
    spheres = geom.spheres.copy()
    spheres[:, :3] *= flip
    return HandGeometry(geom.joints_mm * flip, spheres, geom.cones, geom.triangles, geom.elbow_mm * flip)


def _oriented(rng: np.random.Generator, geom: HandGeometry, centre_cam: np.ndarray, shoulder_mm: np.ndarray,
              max_tries: int = 200) -> HandGeometry:
    """Rotate the hand (uniformly, but with the forearm going away from the camera and roughly towards its own
    shoulder, as an arm can) and move its mean joint to centre_cam (mm)."""
    return placed(geom, arm_rotation(rng, geom, centre_cam, shoulder_mm, max_tries), centre_cam)


def placed(geom: HandGeometry, rotation: np.ndarray, centre_cam: np.ndarray) -> HandGeometry:
    """The hand rotated by rotation (hand frame -> camera) with its mean joint at centre_cam (mm)."""
    return geom.transformed(rotation, centre_cam - rotation @ geom.joints_mm.mean(axis=0))


def arm_rotation(rng: np.random.Generator, geom: HandGeometry, centre_cam: np.ndarray, shoulder_mm: np.ndarray,
                 max_tries: int = 200) -> np.ndarray:
    """A uniformly drawn rotation (hand frame -> camera) under which the forearm goes away from the camera and
    roughly towards its own shoulder, as an arm can (the last one drawn if none does within max_tries)."""
    forearm = geom.elbow_mm - geom.joints_mm[0]
    forearm = forearm / np.linalg.norm(forearm)
    to_shoulder = shoulder_mm - centre_cam
    to_shoulder = to_shoulder / np.linalg.norm(to_shoulder)
    rotation = random_rotation(rng)
    for _ in range(max_tries):
        direction = rotation @ forearm
        if direction[2] > 0.1 and np.dot(direction, to_shoulder) > 0.35:
            break
        rotation = random_rotation(rng)
    return rotation


def _hand_centres(rng: np.random.Generator, intr: Intrinsics, arrangement: str,
                  distance_range_mm: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame centres (mm) of the right and the left hand."""
    z = rng.uniform(*distance_range_mm)
    middle = unproject_px_to_mm(np.array([rng.uniform(0.4, 0.6) * intr.width, rng.uniform(0.35, 0.65) * intr.height,
                                          z]), intr)
    separation = rng.uniform(*_SEPARATION_MM[arrangement])
    angle = rng.uniform(-0.35, 0.35)   # the line between the hands, mostly horizontal
    half = 0.5 * separation * np.array([np.cos(angle), np.sin(angle), 0.0])
    right, left = middle - half, middle + half            # facing the camera: the right hand at the image's left
    if arrangement == "crossed":
        right, left = left, right
    if arrangement == "front":
        gap = rng.uniform(*_FRONT_GAP_MM)
        front_is_right = rng.uniform() < 0.5
        right[2] += -gap / 2 if front_is_right else gap / 2
        left[2] += gap / 2 if front_is_right else -gap / 2
    return right, left


def render_two_hands(rng: np.random.Generator, intrinsics: Intrinsics | None = None, arrangement: str | None = None,
                     noise: bool = True, background: bool = True,
                     distance_range_mm: tuple[float, float] = (300.0, 700.0),
                     use_pose_bank: bool = True) -> TwoHandSample:
    """Render both hands of one person (arrangement None: drawn at random). background: a torso the upper arms
    reach (the shoulders ~380 mm apart) and a wall behind; noise: RealSense-like sensor noise."""
    if arrangement is None:
        arrangement = TWO_HAND_ARRANGEMENTS[int(rng.integers(len(TWO_HAND_ARRANGEMENTS)))]
    if arrangement not in TWO_HAND_ARRANGEMENTS:
        raise InputError(f"two-hand scene: arrangement must be one of {', '.join(TWO_HAND_ARRANGEMENTS)}, "
                         f"got '{arrangement}'")
    lo, hi = distance_range_mm
    if not 150.0 <= lo <= hi:
        raise InputError(f"two-hand scene: distance range must satisfy 150 <= near <= far mm, got {lo}-{hi}")
    intr = intrinsics if intrinsics is not None else random_intrinsics(rng)
    shape = sample_shape(rng)   # one person: both hands share the shape
    right_c, left_c = _hand_centres(rng, intr, arrangement, distance_range_mm)
    chest, right_shoulder, left_shoulder = sample_shoulders(rng, right_c, left_c)
    right = _oriented(rng, hand_geometry(shape, sample_pose(rng, use_bank=use_pose_bank)), right_c, right_shoulder)
    left = _oriented(rng, mirrored_geometry(hand_geometry(shape, sample_pose(rng, use_bank=use_pose_bank))), left_c,
                     left_shoulder)
    person = sample_person(rng, chest, right_shoulder, left_shoulder) if background else None
    return render_people(rng, intr, right, left, person, noise, arrangement)


@dataclass(frozen=True)
class Person:
    """The body behind two hands: shoulders (camera-frame mm; facing the camera the right shoulder is at the
    image's left), the torso's corners and thickness (4 x 4: x, y, z, thickness mm), and the wall behind (unit
    normal, offset mm)."""

    right_shoulder: np.ndarray
    left_shoulder: np.ndarray
    torso: np.ndarray
    wall_normal: np.ndarray
    wall_offset_mm: float


def sample_shoulders(rng: np.random.Generator, right_c: np.ndarray,
                     left_c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chest, right shoulder, left shoulder), mm, for hands at right_c and left_c: the shoulders ~380 mm apart,
    behind and below the hands."""
    chest = 0.5 * (right_c + left_c) + np.array([0.0, rng.uniform(80.0, 220.0), rng.uniform(380.0, 600.0)])
    side = np.array([rng.uniform(170.0, 210.0), 0.0, 0.0])
    return chest, chest - side, chest + side


def sample_person(rng: np.random.Generator, chest: np.ndarray, right_shoulder: np.ndarray,
                  left_shoulder: np.ndarray) -> Person:
    """The torso the upper arms reach, and a wall behind it."""
    corners = np.array([chest + [-190.0, -20.0, 40.0], chest + [190.0, -20.0, 40.0],
                        chest + [200.0, 520.0, 70.0], chest + [-200.0, 520.0, 70.0]])
    torso = np.concatenate([corners, np.full((4, 1), rng.uniform(70.0, 110.0))], axis=1)
    normal = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3), -1.0])
    normal /= np.linalg.norm(normal)
    offset = float(normal[2]) * (float(chest[2]) + rng.uniform(400.0, 2500.0))
    return Person(right_shoulder, left_shoulder, torso, normal, offset)


def render_people(rng: np.random.Generator, intr: Intrinsics, right: HandGeometry, left: HandGeometry,
                  person: Person | None, noise: bool, arrangement: str) -> TwoHandSample:
    """Ray-cast two placed hands (and, with person, their upper arms, the torso and the wall) into a frame."""
    canvas = DepthCanvas(intr)
    for geom in (right, left):
        canvas.sphere_mesh(geom.spheres, geom.cones, geom.triangles, LABEL_HAND)
    if person is not None:
        cast_upper_arm(canvas, right, person.right_shoulder)
        cast_upper_arm(canvas, left, person.left_shoulder)
        cast_torso(canvas, person.torso)
        canvas.plane(person.wall_normal, person.wall_offset_mm, LABEL_BACKGROUND, max_depth_mm=10000.0)
    raw, clean_raw = sensor_frame(rng, canvas.depth, canvas.label, intr, noise)
    hands = tuple(HandTruth(h, g.joints_mm.copy(), tuple(float(c) for c in project_mm_to_px(g.joints_mm.mean(axis=0),
                                                                                             intr)))
                  for h, g in ((Hand.RIGHT, right), (Hand.LEFT, left)))
    return TwoHandSample(raw, intr, hands, arrangement, clean_raw)
