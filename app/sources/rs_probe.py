"""Open a RealSense recording in a child process before this process touches it, so that a damaged file which
makes librealsense hang or crash is reported as a damaged input instead of freezing or killing the program.

Fuzzing .db3 files found such files: a renamed or deleted option topic, or a static-information message with a
far-future timestamp, make rs.config.resolve() spin for ever while holding the GIL, where no thread of ours
can interrupt it. The child opens the file, starts playback and waits for the first frame (bounded), then
exits; the parent waits at most PROBE_TIMEOUT_S (environment HANDTRACKER_RS_PROBE_TIMEOUT_S) and kills it.
Errors the SDK reports normally are left to the real open, which reports them the same way in one line.
Costs about 0.2 s per file. Run as a script (the child): prints 'ok' or 'sdk-error: ...' and exits at once.
The parent side imports the standard library and app.errors only; the child imports pyrealsense2 only.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

PROBE_TIMEOUT_S = float(os.environ.get("HANDTRACKER_RS_PROBE_TIMEOUT_S", "30"))
_FIRST_FRAME_MS = 5000


def probe_recording(path: str | Path, timeout_s: float | None = None) -> None:
    """InputError when librealsense hangs or crashes opening `path` in a child process; None otherwise
    (including when the SDK rejects the file with an error, which the caller's own open then reports)."""
    from app.errors import InputError

    path = Path(path)
    timeout_s = PROBE_TIMEOUT_S if timeout_s is None else float(timeout_s)
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(path)], capture_output=True,
                              text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise InputError(f"cannot open recording {path.name}: the RealSense SDK stopped responding while reading "
                         f"it ({timeout_s:g} s); the file is damaged") from None
    except OSError as exc:   # cannot start a child: do without the check
        del exc
        return
    answered = any(line == "ok" or line.startswith("sdk-error: ") for line in proc.stdout.splitlines())
    if proc.returncode < 0 and not answered:   # died before it could say how the open went
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        raise InputError(f"cannot open recording {path.name}: the RealSense SDK crashed reading it ({name}); "
                         f"the file is damaged")


def _child(path: str) -> int:
    import pyrealsense2 as rs

    try:
        cfg = rs.config()
        cfg.enable_device_from_file(path, repeat_playback=False)
        cfg.enable_stream(rs.stream.depth)
        pipeline = rs.pipeline()
        cfg.resolve(pipeline).get_device().as_playback().set_real_time(False)
        pipeline.start(cfg)
        pipeline.try_wait_for_frames(_FIRST_FRAME_MS)
    except Exception as exc:   # the SDK's own complaint: the parent's real open reports it
        print("sdk-error: " + (str(exc).strip().splitlines() or [type(exc).__name__])[0], flush=True)
        return 0
    # Playback is not stopped: stopping it races inside librealsense now and then ("pure virtual method
    # called", SIGABRT, seen with 4 probes in parallel), and the process ends at once anyway.
    print("ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.pop(0)   # this folder's modules must not shadow anything the SDK imports
    os._exit(_child(sys.argv[1]))   # no interpreter teardown: the SDK's threads and destructors never run
