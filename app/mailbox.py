"""Mailboxes between threads: a latest-value slot (live: the newest frame wins, older ones are dropped and
counted) and a bounded lossless queue (replay: every item delivered in order, the producer waits).

Both wake every waiter on close(), so a stop never leaves a thread blocked. get() returns None on timeout and
once closed and empty; `closed` tells the two apart. Imports the standard library only.
"""
from __future__ import annotations

import collections
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class _Mailbox:
    """What both mailboxes share: one condition for every wait, a closed flag, close() that wakes all waiters,
    and the put/drop counters the pipeline reports."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._closed = False
        self.puts = 0
        self.dropped = 0

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class LatestSlot(_Mailbox, Generic[T]):
    """Holds one value. put() overwrites; a value overwritten before anyone took it counts as dropped.
    get() takes the value (waits for a new one); peek() reads the newest without taking it."""

    def __init__(self) -> None:
        super().__init__()
        self._value: T | None = None
        self._latest: T | None = None
        self._fresh = False

    def put(self, value: T) -> bool:
        """Store value, replacing an untaken one (counted in .dropped). False (nothing stored) when closed."""
        with self._cond:
            if self._closed:
                return False
            if self._fresh:
                self.dropped += 1
            self._value = self._latest = value
            self._fresh = True
            self.puts += 1
            self._cond.notify_all()
            return True

    def get(self, timeout_s: float | None = None) -> T | None:
        """Take the newest value not yet taken, waiting up to timeout_s (None = forever). None on timeout or
        when closed with nothing left."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._fresh or self._closed, timeout_s):
                return None
            if not self._fresh:
                return None
            self._fresh = False
            value, self._value = self._value, None
            return value

    def peek(self) -> T | None:
        """The newest value ever put (taken or not), without waiting."""
        with self._cond:
            return self._latest

    def __len__(self) -> int:
        """1 while a value waits to be taken, else 0."""
        with self._cond:
            return int(self._fresh)



class BoundedQueue(_Mailbox, Generic[T]):
    """FIFO of at most maxsize items; put() waits while full, so nothing is ever dropped (lockstep when
    maxsize is 1: the producer runs at most one item ahead of the consumer)."""

    def __init__(self, maxsize: int = 1) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        super().__init__()
        self.maxsize = maxsize
        self._items: collections.deque = collections.deque()
        self._getters = 0   # consumers blocked in get(); dropped stays 0: nothing is ever dropped

    def put(self, item: T, timeout_s: float | None = None) -> bool:
        """Append item, waiting while full. False when closed (item not queued) or on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._items) < self.maxsize or self._closed, timeout_s):
                return False
            if self._closed:
                return False
            self._items.append(item)
            self.puts += 1
            self._cond.notify_all()
            return True

    def get(self, timeout_s: float | None = None) -> T | None:
        """Oldest item, waiting up to timeout_s. Items queued before close() are still delivered; None on
        timeout or when closed and empty."""
        with self._cond:
            self._getters += 1
            self._cond.notify_all()
            try:
                if not self._cond.wait_for(lambda: self._items or self._closed, timeout_s):
                    return None
            finally:
                self._getters -= 1
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def wait_for_taker(self, timeout_s: float | None = None) -> bool:
        """Wait until the queue is empty and a consumer is blocked in get() (or closed). A producer that reads
        its next item only then hands it over at once, so the item's waiting time measures nothing but the
        hand-over (used for frame-exact replay, where latency should not include queueing)."""
        with self._cond:
            self._cond.wait_for(lambda: (not self._items and self._getters > 0) or self._closed, timeout_s)
            return not self._items and self._getters > 0 and not self._closed

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
