"""Full synthetic depth frames: a posed hand with its forearm entering the frame, background surfaces (table,
torso, wall), distractor objects, partial occluders and RealSense-like noise, at sensor resolution for any
pinhole intrinsics. Imports numpy, cv2 (via noise.py) and app foundation only.

    sample = render_scene(np.random.default_rng(7))          # random intrinsics, noisy 640x480
    sample.depth_raw, sample.joints_xyz_mm, sample.intrinsics

Deterministic: the same generator state gives the same sample. Left hands are right hands rendered with the
mirrored intrinsics and flipped (image columns reversed, joints' x negated) BEFORE the sensor noise, so the
stereo shadow stays on the left of near objects.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.camera import Intrinsics, mm_to_depth_raw, unproject_point
from app.config import Hand, parse_hand
from app.errors import InputError
from app.synth.hand_model import HandGeometry, HandShape, hand_geometry, sample_shape
from app.synth.noise import LABEL_HAND, apply_sensor_noise
from app.synth.poses import sample_pose
from app.synth.raycast import DepthCanvas

LABEL_BACKGROUND = 2
LABEL_OBJECT = 3
FOCAL_RANGE_PX = (380.0, 620.0)  # at 640 px width (hands.md: D435 ~385, SR300 ~475, D415 ~600)


@dataclass(frozen=True)
class SceneConfig:
    """What a scene contains. distance_range_mm: hand centre depth; central_fraction: the hand centre projects
    into this central share of the image width/height; hand: 'right' or 'left'; width/height: image size used
    when intrinsics are randomised; use_pose_bank: draw a share of poses from the natural pose bank."""

    width: int = 640
    height: int = 480
    noise: bool = True
    background: bool = True
    distractors: bool = True
    distance_range_mm: tuple[float, float] = (250.0, 800.0)
    central_fraction: float = 0.6
    hand: Hand = Hand.RIGHT
    use_pose_bank: bool = True
    occluder_probability: float = 0.12

    def __post_init__(self) -> None:
        object.__setattr__(self, "hand", parse_hand(self.hand, "scene: hand"))
        lo, hi = self.distance_range_mm
        if not 100.0 <= lo <= hi:
            raise InputError(f"scene: distance range must satisfy 100 <= near <= far mm, got {lo}-{hi}")
        if self.width < 32 or self.height < 32:
            raise InputError(f"scene: image must be at least 32x32 px, got {self.width}x{self.height}")


@dataclass(frozen=True)
class SceneSample:
    """One rendered frame. depth_raw: H x W uint16 in intrinsics.depth_unit_mm units (0 = invalid);
    joints_xyz_mm: 21 x 3 camera frame (x right, y down, z forward), app.joints order; hand: 'right'/'left';
    clean_depth_raw: the same frame without sensor noise."""

    depth_raw: np.ndarray
    intrinsics: Intrinsics
    joints_xyz_mm: np.ndarray
    hand: str
    clean_depth_raw: np.ndarray


def random_intrinsics(rng: np.random.Generator, width: int = 640, height: int = 480) -> Intrinsics:
    """Focal length 380-620 px at 640 px width (scaled with width), principal point near the centre."""
    f = rng.uniform(*FOCAL_RANGE_PX) * width / 640.0
    return Intrinsics(width, height, f, f * rng.uniform(0.995, 1.005), width / 2.0 + rng.normal(0.0, 0.02 * width),
                      height / 2.0 + rng.normal(0.0, 0.02 * height))


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly distributed rotation matrix (normalised Gaussian quaternion)."""
    q = rng.standard_normal(4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def place_hand(rng: np.random.Generator, geom: HandGeometry, intr: Intrinsics, config: SceneConfig,
               max_tries: int = 50) -> HandGeometry:
    """Rotate (uniformly, but never with the elbow in front of the wrist towards the lens, where the forearm
    hides the hand) and move the hand so that the mean of its joints projects into the central part of the
    image at a depth inside the configured range."""
    centre_h = geom.joints_mm.mean(axis=0)
    forearm_h = geom.elbow_mm - geom.joints_mm[0]
    forearm_h = forearm_h / np.linalg.norm(forearm_h)
    rotation = random_rotation(rng)
    for _ in range(max_tries):
        if (rotation @ forearm_h)[2] > -0.3:
            break
        rotation = random_rotation(rng)
    margin = (1.0 - config.central_fraction) / 2.0
    u = rng.uniform(margin, 1.0 - margin) * intr.width
    v = rng.uniform(margin, 1.0 - margin) * intr.height
    z = rng.uniform(*config.distance_range_mm)
    centre_cam = np.array([*unproject_point(u, v, z, intr), z])
    return geom.transformed(rotation, centre_cam - rotation @ centre_h)


@dataclass(frozen=True)
class Backdrop:
    """Static surroundings of a hand. torso_spheres: 4 x 4 corners (centre, radius) of a rounded slab or None;
    shoulder_mm: where the upper arm from the elbow ends; table/wall: (unit normal, offset mm) of the plane
    normal . X = offset, or None."""

    torso_spheres: np.ndarray | None
    shoulder_mm: np.ndarray | None
    table: tuple[np.ndarray, float] | None
    wall: tuple[np.ndarray, float] | None


def sample_backdrop(rng: np.random.Generator, hand: HandGeometry, torso_probability: float = 0.6,
                    table_probability: float = 0.5, wall_probability: float = 0.7) -> Backdrop:
    """Torso behind the hand, a table below it, a wall far behind (each with some probability), placed so that
    none of them cuts the hand."""
    centres, radii = hand.spheres[:, :3], hand.spheres[:, 3]
    far_z = float(np.max(centres[:, 2] + radii))
    hand_c = hand.joints_mm.mean(axis=0)
    torso = shoulder = table = wall = None
    if rng.uniform() < torso_probability:
        # A rounded slab ~360 x 550 mm behind hand and elbow; the upper arm joins the elbow to a shoulder.
        z_t = max(far_z, float(hand.elbow_mm[2]) + 60.0) + rng.uniform(120.0, 450.0)
        cx = hand_c[0] + rng.uniform(-250.0, 250.0)
        top = hand_c[1] + rng.uniform(-150.0, 200.0)
        corners = np.array([[cx - 150, top, z_t], [cx + 150, top, z_t], [cx + 170, top + 550, z_t + 30],
                            [cx - 170, top + 550, z_t + 30]])
        torso = np.concatenate([corners, np.full((4, 1), rng.uniform(70.0, 110.0))], axis=1)
        side = 0 if abs(hand.elbow_mm[0] - corners[0, 0]) < abs(hand.elbow_mm[0] - corners[1, 0]) else 1
        shoulder = corners[side] + np.array([0.0, 40.0, -20.0])
    else:
        shoulder = _free_shoulder(rng, hand)
    if rng.uniform() < table_probability:
        # A plane below everything of the hand, seen from above at 0-60 degrees.
        tilt = np.radians(rng.uniform(0.0, 60.0))
        n_up = np.array([rng.uniform(-0.2, 0.2), -np.cos(tilt), -np.sin(tilt)])
        n_up /= np.linalg.norm(n_up)
        offset = float(np.min(centres @ n_up - radii)) - rng.uniform(15.0, 300.0)
        if offset < 0:  # the camera is above the table
            table = (n_up, offset)
    if rng.uniform() < wall_probability:
        normal = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.4, 0.4), -1.0])
        normal /= np.linalg.norm(normal)
        wall = (normal, float(normal[2]) * (far_z + rng.uniform(300.0, 3000.0)))
    return Backdrop(torso, shoulder, table, wall)


def _free_shoulder(rng: np.random.Generator, hand: HandGeometry) -> np.ndarray:
    """Without a torso the upper arm still continues from the elbow (an arm never ends in mid-air): bent 20-130
    degrees from the forearm line, the candidate pointing most away from the camera (it must not hide the
    hand)."""
    forearm = hand.elbow_mm - hand.joints_mm[0]
    forearm = forearm / np.linalg.norm(forearm)
    best, best_z = forearm, -np.inf
    for _ in range(6):
        side = np.cross(forearm, rng.standard_normal(3))
        side /= np.linalg.norm(side)
        bend = np.radians(rng.uniform(20.0, 130.0))
        direction = np.cos(bend) * forearm + np.sin(bend) * side
        if direction[2] > best_z:
            best, best_z = direction, direction[2]
    return hand.elbow_mm + best * rng.uniform(260.0, 320.0)


def cast_torso(canvas: DepthCanvas, torso_spheres: np.ndarray) -> None:
    """A rounded slab from its 4 x 4 corners (centre mm, radius mm), labelled background."""
    canvas.sphere_mesh(torso_spheres, np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]]),
                       np.array([[0, 1, 2], [0, 2, 3]]), LABEL_BACKGROUND)


def cast_upper_arm(canvas: DepthCanvas, hand: HandGeometry, shoulder_mm: np.ndarray) -> None:
    """The upper arm from the hand's elbow to the shoulder. It is part of the person, labelled as background
    (only the hand counts as skin for the noise)."""
    elbow_radius = float(hand.spheres[-1, 3]) + 2.0
    arm = np.array([[*hand.elbow_mm, elbow_radius], [*shoulder_mm, 1.5 * elbow_radius]])
    canvas.sphere_mesh(arm, np.array([[0, 1]]), np.zeros((0, 3), np.int64), LABEL_BACKGROUND)


def cast_backdrop(canvas: DepthCanvas, backdrop: Backdrop, hand: HandGeometry) -> None:
    """Cast the backdrop (and the upper arm from the hand's elbow to the shoulder) into the canvas."""
    if backdrop.torso_spheres is not None:
        cast_torso(canvas, backdrop.torso_spheres)
    cast_upper_arm(canvas, hand, backdrop.shoulder_mm)
    if backdrop.table is not None:
        canvas.plane(backdrop.table[0], backdrop.table[1], LABEL_BACKGROUND, max_depth_mm=8000.0)
    if backdrop.wall is not None:
        canvas.plane(backdrop.wall[0], backdrop.wall[1], LABEL_BACKGROUND, max_depth_mm=10000.0)


def _hand_window(canvas: DepthCanvas, hand: HandGeometry) -> tuple[float, float, float, float, float]:
    """(u0, u1, v0, v1, near_z) of the hand's spheres (forearm included)."""
    win = canvas.sphere_windows(hand.spheres[:-4])  # the elbow-end forearm spheres are left out
    return (float(win[:, 0].min()), float(win[:, 1].max()), float(win[:, 2].min()), float(win[:, 3].max()),
            float(np.min(hand.spheres[:, 2] - hand.spheres[:, 3])))


def _cast_object(rng: np.random.Generator, canvas: DepthCanvas, centre: np.ndarray, size: float) -> None:
    kind = rng.integers(3)
    if kind == 0:
        canvas.box(centre, random_rotation(rng), rng.uniform(0.3, 1.0, 3) * size, LABEL_OBJECT)
    elif kind == 1:
        canvas.spheres(np.array([[*centre, size]]), LABEL_OBJECT)
    else:
        axis = rng.standard_normal(3)
        axis = axis / np.linalg.norm(axis) * size * rng.uniform(0.5, 2.0)
        canvas.cylinder(centre - axis, centre + axis, size * rng.uniform(0.3, 0.8), LABEL_OBJECT)


def _add_objects(rng: np.random.Generator, canvas: DepthCanvas, hand: HandGeometry,
                 occluder_probability: float) -> None:
    """Distractors that stay clear of the hand, and sometimes one small object partly in front of it."""
    intr = canvas.intr
    u0, u1, v0, v1, near_z = _hand_window(canvas, hand)
    for _ in range(int(rng.integers(0, 4))):
        size = rng.uniform(25.0, 200.0)
        z = rng.uniform(300.0, 2500.0)
        u, v = rng.uniform(0, intr.width), rng.uniform(0, intr.height)
        centre = np.array([*unproject_point(u, v, z, intr), z])
        r_px = 1.8 * size * intr.fx / max(z - size, 50.0)
        overlaps = u + r_px > u0 and u - r_px < u1 and v + r_px > v0 and v - r_px < v1
        clear = np.min(np.linalg.norm(hand.spheres[:, :3] - centre, axis=1) - hand.spheres[:, 3]) > 1.8 * size + 20
        if clear and (not overlaps or z - 1.8 * size > near_z + 150.0):
            _cast_object(rng, canvas, centre, size)
    if rng.uniform() < occluder_probability:
        # A small object between camera and hand, offset sideways so that it covers part of the hand only.
        centre_h = hand.joints_mm.mean(axis=0)
        size = rng.uniform(12.0, 35.0)
        angle = rng.uniform(0, 2 * np.pi)
        offset = rng.uniform(45.0, 90.0)
        centre = centre_h + np.array([offset * np.cos(angle), offset * np.sin(angle), 0.0])
        centre[2] = near_z - rng.uniform(2.0 * size + 10.0, 150.0)
        if centre[2] > 120.0:
            _cast_object(rng, canvas, centre, size)


def render_scene(rng: np.random.Generator, intrinsics: Intrinsics | None = None,
                 config: SceneConfig = SceneConfig()) -> SceneSample:
    """Render one random scene (intrinsics None = randomised at config.width x config.height)."""
    intr = intrinsics if intrinsics is not None else random_intrinsics(rng, config.width, config.height)
    shape: HandShape = sample_shape(rng)
    pose = sample_pose(rng, use_bank=config.use_pose_bank)
    # A left hand is a right hand seen through the mirrored camera, flipped afterwards (finish_frame).
    render_intr = intr.mirrored() if config.hand == Hand.LEFT else intr
    hand = place_hand(rng, hand_geometry(shape, pose), render_intr, config)
    canvas = DepthCanvas(render_intr)
    canvas.sphere_mesh(hand.spheres, hand.cones, hand.triangles, LABEL_HAND)
    if config.background:
        cast_backdrop(canvas, sample_backdrop(rng, hand), hand)
    if config.distractors:
        _add_objects(rng, canvas, hand, config.occluder_probability)
    return finish_frame(rng, canvas, hand, intr, config.hand, config.noise)


def finish_frame(rng: np.random.Generator, canvas: DepthCanvas, hand: HandGeometry, intr: Intrinsics,
                 handedness: str, noise: bool) -> SceneSample:
    """Canvas (rendered with intr, or with intr.mirrored() for a left hand) -> SceneSample: flip for a left
    hand, quantise, add sensor noise."""
    depth, label, joints = canvas.depth, canvas.label, hand.joints_mm.copy()
    if handedness == Hand.LEFT:
        depth, label = depth[:, ::-1], label[:, ::-1]
        joints[:, 0] = -joints[:, 0]
    raw, clean_raw = sensor_frame(rng, depth, label, intr, noise)
    return SceneSample(raw, intr, joints, handedness, clean_raw)


def sensor_frame(rng: np.random.Generator, depth_mm: np.ndarray, label: np.ndarray, intr: Intrinsics,
                 noise: bool) -> tuple[np.ndarray, np.ndarray]:
    """A cast canvas's depth (mm, inf = nothing) and labels -> (raw, clean raw): uint16 depth units with and
    without the sensor noise (noise False: the same frame twice)."""
    clean = np.where(depth_mm < np.inf, depth_mm, np.float32(0.0))
    clean_raw = mm_to_depth_raw(clean, intr)
    raw = apply_sensor_noise(clean, label, intr, rng) if noise else clean_raw.copy()
    return raw, clean_raw
