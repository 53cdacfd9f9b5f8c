"""Recording when the disk is short: refuse to start below min_free_mb, stop cleanly on a real ENOSPC (a 2 MB
tmpfs), stop when the disk cannot keep up; what was written stays a valid session in every case."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import namedtuple

import numpy as np
import pytest

from app.camera import Intrinsics
from app.errors import RecordingError
from app.recording import writer as writer_module
from app.recording.reader import SessionReader
from app.recording.writer import SessionWriter
from app.types import DepthFrame

INTR = Intrinsics(160, 120, 150.0, 150.0, 79.5, 59.5, 1.0)


def _frame(k: int) -> DepthFrame:
    # Random 16-bit noise does not compress: each PNG is ~38 KB, so a 2 MB disk fills after ~50 frames.
    depth = np.random.default_rng(k).integers(0, 65535, (INTR.height, INTR.width), dtype=np.uint16)
    return DepthFrame(k, k, 33.0 * k, time.perf_counter(), depth, INTR)


def _assert_valid(path, frames: int) -> None:
    reader = SessionReader(path)
    assert len(reader) == frames
    for i in range(frames):
        assert np.array_equal(reader.frame(i).depth_raw, _frame(i).depth_raw)


def test_refuses_to_start_below_min_free_space(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 * 2**30, 10 * 2**30 - 150 * 2**20,
                                                                  150 * 2**20))
    with pytest.raises(RecordingError, match=r"^not enough free disk space to record into .*: 150 MB free, need "
                                             r"at least 200 MB$"):
        SessionWriter(tmp_path / "s", {}, min_free_mb=200)
    assert not (tmp_path / "s").exists()  # nothing half-created
    SessionWriter(tmp_path / "s", {}, min_free_mb=100).close()


@pytest.fixture()
def tiny_disk(tmp_path):
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a real full disk needs a 2 MB tmpfs mount, which needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a 2 MB tmpfs here ({done.stderr.strip() or done.returncode})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_real_disk_full_stops_recording_and_keeps_the_session_valid(tiny_disk):
    path = tiny_disk / "session"
    writer = SessionWriter(path, {"source": {"kind": "synthetic"}}, min_free_mb=0, queue_size=4)
    accepted = 0
    for k in range(200):
        if not writer.write(_frame(k), {"k": k}):
            break
        accepted += 1
    status = writer.close()
    assert accepted < 200  # write() reported the stop
    assert status.error is not None and status.recording is False
    assert status.error.startswith("recording stopped: the disk is full;")
    assert status.error.endswith(f"{status.frames} frames saved in {path}")
    assert isinstance(writer.error, RecordingError) and "\n" not in status.error
    assert 20 < status.frames < 60
    _assert_valid(path, status.frames)
    assert not [p for p in (path / "depth").iterdir() if p.name.endswith(".tmp")]  # failed PNG cleaned up


def test_writer_that_cannot_keep_up_stops_instead_of_blocking(tmp_path, monkeypatch):
    # A disk slower than the camera: each PNG takes 0.5 s to encode-and-write, the queue holds 2 frames.
    real_encode = writer_module.encode_depth_png

    def slow_encode(depth):
        time.sleep(0.5)
        return real_encode(depth)

    monkeypatch.setattr(writer_module, "encode_depth_png", slow_encode)
    writer = SessionWriter(tmp_path / "slow", {}, min_free_mb=0, queue_size=2, stall_s=0.2)
    results = [writer.write(_frame(k)) for k in range(8)]
    assert results[:2] == [True, True] and results[-1] is False
    assert writer.error is not None
    assert str(writer.error).startswith("recording stopped: the disk could not keep up (writer queue full for "
                                        "0.2 s)")
    status = writer.close()
    assert status.frames >= 1 and status.recording is False
    _assert_valid(tmp_path / "slow", status.frames)


def test_recording_stops_when_free_space_falls_below_half_the_reserve(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    free = {"mb": 300}
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(2**40, 2**40 - free["mb"] * 2**20,
                                                                  free["mb"] * 2**20))
    writer = SessionWriter(tmp_path / "s", {}, min_free_mb=200)  # 300 MB free: starts
    free["mb"] = 99  # another program fills the disk while we record
    for k in range(40):
        writer.write(_frame(k))
    status = writer.close()
    assert status.error == f"recording stopped: disk almost full (99 MB left); 30 frames saved in {tmp_path / 's'}"
    _assert_valid(tmp_path / "s", 30)  # checked every 30 frames: the 30 before the check are kept
