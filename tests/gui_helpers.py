"""Helpers for the GUI tests: pick the Qt platform before any QApplication exists, and build real, self-consistent
TrackerResult objects (a drawn hand, its crop, weight maps peaked at the joints) to feed the widgets.

Importing this module sets QT_QPA_PLATFORM: 'offscreen' when there is no X display, so 2-D widget tests run
anywhere; under `xvfb-run` (DISPLAY set) Qt uses xcb and the OpenGL 3-D view is tested too.
"""
from __future__ import annotations

import os

if not os.environ.get("QT_QPA_PLATFORM"):
    os.environ["QT_QPA_PLATFORM"] = "xcb" if os.environ.get("DISPLAY") else "offscreen"

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6 import QtCore  # noqa: E402

# pyqtgraph caches its GL shader programs across views: every view's context must share them (as run_gui does).
QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

from app.camera import Intrinsics, project_mm_to_px  # noqa: E402
from app.joints import BONES, JOINT_NAMES, NUM_JOINTS, mirror_x  # noqa: E402
from app.tracking.crop import crop_depth, crop_geometry, norm_to_crop_px, xyz_mm_to_crop_uvd  # noqa: E402
from app.types import (DepthFrame, HandLocation, HandPose, StageTimings, TrackedHand, TrackerResult,  # noqa: E402
                       TrackingStatus, readonly)
from tests.tracking_scenes import hand_joints_mm as scene_hand_joints_mm  # noqa: E402

INTRINSICS = Intrinsics(width=320, height=240, fx=190.0, fy=190.0, cx=159.5, cy=119.5, depth_unit_mm=1.0)
CROP_SIZE_PX = 128
FEATURE_SIZE_PX = 32
CUBE_MM = 250.0
RAW_OFFSET_MM = np.array([4.0, -3.0, 2.0])   # raw joints = smoothed + this, so tests can tell them apart
HAND_CENTRE_MM = (10.0, -5.0, 450.0)          # where the GUI tests' hand is unless they say (joint mean, mm)
HAND_CURL_MM = 4.0                            # fingers bent towards the camera: the hand has depth relief
RIGHT_CENTRE_MM = (-115.0, -5.0, 450.0)       # make_two_hand_result: the right hand at the image's left ...
LEFT_CENTRE_MM = (135.0, 10.0, 500.0)         # ... and the left hand (mirrored) at its right, a little farther


def hand_joints_mm(centre_mm=HAND_CENTRE_MM, spread: float = 1.0) -> np.ndarray:
    """The tests' one fake hand (tests.tracking_scenes.hand_joints_mm: flat, open, right, palm to the camera,
    fingers up), 21 x 3 camera-frame mm with its joint mean at centre_mm; here centred where the GUI tests look,
    the fingers bent a little towards the camera."""
    return scene_hand_joints_mm(centre_mm, spread, curl_mm=HAND_CURL_MM)


def left_hand_joints_mm(centre_mm=LEFT_CENTRE_MM, spread: float = 1.0) -> np.ndarray:
    """The tests' hand mirrored (app.joints.mirror_x): a left hand, its joint mean at centre_mm."""
    x, y, z = centre_mm
    return mirror_x(hand_joints_mm((-x, y, z), spread))


def render_depth(joints_mm: np.ndarray, intr: Intrinsics = INTRINSICS, background_mm: int = 900,
                 more_hands: tuple[np.ndarray, ...] = ()) -> np.ndarray:
    """uint16 depth (mm) of the hand (and of more_hands) as capsules along its bones plus a palm polygon, in front
    of a wall."""
    depth = np.full((intr.height, intr.width), background_mm, np.uint16)
    depth[:, :6] = 0   # a strip of missing depth, as real sensors have
    _draw_hand(depth, joints_mm, intr)
    for joints in more_hands:
        layer = np.zeros_like(depth)
        _draw_hand(layer, joints, intr)
        drawn = (layer > 0) & ((depth == 0) | (layer < depth))   # the nearer surface wins
        depth[drawn] = layer[drawn]
    return depth


def _draw_hand(depth: np.ndarray, joints_mm: np.ndarray, intr: Intrinsics) -> None:
    uvz = project_mm_to_px(joints_mm, intr)
    palm = [0, 1, 5, 9, 13, 17]
    cv2.fillConvexPoly(depth, np.round(uvz[palm, :2]).astype(np.int32), int(np.mean(uvz[palm, 2]) + 5))
    for a, b in BONES:
        for t in np.linspace(0.0, 1.0, 8):
            u, v, z = uvz[a] * (1 - t) + uvz[b] * t
            radius_px = max(1, int(round(8.0 * intr.fx / z)))
            cv2.circle(depth, (int(round(u)), int(round(v))), radius_px, int(z), -1)


def gaussian_weights(joints_uvd: np.ndarray, feature_size: int = FEATURE_SIZE_PX,
                     sigma_cells: float = 1.5) -> np.ndarray:
    """J x F x F maps, each a normalised Gaussian at the joint's crop position (like trained AWR maps)."""
    crop_px = norm_to_crop_px(joints_uvd[:, :2], CROP_SIZE_PX)
    cells = (crop_px + 0.5) * (feature_size / CROP_SIZE_PX) - 0.5
    grid = np.arange(feature_size, dtype=np.float64)
    gx = np.exp(-0.5 * ((grid[None, :] - cells[:, :1]) / sigma_cells) ** 2)
    gy = np.exp(-0.5 * ((grid[None, :] - cells[:, 1:2]) / sigma_cells) ** 2)
    maps = gy[:, :, None] * gx[:, None, :]
    return (maps / maps.sum(axis=(1, 2), keepdims=True)).astype(np.float32)


def _timings(infer_ms: float) -> StageTimings:
    return StageTimings(wait=0.5, localise=1.5, crop=0.4, infer=infer_ms, postprocess=0.3, smooth=0.1,
                        end_to_end=10.0)


def make_hand(frame: DepthFrame, joints_mm: np.ndarray, hand_id: int = 1, hand: str = "right",
              status: TrackingStatus = TrackingStatus.TRACKING, mask: np.ndarray | None = None,
              confidence: np.ndarray | None = None) -> TrackedHand:
    """One tracked hand on a frame, as the tracker reports it: location (mask: its pixels), crop at its joint
    mean, normalised crop depth, pose (raw joints = joints + RAW_OFFSET_MM, weight maps peaked at the raw
    joints, confidences rising from 0.5 to 0.95 unless given) and its ground truth (the joints)."""
    joints_mm = np.asarray(joints_mm, dtype=np.float64)
    intr = frame.intrinsics
    centre_uvz = tuple(float(c) for c in project_mm_to_px(joints_mm.mean(axis=0), intr))
    location = HandLocation(status, centre_uvz, None if mask is None else readonly(mask))
    geom = crop_geometry(centre_uvz, CUBE_MM, CROP_SIZE_PX, intr)
    crop = readonly(crop_depth(frame.depth_mm(), geom))
    raw_mm = joints_mm + RAW_OFFSET_MM
    joints_uvd = xyz_mm_to_crop_uvd(raw_mm, geom, intr)
    confidence = np.linspace(0.5, 0.95, NUM_JOINTS) if confidence is None else np.asarray(confidence, float)
    pose = HandPose(joints_xyz_mm=readonly(joints_mm.copy()), joints_xyz_raw_mm=readonly(raw_mm),
                    joints_uv_px=readonly(project_mm_to_px(joints_mm, intr)[:, :2]),
                    joints_uvd=readonly(joints_uvd), weights=readonly(gaussian_weights(joints_uvd)),
                    confidence=readonly(confidence), hand=hand, joint_names=JOINT_NAMES)
    return TrackedHand(hand_id=hand_id, hand=hand, status=status, location=location, crop=geom, crop_depth=crop,
                       pose=pose, confidence=float(np.mean(confidence)), gt_xyz_mm=readonly(joints_mm.copy()))


def _result_of(frame: DepthFrame, hands: tuple[TrackedHand, ...], arrival_s: float, infer_ms: float,
               listed: bool = True) -> TrackerResult:
    """A result whose own fields are the first (primary) hand's; listed: it lists its hands (as the tracker's
    results do; False: an older result that does not)."""
    primary = hands[0]
    return TrackerResult(frame, primary.status, primary.location, primary.crop, primary.crop_depth, primary.pose,
                         _timings(infer_ms), ready_s=arrival_s + 0.01, hands=hands if listed else ())


def make_result(index: int = 0, joints_mm: np.ndarray | None = None, status: TrackingStatus = TrackingStatus.TRACKING,
                arrival_s: float = 0.0, infer_ms: float = 7.0, hand_id: int | None = 1) -> TrackerResult:
    """A complete TrackerResult: frame, location, crop, normalised crop depth, pose and timings, and its hand in
    result.hands with hand_id, as the one-hand tracker reports it (hand_id None: hands left empty)."""
    joints_mm = hand_joints_mm() if joints_mm is None else np.asarray(joints_mm, dtype=np.float64)
    depth = render_depth(joints_mm)
    frame = DepthFrame(index=index, frame_number=index + 100, timestamp_ms=33.3 * index, arrival_s=arrival_s,
                       depth_raw=readonly(depth), intrinsics=INTRINSICS, gt_xyz_mm=readonly(joints_mm.copy()),
                       gt_hand="right")
    if not status.has_pose:
        location = HandLocation(status, None, None)
        return TrackerResult(frame, status, location, None, None, None, _timings(infer_ms), ready_s=arrival_s + 0.01)
    hand = make_hand(frame, joints_mm, hand_id or 1, "right", status, mask=depth < 700)
    return _result_of(frame, (hand,), arrival_s, infer_ms, listed=hand_id is not None)


def make_two_hand_result(index: int = 0, right_mm: np.ndarray | None = None, left_mm: np.ndarray | None = None,
                         right_id: int = 3, left_id: int = 4, primary: str = "right",
                         left_status: TrackingStatus = TrackingStatus.LOW_CONFIDENCE,
                         arrival_s: float = 0.0, infer_ms: float = 7.0) -> TrackerResult:
    """A result with two hands on one frame: a right hand (RIGHT_CENTRE_MM, status tracking) and a mirrored left
    hand (LEFT_CENTRE_MM, left_status, lower confidences), each with its own crop, mask, pose and weight maps;
    primary: which of them is listed first (and fills the result's own fields)."""
    right_mm = hand_joints_mm(RIGHT_CENTRE_MM) if right_mm is None else np.asarray(right_mm, dtype=np.float64)
    left_mm = left_hand_joints_mm() if left_mm is None else np.asarray(left_mm, dtype=np.float64)
    depth = render_depth(right_mm, more_hands=(left_mm,))
    frame = DepthFrame(index=index, frame_number=index + 100, timestamp_ms=33.3 * index, arrival_s=arrival_s,
                       depth_raw=readonly(depth), intrinsics=INTRINSICS, gt_xyz_mm=readonly(right_mm.copy()),
                       gt_hand="right")
    right = make_hand(frame, right_mm, right_id, "right", TrackingStatus.TRACKING, mask=render_depth(right_mm) < 700)
    left = make_hand(frame, left_mm, left_id, "left", left_status, mask=render_depth(left_mm) < 700,
                     confidence=np.linspace(0.2, 0.6, NUM_JOINTS))
    hands = (right, left) if primary == "right" else (left, right)
    return _result_of(frame, hands, arrival_s, infer_ms)


def two_hand_scene_result(seed: int = 11, arrangement: str = "apart") -> TrackerResult:
    """A two-hand frame as app.synth.two_hands renders it (a person's two hands, torso and arms, sensor noise,
    640 x 480), each hand's pose its ground truth (the left hand low confidence): for pictures of the window."""
    from app.synth.two_hands import render_two_hands

    intr = Intrinsics(width=640, height=480, fx=475.0, fy=475.0, cx=319.5, cy=239.5, depth_unit_mm=1.0)
    sample = render_two_hands(np.random.default_rng(seed), intr, arrangement, distance_range_mm=(380.0, 520.0))
    right_mm, left_mm = (np.asarray(sample.truth(side).joints_xyz_mm, dtype=np.float64) for side in ("right", "left"))
    frame = DepthFrame(index=42, frame_number=142, timestamp_ms=1400.0, arrival_s=0.0,
                       depth_raw=readonly(np.asarray(sample.depth_raw)), intrinsics=sample.intrinsics,
                       gt_xyz_mm=readonly(right_mm.copy()), gt_hand="right")
    right = make_hand(frame, right_mm, 3, "right", TrackingStatus.TRACKING)
    left = make_hand(frame, left_mm, 4, "left", TrackingStatus.LOW_CONFIDENCE,
                     confidence=np.linspace(0.3, 0.7, NUM_JOINTS))
    return _result_of(frame, (right, left), 0.0, 7.0)


def save_two_hand_screenshot(path: str, seed: int = 11, size: tuple[int, int] = (1440, 900)) -> str:
    """The whole window (standard layout, size px) showing two_hand_scene_result(seed), the left hand
    selected, saved as PNG; needs a display with OpenGL for the 3-D view, e.g.
    xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python -c
    "from tests.gui_helpers import save_two_hand_screenshot as s; s('docs/gui_two_hands.png')" """
    import tempfile

    from PySide6 import QtWidgets

    from app.config import TrackerConfig
    from app.gui import theme
    from app.gui.main_window import MainWindow
    from app.gui.screenshot import grab_window
    from app.gui.settings import ENV_SETTINGS_PATH, Settings
    from app.joints import JOINT_INDEX

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    theme.apply_theme(app)
    previous = os.environ.get(ENV_SETTINGS_PATH)
    with tempfile.TemporaryDirectory() as folder:
        os.environ[ENV_SETTINGS_PATH] = os.path.join(folder, "settings.ini")   # the user's settings stay as they are
        window = MainWindow(TrackerConfig(), Settings(), restore_geometry=False)
        window.resize(*size)
        window.show()
        result = two_hand_scene_result(seed)
        for _ in range(3):   # the 3-D view follows the hands: a few frames settle it
            window.show_result(result)
            app.processEvents()
        window.select_joint(JOINT_INDEX["index_tip"])
        window.select_hand(result.hands[1].hand_id)
        window.refresh_stats()
        for _ in range(20):
            app.processEvents()
        if not grab_window(window).save(path, "PNG", 0):   # 0: the smallest file
            raise OSError(f"could not save {path}")
        window.close()
    if previous is None:
        os.environ.pop(ENV_SETTINGS_PATH, None)
    else:
        os.environ[ENV_SETTINGS_PATH] = previous
    return path


def shown(qtbot, widget, width: int, height: int):
    """The widget at width x height px, shown and exposed (closed by qtbot at the test's end)."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget
