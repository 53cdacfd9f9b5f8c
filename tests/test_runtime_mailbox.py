"""Mailboxes between threads: the latest slot drops instead of growing, the bounded queue loses nothing, and
close() wakes every waiter."""
import threading
import time

import pytest

from app.mailbox import BoundedQueue, LatestSlot


def test_latest_slot_keeps_only_the_newest_and_counts_drops():
    slot = LatestSlot()
    for i in range(1000):
        assert slot.put(i)
    assert slot.dropped == 999 and slot.puts == 1000 and len(slot) == 1
    assert slot.get(0) == 999
    assert slot.get(0) is None                     # taken: nothing new
    assert slot.peek() == 999                      # newest value stays readable
    slot.put(1000)
    assert slot.dropped == 999                     # the previous value was taken, so this is no drop


def test_latest_slot_with_a_slow_consumer_drops_instead_of_growing():
    slot = LatestSlot()
    got = []

    def consume():
        while True:
            v = slot.get(1.0)
            if v is None:
                return
            got.append(v)
            time.sleep(0.01)                       # slower than the producer

    t = threading.Thread(target=consume)
    t.start()
    for i in range(300):
        slot.put(i)
        time.sleep(0.0005)
    time.sleep(0.05)
    slot.close()
    t.join(2.0)
    assert not t.is_alive()
    assert got == sorted(got) and got[-1] == 299          # in order, and the newest arrives
    assert len(got) + slot.dropped == 300                  # every value either delivered or counted as dropped
    assert slot.dropped > 150


def test_bounded_queue_delivers_everything_in_order_and_blocks_the_producer():
    q = BoundedQueue(2)
    out = []

    def consume():
        while True:
            v = q.get(1.0)
            if v is None and q.closed:
                return
            if v is not None:
                out.append(v)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(500):
        assert q.put(i)
        assert len(q) <= 2
    q.close()
    t.join(2.0)
    assert out == list(range(500)) and q.dropped == 0


def test_close_wakes_waiters_and_refuses_new_items():
    slot, q = LatestSlot(), BoundedQueue(1)
    q.put("x")
    results = {}

    def wait_slot():
        results["slot"] = slot.get(None)

    def wait_put():
        results["put"] = q.put("y", None)          # queue full: waits until closed

    threads = [threading.Thread(target=wait_slot), threading.Thread(target=wait_put)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    slot.close()
    q.close()
    for t in threads:
        t.join(1.0)
        assert not t.is_alive()
    assert results == {"slot": None, "put": False}
    assert not slot.put(1)
    assert q.get(0) == "x" and q.get(0) is None      # queued before close: still delivered, then empty


def test_wait_for_taker_hands_over_only_to_a_waiting_consumer():
    q = BoundedQueue(1)
    assert not q.wait_for_taker(0.01)                # nobody waiting
    got = []
    t = threading.Thread(target=lambda: got.append(q.get(1.0)))
    t.start()
    assert q.wait_for_taker(1.0)
    q.put(42)
    t.join(1.0)
    assert got == [42]
    with pytest.raises(ValueError):
        BoundedQueue(0)
