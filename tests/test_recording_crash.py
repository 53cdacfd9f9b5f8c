"""Crash safety: a process recording in a loop is SIGKILLed mid-run; the session it leaves opens and every
frame it lists reads back bit-exact."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from app.recording.format import FRAMES_JSONL
from app.recording.reader import SessionReader

ROOT = Path(__file__).resolve().parents[1]
W, H = 320, 240

# The recording process: frame k's depth is a function of k alone, so the test can regenerate it.
CHILD = f"""
import sys, time
import numpy as np
from app.camera import Intrinsics
from app.recording.writer import SessionWriter
from app.types import DepthFrame

intr = Intrinsics({W}, {H}, 300.0, 300.0, 159.5, 119.5, 1.0)
writer = SessionWriter(sys.argv[1], {{"source": {{"kind": "synthetic", "fps": 30.0}}}}, min_free_mb=0,
                       queue_size=8)
for k in range(100000):
    depth = np.random.default_rng(k).integers(0, 4000, ({H}, {W}), dtype=np.uint16)
    frame = DepthFrame(k, 5000 + k, 33.0 * k, time.perf_counter(), depth, intr)
    writer.write(frame, {{"status": "tracking", "k": k}})
"""


def _lines(path: Path) -> int:
    try:
        return (path / FRAMES_JSONL).read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_sigkill_mid_recording_leaves_a_readable_session(tmp_path):
    session = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(session)], cwd=ROOT, env=env,
                             stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60.0
        while _lines(session) < 25:  # let it get well into the loop, writer thread busy
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the recording process wrote nothing for 60 s"
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    reader = SessionReader(session)
    assert len(reader) >= 25
    assert reader.skipped <= 1  # at most the line being appended when the kill came
    assert reader.meta["closed_utc"] is None  # never closed cleanly
    assert reader.meta["intrinsics"]["width"] == W
    for i in range(len(reader)):
        entry = reader.entry(i)
        k = entry["index"]
        assert k == i and entry["result"] == {"status": "tracking", "k": k}
        frame = reader.frame(i)
        expected = np.random.default_rng(k).integers(0, 4000, (H, W), dtype=np.uint16)
        assert frame.frame_number == 5000 + k
        assert np.array_equal(frame.depth_raw, expected), f"frame {i} differs"
    leftovers = [p.name for p in (session / "depth").iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 1  # at most the PNG being written at the kill; unlisted, so harmless
