"""The osc:// stream: one OSC bundle per tracked frame, sent over UDP to HOST:PORT (the bytes python-osc's
builders make, packed from a cached layout: osc_bundle).

Address space (HAND is 'right' or 'left', NAME one of the 21 joint names of app/joints.py; the values are those
of the JSONL record, app/runtime/records.py). One group of messages per hand found (the record's 'hands', the
primary hand first), so with two hands /hand/right/... and /hand/left/... arrive in the same bundle:

  /hand/HAND/frame                  i frame (0-based index in this run), i frame_number, d timestamp_ms
  /hand/HAND/status                 s tracking | low_confidence | at_border | no_hand | too_near | too_far
  /hand/HAND/latency_ms             f the tracker's end-to-end time (frame arrival -> result), ms
  /hand/HAND/id                     i the hand's id, kept while it is tracked        (only with a pose)
  /hand/HAND/confidence             f overall confidence in [0, 1]                  (only with a pose)
  /hand/HAND/joint/NAME             f x, f y, f z: smoothed joint, mm, camera frame  (only with a pose)
  /hand/HAND/joint_confidence       f x 21: per-joint confidence in joint order    (only with a pose)

The bundle's time tag is 'immediately'. Without a hand (status no_hand, too_near, too_far) only frame, status
and latency_ms of the hand being tracked are sent. The bundles are built and sent in the stream process (app/streaming/server.py), from
the newest frame record (a process that falls behind skips frames, counted); the tracker's process only
resolves the address (resolve_osc_target). Imports the standard library, python-osc and app foundation only.
"""
from __future__ import annotations

import socket
import struct
import time

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.parsing import osc_types

from app.errors import InputError
from app.streaming.targets import StreamTarget


def osc_messages(record: dict) -> list[tuple[str, list[tuple[str, object]]]]:
    """The messages of one frame record: [(address, [(type tag, value), ...]), ...] (see the module docstring).
    One group per hand in record['hands'], in order; without a hand, frame, status and latency of the hand
    being tracked. A record without 'hands' (version 1) gives its top-level hand's messages, without an id."""
    hands = record.get("hands")
    if hands is None:
        hands = [] if record["joints_xyz_mm"] is None else [
            {k: record[k] for k in ("hand", "status", "overall_confidence", "joints_xyz_mm", "confidence")}]
    if not hands:
        return _frame_messages(record, f"/hand/{record['hand']}", str(record["status"]))
    messages = []
    for hand in hands:
        base = f"/hand/{hand['hand']}"
        messages += _frame_messages(record, base, str(hand["status"]))
        if "id" in hand:
            messages.append((f"{base}/id", [("i", int(hand["id"]))]))
        messages.append((f"{base}/confidence", [("f", float(hand["overall_confidence"]))]))
        for name, xyz in zip(record["joint_names"], hand["joints_xyz_mm"]):
            messages.append((f"{base}/joint/{name}", [("f", float(v)) for v in xyz]))
        messages.append((f"{base}/joint_confidence", [("f", float(c)) for c in hand["confidence"]]))
    return messages


def _frame_messages(record: dict, base: str, status: str) -> list[tuple[str, list[tuple[str, object]]]]:
    return [(f"{base}/frame", [("i", int(record["frame"])), ("i", int(record["frame_number"])),
                               ("d", float(record["timestamp_ms"]))]),
            (f"{base}/status", [("s", status)]),
            (f"{base}/latency_ms", [("f", float(record["timings_ms"].get("end_to_end", 0.0)))])]


def python_osc_bundle(record: dict) -> bytes:
    """One frame record as an OSC bundle datagram, built by python-osc's builders (the reference for
    osc_bundle, which gives the same bytes faster)."""
    bundle = OscBundleBuilder(IMMEDIATELY)
    for address, args in osc_messages(record):
        message = OscMessageBuilder(address=address)
        for type_tag, value in args:
            message.add_arg(value, arg_type=type_tag)
        bundle.add_content(message.build())
    return bundle.build().dgram


def osc_bundle(record: dict) -> bytes:
    """One frame record as the datagram of an OSC bundle: the bytes python_osc_bundle(record) gives, but packed
    in one struct call into a layout made once per message structure (addresses, type tags, status strings).
    python-osc's builders parse every message and the bundle back after building them, ~0.3 ms of Python per
    frame in the stream process; this is several times less. A value struct cannot pack (an int beyond 32 bits)
    goes to python-osc."""
    messages = osc_messages(record)
    key = tuple((address, tuple(v if t == "s" else t for t, v in args)) for address, args in messages)
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = _layout(messages)
        if len(_LAYOUTS) >= _MAX_LAYOUTS:
            _LAYOUTS.clear()
        _LAYOUTS[key] = layout
    packer, consts = layout
    values = []
    pieces = iter(consts)
    for _address, args in messages:
        numbers = [v for t, v in args if t != "s"]
        if numbers:
            values.append(next(pieces))
            values += numbers
    try:
        return packer.pack(*values)
    except struct.error:
        return python_osc_bundle(record)


_LAYOUTS: dict[tuple, tuple[struct.Struct, list[bytes]]] = {}
_MAX_LAYOUTS = 256   # hand sides x statuses x with/without a pose x one or two hands, and room to spare
_ARG_FORMATS = {"i": "i", "f": "f", "d": "d"}


def _layout(messages: list) -> tuple[struct.Struct, list[bytes]]:
    """The packer of one layout and its constant pieces: everything between two runs of numeric arguments (the
    bundle header, message sizes, addresses, type tags, the status string) is one constant, so the datagram is
    consts[0], the frame message's numbers, consts[1], the latency, consts[2], ... in one big-endian struct."""
    head = b"#bundle\x00" + osc_types.write_date(IMMEDIATELY)
    fmt, consts, pending = [">"], [], head
    for address, args in messages:   # each message's arguments are all strings or all numbers
        body = osc_types.write_string(address) + osc_types.write_string("," + "".join(t for t, _ in args))
        numeric = "".join(_ARG_FORMATS[t] for t, _ in args if t != "s")
        body += b"".join(osc_types.write_string(v) for t, v in args if t == "s")
        pending += struct.pack(">i", len(body) + struct.calcsize(">" + numeric)) + body
        if numeric:
            consts.append(pending)
            fmt.append(f"{len(pending)}s{numeric}")
            pending = b""
    assert not pending, "the last message carries numbers (latency_ms or joint_confidence)"
    return struct.Struct("".join(fmt)), consts


def resolve_osc_target(target: StreamTarget) -> tuple[int, tuple]:
    """(address family, socket address) to send target's datagrams to; InputError (one line) when its host does
    not resolve. Called in the tracker's process, so a bad host is reported before anything starts."""
    if target.scheme != "osc":
        raise ValueError(f"not an osc:// target: {target.url}")
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise InputError(f"--stream {target.url}: cannot resolve {target.host}: {exc.strerror or exc}") from None
    family, _kind, _proto, _name, address = infos[0]
    return int(family), tuple(address)


class OscSender:
    """Sends each frame record it is given as one OSC bundle to a resolved address; runs in the stream process
    (app/streaming/server.py). The socket is non-blocking: a datagram the kernel cannot take is dropped and
    counted, a receiver that is not listening costs nothing."""

    KEEP_TIMES = 100_000   # build + send times kept for the statistics (the first ones of a long run)

    def __init__(self, family: int, address: tuple) -> None:
        self._socket = socket.socket(family, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self._address = address
        self.bundles_sent = 0
        self.send_errors = 0
        self.send_us: list[float] = []   # build + send time of each bundle, us

    def send(self, record: dict) -> None:
        started = time.perf_counter()
        datagram = osc_bundle(record)
        try:
            self._socket.sendto(datagram, self._address)
            self.bundles_sent += 1
        except OSError:   # buffer full, nobody listening (ICMP refused), network down: drop this frame
            self.send_errors += 1
        if len(self.send_us) < self.KEEP_TIMES:
            self.send_us.append((time.perf_counter() - started) * 1e6)

    def stats(self) -> dict:
        times = sorted(self.send_us)
        return {"bundles_sent": self.bundles_sent, "send_errors": self.send_errors,
                "send_us_p50": _percentile(times, 50), "send_us_p99": _percentile(times, 99)}

    def close(self) -> None:
        self._socket.close()


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return round(sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q / 100))], 1)
