"""Everything that involves no camera runs where pyrealsense2 cannot be imported (it has no wheel for some
platforms and Python versions): the CLI on synthetic, session and PNG input, headless and with the GUI,
training and evaluation imports. Asking for a RealSense source there gives one clear line and exit 2.
Each run is a real subprocess whose import system refuses pyrealsense2 as an uninstalled package would."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.cli_runs import REPO, run_python
from tests.tracking_scenes import INTR, hand_scene

INTRINSICS = f"{INTR.fx},{INTR.fy},{INTR.cx},{INTR.cy}"

# Runs app.cli.main (or imports modules) in a fresh interpreter in which 'import pyrealsense2' raises
# ModuleNotFoundError, then reports on stderr whether the SDK module ever got loaded.
_PRELUDE = """
import importlib.abc, sys
class _NoRealSense(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'pyrealsense2':
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
if BLOCK:
    sys.meta_path.insert(0, _NoRealSense())
"""
_CLI = _PRELUDE + """
from app.cli import main
rc = main(sys.argv[1:])
print('SDK-LOADED' if 'pyrealsense2' in sys.modules else 'SDK-NOT-LOADED', file=sys.stderr)
sys.exit(rc)
"""


def _env(tmp_path: Path) -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen",
                HAND_TRACKER_SETTINGS=str(tmp_path / "settings.ini"))


def run_cli(tmp_path, *args, block=True, timeout=180):
    code = _CLI.replace("BLOCK", "True" if block else "False")
    return run_python(code, *args, env=_env(tmp_path), timeout=timeout)


@pytest.fixture(scope="module")
def pngs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pngs")
    for k in range(4):
        depth = hand_scene((-10.0 + 5.0 * k, 0.0, 480.0))[0]
        cv2.imwrite(str(folder / f"d{k}.png"), np.round(depth).astype(np.uint16))
    return folder


def _errors(proc) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def test_synthetic_session_and_png_sources_run_headless_without_the_sdk(model_path, pngs, tmp_path):
    out, session = tmp_path / "synthetic.jsonl", tmp_path / "session"
    proc = run_cli(tmp_path, "--headless", "--source", "synthetic", "--model", model_path, "--max-frames", 3,
                   "--output", out, "--record", session)
    assert proc.returncode == 0, proc.stderr
    assert "SDK-NOT-LOADED" in proc.stderr and "Traceback" not in proc.stderr
    assert len(out.read_text().splitlines()) == 1 + 3
    proc = run_cli(tmp_path, "--headless", "--source", session, "--model", model_path, "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert len(out.read_text().splitlines()) == 1 + 3 and "SDK-NOT-LOADED" in proc.stderr
    proc = run_cli(tmp_path, "--headless", "--source", pngs, "--intrinsics", INTRINSICS, "--model", model_path,
                   "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert len(out.read_text().splitlines()) == 1 + 4 and "SDK-NOT-LOADED" in proc.stderr


def test_without_a_source_the_synthetic_hand_is_chosen_and_the_reason_given(model_path, tmp_path):
    proc = run_cli(tmp_path, "--headless", "--model", model_path, "--max-frames", 2)
    assert proc.returncode == 0, proc.stderr
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert (f"source: synthetic hand (pyrealsense2 is not installed for this Python ({version}), so no camera "
            "can be used)") in proc.stderr


@pytest.mark.parametrize("spec, what", [
    ("realsense", "the live RealSense camera (--source realsense)"),
    ("{tmp}/take.db3", "playing the RealSense recording take.db3"),
    ("{tmp}/take.bag", "playing the RealSense recording take.bag"),
])
def test_a_realsense_source_without_the_sdk_is_one_clear_line_and_exit_2(model_path, tmp_path, spec, what):
    for name in ("take.db3", "take.bag"):
        (tmp_path / name).write_bytes(b"a recording")
    proc = run_cli(tmp_path, "--headless", "--source", spec.format(tmp=tmp_path), "--model", model_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and not proc.stderr.startswith("model:")
    assert _errors(proc) == [f"error: {what} needs the Intel RealSense SDK, but pyrealsense2 is not installed "
                             f"for this Python ({sys.version_info.major}.{sys.version_info.minor}): install it "
                             "(pip install pyrealsense2; see README) or use a session folder, depth PNGs or "
                             "--source synthetic"]


def test_the_gui_on_synthetic_input_runs_without_the_sdk(model_path, tmp_path):
    shot = tmp_path / "shot.png"
    proc = run_cli(tmp_path, "--source", "synthetic", "--model", model_path, "--max-frames", 3, "--screenshot", shot)
    assert proc.returncode == 0, proc.stderr
    assert "SDK-NOT-LOADED" in proc.stderr
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[0] > 100 and image.std() > 5   # a drawn window


def test_training_and_evaluation_import_without_the_sdk(tmp_path):
    code = _PRELUDE.replace("BLOCK", "True") + (
        "import models.evaluate, models.train, models.render_shards, app.sources.factory, app.runtime.headless\n"
        "print('SDK-LOADED' if 'pyrealsense2' in sys.modules else 'SDK-NOT-LOADED')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "SDK-NOT-LOADED"


def test_where_the_sdk_is_installed_non_camera_runs_still_do_not_load_it(model_path, tmp_path):
    pytest.importorskip("pyrealsense2")
    proc = run_cli(tmp_path, "--headless", "--source", "synthetic", "--model", model_path, "--max-frames", 2,
                   block=False)
    assert proc.returncode == 0, proc.stderr
    assert "SDK-NOT-LOADED" in proc.stderr
