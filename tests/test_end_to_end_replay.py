"""Record a synthetic session through the command line, replay it, and get the same results frame for frame."""
import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli_runs import run_tracker
from tests.tracking_model import random_model_path



def cli(*args):
    proc = run_tracker(*args, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def frames(path):
    lines = Path(path).read_text().splitlines()
    return [json.loads(line) for line in lines[1:]]          # line 0 is the header


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    pytest.importorskip("app.sources.synthetic")
    tmp = tmp_path_factory.mktemp("e2e")
    model = random_model_path()
    session = tmp / "session"
    cli("--headless", "--source", "synthetic", "--model", model, "--max-frames", 12, "--record", session,
        "--output", tmp / "live.jsonl")
    return model, session, frames(tmp / "live.jsonl"), tmp


def test_session_holds_every_processed_frame_with_its_result(recorded):
    _, session, live, _ = recorded
    lines = [json.loads(line) for line in (session / "frames.jsonl").read_text().splitlines()]
    assert len(lines) == len(live) == 12
    assert [entry["frame_number"] for entry in lines] == [r["frame_number"] for r in live]
    assert all((session / entry["depth"]).is_file() for entry in lines)
    for entry, rec in zip(lines, live):
        assert entry["result"]["status"] == rec["status"]
        if rec["joints_xyz_mm"] is not None:
            assert np.allclose(entry["result"]["joints_xyz_mm"], rec["joints_xyz_mm"], atol=1e-3)
        assert np.allclose(entry["gt_xyz_mm"], rec["gt_xyz_mm"], atol=0.006)   # JSONL rounds to 0.01 mm
    meta = json.loads((session / "session.json").read_text())
    assert meta["intrinsics"]["fx"] > 0 and meta["depth_unit_mm"] > 0


def test_replay_processes_every_frame_and_reproduces_the_results(recorded):
    model, session, live, tmp = recorded
    cli("--headless", "--source", session, "--model", model, "--output", tmp / "replay.jsonl")
    replay = frames(tmp / "replay.jsonl")
    assert len(replay) == len(live)                                        # 100 % of frames, in order
    assert [r["frame_number"] for r in replay] == [r["frame_number"] for r in live]
    assert [r["timestamp_ms"] for r in replay] == pytest.approx([r["timestamp_ms"] for r in live], abs=1e-6)
    assert [r["status"] for r in replay] == [r["status"] for r in live]
    with_pose = [(a, b) for a, b in zip(live, replay) if a["joints_xyz_raw_mm"] is not None]
    assert with_pose, "the synthetic hand should be found in some frames"
    for a, b in with_pose:
        assert np.abs(np.asarray(a["joints_xyz_raw_mm"]) - np.asarray(b["joints_xyz_raw_mm"])).max() < 1e-3
        assert np.abs(np.asarray(a["joints_xyz_mm"]) - np.asarray(b["joints_xyz_mm"])).max() < 1e-3


def test_records_are_version_2_with_hands_and_a_version_1_session_still_replays(recorded):
    model, session, live, tmp = recorded
    header = json.loads((tmp / "live.jsonl").read_text().splitlines()[0])
    assert header["version"] == 2
    for rec in live:
        if rec["joints_xyz_mm"] is None:
            assert rec["hands"] == []
            continue
        (hand,) = rec["hands"]                      # one hand: the primary one, its fields as at the top level
        assert hand["hand"] == rec["hand"] == "right" and hand["status"] == rec["status"]
        assert hand["joints_xyz_mm"] == rec["joints_xyz_mm"] and hand["confidence"] == rec["confidence"]
        assert hand["centre_uvz"] == rec["centre_uvz"] and hand["gt_xyz_mm"] == rec["gt_xyz_mm"]
        assert hand["overall_confidence"] == rec["overall_confidence"]
    ids = [rec["hands"][0]["id"] for rec in live if rec["hands"]]
    assert ids and ids[0] == 1
    # A session written before version 2: its results have no 'hands'. It replays all the same.
    old = tmp / "session_v1"
    old.mkdir()
    (old / "session.json").write_text((session / "session.json").read_text())
    (old / "depth").symlink_to(session / "depth")
    lines = [json.loads(line) for line in (session / "frames.jsonl").read_text().splitlines()]
    for entry in lines:
        entry["result"].pop("hands")
    (old / "frames.jsonl").write_text("".join(json.dumps(entry) + "\n" for entry in lines))
    cli("--headless", "--source", old, "--model", model, "--output", tmp / "replay_v1.jsonl")
    replay = frames(tmp / "replay_v1.jsonl")
    assert [r["frame_number"] for r in replay] == [r["frame_number"] for r in live]
    assert [r["hands"] for r in replay] == [r["hands"] for r in live]
