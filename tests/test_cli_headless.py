"""The command line, for real: headless runs write valid JSONL with every field, --benchmark prints its JSON,
bad inputs give one line and the right exit code (never a traceback), Ctrl-C exits cleanly, no Qt headless."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main
from app.joints import JOINT_NAMES
from app.types import STAGES
from tests.cli_runs import ENV, REPO, run_python
from tests.tracking_scenes import INTR, hand_scene

INTRINSICS = f"{INTR.fx},{INTR.fy},{INTR.cx},{INTR.cy}"


@pytest.fixture(scope="module")
def model(model_path):
    return model_path


@pytest.fixture(scope="module")
def png_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pngs")
    for k in range(8):
        depth = hand_scene((-20.0 + 6.0 * k, 0.0, 500.0))[0] if k != 5 else np.zeros((480, 640))
        cv2.imwrite(str(folder / f"depth_{k:04d}.png"), np.round(depth).astype(np.uint16))
    return folder


def run_cli(*args, timeout=120):
    """The command line in a fresh interpreter; stderr ends with whether Qt was imported."""
    code = ("import sys; from app.cli import main; rc = main(sys.argv[1:]); "
            "print('QT-IMPORTED' if 'PySide6' in sys.modules else 'NO-QT', file=sys.stderr); sys.exit(rc)")
    return run_python(code, *args, timeout=timeout)


def read_jsonl(path):
    lines = Path(path).read_text().splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def test_headless_png_run_writes_jsonl_and_benchmark_without_qt(model, png_folder, tmp_path):
    out = tmp_path / "out.jsonl"
    proc = run_cli("--headless", "--source", png_folder, "--intrinsics", INTRINSICS, "--model", model,
                   "--output", out, "--benchmark")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "NO-QT" in proc.stderr
    assert "provider: CPUExecutionProvider" in proc.stderr
    header, records = read_jsonl(out)
    assert header["header"] is True and header["provider"] == "CPUExecutionProvider"
    assert header["joint_names"] == list(JOINT_NAMES) and header["model_info"]["input_size"] == 128
    assert [r["frame"] for r in records] == list(range(8))
    for r in records:
        for key in ("frame", "timestamp_ms", "status", "hand", "joint_names", "joints_xyz_mm", "joints_uv_px",
                    "confidence", "timings_ms"):
            assert key in r
        assert "gt_xyz_mm" not in r                           # PNGs have no ground truth
        assert r["hand"] == "right" and set(r["timings_ms"]) == set(STAGES) | {"end_to_end"}
    assert records[5]["status"] == "no_hand" and records[5]["joints_xyz_mm"] is None
    good = records[0]
    assert good["status"] in ("tracking", "low_confidence")
    assert np.asarray(good["joints_xyz_mm"]).shape == (21, 3) and np.asarray(good["joints_uv_px"]).shape == (21, 2)
    assert 300 < np.asarray(good["joints_xyz_mm"])[:, 2].mean() < 700
    bench = json.loads(proc.stdout.strip().splitlines()[-1])
    assert bench["frames"] == 8 and bench["frames_with_pose"] == 7 and bench["throughput_fps"] > 0
    assert set(bench["stages_ms"]) == set(STAGES) | {"end_to_end"}
    for stage in bench["stages_ms"].values():
        assert stage["p50"] <= stage["p95"] <= stage["p99"]
    assert bench["stages_ms"]["infer"]["p50"] > 0


def test_headless_synthetic_with_max_frames_terminates_with_ground_truth(model, tmp_path):
    pytest.importorskip("app.sources.synthetic")
    out = tmp_path / "synthetic.jsonl"
    proc = run_cli("--headless", "--source", "synthetic", "--model", model, "--max-frames", 6, "--output", out)
    assert proc.returncode == 0, proc.stderr
    _, records = read_jsonl(out)
    assert len(records) == 6
    assert all(np.asarray(r["gt_xyz_mm"]).shape == (21, 3) for r in records)


def test_two_synthetic_hands_are_recorded_with_each_hand_s_ground_truth(model, tmp_path):
    rec = tmp_path / "two"
    proc = run_cli("--headless", "--source", "synthetic", "--synthetic-hands", "2", "--model", model,
                   "--max-frames", 3, "--record", rec)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in (rec / "frames.jsonl").read_text().splitlines()]
    assert len(lines) == 3
    for line in lines:
        assert [g["hand"] for g in line["gt_hands"]] == ["right", "left"] and "gt_xyz_mm" not in line
        assert all(np.asarray(g["xyz_mm"]).shape == (21, 3) for g in line["gt_hands"])


def test_max_frames_is_exact_on_png_folders_and_sessions(model, png_folder, tmp_path):
    """N means N: processed, written, recorded, benchmarked and in the final message (issue #10 item 1)."""
    many = tmp_path / "many"
    many.mkdir()
    for k, png in enumerate(sorted(png_folder.glob("*.png")) * 5):          # 40 frames
        (many / f"d{k:03d}.png").write_bytes(png.read_bytes())
    session = tmp_path / "session"
    proc = run_cli("--headless", "--source", many, "--intrinsics", INTRINSICS, "--model", model,
                   "--record", session)
    assert proc.returncode == 0, proc.stderr
    for source, n, extra in ((many, 7, ["--intrinsics", INTRINSICS]), (session, 11, []),
                             (session, 13, ["--realtime"])):
        out, rec = tmp_path / f"out{n}.jsonl", tmp_path / f"rec{n}"
        proc = run_cli("--headless", "--source", source, *extra, "--model", model, "--max-frames", n,
                       "--output", out, "--record", rec, "--benchmark")
        assert proc.returncode == 0, proc.stderr
        _, records = read_jsonl(out)
        assert len(records) == n
        assert len((rec / "frames.jsonl").read_text().splitlines()) == n == len(list((rec / "depth").iterdir()))
        assert json.loads(proc.stdout.strip().splitlines()[-1])["frames"] == n
        done = [line for line in proc.stderr.splitlines() if line.startswith("done:")]
        assert done and done[0].startswith(f"done: {n} frames processed") and f"recorded {n} frames" in done[0]
        if "--realtime" not in extra:
            assert [r["frame"] for r in records] == list(range(n))


@pytest.mark.parametrize("argv, code, message", [
    (["--headless", "--source", "/nonexistent/input.bag"], 2, "input not found"),
    (["--headless", "--source", "{png}", "--intrinsics", "1,2,3"], 2, "--intrinsics expects four numbers"),
    (["--headless", "--source", "{png}"], 2, "intrinsics"),
    (["--headless", "--source", "{png}", "--intrinsics", INTRINSICS, "--model", "{junk}"], 2,
     "not a hand-tracker model"),
    (["--headless", "--model", "/nonexistent/model.onnx"], 2, "model file not found"),
    (["--headless", "--max-frames", "0"], 2, "--max-frames must be >= 1"),
    (["--headless", "--hand", "middle"], 2, "argument --hand: invalid choice"),
    (["--bogus-option"], 2, "unrecognized arguments"),
    (["--headless", "--calibration", "/nonexistent/cal.json"], 2, "calibration file not found"),
    (["--output", "x.jsonl"], 2, "--output needs --headless"),
    (["--headless", "--source", "{png}", "--intrinsics", INTRINSICS, "--synthetic-hands", "2"], 2,
     "--synthetic-hands applies to --source synthetic only"),
    (["--headless", "--source", "synthetic", "--synthetic-hands", "3"], 2, "argument --synthetic-hands"),
])
def test_bad_inputs_give_one_line_and_exit_code(argv, code, message, model, png_folder, tmp_path, capsys):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not onnx")
    argv = [a.format(png=png_folder, junk=junk) for a in argv]
    if "--model" not in argv:
        argv += ["--model", model]
    try:
        rc = main(argv)
    except SystemExit as exc:      # argparse usage errors exit from inside parse_args
        rc = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == code
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0] and "Traceback" not in err[0]


def test_bad_model_in_a_subprocess_prints_no_traceback(png_folder, tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model")
    proc = run_cli("--headless", "--source", png_folder, "--intrinsics", INTRINSICS, "--model", junk)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[0].startswith("error: not a hand-tracker model")


def test_help_explains_units_and_conventions():
    proc = subprocess.run([sys.executable, str(REPO / "run_tracker.py"), "--help"], cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for text in ("millimetres", "x right, y down, z forward", "--benchmark", "--realtime", "gt_xyz_mm",
                 "exit codes", "1/mm"):
        assert text in proc.stdout


def test_ctrl_c_exits_cleanly(model, png_folder):
    many = png_folder.parent / "many"
    many.mkdir(exist_ok=True)
    src = sorted(png_folder.glob("*.png"))[0].read_bytes()
    for k in range(150):
        (many / f"depth_{k:04d}.png").write_bytes(src)
    # Ctrl-C as at a terminal: the child gets SIGINT's default disposition, also when this test runs where it is
    # ignored (a background job of a non-interactive shell, e.g. `nohup .ci/run &`, which the child would inherit)
    proc = subprocess.Popen([sys.executable, str(REPO / "run_tracker.py"), "--headless", "--source", many,
                             "--intrinsics", INTRINSICS, "--model", model, "--realtime"],
                            cwd=REPO, env=ENV, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    first = proc.stderr.readline()                    # "model: ... provider: ..." once the run has started
    assert "provider" in first, first
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in err and "interrupted" in err


def _mean_error_mm(path):
    _, records = read_jsonl(path)
    errors = [np.linalg.norm(np.asarray(r["joints_xyz_raw_mm"]) - np.asarray(r["gt_xyz_mm"]), axis=1).mean()
              for r in records if r["joints_xyz_raw_mm"] is not None]
    return float(np.median(errors)), len(errors), records


@pytest.mark.slow
def test_synthetic_left_hand_mode_renders_a_left_hand(tmp_path):
    """--source synthetic --hand left renders a left hand (issue #10 item 4: it rendered a right hand, which the
    mirrored right-hand model then measured at ~49 mm against ~16 mm): the shipped model's error on the left
    hand is close to its error on the right hand, on the same motion."""
    results = {}
    for hand in ("right", "left"):
        out = tmp_path / f"{hand}.jsonl"
        proc = run_cli("--headless", "--source", "synthetic", "--hand", hand, "--max-frames", 30, "--provider",
                       "cpu", "--no-smoothing", "--output", out, timeout=300)
        assert proc.returncode == 0, proc.stderr
        results[hand] = _mean_error_mm(out)
    (right_mm, right_n, right_records), (left_mm, left_n, left_records) = results["right"], results["left"]
    assert right_n >= 24 and left_n >= 24
    assert all(r["hand"] == "left" for r in left_records)
    # The left hand is the right hand's mirror image: ground truth x is negated (the principal point is mirrored
    # too, so compare through the image: the left hand's joints sit on the other side of the frame's centre).
    gt_right = np.asarray(right_records[0]["gt_xyz_mm"])
    gt_left = np.asarray(left_records[0]["gt_xyz_mm"])
    assert np.allclose(gt_left[:, 0], -gt_right[:, 0], atol=0.05) and np.allclose(gt_left[:, 1:], gt_right[:, 1:])
    assert right_mm < 30.0, right_mm
    assert abs(left_mm - right_mm) < 0.25 * right_mm + 3.0, (left_mm, right_mm)


def test_a_damaged_session_replays_every_complete_frame(model, png_folder, tmp_path):
    session = tmp_path / "session"
    proc = run_cli("--headless", "--source", png_folder, "--intrinsics", INTRINSICS, "--model", model,
                   "--record", session)
    assert proc.returncode == 0, proc.stderr
    png = session / "depth" / "000003.png"
    png.write_bytes(png.read_bytes()[:200])                         # a cut-off PNG
    lines = (session / "frames.jsonl").read_text().splitlines()
    lines[5] = lines[5].replace('"frame_number":5', '"frame_number":"five"')   # a line with a wrong type
    (session / "frames.jsonl").write_text("\n".join(lines) + "\n" + lines[6][:40])   # and a partial last line
    out = tmp_path / "out.jsonl"
    proc = run_cli("--headless", "--source", session, "--model", model, "--output", out)
    assert proc.returncode == 0, proc.stderr
    _, records = read_jsonl(out)
    assert [r["frame_number"] for r in records] == [0, 1, 2, 4, 6, 7]
    assert "6 frames processed" in proc.stderr and "3 damaged frames of the input skipped" in proc.stderr
    for k in range(8):                                              # every PNG damaged: nothing to replay
        (session / "depth" / f"{k:06d}.png").write_bytes(b"\x89PNG broken")
    proc = run_cli("--headless", "--source", session, "--model", model)
    assert proc.returncode == 2
    assert [line for line in proc.stderr.splitlines() if line.startswith("error:")] == [
        "error: session session: none of its 7 frames can be read (their depth PNGs are damaged)"]
