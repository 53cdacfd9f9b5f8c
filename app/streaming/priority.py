"""The stream threads' scheduling: each one lowers its own priority when it starts, so on a machine whose cores
the tracker keeps busy a stream runs in the time the tracker leaves (its frames wait, the newest wins) instead of
preempting the tracker on every wake-up. Linux: SCHED_BATCH (no wake-up preemption) and nice STREAM_NICE for the
calling thread only; elsewhere nothing changes. Imports the standard library only.
"""
from __future__ import annotations

import os
import threading

STREAM_NICE = 10   # CFS weight 110 against the tracker's 1024: about a tenth of a contended core


def lower_this_thread() -> bool:
    """Lower the calling thread's priority (see the module docstring). True when it was lowered."""
    if not hasattr(os, "sched_setscheduler") or not hasattr(os, "SCHED_BATCH"):
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), STREAM_NICE))
        return True
    except OSError:
        return False
