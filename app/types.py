"""Data that flows between pipeline stages: frozen dataclasses whose arrays are treated as read-only, so they
cross threads without copies. Every field says its unit and frame. Imports numpy and app foundation only.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from app.camera import Intrinsics, depth_to_mm


def readonly(a: np.ndarray | None) -> np.ndarray | None:
    if a is not None:
        a.setflags(write=False)
    return a


@dataclass(frozen=True)
class CropGeometry:
    """Where a crop sits in the image and in space.

    centre_uvz: hand centre (u_px, v_px, z_mm); cube_mm: side of the metric cube; size_px: S;
    image_to_crop: 3x3 affine matrix, original px -> crop px.
    """

    centre_uvz: tuple[float, float, float]
    cube_mm: float
    size_px: int
    image_to_crop: np.ndarray

    @property
    def crop_to_image(self) -> np.ndarray:
        return np.linalg.inv(self.image_to_crop)

    def box_px(self) -> tuple[float, float, float, float]:
        """The crop square in original pixels: (u_min, v_min, u_max, v_max)."""
        inv = self.crop_to_image
        corners = np.array([[-0.5, -0.5, 1.0], [self.size_px - 0.5, self.size_px - 0.5, 1.0]]).T
        (u0, u1), (v0, v1) = (inv @ corners)[:2]
        return float(u0), float(v0), float(u1), float(v1)


@dataclass(frozen=True)
class HandGroundTruth:
    """One hand's ground truth in a frame: hand 'right' | 'left', joints_xyz_mm 21 x 3 (camera frame, mm)."""

    hand: str
    joints_xyz_mm: np.ndarray


@dataclass(frozen=True)
class DepthFrame:
    """One depth image as delivered by a source.

    index: 0-based position in this run's stream (assigned by the source, gap-free for files);
    frame_number: the device's/recording's own frame counter; timestamp_ms: device clock (ms);
    arrival_s: host time.perf_counter() when the frame reached the capture thread (s);
    depth_raw: H x W uint16 in raw depth units (0 = invalid), mm = raw * intrinsics.depth_unit_mm;
    gt_xyz_mm: 21 x 3 ground-truth joints in camera-frame mm when the source knows them (synthetic, datasets);
    gt_hand: 'right'/'left' when known; gt_hands: the ground truth of every hand in view when a source shows
    several (two-hand synthetic scenes; then gt_xyz_mm and gt_hand are None).
    """

    index: int
    frame_number: int
    timestamp_ms: float
    arrival_s: float
    depth_raw: np.ndarray
    intrinsics: Intrinsics
    gt_xyz_mm: np.ndarray | None = None
    gt_hand: str | None = None
    gt_hands: tuple[HandGroundTruth, ...] = ()

    def depth_mm(self) -> np.ndarray:
        """H x W float32 millimetres (0 = invalid): app.camera.depth_to_mm of depth_raw."""
        return depth_to_mm(self.depth_raw, self.intrinsics)

    def ground_truths(self) -> tuple[HandGroundTruth, ...]:
        """Every hand's ground truth the frame carries (gt_hands, or the one of gt_xyz_mm), else ()."""
        if self.gt_hands:
            return self.gt_hands
        if self.gt_xyz_mm is not None:
            return (HandGroundTruth(self.gt_hand or "right", self.gt_xyz_mm),)
        return ()


class TrackingStatus(str, enum.Enum):
    """Why a frame has (or has no) pose. The value is what files and the JSONL say."""

    TRACKING = "tracking"
    NO_HAND = "no_hand"
    TOO_NEAR = "too_near"
    TOO_FAR = "too_far"
    AT_BORDER = "at_border"
    LOW_CONFIDENCE = "low_confidence"

    @property
    def message(self) -> str:
        return _STATUS_MESSAGES[self]

    @property
    def has_pose(self) -> bool:
        return self in (TrackingStatus.TRACKING, TrackingStatus.AT_BORDER, TrackingStatus.LOW_CONFIDENCE)


_STATUS_MESSAGES = {
    TrackingStatus.TRACKING: "tracking",
    TrackingStatus.NO_HAND: "no hand \u2014 hold one hand up in front of the camera",
    TrackingStatus.TOO_NEAR: "hand too near \u2014 move it away from the camera",
    TrackingStatus.TOO_FAR: "hand too far \u2014 move it closer",
    TrackingStatus.AT_BORDER: "hand at the image border \u2014 move it towards the centre",
    TrackingStatus.LOW_CONFIDENCE: "low confidence",
}


@dataclass(frozen=True)
class HandLocation:
    """Output of hand finding: centre_uvz = (u_px, v_px, z_mm) of the hand centre, or None with a status.
    mask: H x W bool of the pixels segmented as hand (for point clouds), may be None; presence: the probability
    that a hand is centred there (app.tracking.presence), None when not scored (one-hand tracking)."""

    status: TrackingStatus
    centre_uvz: tuple[float, float, float] | None
    mask: np.ndarray | None = None
    presence: float | None = None


@dataclass(frozen=True)
class HandPose:
    """The estimated hand in one frame.

    joints_xyz_mm: J x 3 smoothed joints, camera frame (x right, y down, z forward), mm;
    joints_xyz_raw_mm: J x 3 before smoothing; joints_uv_px: J x 2 of the smoothed joints in image pixels;
    joints_uvd: J x 3 raw network output in normalised crop coordinates (already un-mirrored);
    weights: J x F x F float32 softmax weight maps in crop orientation as shown to the user (un-mirrored);
    confidence: J values in [0, 1] (see tracking/postprocess.py for the definition);
    hand: 'right' or 'left'; joint_names: the layout's names in order;
    offsets: J x 3 x F x F each feature pixel's vote as an offset (du, dv, dd) from the pixel, normalised crop
    units, un-mirrored (app.model_info.OUTPUT_OFFSETS), or None when the model does not output them.
    """

    joints_xyz_mm: np.ndarray
    joints_xyz_raw_mm: np.ndarray
    joints_uv_px: np.ndarray
    joints_uvd: np.ndarray
    weights: np.ndarray
    confidence: np.ndarray
    hand: str
    joint_names: tuple[str, ...]
    offsets: np.ndarray | None = None


STAGES = ("wait", "localise", "crop", "infer", "postprocess", "smooth")


@dataclass(frozen=True)
class StageTimings:
    """Milliseconds per stage. wait: frame arrival -> tracker start; end_to_end: arrival -> result ready."""

    wait: float = 0.0
    localise: float = 0.0
    crop: float = 0.0
    infer: float = 0.0
    postprocess: float = 0.0
    smooth: float = 0.0
    end_to_end: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(getattr(self, k)), 3) for k in STAGES + ("end_to_end",)}


@dataclass(frozen=True)
class TrackedHand:
    """One hand found in a frame.

    hand_id: stable while this hand is tracked from frame to frame (a hand found anew gets a new id; ids start
    at 1; one person's hand that comes back into view, or from behind the other arm, with the side of the hand
    last shown with that side gets that hand's id back, HandednessConfig.one_person); hand: 'right' or 'left'; status: TRACKING, LOW_CONFIDENCE or
    AT_BORDER; location, crop, crop_depth, pose: as in TrackerResult, for this hand (pose None when the status
    has none); confidence: overall confidence in [0, 1] (None without a pose); gt_xyz_mm: 21 x 3 ground truth
    of this hand when the source knows it.
    """

    hand_id: int
    hand: str
    status: TrackingStatus
    location: HandLocation
    crop: CropGeometry | None
    crop_depth: np.ndarray | None
    pose: HandPose | None
    confidence: float | None = None
    gt_xyz_mm: np.ndarray | None = None


@dataclass(frozen=True)
class TrackerResult:
    """A frame paired with its own result, so a skeleton is always drawn on the frame it came from.

    status, location, crop, pose: the primary hand's (the one the weight maps and the joint table show; the
    frame's status when no hand was found); hands: every hand found, the primary one first (empty when none).
    crop_depth: S x S normalised crop that went into the network (None when no hand); pose None unless
    status.has_pose; ready_s: host perf_counter when the result was ready.
    """

    frame: DepthFrame
    status: TrackingStatus
    location: HandLocation
    crop: CropGeometry | None
    crop_depth: np.ndarray | None
    pose: HandPose | None
    timings: StageTimings
    ready_s: float = 0.0
    extra: dict = field(default_factory=dict)
    hands: tuple[TrackedHand, ...] = ()
