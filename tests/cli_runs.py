"""The command line in a fresh interpreter, as users run it: run_tracker.py at the repository root, one
compute thread, the repository on the import path."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))


def run_tracker(*args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python run_tracker.py ARGS` (each str()-ed) to its end; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, str(REPO / "run_tracker.py"), *map(str, args)], cwd=REPO,
                          env=ENV if env is None else env, capture_output=True, text=True, timeout=timeout)


def run_python(code: str, *args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -c CODE ARGS` (each str()-ed) at the repository root to its end; output captured as text."""
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=REPO, env=ENV if env is None else env,
                          capture_output=True, text=True, timeout=timeout)
