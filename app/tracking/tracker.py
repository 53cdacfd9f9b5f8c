"""HandTracker: one depth frame in, one TrackerResult out. No threads, no I/O; the caller owns the loop.

Stages (each timed into StageTimings, ms): localise (depth to mm + hand finding, tracking from the previous
centre), crop (the AWR crop, mirrored for the hand the model was not trained on), infer (onnxruntime; both
passes when re-centring), postprocess (un-mirror, crop -> camera mm and pixels, confidence), smooth (One Euro on
the camera-frame joints, frame timestamps from the device clock); wait is arrival -> start of processing and
end_to_end is arrival -> result ready (host perf_counter clock).

Live changes: update(**changes) may be called from any thread (the GUI's); process() takes a consistent
snapshot of the settings at the start of each frame. Imports numpy and app code only (onnxruntime stays inside
estimator.py).
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np

from app.config import TrackerConfig
from app.camera import project_mm_to_px
from app.errors import InputError
from app.tracking.crop import CropGeometry, crop_depth, crop_geometry
from app.tracking.estimator import Estimator
from app.tracking.localise import HandLocaliser
from app.tracking.postprocess import crop_to_camera, joint_confidence, overall_confidence, unmirror
from app.tracking.smoothing import OneEuroFilter
from app.types import (DepthFrame, HandLocation, HandPose, StageTimings, TrackerResult, TrackingStatus,
                       readonly)


class HandTracker:
    """config: TrackerConfig (model_path/provider are only informative here: the estimator is given);
    estimator: an Estimator (owned by the thread that calls process())."""

    def __init__(self, config: TrackerConfig, estimator: Estimator) -> None:
        self.estimator = estimator
        self.info = estimator.info
        self._lock = threading.Lock()
        self._apply(config)
        self._filter = OneEuroFilter(self.config.smoothing)
        self._previous_centre: tuple[float, float, float] | None = None
        self._last_index: int | None = None

    # ---- settings -----------------------------------------------------------------------------------------
    def _apply(self, config: TrackerConfig) -> None:
        cube = config.cube_mm if config.cube_mm is not None else self.info.cube_mm
        self.config = config
        self.cube_mm = float(cube)
        self._localiser = HandLocaliser(replace(config.localiser, cube_mm=self.cube_mm))
        self._mirror = config.hand != self.info.hand

    def update(self, **changes) -> None:
        """Change settings while running (thread-safe): hand, cube_mm, recentre, recentre_min_mm,
        min_confidence, near_mm, far_mm (and other localiser fields), min_cutoff_hz, beta, d_cutoff_hz,
        smoothing_enabled. Raises InputError (one line) for an unknown key or a bad value."""
        with self._lock:
            new = self.config.with_changes(**changes)
            if new.localiser.near_mm >= new.localiser.far_mm:
                raise InputError("near_mm must be smaller than far_mm")
            old_hand = self.config.hand
            self._apply(new)
            self._filter = OneEuroFilter(new.smoothing) if not self._filter.active else self._retuned_filter()
            if new.hand != old_hand:
                self._reset_locked()

    def _retuned_filter(self) -> OneEuroFilter:
        # Keep the filter state so retuning a slider does not make the skeleton jump.
        self._filter.config = self.config.smoothing
        return self._filter

    def reset(self) -> None:
        """Forget tracking history (previous centre, filter state): after a seek or a source change."""
        with self._lock:
            self._reset_locked()

    def _reset_locked(self) -> None:
        self._filter.reset()
        self._previous_centre = None
        self._last_index = None

    @property
    def mirrored(self) -> bool:
        return self._mirror

    # ---- per frame ----------------------------------------------------------------------------------------
    def process(self, frame: DepthFrame) -> TrackerResult:
        start_s = time.perf_counter()
        with self._lock:
            config, localiser, mirror, cube = self.config, self._localiser, self._mirror, self.cube_mm
            smoother = self._filter
            if self._last_index is not None and frame.index != self._last_index + 1:
                self._reset_locked()   # a seek or a dropped stretch: old history is not this hand's past
            self._last_index = frame.index
            previous = self._previous_centre
        times = {"wait": (start_s - frame.arrival_s) * 1e3 if frame.arrival_s > 0 else 0.0}
        intr = frame.intrinsics

        t = time.perf_counter()
        depth_mm = frame.depth_mm()
        location = localiser.locate(depth_mm, intr, previous)
        times["localise"] = _ms_since(t)
        if not location.status.has_pose:
            with self._lock:
                self._previous_centre = None
                smoother.reset()
            return self._result(frame, location, location.status, None, None, None, times, {})

        t = time.perf_counter()
        geom, crop = self._crop(depth_mm, location.centre_uvz, cube, intr, mirror)
        times["crop"] = _ms_since(t)
        t = time.perf_counter()
        joints_uvd, weights = self.estimator.infer(crop[None])
        times["infer"] = _ms_since(t)
        t = time.perf_counter()
        joints_uvd, weights = joints_uvd[0].astype(np.float64), weights[0]
        if mirror:
            joints_uvd, weights = unmirror(joints_uvd, weights)
        xyz_mm, _ = crop_to_camera(joints_uvd, geom, intr)
        times["postprocess"] = _ms_since(t)

        recentred = False
        if config.recentre:
            geom, crop, joints_uvd, weights, xyz_mm, recentred = self._recentre(
                depth_mm, geom, crop, joints_uvd, weights, xyz_mm, cube, intr, mirror, config, times)

        t = time.perf_counter()
        confidence = joint_confidence(weights, joints_uvd, self.info.kernel_radius)
        overall = overall_confidence(confidence)
        times["postprocess"] += _ms_since(t)

        t = time.perf_counter()
        smoothed = smoother(xyz_mm, frame.timestamp_ms / 1e3)
        uv_px = project_mm_to_px(smoothed, intr)[:, :2]
        times["smooth"] = _ms_since(t)
        with self._lock:
            self._previous_centre = location.centre_uvz

        status = location.status
        if status == TrackingStatus.TRACKING and overall < config.min_confidence:
            status = TrackingStatus.LOW_CONFIDENCE
        pose = HandPose(
            joints_xyz_mm=readonly(np.asarray(smoothed, dtype=np.float64)),
            joints_xyz_raw_mm=readonly(np.asarray(xyz_mm, dtype=np.float64)),
            joints_uv_px=readonly(uv_px),
            joints_uvd=readonly(np.asarray(joints_uvd, dtype=np.float64)),
            weights=readonly(np.ascontiguousarray(weights, dtype=np.float32)),
            confidence=readonly(confidence),
            hand=config.hand,
            joint_names=tuple(self.info.joint_names),
        )
        # The crop is returned as the user sees it (un-mirrored), matching the un-mirrored weight maps.
        shown_crop = np.ascontiguousarray(crop[:, ::-1]) if mirror else crop
        extra = {"confidence": overall, "mirrored": mirror, "recentred": recentred, "cube_mm": cube}
        return self._result(frame, location, status, geom, shown_crop, pose, times, extra)

    def _crop(self, depth_mm, centre_uvz, cube, intr, mirror) -> tuple[CropGeometry, np.ndarray]:
        """The AWR crop around centre_uvz; flipped left-right when the model was trained on the other hand."""
        geom = crop_geometry(centre_uvz, cube, self.info.input_size, intr)
        crop = crop_depth(depth_mm, geom)
        return geom, (np.ascontiguousarray(crop[:, ::-1]) if mirror else crop)

    def _recentre(self, depth_mm, geom, crop, joints_uvd, weights, xyz_mm, cube, intr, mirror, config, times):
        """Second pass on a crop centred on the first pass's joints, when those sit far from the crop centre
        (the localiser's centre was off, e.g. an arm pulled it). Returns the pass that is kept."""
        centre_mm = np.asarray(crop_to_camera(np.zeros((1, 3)), geom, intr)[0][0])
        predicted = xyz_mm.mean(axis=0)
        if np.linalg.norm(predicted - centre_mm) < config.recentre_min_mm:
            return geom, crop, joints_uvd, weights, xyz_mm, False
        new_centre = tuple(float(c) for c in project_mm_to_px(predicted, intr))
        t = time.perf_counter()
        geom2, crop2 = self._crop(depth_mm, new_centre, cube, intr, mirror)
        times["crop"] += _ms_since(t)
        t = time.perf_counter()
        joints2, weights2 = self.estimator.infer(crop2[None])
        times["infer"] += _ms_since(t)
        t = time.perf_counter()
        joints2, weights2 = joints2[0].astype(np.float64), weights2[0]
        if mirror:
            joints2, weights2 = unmirror(joints2, weights2)
        xyz2, _ = crop_to_camera(joints2, geom2, intr)
        times["postprocess"] += _ms_since(t)
        return geom2, crop2, joints2, weights2, xyz2, True

    def _result(self, frame, location: HandLocation, status, geom, crop, pose, times, extra) -> TrackerResult:
        ready_s = time.perf_counter()
        if frame.arrival_s > 0:
            times["end_to_end"] = (ready_s - frame.arrival_s) * 1e3
        else:
            times["end_to_end"] = sum(times.values())
        if crop is not None:
            readonly(crop)
        return TrackerResult(frame=frame, status=status, location=location, crop=geom, crop_depth=crop,
                             pose=pose, timings=StageTimings(**times), ready_s=ready_s, extra=extra)


def _ms_since(t: float) -> float:
    return (time.perf_counter() - t) * 1e3
