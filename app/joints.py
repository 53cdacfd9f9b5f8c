"""The project's 21-joint hand layout (MediaPipe order) and mappings to public dataset layouts.

Imports nothing but numpy. Joint ids, names, bones and finger colours live here and nowhere else.
"""
from __future__ import annotations

import numpy as np

LAYOUT_NAME = "mediapipe21"

JOINT_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}

FINGER_NAMES: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")
# Joint ids of each finger from its first joint to its tip (the wrist is the root of all five).
FINGER_JOINTS: tuple[tuple[int, int, int, int], ...] = (
    (1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20),
)
TIP_JOINTS: tuple[int, ...] = tuple(f[-1] for f in FINGER_JOINTS)

# Bones as (parent, child) joint ids: wrist -> each finger's first joint, then along each finger.
BONES: tuple[tuple[int, int], ...] = tuple(
    pair for finger in FINGER_JOINTS for pair in zip((0,) + finger[:-1], finger)
)

# Which finger each joint belongs to (-1 for the wrist): used to colour bones and joints.
JOINT_FINGER: tuple[int, ...] = (-1,) + tuple(f for f in range(5) for _ in range(4))

# RGB colours, one per finger, and one for the wrist/palm.
FINGER_COLOURS_RGB: tuple[tuple[int, int, int], ...] = (
    (230, 80, 80), (240, 190, 40), (80, 200, 90), (60, 160, 240), (190, 100, 230),
)
WRIST_COLOUR_RGB = (220, 220, 220)


# Each hand's colour scheme where several hands are drawn: the right hand in the finger colours above, the left
# hand in the same hues made pale (blended this far towards white). The two differ in lightness, not only in
# hue, so they stay apart for colour-blind eyes too.
LEFT_HAND_PALE = 0.5


def _pale(rgb: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    return tuple(int(round(c + amount * (255 - c))) for c in rgb)


def finger_colours_rgb(hand: str = "right") -> tuple[tuple[int, int, int], ...]:
    """The five finger colours of a hand's scheme ('right': FINGER_COLOURS_RGB; 'left': the same, pale)."""
    return FINGER_COLOURS_RGB if hand != "left" else tuple(_pale(c, LEFT_HAND_PALE) for c in FINGER_COLOURS_RGB)


def joint_colour_rgb(joint_id: int, hand: str = "right") -> tuple[int, int, int]:
    """A joint's colour (its finger's; the wrist's for the wrist) in a hand's scheme."""
    finger = JOINT_FINGER[joint_id]
    if finger >= 0:
        return finger_colours_rgb(hand)[finger]
    return WRIST_COLOUR_RGB if hand != "left" else _pale(WRIST_COLOUR_RGB, LEFT_HAND_PALE)


def bone_colour_rgb(bone: tuple[int, int], hand: str = "right") -> tuple[int, int, int]:
    return joint_colour_rgb(bone[1], hand)


# ---- mappings: for each project joint, the index of the source layout's joint -------------------------------
# HANDS2017 / BigHand2.2M: Wrist, TMCP, IMCP, MMCP, RMCP, PMCP, TPIP, TDIP, TTIP, IPIP, IDIP, ITIP, MPIP, MDIP,
# MTIP, RPIP, RDIP, RTIP, PPIP, PDIP, PTIP. Exact (thumb TMCP/TPIP/TDIP are CMC/MCP/IP).
FROM_HANDS2017 = (0, 1, 6, 7, 8, 2, 9, 10, 11, 3, 12, 13, 14, 4, 15, 16, 17, 5, 18, 19, 20)
# MSRA: wrist, then index, middle, ring, little, thumb x (MCP, PIP, DIP, TIP). Exact up to labelling convention.
FROM_MSRA = (0, 17, 18, 19, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)

# ICVL (16): palm, then thumb, index, middle, ring, pinky x (root, mid, tip). APPROXIMATE: ICVL has no DIP joints
# and its "palm" is a palm point, not the wrist. Project joints without a counterpart map to -1.
ICVL_NAMES = ("palm",) + tuple(f"{f}_{s}" for f in FINGER_NAMES for s in ("root", "mid", "tip"))
TO_ICVL_APPROX = (0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 16, 17, 18, 20)  # ICVL joint i ~ project joint
# NYU 14-joint evaluation subset. APPROXIMATE: NYU labels two wrist sides and a palm point; tips and
# "middle" (~PIP) joints correspond to project joints. -1: no counterpart.
NYU14_NAMES = (
    "pinky_tip", "pinky_middle", "ring_tip", "ring_middle", "middle_tip", "middle_middle", "index_tip",
    "index_middle", "thumb_tip", "thumb_distal", "thumb_proximal", "wrist_a", "wrist_b", "palm_centre",
)
NYU14_ORIGINAL_INDICES = (0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32)
TO_NYU14_APPROX = (20, 18, 16, 14, 12, 10, 8, 6, 4, 3, 2, -1, -1, -1)  # NYU joint i ~ project joint


def from_layout(joints: np.ndarray, mapping: tuple[int, ...]) -> np.ndarray:
    """Reorder (..., K, 3) joints of a source layout into the project's 21-joint order."""
    joints = np.asarray(joints)
    if joints.shape[-2] <= max(mapping):
        raise ValueError(f"expected at least {max(mapping) + 1} source joints, got {joints.shape[-2]}")
    return joints[..., list(mapping), :]


def mirror_x(joints_xyz: np.ndarray) -> np.ndarray:
    """Mirror camera-frame joints across the x = 0 plane (left hand <-> right hand)."""
    out = np.array(joints_xyz, dtype=np.float64, copy=True)
    out[..., 0] = -out[..., 0]
    return out
