"""Waiting in tests for something another thread or process does."""
from __future__ import annotations

import time


def wait_until(predicate, timeout_s: float = 10.0) -> bool:
    """Poll predicate() every 10 ms until it is true (True) or timeout_s seconds have passed (False)."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False
