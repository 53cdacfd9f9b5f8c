"""Whether the Intel RealSense SDK (pyrealsense2) can be used here, found out without making anything else
depend on it.

pyrealsense2 has no wheel for some platforms and Python versions, so only the RealSense sources (the live
camera, .bag/.db3 recordings: app/sources/realsense.py, rsfile.py, rs_frames.py) import it, and only when one
is asked for; the synthetic, session and PNG sources, the GUI on them, training and evaluation never do.
Asking for a RealSense source without the SDK gives one InputError line that says what to do.
Imports the standard library and app.errors only.
"""
from __future__ import annotations

import sys
import threading

from app.errors import InputError

SDK_MODULE = "pyrealsense2"
_lock = threading.Lock()
_checked = False
_problem: str | None = None


def sdk_problem() -> str | None:
    """None when pyrealsense2 imports, else one line saying why it does not (checked once per process)."""
    global _checked, _problem
    with _lock:
        if not _checked:
            _problem = _import_problem()
            _checked = True
        return _problem


def _import_problem() -> str | None:
    try:
        __import__(SDK_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == SDK_MODULE:
            version = f"{sys.version_info.major}.{sys.version_info.minor}"
            return f"pyrealsense2 is not installed for this Python ({version})"
        return f"pyrealsense2 cannot be loaded ({_first_line(exc)})"
    except Exception as exc:   # ImportError (a missing libusb, a wheel for another platform) or an SDK error
        return f"pyrealsense2 cannot be loaded ({_first_line(exc)})"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def require_sdk(what: str) -> None:
    """InputError (one line) when `what` (e.g. 'the live RealSense camera') cannot work for want of the SDK."""
    problem = sdk_problem()
    if problem is not None:
        raise InputError(f"{what} needs the Intel RealSense SDK, but {problem}: install it "
                         f"(pip install pyrealsense2; see README) or use a session folder, depth PNGs or "
                         f"--source synthetic")
