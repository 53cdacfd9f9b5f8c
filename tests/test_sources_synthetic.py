"""SyntheticSource through the FrameSource contract: frames, indices, ground truth, end of stream, seek, loop
replay, determinism, close from another thread, and the animator's smooth periodic motion."""
import threading

import numpy as np
import pytest

from app.camera import Intrinsics, project_mm_to_px
from app.errors import InputError
from app.sources.synthetic import D435_LIKE, SyntheticSource
from app.synth.motion import HandAnimator

SMALL = Intrinsics(160, 120, 96.0, 96.0, 80.0, 60.0)


def read_all(source, limit=100):
    frames = []
    while len(frames) < limit:
        frame = source.read()
        if frame is None:
            break
        frames.append(frame)
    return frames


def test_finite_source_contract_with_ground_truth_and_seek():
    with SyntheticSource(seed=3, intrinsics=SMALL, fps=30.0, frame_count=5, realtime=False) as src:
        info = src.info
        assert (info.kind, info.live, info.seekable, info.frame_count, info.fps) == ("synthetic", False, True, 5,
                                                                                        30.0)
        frames = read_all(src)
        assert [f.index for f in frames] == [0, 1, 2, 3, 4] and [f.frame_number for f in frames] == [0, 1, 2, 3, 4]
        assert np.allclose(np.diff([f.timestamp_ms for f in frames]), 1000.0 / 30.0)
        assert src.read() is None
        for f in frames:
            assert f.depth_raw.shape == (120, 160) and f.depth_raw.dtype == np.uint16
            assert not f.depth_raw.flags.writeable
            assert f.gt_xyz_mm.shape == (21, 3) and f.gt_hand == "right" and f.intrinsics == SMALL
            assert 250.0 < f.gt_xyz_mm[:, 2].mean() < 750.0
        # The hand moves: ground truth differs between frames, smoothly (a few mm per frame at 30 fps).
        step = np.linalg.norm(frames[1].gt_xyz_mm - frames[0].gt_xyz_mm, axis=1).max()
        assert 0.0 < step < 40.0
        src.seek(2)
        again = src.read()
        assert again.index == 2 and np.array_equal(again.depth_raw, frames[2].depth_raw)
        with pytest.raises(InputError):
            src.seek(5)


def test_joints_project_onto_the_rendered_hand():
    with SyntheticSource(seed=1, fps=30.0, frame_count=3, realtime=False) as src:
        frame = src.read()
    assert frame.intrinsics == D435_LIKE
    uvz = project_mm_to_px(frame.gt_xyz_mm, D435_LIKE)
    u, v = np.rint(uvz[:, 0]).astype(int), np.rint(uvz[:, 1]).astype(int)
    inside = (u >= 0) & (u < 640) & (v >= 0) & (v < 480)
    assert inside.mean() > 0.9
    z = frame.depth_raw[v[inside], u[inside]].astype(float)
    assert np.mean(np.abs(z - uvz[inside, 2]) < 30.0) > 0.5


def test_same_seed_same_frames_and_loop_replays():
    a = SyntheticSource(seed=7, intrinsics=SMALL, fps=10.0, realtime=False, loop_s=0.4)
    b = SyntheticSource(seed=7, intrinsics=SMALL, fps=10.0, realtime=False, loop_s=0.4)
    with a, b:
        fa, fb = read_all(a, 9), read_all(b, 9)
    assert a.loop_frames == 4 and a.info.frame_count is None and not a.info.seekable
    assert all(np.array_equal(x.depth_raw, y.depth_raw) for x, y in zip(fa, fb))
    assert np.array_equal(fa[1].depth_raw, fa[5].depth_raw) and np.array_equal(fa[0].gt_xyz_mm, fa[8].gt_xyz_mm)
    assert not np.array_equal(fa[0].depth_raw, fa[1].depth_raw)
    assert [f.frame_number for f in fa] == list(range(9))
    with pytest.raises(NotImplementedError):
        a.seek(0)


def test_realtime_left_hand_and_close_from_another_thread():
    src = SyntheticSource(seed=2, intrinsics=SMALL, fps=0.5, hand="left", realtime=True, loop_s=4.0)
    assert src.info.live
    src.open()
    first = src.read()
    assert first.gt_hand == "left" and first.frame_number == 0
    result = {}
    reader = threading.Thread(target=lambda: result.setdefault("frame", src.read(timeout_s=10.0)))
    reader.start()                      # waits ~2 s for frame 1 at 0.5 fps
    src.close()
    reader.join(timeout=5.0)
    assert not reader.is_alive() and result["frame"] is None
    assert src.read() is None
    src.close()                         # twice is fine


def test_bad_arguments_are_one_line_errors():
    for kwargs in ({"fps": 0}, {"frame_count": 0}, {"hand": "both"}, {"loop_s": -1}):
        with pytest.raises(InputError):
            SyntheticSource(**kwargs)


def test_animator_is_periodic_and_smooth():
    animator = HandAnimator(5, SMALL, period_s=2.0, noise=False)
    a, b = animator.next_frame(0.25), animator.next_frame(2.25)
    assert np.array_equal(a.clean_depth_raw, b.clean_depth_raw)
    joints = np.array([animator.next_frame(t).joints_xyz_mm for t in np.arange(0.0, 2.0, 0.1)])
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=2).max(axis=1) / 0.1
    assert speed.max() < 1500.0          # mm/s: no jumps
    z = joints[:, :, 2].mean(axis=1)
    assert np.all((z > 280.0) & (z < 720.0))


def test_two_synthetic_hands_carry_each_hand_s_ground_truth():
    source = SyntheticSource(seed=3, frame_count=4, realtime=False, hands=2)
    source.open()
    try:
        frames = [source.read() for _ in range(4)]
    finally:
        source.close()
    assert "two hands" in source.info.name and source.info.device["hands"] == 2
    for frame in frames:
        assert frame.gt_xyz_mm is None and frame.gt_hand is None
        right, left = frame.gt_hands
        assert (right.hand, left.hand) == ("right", "left") and right.joints_xyz_mm.shape == (21, 3)
        for truth in frame.gt_hands:            # most of each hand's joints lie on (or next to) rendered depth
            uv = project_mm_to_px(truth.joints_xyz_mm, D435_LIKE)[:, :2].astype(int)
            on = [frame.depth_raw[v - 3:v + 4, u - 3:u + 4].any() for u, v in uv]
            assert np.mean(on) > 0.5
    with pytest.raises(InputError, match="1 or 2"):
        SyntheticSource(hands=3)
