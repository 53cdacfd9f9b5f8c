"""Every tracker setting, its default, unit, allowed range and validation rule, defined once here and read by
every consumer: the command line (app/cli.py), the GUI's controls and remembered settings (app/gui), calibration
files (app/camera_calibration.py), training, rendering, export and the benchmarks.

- LocaliserConfig (hand finding), SmoothingConfig (One Euro), HandednessConfig (left or right from the depth)
  and TrackerConfig (everything the tracker needs) are frozen dataclasses: their field defaults are THE
  defaults. TrackerConfig is written as a dict into every recording and JSONL header.
- LIVE_SETTINGS: the settings a user can change while the tracker runs, each with its label, unit, range and
  step (the GUI's fields and the command line's help are built from it); check_setting() is the one range rule.
- TrackerChange: a typed live change, validated once when built (TrackerChange.of), applied with
  TrackerConfig.apply().
- DEFAULT_CUBE_MM: the crop cube that training, rendering and export use; a model carries its own cube in its
  metadata (app/model_info.py) and the tracker uses that unless the user sets cube_mm (effective_cube_mm).

Units are in the names: mm (millimetres, camera frame), px (pixels), hz (Hertz). Imports app foundation only.
"""
from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from app.errors import InputError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_PATH = str(REPO_ROOT / "models" / "awr_lite.onnx")
DEFAULT_PRESENCE_MODEL_PATH = str(REPO_ROOT / "models" / "hand_presence.onnx")
DEFAULT_CUBE_MM = 280.0   # the metric crop cube of training, rendering and the shipped model
PROVIDERS = ("auto", "cuda", "cpu", "tensorrt")
# OpenCV's thread pool, process-wide (cv2.setNumThreads, set by HandTracker): one thread. The tracker's OpenCV
# calls work on small images (the ~160 px wide search image, 128 px crops), where handing work to the pool costs
# more than it saves: one-hand tracking used 5.7-5.9 ms of CPU per frame single-threaded, 7.1-7.4 ms with the
# pool on 2 cores, for about the same wall time; the core it no longer wastes goes to the capture thread, the GUI
# and the stream.
OPENCV_THREADS = 1


class Hand(enum.StrEnum):
    """Which hand: the tracked one, the one a model was trained on, the one a synthetic scene shows."""

    RIGHT = "right"
    LEFT = "left"

    @property
    def other(self) -> "Hand":
        return Hand.LEFT if self is Hand.RIGHT else Hand.RIGHT


HANDS = tuple(h.value for h in Hand)


def parse_hand(value, what: str = "hand") -> Hand:
    """A Hand from 'right' / 'left' (or a Hand); InputError (one line) otherwise."""
    try:
        return Hand(str(value).strip().lower()) if value is not None else Hand.RIGHT
    except ValueError:
        raise InputError(f"{what} must be right or left, got '{value}'") from None


@dataclass(frozen=True)
class Setting:
    """A live-changeable setting: key (the field name everywhere: config, GUI, settings file, calibration file),
    label and help (shown to the user), unit (for display: ' mm', ' Hz', ''), kind (float, bool or Hand),
    minimum / maximum (inclusive; numbers only), step and decimals (the GUI's number field)."""

    key: str
    label: str
    kind: type
    help: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: float = 1.0
    decimals: int = 0


LIVE_SETTINGS: dict[str, Setting] = {s.key: s for s in (
    Setting("hand", "hand", Hand, "the hand tracked alone (--hand), else the side a hand is taken to be until "
            "its own is read from the depth; the crop is mirrored for the model's other hand"),
    Setting("smoothing_enabled", "smoothing (One Euro)", bool, "smooth the joints over time (One Euro filter)"),
    Setting("min_cutoff_hz", "min cutoff", float, "One Euro minimum cutoff: lower = steadier when still, more lag",
            " Hz", 0.01, 30.0, 0.1, 2),
    Setting("beta", "beta", float, "One Euro speed coefficient (1/mm): higher = less lag in fast moves",
            "", 0.0, 2.0, 0.005, 4),
    Setting("d_cutoff_hz", "derivative cutoff", float, "One Euro cutoff of the speed estimate", " Hz",
            0.1, 30.0, 0.5, 1),
    Setting("near_mm", "near", float, "nearest depth where a hand is looked for", " mm", 0.0, 3000.0, 10.0, 0),
    Setting("far_mm", "far", float, "farthest depth where a hand is looked for", " mm", 100.0, 5000.0, 10.0, 0),
    Setting("cube_mm", "cube", float, "side of the metric crop cube around the hand (default: the model's)",
            " mm", 100.0, 500.0, 10.0, 0),
    Setting("recentre", "re-centre", bool, "second network pass on a crop re-centred on the first pass's joints"),
    Setting("recentre_min_mm", "re-centre beyond", float, "re-centre only when the joints sit this far from the "
            "crop centre", " mm", 0.0, 200.0, 1.0, 0),
    Setting("min_confidence", "min confidence", float, "overall confidence below which the status is "
            "low_confidence", "", 0.0, 1.0, 0.05, 2),
)}


def check_setting(key: str, value):
    """The one rule for a live setting's value: its type, and its range (inclusive). Returns the value as its
    kind (Hand, bool or float); InputError (one line naming the setting and the range) otherwise."""
    spec = LIVE_SETTINGS.get(key)
    if spec is None:
        raise InputError(f"unknown setting '{key}' (known: {', '.join(LIVE_SETTINGS)})")
    if spec.kind is Hand:
        return parse_hand(value, key)
    if spec.kind is bool:
        if not isinstance(value, bool):
            raise InputError(f"{key} must be true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{key} must be a number, got {value!r}")
    if not spec.minimum <= value <= spec.maximum:
        raise InputError(f"{key} must be {spec.minimum:g}..{spec.maximum:g}{spec.unit}, got {value:g}")
    return float(value)


@dataclass(frozen=True)
class LocaliserConfig:
    """Hand finding parameters (all distances along the optical axis or in 3-D, mm; pixels at full resolution).

    near_mm / far_mm: the depth band where a hand is looked for; cube_mm: side of the crop cube (sets the box
    used for the border test and the tracking window); min_hand_pixels: smallest hand, in full-resolution pixels;
    border_margin_px: the hand counts as at the border when its points come this close to the image edge;
    ball_radius_mm: mean-shift ball radius (None = 0.35 * cube_mm, about half a hand length);
    slab_mm: depth range behind the nearest point that can belong to the hand and arm;
    surface_offset_mm: push from the visible surface towards the middle of the hand (half a palm's thickness);
    max_fill_fraction: a "hand" that fills more of the ball's projected disc (clipped to the image) than this
        is a wall or desk;
    max_arm_width_mm: an object entering the image across a wider stretch of border is a body or a surface;
    max_solidity: an object filling more of its silhouette's convex hull than this is convex (ball, box, mug,
        the rounded end of an arm; measured on rendered scenes: hands 0.55-0.85, others 0.75-0.97);
    edge_jump_mm: depth step between neighbouring samples that separates two objects;
    too_far_margin_mm: how far beyond far_mm an object is still reported as TOO_FAR rather than NO_HAND;
    reach_mm: only points this close to the hand's free end (fingertips) take part (about a hand's length);
    mean_shift_iterations: at most this many steps (stops earlier when the centre moves < 2 mm);
    compute_mask: produce the full-resolution hand mask (the GUI's point cloud uses it; training does not);
    hand_reach_mm / shell_mm: the arm-end test looks at the object in the shell hand_reach_mm .. + shell_mm
        around a candidate centre, beyond any fingertip (palm centre to tip <= ~0.75 hand length + centre error);
    max_crossing_rms_mm / min_sidedness: what crosses that shell is a forearm when its RMS radius is at most
        max_crossing_rms_mm (forearm: 20-45 mm) or it lies on one side (|mean direction| >= min_sidedness: a
        folded arm); else the candidate is no end (middle of an arm, a surface all round);
    depth_weight_per_mm: score per mm of depth (a hand held up is usually the nearest; 100 mm = 0.1 solidity);
    min_hand_area_mm2: smallest visible hand surface (an edge-on hand or a fist show ~3000 mm^2 and more);
    lone_penalty / anchored_penalty / small_penalty / not_end_penalty: score added for no arm attached, an arm
        leaving the view inside the hand's ball (an elbow at the border), too small, not an end;
    prior_weight_per_mm: when tracking, score per mm from the previous centre;
    plane_tolerance_mm / min_plane_area_mm2 / min_plane_width_mm: a dominant plane (points within the
        tolerance) covering at least this area and this wide (standard deviation across it; a flat forearm is
        ~25 mm) is a table, a wall or the front of a body, and is taken out of the search;
    more hands (HandLocaliser.locate_hands): a hand found claims every sample within hand_claim_radius_mm of its
    centre and the surface it lies on, so that the next search finds neither it nor its arm;
    min_hand_separation_mm: two hands' centres are at least this far apart (3-D); further_hand_depth_gap_mm: a
    further hand lies at most this far behind the nearest hand found (what lies further back is an elbow, an
    upper arm or the body; one hand held 60-160 mm in front of the other is seen); further_hand_max_shape_score:
    a further hand found anew (not tracked) that is no sure hand must score at most this by the shape terms
    alone (solidity plus the penalties: an open hand 0.55-0.85, a lone fist ~1.05, a lone ball or box ~1.1).
    """

    near_mm: float = 150.0
    far_mm: float = 1000.0
    cube_mm: float = DEFAULT_CUBE_MM
    min_hand_pixels: int = 300
    border_margin_px: int = 3
    ball_radius_mm: float | None = None
    slab_mm: float = 300.0
    surface_offset_mm: float = 10.0
    max_fill_fraction: float = 0.85
    max_arm_width_mm: float = 250.0
    max_solidity: float = 0.8
    edge_jump_mm: float = 40.0
    too_far_margin_mm: float = 500.0
    reach_mm: float = 120.0
    mean_shift_iterations: int = 6
    compute_mask: bool = True
    hand_reach_mm: float = 180.0
    shell_mm: float = 50.0
    max_crossing_rms_mm: float = 70.0
    min_sidedness: float = 0.7
    depth_weight_per_mm: float = 0.001
    min_hand_area_mm2: float = 2000.0
    lone_penalty: float = 0.15
    anchored_penalty: float = 0.2
    small_penalty: float = 0.3
    not_end_penalty: float = 1.0
    prior_weight_per_mm: float = 0.002
    plane_tolerance_mm: float = 12.0
    min_plane_area_mm2: float = 60000.0
    min_plane_width_mm: float = 60.0
    hand_claim_radius_mm: float = 60.0
    min_hand_separation_mm: float = 80.0
    further_hand_depth_gap_mm: float = 150.0
    further_hand_max_shape_score: float = 1.0

    def __post_init__(self) -> None:
        check_setting("near_mm", self.near_mm)
        check_setting("far_mm", self.far_mm)
        check_setting("cube_mm", self.cube_mm)
        if not self.near_mm < self.far_mm:
            raise InputError(f"need near_mm < far_mm (the depth band's near end nearer than its far end), got "
                             f"{self.near_mm:g} and {self.far_mm:g}")
        if self.min_hand_pixels < 1:
            raise InputError(f"localiser: min_hand_pixels must be >= 1, got {self.min_hand_pixels}")

    @property
    def radius_mm(self) -> float:
        return float(self.ball_radius_mm) if self.ball_radius_mm is not None else 0.35 * self.cube_mm


@dataclass(frozen=True)
class IdentityConfig:
    """Keeping each hand's id from frame to frame (app/tracking/identity.py). A hand found in this frame takes
    the id of the known hand whose predicted centre (its last centre moved on at its last speed) is nearest,
    within max_jump_mm (3-D, camera frame) plus max_speed_mm_s times the time since it was last seen; a known
    hand not found for more than max_missed_frames frames is forgotten (its id is not reused); speed_smoothing:
    weight of the newest velocity in the running estimate (0-1); rematch_mm: a hand left without a match takes a
    known hand not found in this frame when within this of its prediction (the finder's centre jumped);
    confirm_frames: a hand found while another is tracked is shown once found in this many frames in a row (a
    flicker of the finder is no hand); same_hand_mm: a hand whose estimated joints lie within this (mean over the
    joints) of a likelier hand's (presence) is that hand, found twice at two places on it: not shown."""

    max_jump_mm: float = 60.0
    rematch_mm: float = 150.0
    confirm_frames: int = 3
    max_speed_mm_s: float = 1500.0
    max_missed_frames: int = 10
    speed_smoothing: float = 0.5
    same_hand_mm: float = 40.0


@dataclass(frozen=True)
class SmoothingConfig:
    """min_cutoff_hz: cutoff for a still hand (Hz, lower = smoother, more lag); beta: cutoff increase per mm/s
    of speed (1/mm); d_cutoff_hz: cutoff of the speed estimate (Hz); enabled: False passes joints through."""

    min_cutoff_hz: float = 1.0
    beta: float = 0.02
    d_cutoff_hz: float = 1.0
    enabled: bool = True

    def __post_init__(self) -> None:
        for key in ("min_cutoff_hz", "beta", "d_cutoff_hz"):
            check_setting(key, getattr(self, key))


@dataclass(frozen=True)
class HandednessConfig:
    """Telling a left from a right hand by the depth around it (app.tracking.handedness). Distances in mm.

    facing_camera: the person faces the camera (their right hand and shoulder are on the image's left); False
        for a camera that looks the way the person looks (over the shoulder, head-mounted): every cue flips;
    grid_mm: sample spacing at the nearest hand's depth (the frame is block-sampled to it, at most ~160 wide);
    link_mm: neighbouring samples farther apart than this in 3-D are different surfaces (a depth jump);
    occluder_margin_mm / max_occluder_mm: a surface is followed behind a strip of samples at least the margin
        nearer than both its ends (another arm or a hand in front of it) up to this wide;
    seed_radius_mm: the samples within this of the hand centre start the trace;
    reach_mm: how far along the surface the arm is followed from the hand (forearm + upper arm + some body);
    body_behind_mm: the body is the large surface the arm reaches at least this far behind the hand;
    body_plane_tolerance_mm / min_body_area_mm2 / min_body_width_mm / body_facing_cos: the body's front is a
        plane (points within the tolerance) of at least this area and lateral width (5-95 % of its x) whose
        normal is within acos(body_facing_cos) of the optical axis (a torso facing the camera; a table seen
        from the side is no body);
    min_arm_mm: an arm end nearer than this along the surface is the hand itself, no arm;
    lateral_scale_mm: a lateral offset of this size gives ~0.76 of a cue's weight (tanh);
    position_weight: the hand's side of the body's centre (wrong when the arms are crossed);
    attach_weight: the side of the body's centre where the arm ends (the shoulder; kept out when the arm's
        trace runs into another hand's, as crossed or touching arms do);
    pair_weight: the hands' order across the image (right hand on the left), per pair;
    frame_weight / frame_slope: when no body is seen, the hand's side of the optical axis (the person in front
        of the camera), saturating at this ray slope x/z;
    one_person: two hands in view are one person's: one left, one right (and a hand that comes back with a side
        takes the id of the hand last shown with that side, when that one is not shown);
    vote_decay / vote_max_step / vote_switch: HandednessVote keeps decay * evidence + this frame's (clipped to
        the step, log-odds) and changes its label only when the sum passes the switch level the other way;
    min_frames / recheck_frames: the tracker reads the cue for a hand seen at least min_frames frames (a
        flicker is no hand), every frame until its vote decides, then every recheck_frames frames."""

    facing_camera: bool = True
    grid_mm: float = 8.0
    link_mm: float = 50.0
    occluder_margin_mm: float = 30.0
    max_occluder_mm: float = 100.0
    seed_radius_mm: float = 40.0
    reach_mm: float = 1500.0
    body_behind_mm: float = 100.0
    body_plane_tolerance_mm: float = 25.0
    min_body_area_mm2: float = 20000.0
    min_body_width_mm: float = 150.0
    body_facing_cos: float = 0.6
    min_arm_mm: float = 200.0
    lateral_scale_mm: float = 100.0
    position_weight: float = 1.0
    attach_weight: float = 1.0
    pair_weight: float = 1.5
    frame_weight: float = 0.3
    frame_slope: float = 0.35
    one_person: bool = True
    vote_decay: float = 0.9
    vote_max_step: float = 2.0
    vote_switch: float = 3.0
    min_frames: int = 3
    recheck_frames: int = 30

    def __post_init__(self) -> None:
        positive = ("grid_mm", "link_mm", "seed_radius_mm", "reach_mm", "body_plane_tolerance_mm",
                    "lateral_scale_mm", "frame_slope", "vote_max_step", "vote_switch")
        for key in positive:
            if not getattr(self, key) > 0:
                raise InputError(f"handedness: {key} must be positive, got {getattr(self, key)}")
        if not 0.0 <= self.vote_decay < 1.0:
            raise InputError(f"handedness: vote_decay must be in [0, 1), got {self.vote_decay}")
        if self.min_frames < 1 or self.recheck_frames < 1:
            raise InputError("handedness: min_frames and recheck_frames must be >= 1")


@dataclass(frozen=True)
class TrackerConfig:
    """model_path: .onnx model (default models/awr_lite.onnx in the repository); provider: 'auto' | 'cuda' |
    'cpu' | 'tensorrt'; hand: the hand being tracked (the crop is mirrored when the model was trained on the
    other hand); localiser: hand finding (depth band; its cube is set from effective_cube_mm by the tracker);
    cube_mm: crop cube side in mm, None = the model's own (recommended); smoothing: One Euro parameters;
    recentre: run a second pass on a crop re-centred on the first pass's joints when they sit more than
    recentre_min_mm from the crop centre; min_confidence: below this overall confidence the status is
    LOW_CONFIDENCE (the pose is still reported); intra_op_threads: onnxruntime CPU threads; max_hands: at most
    this many hands are tracked (1: only the hand 'hand'; more: each hand found gets an id, its side from the
    depth, falling back to 'hand', and its own filter); identity / handedness: how several hands keep their ids
    and get their sides; max_frame_gap: a frame more than this many frames after the last one (or before it) is
    a seek and restarts tracking history; a smaller gap is frames dropped by a live pipeline, and tracking goes
    on. With several hands: presence_model_path: the hand-presence model (app/tracking/presence.py) that scores
    every place found; min_presence: a place scoring below this is no hand (a forearm or an elbow the finder
    took for one): it is not shown, except as the only hand in view; new_hand_every: hands not yet tracked are
    looked for every this many frames (tracked ones every frame); second_hand_every: the same while one hand alone
    is known (a second hand coming into view is found within this many frames: 200 ms at 30 fps), which keeps the
    cost of max_hands > 1 low while one hand is in view."""

    model_path: str = DEFAULT_MODEL_PATH
    provider: str = "auto"
    hand: Hand = Hand.RIGHT
    localiser: LocaliserConfig = field(default_factory=LocaliserConfig)
    cube_mm: float | None = None
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    recentre: bool = False
    recentre_min_mm: float = 15.0
    min_confidence: float = 0.3
    intra_op_threads: int = 1
    max_hands: int = 2
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    handedness: HandednessConfig = field(default_factory=HandednessConfig)
    max_frame_gap: int = 10
    presence_model_path: str = DEFAULT_PRESENCE_MODEL_PATH
    min_presence: float = 0.5
    new_hand_every: int = 3
    second_hand_every: int = 6

    def __post_init__(self) -> None:
        object.__setattr__(self, "hand", parse_hand(self.hand, "--hand"))
        if not 0.0 <= self.min_presence < 1.0:
            raise InputError(f"min_presence must be in [0, 1), got {self.min_presence}")
        for name in ("new_hand_every", "second_hand_every"):
            every = getattr(self, name)
            if isinstance(every, bool) or not isinstance(every, int) or every < 1:
                raise InputError(f"{name} must be a whole number >= 1, got {every!r}")
        if self.provider not in PROVIDERS:
            raise InputError(f"--provider must be one of {', '.join(PROVIDERS)}, got '{self.provider}'")
        if self.cube_mm is not None:
            check_setting("cube_mm", self.cube_mm)
        check_setting("recentre_min_mm", self.recentre_min_mm)
        check_setting("min_confidence", self.min_confidence)
        if self.intra_op_threads < 1:
            raise InputError(f"intra-op threads must be >= 1, got {self.intra_op_threads}")
        if isinstance(self.max_hands, bool) or not isinstance(self.max_hands, int) or self.max_hands < 1:
            raise InputError(f"max_hands must be a whole number >= 1, got {self.max_hands!r}")

    def effective_cube_mm(self, model_cube_mm: float) -> float:
        """The crop cube in use: the configured one, else the model's own (its metadata)."""
        return float(self.cube_mm) if self.cube_mm is not None else float(model_cube_mm)

    def live_values(self, model_cube_mm: float) -> dict:
        """The live settings in force, by LIVE_SETTINGS key (cube_mm: the effective one, given the model's)."""
        cube = self.effective_cube_mm(model_cube_mm)
        s, loc = self.smoothing, self.localiser
        return {"hand": self.hand, "smoothing_enabled": s.enabled, "min_cutoff_hz": s.min_cutoff_hz,
                "beta": s.beta, "d_cutoff_hz": s.d_cutoff_hz, "near_mm": loc.near_mm, "far_mm": loc.far_mm,
                "cube_mm": cube, "recentre": self.recentre, "recentre_min_mm": self.recentre_min_mm,
                "min_confidence": self.min_confidence}

    def apply(self, change: "TrackerChange") -> "TrackerConfig":
        """A copy with the change applied (cross-field rules, such as near < far, are checked here)."""
        v = change.values()
        smooth = {k: v[k] for k in ("min_cutoff_hz", "beta", "d_cutoff_hz") if k in v}
        if "smoothing_enabled" in v:
            smooth["enabled"] = v["smoothing_enabled"]
        loc = {k: v[k] for k in ("near_mm", "far_mm") if k in v}
        own = {k: v[k] for k in ("hand", "cube_mm", "recentre", "recentre_min_mm", "min_confidence") if k in v}
        return replace(self, localiser=replace(self.localiser, **loc), smoothing=replace(self.smoothing, **smooth),
                       **own)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (nested dataclasses become dicts)."""
        d = asdict(self)
        d["hand"] = str(self.hand)
        return d

    @staticmethod
    def from_dict(d: dict) -> "TrackerConfig":
        """Inverse of to_dict; unknown keys are ignored (files written by newer versions still load)."""
        known = {f.name for f in fields(TrackerConfig)}
        kwargs = {k: v for k, v in d.items() if k in known}
        nested = {"localiser": LocaliserConfig, "smoothing": SmoothingConfig, "identity": IdentityConfig,
                  "handedness": HandednessConfig}
        for key, cls in nested.items():
            if isinstance(kwargs.get(key), dict):
                kwargs[key] = _sub(cls, kwargs[key])
        return TrackerConfig(**kwargs)


@dataclass(frozen=True)
class TrackerChange:
    """A change of live settings (None = unchanged), by LIVE_SETTINGS key. Build it with TrackerChange.of(...),
    which validates every value once (check_setting); apply it with TrackerConfig.apply()."""

    hand: Hand | None = None
    smoothing_enabled: bool | None = None
    min_cutoff_hz: float | None = None
    beta: float | None = None
    d_cutoff_hz: float | None = None
    near_mm: float | None = None
    far_mm: float | None = None
    cube_mm: float | None = None
    recentre: bool | None = None
    recentre_min_mm: float | None = None
    min_confidence: float | None = None

    @staticmethod
    def of(**values) -> "TrackerChange":
        """From keyword values (e.g. the GUI's {key: value}); InputError (one line) for an unknown key or a
        value of the wrong type or out of range. A None value means unchanged."""
        checked = {}
        for key, value in values.items():
            if key not in LIVE_SETTINGS:
                raise InputError(f"cannot change '{key}' while running (known: {', '.join(LIVE_SETTINGS)})")
            if value is not None:
                checked[key] = check_setting(key, value)
        return TrackerChange(**checked)

    def values(self) -> dict:
        """The changed settings only, {key: value}."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def __bool__(self) -> bool:
        return bool(self.values())


def _sub(cls, d: dict):
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in known})
