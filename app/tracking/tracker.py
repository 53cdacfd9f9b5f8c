"""HandTracker: one depth frame in, one TrackerResult out. No I/O; the caller owns the loop (while one hand is
tracked alone, a shared helper thread looks for a second one beside the network run: SEARCH_WHILE_INFERRING).

Stages (each timed into StageTimings, ms): localise (depth to mm + hand finding, tracking from the previous
centre), crop (the AWR crop, mirrored for the hand the model was not trained on), infer (onnxruntime; both
passes when re-centring), postprocess (un-mirror, crop -> camera mm and pixels, confidence), smooth (One Euro on
the camera-frame joints, frame timestamps from the device clock); wait is arrival -> start of processing and
end_to_end is arrival -> result ready (host perf_counter clock).

Live changes: update(**changes) may be called from any thread (the GUI's); process() takes a consistent
snapshot of the settings at the start of each frame. A tracker sets OpenCV's thread pool to OPENCV_THREADS for
the process (app.config says why). Imports numpy, cv2 and app code only (onnxruntime stays inside estimator.py).
"""
from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import cv2
import numpy as np

from app.config import OPENCV_THREADS, Hand, TrackerChange, TrackerConfig, parse_hand
from app.errors import InputError
from app.camera import Intrinsics, project_mm_to_px, unproject_px_to_mm
from app.tracking.crop import crop_depth, crop_geometry
from app.tracking.estimator import Estimator
from app.tracking.handedness import HandednessVote, side_evidence
from app.tracking.identity import HandIdentities, greedy_pairs
from app.tracking.localise import HandLocaliser, centre_mm
from app.tracking.presence import HandPresence
from app.tracking.postprocess import (crop_to_camera, joint_confidence, overall_confidence, unmirror,
                                      unmirror_offsets)
from app.tracking.smoothing import OneEuroFilter
from app.types import (CropGeometry, DepthFrame, HandLocation, HandPose, StageTimings, TrackedHand,
                       TrackerResult, TrackingStatus, readonly)


@dataclass(frozen=True)
class Estimate:
    """One crop's network estimate, post-processed: geom (the crop), crop (S x S normalised depth as the user
    sees it, i.e. un-mirrored), joints_uvd (J x 3, un-mirrored), weights (J x F x F, un-mirrored), xyz_mm
    (J x 3 camera frame, unsmoothed), confidence (J,), overall (mean confidence), recentred (second pass),
    offsets (J x 3 x F x F per-pixel vote offsets, un-mirrored, when the model outputs them, else None)."""

    geom: CropGeometry
    crop: np.ndarray
    joints_uvd: np.ndarray
    weights: np.ndarray
    xyz_mm: np.ndarray
    confidence: np.ndarray
    overall: float
    recentred: bool
    offsets: np.ndarray | None = None


class HandTracker:
    """config: TrackerConfig (model_path/provider are only informative here: the estimator is given);
    estimator: an Estimator (owned by the thread that calls process())."""

    def __init__(self, config: TrackerConfig, estimator: Estimator) -> None:
        cv2.setNumThreads(OPENCV_THREADS)
        self.estimator = estimator
        self.info = estimator.info
        self._lock = threading.Lock()
        self._apply(config)
        self._filter = OneEuroFilter(self.config.smoothing)
        self._previous_centre: tuple[float, float, float] | None = None
        self._last_index: int | None = None
        self._hand_id = 0   # the tracked hand's id (TrackedHand.hand_id); a hand found anew gets the next one
        # several hands (config.max_hands > 1): each known hand's state, by id, and the ids' keeper
        self._identities = HandIdentities(self.config.identity)
        self._hands: dict[int, _HandState] = {}
        self._last_shown: dict[str, int] = {}   # one person's hands: side -> id of the hand last shown with it
        self._shown_before: frozenset[int] = frozenset()   # ... and the ids shown in the frame before
        # ... and whether each place found is a hand at all (max_hands is fixed for a tracker's life)
        self._presence = HandPresence(config.presence_model_path) if config.max_hands > 1 else None

    # ---- settings -----------------------------------------------------------------------------------------
    def _apply(self, config: TrackerConfig) -> None:
        self.config = config
        self.cube_mm = config.effective_cube_mm(self.info.cube_mm)
        self._localiser = HandLocaliser(replace(config.localiser, cube_mm=self.cube_mm))
        self._mirror = config.hand != self.info.hand

    def update(self, change: TrackerChange) -> None:
        """Change live settings while running (thread-safe; TrackerChange validated its values when built).
        Raises InputError (one line) when the result breaks a cross-field rule (near_mm < far_mm)."""
        with self._lock:
            new = self.config.apply(change)
            old_hand = self.config.hand
            self._apply(new)
            # The filters keep their state, so moving a smoothing slider does not make the skeleton jump.
            self._filter.config = new.smoothing
            for state in self._hands.values():
                state.smoother.config = new.smoothing
            if new.hand != old_hand:
                self._reset_locked()

    def reset(self) -> None:
        """Forget tracking history (previous centre, filter state): after a seek or a source change."""
        with self._lock:
            self._reset_locked()

    def _reset_locked(self) -> None:
        self._filter.reset()
        self._previous_centre = None
        self._last_index = None
        self._identities.reset()
        self._hands = {}
        self._last_shown = {}
        self._shown_before = frozenset()

    @property
    def mirrored(self) -> bool:
        return self._mirror

    # ---- per frame ----------------------------------------------------------------------------------------
    def process(self, frame: DepthFrame) -> TrackerResult:
        """Find the hand (up to config.max_hands hands), crop, infer, post-process and smooth one frame. A frame
        before the previous one or more than config.max_frame_gap after it (a seek) restarts tracking history."""
        start_s = time.perf_counter()
        with self._lock:
            config, localiser, mirror, cube = self.config, self._localiser, self._mirror, self.cube_mm
            smoother = self._filter
            if self._last_index is not None and not 0 < frame.index - self._last_index <= config.max_frame_gap:
                self._reset_locked()   # a seek (dropped live frames are a small gap: tracking goes on)
            self._last_index = frame.index
            previous = self._previous_centre
        times = {"wait": (start_s - frame.arrival_s) * 1e3 if frame.arrival_s > 0 else 0.0}
        if config.max_hands > 1:
            return self._process_hands(frame, times, config, localiser, cube)
        intr = frame.intrinsics
        extra = {"hand": config.hand, "mirrored": mirror, "cube_mm": cube}

        t = time.perf_counter()
        depth_mm = frame.depth_mm()
        location = localiser.locate(depth_mm, intr, previous)
        times["localise"] = _ms_since(t)
        if not location.status.has_pose:
            with self._lock:
                self._previous_centre = None
                smoother.reset()
            return self._result(frame, location, location.status, None, None, None, times, extra)

        est = self._estimate(depth_mm, intr, location.centre_uvz, cube, mirror, config, times)
        t = time.perf_counter()
        pose = self._pose(est, smoother(est.xyz_mm, frame.timestamp_ms / 1e3), intr, config.hand)
        times["smooth"] = _ms_since(t)
        with self._lock:
            if self._previous_centre is None:
                self._hand_id += 1
            hand_id = self._hand_id
            self._previous_centre = location.centre_uvz

        status = _status(location.status, est.overall, config)
        extra.update(confidence=est.overall, recentred=est.recentred)
        hand = TrackedHand(hand_id=hand_id, hand=config.hand, status=status, location=location, crop=est.geom,
                           crop_depth=est.crop, pose=pose, confidence=est.overall, gt_xyz_mm=frame.gt_xyz_mm)
        return self._result(frame, location, status, est.geom, est.crop, pose, times, extra, (hand,))

    def _process_hands(self, frame: DepthFrame, times: dict, config: TrackerConfig, localiser: HandLocaliser,
                       cube: float) -> TrackerResult:
        """process() for several hands: find up to max_hands, keep each one's id (HandIdentities), side
        (HandednessVote) and One Euro filter, run all crops through the network at once. The primary hand (the
        result's own fields, what the weight maps show) is the one tracked longest."""
        intr, t_s = frame.intrinsics, frame.timestamp_ms / 1e3
        t = time.perf_counter()
        depth_mm = frame.depth_mm()
        # Every place found is scored by the presence model (a forearm or elbow found takes no hand's slot).
        # Hands not yet tracked are looked for every new_hand_every frames (second_hand_every while one hand
        # alone is known) and whenever nothing is tracked, and so are places tracked that are no hand: they cost
        # nothing in between.
        with self._lock:
            alone = len(self._hands) <= 1   # no other hand known (not even one lost for a few frames)
            every = config.second_hand_every if alone else config.new_hand_every
            search_new = not self._hands or frame.index % every == 0
            previous = tuple(state.centre_uvz for state in self._hands.values()
                             if state.streak or state.doubted < _DOUBTED_FRAMES or search_new)
            search_new = search_new or not previous
            lone = next(iter(self._hands.values())) if alone and previous else None
        search = functools.partial(localiser.locate_hands, depth_mm, intr, config.max_hands, previous, search_new,
                                   lambda centre: self._presence.scores(depth_mm, intr, [centre])[0],
                                   config.min_presence, coarse_new=alone)
        early = None
        if SEARCH_WHILE_INFERRING and search_new and lone is not None and lone.confirmed:
            # One hand tracked alone, and a second one is to be looked for: that search (and the presence
            # model on the places found) runs on the helper thread while the network runs on the tracked hand's
            # crop here, on the other core; it starts as the network run does (which leaves the interpreter
            # free), not while this thread crops. The estimate is used if that hand is the one shown (as it
            # nearly always is: a hand found anew is not shown on its first frame), else dropped.
            first = localiser.find_first(depth_mm, intr, previous[0])
            go = threading.Event()
            pending = _helper().submit(_once_set, go, functools.partial(search, first=first))
            try:
                if first.centre_uvz is not None:
                    t_early = time.perf_counter()
                    mirror = str(lone.vote.hand or config.hand) != self.info.hand
                    early = (first.centre_uvz, mirror, self._estimate_all(
                        depth_mm, intr, [first.centre_uvz], cube, [mirror], config, times, go.set))
                    t += time.perf_counter() - t_early   # (not localising)
            finally:
                go.set()
            locations = pending.result()
        else:
            locations = search()
        found = [loc for loc in locations if loc.status.has_pose]
        presence = [loc.presence for loc in found]
        ids = self._identities.assign([centre_mm(loc.centre_uvz, intr) for loc in found], t_s)
        with self._lock:
            anyone = any(state.confirmed for state in self._hands.values())
            for hand_id in ids:
                if hand_id not in self._hands:   # the first hand shows at once, any other once it has stayed
                    # (the settings in force now: update() may have changed them since this frame began)
                    self._hands[hand_id] = _HandState(OneEuroFilter(self.config.smoothing),
                                                      HandednessVote(config.handedness), confirmed=not anyone)
            for hand_id, state in self._hands.items():
                if hand_id not in ids:
                    state.streak = 0
                    state.smoother.reset()   # lost for a frame: its smoothing restarts (as with one hand)
            self._hands = {h.hand_id: self._hands[h.hand_id] for h in self._identities.known}
            states = {hand_id: self._hands[hand_id] for hand_id in ids}
        for hand_id, loc, score in zip(ids, found, presence):
            state = states[hand_id]
            state.centre_uvz = loc.centre_uvz
            state.frames += 1
            if score is None:   # not scored (no other place looked for): as it was
                state.streak += 1 if state.presence >= config.min_presence else 0
            else:
                state.presence = score if state.frames == 1 else 0.5 * (state.presence + score)
                state.streak = state.streak + 1 if score >= config.min_presence else 0
            state.doubted = 0 if state.streak else state.doubted + 1
            state.confirmed = state.confirmed or state.streak >= config.identity.confirm_frames
        shown = _shown(ids, states, config.max_hands, config.min_presence)
        ids, found = [ids[k] for k in shown], [found[k] for k in shown]
        sides = self._known_sides(ids, states, config)   # of the hands shown only
        times["localise"] = _ms_since(t)
        extra = {"hand": config.hand, "mirrored": False, "cube_mm": cube}
        if not found:
            self._shown_before = frozenset()
            location = next((loc for loc in locations if not loc.status.has_pose),
                            HandLocation(TrackingStatus.NO_HAND, None))
            return self._result(frame, location, location.status, None, None, None, times, extra)

        mirrors = [side != self.info.hand for side in sides]
        if early is not None and [loc.centre_uvz for loc in found] == [early[0]] and mirrors == [early[1]]:
            estimates = early[2]
        else:
            estimates = self._estimate_all(depth_mm, intr, [loc.centre_uvz for loc in found], cube, mirrors,
                                           config, times)
        t = time.perf_counter()
        # A hand found twice (two places on one hand, or one crop showing the other hand) is shown once.
        keep = _distinct(estimates, [states[i].presence for i in ids], config.identity.same_hand_mm)
        if len(keep) < len(ids):
            ids, found, sides, estimates = ([x[k] for k in keep] for x in (ids, found, sides, estimates))
        if config.handedness.one_person:
            ids = self._come_back(ids, states)
        self._read_side_cue(depth_mm, intr, ids, found, states, config)   # for the frames to come
        _add(times, "localise", t)
        t = time.perf_counter()
        truths = _matched_truths(frame.ground_truths(), [est.xyz_mm for est in estimates])
        hands = []
        for hand_id, loc, side, est, truth in zip(ids, found, sides, estimates, truths):
            pose = self._pose(est, states[hand_id].smoother(est.xyz_mm, t_s), intr, side)
            status = _status(loc.status, est.overall, config)
            hands.append(TrackedHand(hand_id=hand_id, hand=side, status=status, location=loc, crop=est.geom,
                                     crop_depth=est.crop, pose=pose, confidence=est.overall, gt_xyz_mm=truth))
        times["smooth"] = _ms_since(t)
        hands.sort(key=lambda h: h.hand_id)            # the hand tracked longest first: the primary one
        primary = hands[0]
        est = estimates[ids.index(primary.hand_id)]
        extra.update(hand=primary.hand, mirrored=primary.hand != self.info.hand, confidence=est.overall,
                     recentred=est.recentred)
        return self._result(frame, primary.location, primary.status, primary.crop, primary.crop_depth, primary.pose,
                            times, extra, tuple(hands))

    def _known_sides(self, ids, states, config: TrackerConfig) -> list[str]:
        """Each shown hand's side this frame: its vote's label, else the configured hand. One person has one
        hand of each side: a hand shown next to a hand whose side is known takes the other side at once (so a
        hand that reappears while the arms are crossed is not misread)."""
        if config.handedness.one_person and len(ids) == 2:
            a, b = (states[i].vote for i in ids)
            if (a.hand is None) != (b.hand is None):
                known, other = (a, b) if a.hand is not None else (b, a)
                other.assume(Hand.LEFT if known.hand is Hand.RIGHT else Hand.RIGHT)
        return [str(states[i].vote.hand or config.hand) for i in ids]

    def _come_back(self, ids: list[int], states: dict) -> list[int]:
        """One person's hands: a hand shown now and not in the frame before, with its side decided, is the hand
        last shown with that side when that one is not shown now (it came back from behind the other arm, or into
        view): the two exchange their ids (what is left of the hand that had it, e.g. a place on the forearm
        tracked under its id and not shown, goes on under the other id; tracking itself is unchanged). Updates
        states, the known hands and each side's last id; returns the ids."""
        out = list(ids)
        for k, hand_id in enumerate(ids):
            side = states[hand_id].vote.hand
            if side is None:
                continue
            before = self._last_shown.get(str(side))
            # (against out, the ids as already changed: a hand whose side changed is the last of both sides)
            if hand_id not in self._shown_before and before is not None and before not in out:
                with self._lock:
                    self._identities.swap(hand_id, before)
                    swapped = {before: hand_id, hand_id: before}
                    self._hands = {swapped.get(i, i): st for i, st in self._hands.items()}
                    mine, theirs = states.pop(hand_id), states.pop(before, None)
                    states[before] = mine
                    if theirs is not None:
                        states[hand_id] = theirs
                out[k] = hand_id = before
            self._last_shown[str(side)] = hand_id
        self._shown_before = frozenset(out)
        return out

    def _read_side_cue(self, depth_mm, intr, ids, found, states, config: TrackerConfig) -> None:
        """Update the shown hands' side votes from the depth (app.tracking.handedness), for the frames to come
        (this frame's estimates were made with the sides known before it). The cue is read only while two or
        more hands are shown (alone, a hand keeps what it had: one hand's place in the image is no evidence), for
        hands seen for a few frames (a flicker is no hand), and of those only for the hands that are due: every
        frame until a hand's vote has decided, then every HandednessConfig.recheck_frames frames. The votes'
        hysteresis keeps the labels through crossings and occlusions."""
        hcfg = config.handedness
        if len(found) < 2:
            return
        due = [states[i].frames >= hcfg.min_frames and (states[i].vote.hand is None
                                                          or states[i].frames % hcfg.recheck_frames == 0)
               for i in ids]
        if any(due):
            evidence = side_evidence(depth_mm, intr, [loc.centre_uvz for loc in found], hcfg)
            for hand_id, now, ev in zip(ids, due, evidence):
                if now:
                    states[hand_id].vote.update(ev)

    def _pose(self, est: Estimate, smoothed: np.ndarray, intr: Intrinsics, side: str) -> HandPose:
        """The pose of one estimate: smoothed joints (mm) and their pixels, the network's output, the side."""
        return HandPose(joints_xyz_mm=readonly(np.asarray(smoothed, dtype=np.float64)),
                        joints_xyz_raw_mm=readonly(est.xyz_mm),
                        joints_uv_px=readonly(project_mm_to_px(smoothed, intr)[:, :2]),
                        joints_uvd=readonly(est.joints_uvd), weights=readonly(est.weights),
                        confidence=readonly(est.confidence), hand=side, joint_names=tuple(self.info.joint_names),
                        offsets=readonly(est.offsets))

    def estimate(self, depth_mm: np.ndarray, intr: Intrinsics, centre_uvz: tuple[float, float, float]) -> Estimate:
        """Crop at a given centre (u_px, v_px, z_mm), infer and post-process with the current settings, without
        hand finding or smoothing (evaluation, tests, tools)."""
        return self.estimate_hands(depth_mm, intr, [centre_uvz])[0]

    def locate_hands(self, depth_mm: np.ndarray, intr: Intrinsics, previous_centres: tuple = ()) -> list[HandLocation]:
        """Up to config.max_hands hands with the current settings (HandLocaliser.locate_hands)."""
        with self._lock:
            localiser, max_hands = self._localiser, self.config.max_hands
        return localiser.locate_hands(np.asarray(depth_mm, dtype=np.float32), intr, max_hands, previous_centres)

    def estimate_hands(self, depth_mm: np.ndarray, intr: Intrinsics, centres_uvz, hands=None) -> list[Estimate]:
        """One Estimate per centre (u_px, v_px, z_mm), with the current settings, without hand finding or
        smoothing: every crop goes through the network in one batched run (N x 1 x S x S; a second one for the
        crops to re-centre). hands: the side of each hand ('right' / 'left', mirrored when not the model's),
        None: the tracked hand for all."""
        with self._lock:
            config, cube = self.config, self.cube_mm
        sides = [config.hand] * len(centres_uvz) if hands is None else [parse_hand(h) for h in hands]
        if len(sides) != len(centres_uvz):
            raise InputError(f"estimate_hands: {len(centres_uvz)} centres but {len(sides)} hands")
        mirrors = [side != self.info.hand for side in sides]
        return self._estimate_all(np.asarray(depth_mm, dtype=np.float32), intr, list(centres_uvz), cube, mirrors,
                                  config, {})

    def _estimate(self, depth_mm, intr, centre_uvz, cube, mirror, config, times) -> Estimate:
        return self._estimate_all(depth_mm, intr, [centre_uvz], cube, [mirror], config, times)[0]

    def _estimate_all(self, depth_mm, intr, centres_uvz, cube, mirrors, config, times,
                      before_infer=None) -> list[Estimate]:
        """before_infer: called as the first network run starts (after the crops)."""
        if not centres_uvz:
            return []
        estimates = self._passes(depth_mm, intr, centres_uvz, cube, mirrors, times, before_infer)
        if config.recentre:
            # A second pass on a crop centred on the first pass's joints when those sit far from the crop
            # centre (the localiser's centre was off, e.g. an arm pulled it); all such crops in one run.
            moved = [(k, _recentred_centre(est, intr, config.recentre_min_mm)) for k, est in enumerate(estimates)]
            moved = [(k, centre) for k, centre in moved if centre is not None]
            if moved:
                again = self._passes(depth_mm, intr, [c for _, c in moved], cube, [mirrors[k] for k, _ in moved],
                                     times)
                for (k, _), est in zip(moved, again):
                    estimates[k] = replace(est, recentred=True)
        return estimates

    def _passes(self, depth_mm, intr, centres_uvz, cube, mirrors, times, before_infer=None) -> list[Estimate]:
        """Crop at every centre (mirrored where asked), one network run over all the crops, post-process each."""
        t = time.perf_counter()
        geoms = [crop_geometry(c, cube, self.info.input_size, intr) for c in centres_uvz]
        crops = [_model_view(crop_depth(depth_mm, g), m) for g, m in zip(geoms, mirrors)]
        batch = np.stack(crops)
        _add(times, "crop", t)
        if before_infer is not None:
            before_infer()
        t = time.perf_counter()
        joints_uvd, weights, offsets = self.estimator.infer_votes(batch)
        _add(times, "infer", t)
        t = time.perf_counter()
        estimates = [self._post_process(geoms[k], crops[k], joints_uvd[k], weights[k],
                                        None if offsets is None else offsets[k], mirrors[k], intr)
                     for k in range(len(crops))]
        _add(times, "postprocess", t)
        return estimates

    def _post_process(self, geom, crop, joints_uvd, weights, offsets, mirror, intr) -> Estimate:
        """One crop's network output (in the model's view) as an Estimate in the user's view and camera mm."""
        joints_uvd = joints_uvd.astype(np.float64)
        if mirror:
            joints_uvd, weights = unmirror(joints_uvd, weights)
            offsets = None if offsets is None else unmirror_offsets(offsets)
            crop = _model_view(crop, True)   # shown as the user sees it, like the weight maps
        xyz_mm, _ = crop_to_camera(joints_uvd, geom, intr)
        confidence = joint_confidence(weights, joints_uvd, self.info.kernel_radius)
        return Estimate(geom, readonly(crop), joints_uvd, np.ascontiguousarray(weights, dtype=np.float32), xyz_mm,
                        confidence, overall_confidence(confidence), False, offsets)

    def _result(self, frame, location: HandLocation, status, geom, crop, pose, times, extra,
                hands: tuple[TrackedHand, ...] = ()) -> TrackerResult:
        ready_s = time.perf_counter()
        if frame.arrival_s > 0:
            times["end_to_end"] = (ready_s - frame.arrival_s) * 1e3
        else:
            times["end_to_end"] = sum(times.values())
        return TrackerResult(frame=frame, status=status, location=location, crop=geom, crop_depth=crop,
                             pose=pose, timings=StageTimings(**times), ready_s=ready_s, extra=extra,
                             hands=hands)


# While one hand is tracked alone, the search for a second one runs on a helper thread beside the network run
# (HandTracker._process_hands); False: in turn, on the tracker's thread (the same results, a little later).
SEARCH_WHILE_INFERRING = True
_HELPER: ThreadPoolExecutor | None = None
_HELPER_LOCK = threading.Lock()


def _once_set(event: threading.Event, job):
    """job() once event is set (on the helper thread)."""
    event.wait()
    return job()


def _helper() -> ThreadPoolExecutor:
    """The process's one helper thread for the trackers (started on first use; a tracker waits for its own
    work, so trackers in several threads take turns on it)."""
    global _HELPER
    with _HELPER_LOCK:
        if _HELPER is None:
            _HELPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hand-search")
        return _HELPER


def _status(found: TrackingStatus, overall: float, config: TrackerConfig) -> TrackingStatus:
    """A found hand's status: LOW_CONFIDENCE when tracked with an overall confidence below the setting."""
    if found == TrackingStatus.TRACKING and overall < config.min_confidence:
        return TrackingStatus.LOW_CONFIDENCE
    return found


def _model_view(crop: np.ndarray, mirror: bool) -> np.ndarray:
    """The crop as the model sees it: mirrored left-right when the hand is not the model's (and back)."""
    return np.ascontiguousarray(crop[:, ::-1]) if mirror else crop


def _recentred_centre(est: Estimate, intr: Intrinsics, min_mm: float) -> tuple[float, float, float] | None:
    """The crop centre (u_px, v_px, z_mm) on the estimate's mean joint when that sits at least min_mm from the
    crop's centre, else None."""
    predicted_mm = est.xyz_mm.mean(axis=0)
    if np.linalg.norm(predicted_mm - unproject_px_to_mm(np.asarray(est.geom.centre_uvz), intr)) < min_mm:
        return None
    return tuple(float(c) for c in project_mm_to_px(predicted_mm, intr))


def _ms_since(t: float) -> float:
    return (time.perf_counter() - t) * 1e3


def _add(times: dict, stage: str, t: float) -> None:
    times[stage] = times.get(stage, 0.0) + _ms_since(t)


@dataclass
class _HandState:
    """One known hand's own state when tracking several: its filter, its side's vote, whether it may be shown
    (confirmed: the first hand at once, any other after IdentityConfig.confirm_frames frames in a row that looked
    like a hand), its last centre, how many frames it has been seen (in all, and in a row looking like a hand),
    and its presence (the running mean of the presence model's score: it looks like a hand when that is at
    least TrackerConfig.min_presence)."""

    smoother: OneEuroFilter
    vote: HandednessVote
    confirmed: bool = False
    centre_uvz: tuple[float, float, float] | None = None
    frames: int = 0
    streak: int = 0
    presence: float = 1.0
    doubted: int = 0


_DOUBTED_FRAMES = 5   # a place found this many frames in a row scoring as no hand: tracked only when new hands
                      # are looked for


def _shown(ids: list[int], states: dict, max_hands: int, min_presence: float) -> list[int]:
    """The indices of the hands to show: the confirmed ones that look like hands (presence), at most max_hands,
    the likeliest first; when none does, the confirmed one likeliest to be a hand (alone in view, a hand the
    presence model doubts is still shown, as with one hand)."""
    if len(ids) == 1:   # (the common case: one hand, shown once confirmed, whatever its presence)
        return [0] if states[ids[0]].confirmed else []
    confirmed = sorted((k for k, hand_id in enumerate(ids) if states[hand_id].confirmed),
                       key=lambda k: -states[ids[k]].presence)
    hands = [k for k in confirmed if states[ids[k]].presence >= min_presence][:max_hands]
    return sorted(hands or confirmed[:1])


def _distinct(estimates: list[Estimate], presence: list[float], same_hand_mm: float) -> list[int]:
    """The indices of the estimates to keep, in order: one whose joints lie within same_hand_mm (mean over the
    joints) of a likelier one's (higher presence) is that hand found twice (two places on one hand)."""
    if len(estimates) < 2:
        return list(range(len(estimates)))
    kept: list[int] = []
    for k in sorted(range(len(estimates)), key=lambda k: -presence[k]):
        if all(np.linalg.norm(estimates[k].xyz_mm - estimates[j].xyz_mm, axis=1).mean() >= same_hand_mm
               for j in kept):
            kept.append(k)
    return sorted(kept)


def _matched_truths(truths, estimates_mm: list[np.ndarray], max_mm: float = 150.0) -> list[np.ndarray | None]:
    """The ground truth of each estimated hand: the truths paired with the estimates nearest first (mean
    joints), none further apart than max_mm (a false hand has no truth)."""
    if not truths or not estimates_mm:
        return [None] * len(estimates_mm)
    centres = np.array([est.mean(axis=0) for est in estimates_mm])
    true_centres = np.array([truth.joints_xyz_mm.mean(axis=0) for truth in truths])
    cost = np.linalg.norm(centres[:, None] - true_centres[None], axis=2)
    pairs = greedy_pairs(np.where(cost <= max_mm, cost, np.inf))
    return [truths[pairs[k]].joints_xyz_mm if k in pairs else None for k in range(len(estimates_mm))]
