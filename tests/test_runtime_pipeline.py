"""The threaded pipeline with a real tracker and model: lockstep processes every frame, live drops stale
frames, replay control (also commands that arrive while a frame, or the end of the stream, is being read), stop,
errors as one line, recording into a session that reads back."""
import threading
import time

import numpy as np
import pytest

from app.config import TrackerConfig
from app.errors import RecordingError, SourceError
from app.recording.reader import SessionReader
from app.runtime.pipeline import Pipeline, PipelineState
from app.tracking.tracker import HandTracker
from tests.polling import wait_until
from tests.tracking_scenes import ListSource


def tracker_for(estimator):
    return HandTracker(TrackerConfig(model_path=estimator.model_path), estimator)


def test_lockstep_processes_every_frame_in_order(estimator, moving_hand):
    depths, gts = moving_hand
    source = ListSource(depths * 4, gt=gts * 4)         # 28 frames
    pipeline = Pipeline(source, tracker_for(estimator))
    assert pipeline.lockstep and pipeline.stats().state == PipelineState.IDLE
    seen = []
    pipeline.add_consumer(lambda r: seen.append((r.frame.index, r.status.value)))
    pipeline.start()
    assert pipeline.wait_finished(30.0)
    stats = pipeline.stats()
    assert stats.state == PipelineState.FINISHED and stats.error is None
    assert [i for i, _ in seen] == list(range(28))
    assert stats.frames_processed == stats.frames_captured == 28 and stats.frames_dropped == 0
    assert stats.position == 27 and stats.frame_count == 28 and stats.provider == "CPUExecutionProvider"
    assert seen[6][1] == "no_hand" and seen[0][1] in ("tracking", "low_confidence")
    assert pipeline.latest_result().frame.index == 27
    pipeline.stop()
    assert source.closed and pipeline.stats().state == PipelineState.FINISHED


def test_lockstep_results_are_deterministic(estimator, moving_hand):
    depths, gts = moving_hand
    runs = []
    for _ in range(2):
        got = []
        pipeline = Pipeline(ListSource(depths, gt=gts), tracker_for(estimator))
        pipeline.add_consumer(lambda r: got.append(None if r.pose is None else r.pose.joints_xyz_mm.copy()))
        pipeline.start()
        assert pipeline.wait_finished(30.0)
        pipeline.stop()
        runs.append(got)
    assert all((a is None and b is None) or np.array_equal(a, b) for a, b in zip(*runs))


def test_max_frames_is_exact_in_lockstep_and_live(estimator, moving_hand, tmp_path):
    depths, gts = moving_hand
    for live, name in ((False, "lockstep"), (True, "live")):
        source = ListSource(depths * 6, gt=gts * 6, live=live, fps=400.0)
        pipeline = Pipeline(source, tracker_for(estimator), max_frames=9)
        seen = []
        pipeline.add_consumer(lambda r: seen.append(r.frame.index))
        pipeline.start_recording(str(tmp_path / name))
        pipeline.start()
        assert pipeline.wait_finished(30.0)
        time.sleep(0.2)                                  # nothing more arrives after the limit
        pipeline.stop()
        stats = pipeline.stats()
        assert stats.state == PipelineState.FINISHED and stats.error is None
        assert stats.frames_processed == len(seen) == 9
        assert pipeline.recording_status().frames == 9 and len(SessionReader(tmp_path / name)) == 9
        if not live:
            assert seen == list(range(9))
            assert stats.frames_captured == 9 and source._next == 9   # frame 10 was never even read


def test_live_source_drops_stale_frames_instead_of_queueing(estimator, moving_hand):
    depths, _ = moving_hand
    source = ListSource(depths, live=True, fps=4000.0)  # far faster than the tracker
    pipeline = Pipeline(source, tracker_for(estimator))
    assert not pipeline.lockstep
    pipeline.start()
    assert wait_until(lambda: pipeline.stats().frames_processed >= 10)
    pipeline.stop(timeout_s=5.0)
    stats = pipeline.stats()
    assert stats.state == PipelineState.STOPPED and source.closed
    assert stats.frames_dropped > 0
    # Every captured frame was either processed, dropped, or (at most one) still waiting at the stop.
    assert stats.frames_captured - 1 <= stats.frames_processed + stats.frames_dropped <= stats.frames_captured


def test_pause_step_seek_resume(estimator, moving_hand):
    depths, _ = moving_hand
    source = ListSource(depths * 5, fps=30.0)            # 35 frames, paced in real time below
    pipeline = Pipeline(source, tracker_for(estimator), speed=1.0)
    pipeline.start()
    assert wait_until(lambda: pipeline.stats().position >= 2)
    pipeline.pause()
    time.sleep(0.15)
    held = pipeline.stats().position
    assert pipeline.stats().state == PipelineState.PAUSED
    time.sleep(0.3)
    assert pipeline.stats().position == held             # nothing moves while paused
    pipeline.step(2)
    assert wait_until(lambda: pipeline.stats().position == held + 2)
    pipeline.seek(20)
    assert wait_until(lambda: pipeline.stats().position == 20)   # a seek while paused shows that frame
    pipeline.set_speed(0.0)
    pipeline.resume()
    assert pipeline.wait_finished(30.0)
    assert pipeline.stats().position == 34 and pipeline.stats().state == PipelineState.FINISHED
    pipeline.stop()


class FailingSource(ListSource):
    def read(self, timeout_s=1.0):
        frame = super().read(timeout_s)
        if frame is not None and frame.index == 3:
            raise SourceError("camera unplugged\nsecond line that must not show")
        return frame


def test_source_failure_ends_the_run_with_one_line(estimator, moving_hand):
    depths, _ = moving_hand
    pipeline = Pipeline(FailingSource(depths), tracker_for(estimator))
    pipeline.start()
    assert pipeline.wait_finished(10.0)
    stats = pipeline.stats()
    assert stats.state == PipelineState.ERROR and stats.error == "camera unplugged"
    assert isinstance(pipeline.failure, SourceError)
    assert stats.frames_processed == 3
    pipeline.stop()
    assert pipeline.stats().state == PipelineState.ERROR


def test_consumer_failure_is_reported(estimator, moving_hand):
    depths, _ = moving_hand

    def broken(result):
        raise ValueError("disk on fire")

    pipeline = Pipeline(ListSource(depths), tracker_for(estimator))
    pipeline.add_consumer(broken)
    pipeline.start()
    assert pipeline.wait_finished(10.0)
    assert pipeline.stats().error == "ValueError: disk on fire"
    pipeline.stop()


def test_recording_writes_a_session_that_reads_back(estimator, moving_hand, tmp_path):
    depths, gts = moving_hand
    pipeline = Pipeline(ListSource(depths, gt=gts), tracker_for(estimator))
    target = tmp_path / "session"
    pipeline.start_recording(str(target))
    with pytest.raises(RecordingError, match="already recording"):
        pipeline.start_recording(str(tmp_path / "other"))
    pipeline.start()
    assert pipeline.wait_finished(30.0)
    pipeline.stop()
    status = pipeline.recording_status()
    assert status.frames == 7 and status.error is None and status.bytes > 0 and status.path == str(target)
    reader = SessionReader(target)
    assert len(reader) == 7
    assert np.array_equal(reader.frame(2).depth_raw, np.round(depths[2]).astype(np.uint16))
    assert reader.result(6)["status"] == "no_hand" and reader.result(0)["joints_xyz_mm"] is not None
    assert reader.meta["tracker_config"]["hand"] == "right"
    blocker = tmp_path / "full"
    blocker.mkdir()
    (blocker / "x").write_text("x")
    with pytest.raises(RecordingError, match="not an empty folder"):
        Pipeline(ListSource(depths), tracker_for(estimator)).start_recording(str(blocker))


def test_hold_at_end_waits_for_a_seek(estimator, moving_hand):
    depths, _ = moving_hand
    pipeline = Pipeline(ListSource(depths), tracker_for(estimator), hold_at_end=True)
    pipeline.start()
    assert pipeline.wait_finished(10.0)
    assert pipeline.stats().position == 6
    pipeline.seek(1)
    assert wait_until(lambda: pipeline.stats().position == 1)
    pipeline.stop()
    assert pipeline.stats().state == PipelineState.STOPPED


def test_seek_after_the_end_without_hold_is_refused(estimator, moving_hand):
    depths, _ = moving_hand
    pipeline = Pipeline(ListSource(depths[:2]), tracker_for(estimator))
    pipeline.start()
    assert pipeline.wait_finished(10.0)
    time.sleep(0.05)
    from app.errors import InputError
    with pytest.raises(InputError, match="run has ended"):
        pipeline.seek(0)
    pipeline.stop()


class GatedSource(ListSource):
    """The read at position `gate_at` (len(depths): the read that finds the end) sets `entered` and blocks until
    the test sets `release`, so commands can be sent exactly while that read is in flight."""

    def __init__(self, depths, gate_at: int) -> None:
        super().__init__(depths)
        self.gate_at = gate_at
        self.entered, self.release = threading.Event(), threading.Event()

    def read(self, timeout_s=1.0):
        if self._next == self.gate_at and not self.release.is_set():
            self.entered.set()
            self.release.wait(10.0)
        return super().read(timeout_s)


def _indices_of(pipeline):
    seen = []
    pipeline.add_consumer(lambda r: seen.append(r.frame.index))
    return seen


@pytest.mark.parametrize("resume_first", [False, True])
def test_seek_and_resume_sent_while_the_end_is_read_are_kept(estimator, moving_hand, resume_first):
    depths, _ = moving_hand
    source = GatedSource(depths, gate_at=len(depths))
    pipeline = Pipeline(source, tracker_for(estimator), hold_at_end=True)
    seen = _indices_of(pipeline)
    pipeline.start()
    try:
        assert source.entered.wait(10.0)                 # frames 0..6 processed; the read that finds the end waits
        if resume_first:
            pipeline.resume()
            pipeline.seek(2)
        else:                                             # the GUI's "play from the start" at the last frame
            pipeline.seek(2)
            pipeline.resume()
    finally:
        source.release.set()
    assert wait_until(lambda: seen[-1:] == [6] and len(seen) == 12, timeout_s=10.0)
    assert seen == [0, 1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6]   # the seek moved, the resume played on to the end
    assert pipeline.wait_finished(10.0)                   # held at the end again, paused
    assert pipeline.stats().state == PipelineState.PAUSED and pipeline.stats().position == 6
    pipeline.stop()


def test_seek_sent_while_the_end_is_read_without_hold_is_kept(estimator, moving_hand):
    depths, _ = moving_hand
    source = GatedSource(depths, gate_at=len(depths))
    pipeline = Pipeline(source, tracker_for(estimator))
    seen = _indices_of(pipeline)
    pipeline.start()
    try:
        assert source.entered.wait(10.0)
        pipeline.seek(4)                                  # accepted: the run has not ended yet
    finally:
        source.release.set()
    assert pipeline.wait_finished(10.0)
    assert seen == [0, 1, 2, 3, 4, 5, 6, 4, 5, 6]
    assert pipeline.stats().state == PipelineState.FINISHED
    pipeline.stop()


def test_seek_while_paused_during_a_read_shows_the_frame_sought(estimator, moving_hand):
    depths, _ = moving_hand
    source = GatedSource(depths, gate_at=3)
    pipeline = Pipeline(source, tracker_for(estimator))
    seen = _indices_of(pipeline)
    pipeline.pause()
    pipeline.start()
    pipeline.step(4)                                      # frames 0, 1, 2 pass; the read of frame 3 waits
    try:
        assert source.entered.wait(10.0)
        pipeline.seek(5)                                  # the frame being read (3) is now stale
    finally:
        source.release.set()
    assert wait_until(lambda: pipeline.stats().position == 5)
    assert seen == [0, 1, 2, 5] and pipeline.stats().state == PipelineState.PAUSED
    pipeline.resume()
    assert pipeline.wait_finished(10.0)
    assert seen == [0, 1, 2, 5, 6]



def test_pause_during_a_read_loses_no_replay_frame(estimator, moving_hand):
    depths, _ = moving_hand
    source = GatedSource(depths, gate_at=3)
    pipeline = Pipeline(source, tracker_for(estimator))
    seen = _indices_of(pipeline)
    pipeline.start()
    try:
        assert source.entered.wait(10.0)
        pipeline.pause()                                  # the source has already moved past frame 3
    finally:
        source.release.set()
    assert wait_until(lambda: pipeline.stats().position == 3)   # the frame in flight is shown, then paused
    pipeline.step(1)
    assert wait_until(lambda: pipeline.stats().position == 4)
    pipeline.resume()
    assert pipeline.wait_finished(10.0)
    assert seen == list(range(7))                         # lockstep replay: every frame exactly once

def test_seek_interrupts_a_long_pacing_wait(estimator, moving_hand):
    depths, _ = moving_hand
    source = GatedSource(depths, gate_at=1)
    pipeline = Pipeline(source, tracker_for(estimator), speed=0.001)   # frame 1 is due 33 s after frame 0
    seen = _indices_of(pipeline)
    pipeline.start()
    try:
        assert source.entered.wait(10.0)
        pipeline.seek(5)                                  # sent before frame 1's pacing wait even begins
    finally:
        source.release.set()
    assert wait_until(lambda: pipeline.stats().position == 5)   # not after the 33 s wait for frame 1
    assert seen == [0, 5]
    pipeline.stop()
    assert pipeline.stats().state == PipelineState.STOPPED


def test_camera_unplugged_mid_recording_closes_the_session_with_every_frame(estimator, tmp_path):
    """The live-camera code path through a pyrealsense2 software device: frames are recorded, then the stream
    vanishes as when the cable is pulled. The run ends saying so, the session is closed cleanly and holds every
    frame the pipeline received, bit-exact, and replays."""
    from app.sources.realsense import LiveRealSenseSource
    from app.sources.session import SessionSource
    from tests.rs_software import SoftwareDepthCamera, known_depth

    w, h, n = 64, 48, 12
    camera = SoftwareDepthCamera(w, h, fps=30)
    source = LiveRealSenseSource.from_sensor(camera.sensor, camera.profile,
                                             device={"name": "Software D4xx", "serial": "000111222"})
    pipeline = Pipeline(source, tracker_for(estimator))
    assert not pipeline.lockstep
    pipeline.start_recording(str(tmp_path / "take"))
    pipeline.start()
    assert wait_until(lambda: source._opened, 5.0)
    for k in range(n):   # one at a time, each taken by the tracker before the next: every frame is received
        camera.push(known_depth(k, w, h), 500 + k, 1000.0 + 33.3 * k)
        assert wait_until(lambda: pipeline.stats().frames_processed == k + 1, 10.0), k
    camera.sensor.stop()   # unplugged
    camera.sensor.close()
    assert pipeline.wait_finished(10.0)
    stats = pipeline.stats()
    assert stats.state == PipelineState.ERROR and stats.error == "camera disconnected (Software D4xx 000111222)"
    assert stats.frames_processed == n and stats.frames_dropped == 0
    status = pipeline.recording_status()
    assert status.frames == n and status.error is None
    pipeline.stop()
    reader = SessionReader(tmp_path / "take")
    assert reader.meta["closed_utc"] is not None and reader.meta["frame_count"] == n and reader.skipped == 0
    assert [reader.entry(i)["frame_number"] for i in range(n)] == [500 + k for k in range(n)]
    replay = SessionSource(tmp_path / "take")
    with replay:
        frames = []
        while (frame := replay.read()) is not None:
            frames.append(frame)
    assert len(frames) == n
    assert all(np.array_equal(f.depth_raw, known_depth(k, w, h)) for k, f in enumerate(frames))
