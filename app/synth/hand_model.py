"""Articulated right hand: anthropometry, joint angles and limits, forward kinematics to the project's 21 joints
and to sphere-mesh primitives (spheres, round-cone sides, sphere-swept triangle facets). Imports numpy only.

Hand frame (right-handed, millimetres): origin at the wrist joint centre, +x radial (towards the thumb), +y distal
(along the middle metacarpal), +z palmar (out of the palm). In this frame a hand with +x, +y, +z as given is a
RIGHT hand; a left hand is made by mirroring the rendered image (see scene.py). Flexion is positive and turns a
segment's +y towards its +z; angles are in degrees everywhere.

Joint positions agree with the geometry: tips are the points of the tip spheres at the end of the finger axis
(on the surface); every other joint is the centre of a sphere of the sphere mesh (inside the finger).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HAND_LENGTH_MEAN_MM = 182.0
HAND_LENGTH_SD_MM = 10.0
HAND_LENGTH_RANGE_MM = (155.0, 210.0)
BONE_JITTER = 0.03
RADIUS_SCALE_RANGE = (0.85, 1.2)

# Segment length / hand length (hands.md, after Buchholz et al. 1992). Thumb rows: metacarpal, proximal, distal.
SEGMENT_FRACTIONS = np.array([
    [0.251, 0.196, 0.158, 0.000],   # thumb: CMC->MCP, MCP->IP, IP->tip (no middle phalanx)
    [0.374, 0.265, 0.143, 0.097],   # index: metacarpal, proximal, middle, distal (to tip)
    [0.373, 0.277, 0.170, 0.108],   # middle
    [0.336, 0.259, 0.165, 0.107],   # ring
    [0.295, 0.206, 0.117, 0.093],   # little
])
# Finger radii (mm) at MCP/PIP/DIP/tip (thumb: CMC/MCP/IP/tip).
FINGER_RADII_MM = np.array([
    [12.5, 11.2, 10.0, 9.0],
    [10.6, 9.7, 8.6, 7.8],
    [10.9, 10.0, 8.8, 7.9],
    [10.2, 9.4, 8.3, 7.5],
    [9.2, 8.4, 7.5, 6.8],
])
# Carpal part of the wrist->MCP distance as a fraction of hand length: the middle finger's joint-to-joint
# lengths add up to 0.928 HL, the remaining 0.072 HL lies between the wrist centre and the CMC joints.
CARPAL_FRACTION = 0.072
# MCP joint x offsets (fraction of HL, radial positive) and rest splay (deg, positive = towards ulnar).
MCP_X_FRACTION = np.array([0.135, 0.022, -0.080, -0.170])
REST_SPLAY_DEG = np.array([-7.0, -1.0, 5.0, 12.0])
# Thumb CMC joint (fraction of HL) and its rest direction / flexion direction in the hand frame.
THUMB_CMC_FRACTION = np.array([0.105, 0.115, 0.060])
THUMB_REST_DIR = np.array([0.59, 0.76, 0.26])
THUMB_REST_FLEX_DIR = np.array([-0.72, 0.0, 0.70])
# Thumb pronation coupled to CMC motion (deg per deg): turns the pad towards the fingers in opposition.
THUMB_PRONATION_PER_FLEX = 0.45
THUMB_PRONATION_PER_ABD = 0.35

DOF_NAMES: tuple[str, ...] = (
    "wrist_flex", "wrist_dev",
    "thumb_cmc_flex", "thumb_cmc_abd", "thumb_mcp_flex", "thumb_mcp_abd", "thumb_ip_flex",
) + tuple(f"{f}_{d}" for f in ("index", "middle", "ring", "pinky") for d in ("mcp_flex", "mcp_abd", "pip_flex",
                                                                            "dip_flex"))
NUM_DOFS = len(DOF_NAMES)
DOF_INDEX = {name: i for i, name in enumerate(DOF_NAMES)}

# Joint limits (deg, hands.md). Abduction: positive = away from the middle finger (middle: towards radial).
LIMITS_DEG = np.array([
    [-60, 70], [-20, 30],
    [-20, 70], [-15, 70], [-10, 60], [-10, 10], [-20, 80],
    [-25, 90], [-15, 20], [-5, 110], [-10, 90],
    [-25, 90], [-10, 10], [-5, 110], [-10, 90],
    [-25, 90], [-12, 15], [-5, 110], [-10, 90],
    [-25, 90], [-15, 25], [-5, 110], [-10, 90],
], dtype=np.float64)
DIP_PIP_RATIO = 2.0 / 3.0
DIP_COUPLING_TOLERANCE_DEG = 8.0
# At full MCP flexion the abduction range shrinks to this fraction.
ABDUCTION_AT_FULL_FLEXION = 0.4
# Sign that turns "positive = away from the middle finger" into a rotation about the segment's z axis.
ABDUCTION_SIGN = np.array([-1.0, -1.0, 1.0, 1.0])


def finger_dofs(finger: int) -> tuple[int, int, int, int]:
    """DOF indices (mcp_flex, mcp_abd, pip_flex, dip_flex) of finger 1..4 (index..pinky)."""
    base = 7 + 4 * (finger - 1)
    return base, base + 1, base + 2, base + 3


def clamp_pose(pose_deg: np.ndarray) -> np.ndarray:
    """Clip (..., NUM_DOFS) angles to the limits, shrink abduction with MCP flexion and couple DIP to PIP."""
    p = np.clip(np.asarray(pose_deg, dtype=np.float64), LIMITS_DEG[:, 0], LIMITS_DEG[:, 1])
    for finger in range(1, 5):
        mf, ma, pip, dip = finger_dofs(finger)
        scale = 1.0 - (1.0 - ABDUCTION_AT_FULL_FLEXION) * np.clip(p[..., mf] / 90.0, 0.0, 1.0)
        p[..., ma] = np.clip(p[..., ma], LIMITS_DEG[ma, 0] * scale, LIMITS_DEG[ma, 1] * scale)
        centre = DIP_PIP_RATIO * p[..., pip]
        p[..., dip] = np.clip(p[..., dip], centre - DIP_COUPLING_TOLERANCE_DEG, centre + DIP_COUPLING_TOLERANCE_DEG)
        p[..., dip] = np.clip(p[..., dip], LIMITS_DEG[dip, 0], LIMITS_DEG[dip, 1])
    return p


def within_limits(pose_deg: np.ndarray, tol_deg: float = 1e-6) -> bool:
    """True when the pose satisfies clamp_pose's constraints (limits, shrinking abduction, DIP coupling)."""
    p = np.asarray(pose_deg, dtype=np.float64)
    return bool(np.all(np.abs(clamp_pose(p) - p) <= tol_deg))


@dataclass(frozen=True)
class HandShape:
    """One person's hand. segments_mm: 5 x 4 joint-to-joint lengths (thumb: CMC->MCP, MCP->IP, IP->tip, 0;
    fingers: metacarpal, proximal, middle, distal-to-tip); radii_mm: 5 x 4 at the four joints of each finger;
    forearm_length_mm: wrist to elbow."""

    hand_length_mm: float
    segments_mm: np.ndarray
    radii_mm: np.ndarray
    radius_scale: float
    palm_half_thickness_mm: float
    forearm_length_mm: float


def default_shape(hand_length_mm: float = HAND_LENGTH_MEAN_MM) -> HandShape:
    """The average hand scaled to a given length, no per-bone variation."""
    return HandShape(hand_length_mm, SEGMENT_FRACTIONS * hand_length_mm, FINGER_RADII_MM.copy(), 1.0, 12.5,
                     1.45 * hand_length_mm)


def sample_shape(rng: np.random.Generator) -> HandShape:
    """Random adult hand: length N(182, 10) clipped to 155-210 mm, +-3 % per bone, radius scale 0.85-1.2."""
    length = float(np.clip(rng.normal(HAND_LENGTH_MEAN_MM, HAND_LENGTH_SD_MM), *HAND_LENGTH_RANGE_MM))
    jitter = rng.uniform(1.0 - BONE_JITTER, 1.0 + BONE_JITTER, size=SEGMENT_FRACTIONS.shape)
    radius_scale = float(rng.uniform(*RADIUS_SCALE_RANGE))
    # Radii follow hand size a little (bigger hands have thicker fingers) on top of the free radius scale.
    radii = FINGER_RADII_MM * radius_scale * (length / HAND_LENGTH_MEAN_MM) ** 0.5
    return HandShape(length, SEGMENT_FRACTIONS * length * jitter, radii, radius_scale,
                     float(rng.uniform(11.0, 14.0)) * radius_scale ** 0.5, float(rng.uniform(1.35, 1.55) * length))


def rot_x(deg) -> np.ndarray:
    """Rotation about x by deg; deg may be an array (result ... x 3 x 3)."""
    a = np.radians(np.asarray(deg, dtype=np.float64))
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def rot_z(deg) -> np.ndarray:
    """Rotation about z by deg; deg may be an array (result ... x 3 x 3)."""
    a = np.radians(np.asarray(deg, dtype=np.float64))
    c, s, o, z = np.cos(a), np.sin(a), np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def rot_axis(axis: np.ndarray, deg) -> np.ndarray:
    """Rotation by deg about axis (Rodrigues); axis ... x 3 and deg ... may be batched."""
    k = np.asarray(axis, dtype=np.float64)
    k = k / np.linalg.norm(k, axis=-1, keepdims=True)
    zero = np.zeros(k.shape[:-1])
    kx = np.stack([np.stack([zero, -k[..., 2], k[..., 1]], -1), np.stack([k[..., 2], zero, -k[..., 0]], -1),
                   np.stack([-k[..., 1], k[..., 0], zero], -1)], -2)
    a = np.radians(np.asarray(deg, dtype=np.float64))[..., None, None]
    return np.eye(3) + np.sin(a) * kx + (1.0 - np.cos(a)) * (kx @ kx)


def _frame_from(y_dir: np.ndarray, z_hint: np.ndarray) -> np.ndarray:
    """Rotation whose columns are (x, y, z) with y along y_dir and z as close as possible to z_hint."""
    y = y_dir / np.linalg.norm(y_dir)
    z = z_hint - (z_hint @ y) * y
    z /= np.linalg.norm(z)
    return np.stack([np.cross(y, z), y, z], axis=1)


THUMB_REST_FRAME = _frame_from(THUMB_REST_DIR, THUMB_REST_FLEX_DIR)


def thumb_cmc_rotation(cmc_flex, cmc_abd) -> np.ndarray:
    """Hand-frame orientation of the thumb metacarpal: flexion sweeps it across the palm (about the palm normal),
    palmar abduction lifts it out of the palm plane, and coupled pronation turns the pad towards the fingers.
    Angles may be arrays (result ... x 3 x 3)."""
    r_flex = rot_z(cmc_flex)
    d = r_flex @ THUMB_REST_FRAME[:, 1]
    abd_axis = np.cross(d, np.array([0.0, 0.0, 1.0]))
    r_abd = rot_axis(abd_axis, cmc_abd)
    d2 = (r_abd @ d[..., None])[..., 0]
    pron = THUMB_PRONATION_PER_FLEX * np.asarray(cmc_flex) + THUMB_PRONATION_PER_ABD * np.asarray(cmc_abd)
    return rot_axis(d2, -pron) @ r_abd @ r_flex @ THUMB_REST_FRAME


def thumb_rotations(thumb_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hand-frame orientations (metacarpal, proximal, distal) for ... x 5 thumb angles (cmc_flex, cmc_abd,
    mcp_flex, mcp_abd, ip_flex); each segment points along its +y and flexes towards its +z."""
    t = np.asarray(thumb_deg, dtype=np.float64)
    meta = thumb_cmc_rotation(t[..., 0], t[..., 1])
    prox = meta @ rot_z(-t[..., 3]) @ rot_x(t[..., 2])
    return meta, prox, prox @ rot_x(t[..., 4])


@dataclass(frozen=True)
class HandGeometry:
    """Kinematics result in one frame (hand frame or camera frame, mm).

    joints_mm: 21 x 3 (app.joints order); spheres: N x 4 (centre, radius); cones: M x 2 sphere indices joined by
    a round cone (convex hull of the two spheres); triangles: K x 3 sphere indices whose convex hull is a
    sphere-swept triangle; forearm_axis: unit vector wrist -> elbow; elbow_mm: elbow centre."""

    joints_mm: np.ndarray
    spheres: np.ndarray
    cones: np.ndarray
    triangles: np.ndarray
    elbow_mm: np.ndarray

    def transformed(self, rotation: np.ndarray, translation_mm: np.ndarray) -> "HandGeometry":
        """p -> rotation @ p + translation for every point (radii unchanged)."""
        spheres = self.spheres.copy()
        spheres[:, :3] = spheres[:, :3] @ rotation.T + translation_mm
        return HandGeometry(self.joints_mm @ rotation.T + translation_mm, spheres, self.cones, self.triangles,
                            rotation @ self.elbow_mm + translation_mm)


class _MeshBuilder:
    """Collects spheres and the cones/triangles that join them."""

    def __init__(self) -> None:
        self.spheres: list[tuple[float, float, float, float]] = []
        self.cones: list[tuple[int, int]] = []
        self.triangles: list[tuple[int, int, int]] = []

    def sphere(self, centre: np.ndarray, radius: float) -> int:
        self.spheres.append((float(centre[0]), float(centre[1]), float(centre[2]), float(radius)))
        return len(self.spheres) - 1

    def chain(self, ids: list[int]) -> None:
        self.cones.extend(zip(ids[:-1], ids[1:]))

    def triangle(self, a: int, b: int, c: int) -> None:
        self.triangles.append((a, b, c))
        # Edges of a sphere-swept triangle are round cones; shared edges are kept once.
        for e in ((a, b), (b, c), (c, a)):
            if e not in self.cones and e[::-1] not in self.cones:
                self.cones.append(e)


def mcp_position(shape: HandShape, finger: int) -> np.ndarray:
    """Hand-frame MCP joint centre of finger 1..4: wrist->MCP reach is the metacarpal plus a carpal part that is
    longest for the middle finger."""
    hl = shape.hand_length_mm
    x = MCP_X_FRACTION[finger - 1] * hl
    reach = shape.segments_mm[finger, 0] + CARPAL_FRACTION * hl * (1.0 - 0.25 * (finger - 2) ** 2 / 4.0)
    return np.array([x, np.sqrt(max(reach ** 2 - x ** 2, 1.0)), 0.0])


def finger_chain(shape: HandShape, finger: int, pose_deg: np.ndarray) -> tuple[np.ndarray, ...]:
    """Hand-frame (MCP, PIP, DIP, tip-sphere centre, tip) of finger 1..4 (index..pinky)."""
    seg, rad = shape.segments_mm, shape.radii_mm
    mf, ma, pip, dip = (float(pose_deg[i]) for i in finger_dofs(finger))
    mcp = mcp_position(shape, finger)
    r = rot_z(REST_SPLAY_DEG[finger - 1]) @ rot_z(ABDUCTION_SIGN[finger - 1] * ma) @ rot_x(mf)
    pip_pos = mcp + r[:, 1] * seg[finger, 1]
    r = r @ rot_x(pip)
    dip_pos = pip_pos + r[:, 1] * seg[finger, 2]
    axis = (r @ rot_x(dip))[:, 1]
    return mcp, pip_pos, dip_pos, dip_pos + axis * (seg[finger, 3] - rad[finger, 3]), dip_pos + axis * seg[finger, 3]


def thumb_chain(shape: HandShape, pose_deg: np.ndarray) -> tuple[np.ndarray, ...]:
    """Hand-frame (CMC, MCP, IP, tip-sphere centre, tip) of the thumb."""
    seg, rad = shape.segments_mm, shape.radii_mm
    meta, prox, dist = thumb_rotations(np.asarray(pose_deg, dtype=np.float64)[2:7])
    cmc = THUMB_CMC_FRACTION * shape.hand_length_mm
    mcp = cmc + meta[:, 1] * seg[0, 0]
    ip = mcp + prox[:, 1] * seg[0, 1]
    axis = dist[:, 1]
    return cmc, mcp, ip, ip + axis * (seg[0, 2] - rad[0, 3]), ip + axis * seg[0, 2]


def hand_geometry(shape: HandShape, pose_deg: np.ndarray) -> HandGeometry:
    """Forward kinematics in the hand frame: the 21 joints and the sphere mesh of hand, palm and forearm."""
    p = np.asarray(pose_deg, dtype=np.float64)
    hl = shape.hand_length_mm
    rad = shape.radii_mm
    mesh = _MeshBuilder()
    joints = np.zeros((21, 3))

    # ---- fingers ----
    mcp_ids, mcp_pos = [], []
    for finger in range(1, 5):
        mcp, pip_pos, dip_pos, tip_centre, tip = finger_chain(shape, finger, p)
        joints[4 * finger + 1: 4 * finger + 5] = (mcp, pip_pos, dip_pos, tip)
        ids = [mesh.sphere(mcp, rad[finger, 0]), mesh.sphere(pip_pos, rad[finger, 1]),
               mesh.sphere(dip_pos, rad[finger, 2]), mesh.sphere(tip_centre, rad[finger, 3])]
        mesh.chain(ids)
        mcp_ids.append(ids[0])
        mcp_pos.append(mcp)

    # ---- thumb ----
    cmc, mcp, ip, tip_centre, tip = thumb_chain(shape, p)
    joints[1:5] = (cmc, mcp, ip, tip)
    thumb_ids = [mesh.sphere(cmc, rad[0, 0]), mesh.sphere(mcp, rad[0, 1]), mesh.sphere(ip, rad[0, 2]),
                 mesh.sphere(tip_centre, rad[0, 3])]
    mesh.chain(thumb_ids[1:])

    # ---- palm: a fan of sphere-swept triangles around a thicker, slightly palmar centre ----
    t = shape.palm_half_thickness_mm
    s = shape.radius_scale
    # The heel of the hand is thicker than the middle of the palm and as thick as the wrist.
    wrist_r = mesh.sphere(np.array([0.11 * hl, 0.03 * hl, 0.05 * t]), 1.15 * t)
    wrist_u = mesh.sphere(np.array([-0.115 * hl, 0.03 * hl, 0.05 * t]), 1.1 * t)
    centre = mesh.sphere(np.array([-0.01 * hl, 0.25 * hl, 0.15 * t]), t)
    rim = [wrist_r] + mcp_ids + [wrist_u]
    for a, b in zip(rim, rim[1:] + rim[:1]):
        mesh.triangle(a, b, centre)
    # Thenar mass: the thumb metacarpal swept towards the palm centre and the radial wrist.
    mesh.triangle(thumb_ids[0], thumb_ids[1], centre)
    mesh.triangle(thumb_ids[0], wrist_r, centre)
    # Web between thumb and index: thin, from halfway up the thumb's proximal phalanx to the index MCP.
    web_thumb = mesh.sphere(0.6 * mcp + 0.4 * ip, 0.55 * rad[0, 2])
    web_index = mesh.sphere(mcp_pos[0] + np.array([0.0, -0.06 * hl, 0.0]), 0.6 * rad[1, 0])
    mesh.triangle(thumb_ids[1], web_thumb, web_index)
    mesh.triangle(thumb_ids[1], web_index, centre)
    # Hypothenar: a thicker ulnar palm edge.
    hypo = mesh.sphere(np.array([-0.15 * hl, 0.17 * hl, 0.25 * t]), 0.95 * t)
    mesh.triangle(wrist_u, hypo, centre)
    mesh.triangle(hypo, mcp_ids[3], centre)

    # ---- forearm: a flattened slab (about 58 x 31 mm at the wrist) widening towards the elbow ----
    r_wrist = rot_z(p[1]) @ rot_x(p[0])          # hand frame relative to the forearm frame
    fa = r_wrist.T                                # forearm frame axes expressed in the hand frame
    length = shape.forearm_length_mm
    wrist_half = 13.5 * s ** 0.5
    wrist_r_arm = 15.0 * s ** 0.5
    elbow_half, elbow_r = 14.0 * s ** 0.5, 29.0 * s ** 0.5
    fw_r = mesh.sphere(fa @ np.array([wrist_half, -0.04 * hl, 0.0]), wrist_r_arm)
    fw_u = mesh.sphere(fa @ np.array([-wrist_half, -0.04 * hl, 0.0]), wrist_r_arm)
    fe_r = mesh.sphere(fa @ np.array([elbow_half, -length, -3.0]), elbow_r)
    fe_u = mesh.sphere(fa @ np.array([-elbow_half, -length, -3.0]), elbow_r)
    mesh.triangle(fw_r, fw_u, fe_u)
    mesh.triangle(fw_r, fe_u, fe_r)
    elbow = fa @ np.array([0.0, -length, -3.0])

    return HandGeometry(joints, np.array(mesh.spheres), np.array(mesh.cones, dtype=np.int64).reshape(-1, 2),
                        np.array(mesh.triangles, dtype=np.int64).reshape(-1, 3), elbow)
