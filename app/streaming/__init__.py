"""Streaming the hand to other programs (--stream URL): a WebSocket server with a live browser view (ws://,
websocket.py) and OSC over UDP (osc://, osc.py), all served by one stream process (server.py) at a lower CPU
priority, so the stream never holds the tracker's GIL nor takes a core the tracker needs.

    streams = open_streams(["ws://127.0.0.1:8765", "osc://127.0.0.1:9000"])   # binds now; InputError if not
    streams.attach(pipeline)   # before pipeline.start(); again for every new pipeline (the GUI's restarts)
    ...
    streams.close()

Streams is a pipeline consumer like the JSONL writer: for each result the tracker thread builds the frame
record (app/runtime/records.py) and hands it to the stream process with one non-blocking send, only while
someone takes frames; a full channel drops the frame (counted) and never blocks. No Qt here. Imports the
standard library, websockets and python-osc (through its modules) and app code.
"""
from __future__ import annotations

import itertools
import json
import mmap
import os
import pickle
import select
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from app.errors import InputError
from app.runtime.records import result_record, run_header, to_json_line
from app.streaming.targets import (DEFAULT_MAX_CLIENTS, STREAM_PROCESS_PRIORITY, StreamTarget, check_max_clients,
                                   parse_stream_url)
from app.types import TrackerResult

__all__ = ["Streams", "StreamEndpoint", "open_streams", "parse_stream_url", "StreamTarget", "DEFAULT_MAX_CLIENTS"]

START_TIMEOUT_S = 20.0      # the stream process's start (a Python interpreter importing websockets and numpy)
CONTROL_TIMEOUT_S = 5.0     # a header, a stats request or a close reaching the stream process
CLOSE_TIMEOUT_S = 5.0       # the stream process's end after a close (its clients get 1001 going away)
CHANNEL_BUFFER_BYTES = 256 * 1024   # frames (~3 KB each) the kernel holds for a stream process that lags
_REPO = str(Path(__file__).resolve().parents[2])


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class StreamEndpoint:
    """One --stream of a run: its target and, for ws://, the bound port (the one chosen for port 0)."""

    target: StreamTarget
    port: int
    owner: "Streams | None" = None

    @property
    def url(self) -> str:
        return self.target.display(self.port)

    @property
    def page_url(self) -> str:
        return "http" + self.url[len("ws"):] + "/" if self.target.scheme == "ws" else ""

    def describe(self) -> str:
        if self.target.scheme == "ws":
            return f"stream: {self.url} (JSON frames; live view {self.page_url})"
        return f"stream: {self.url} (OSC bundles over UDP, addresses /hand/<hand>/...)"

    def stats(self) -> dict:
        return self.owner.stats()[self.owner.streams.index(self)]


class Streams:
    """The streams of one run and their stream process; a pipeline consumer (see the module docstring)."""

    def __init__(self, endpoints: list[StreamEndpoint], process: subprocess.Popen, channel: socket.socket,
                 demand: mmap.mmap, log: Callable[[str], None] = _stderr) -> None:
        self.streams = endpoints
        for endpoint in endpoints:
            endpoint.owner = self
        self.process = process
        self._channel = channel
        self._demand = demand
        self._log = log
        self._control = threading.Lock()    # one request / reply exchange at a time
        self._requests = itertools.count(1)
        self._closed = False
        self._gone_reported = False
        self.results = 0            # results offered while someone took frames
        self.results_dropped = 0    # ... that the channel could not take (the stream process lagging)

    # ---- the consumer (tracker thread) ---------------------------------------------------------------------
    def __call__(self, result: TrackerResult) -> None:
        if self._closed or not self._demand[0]:
            return   # nobody takes frames: no record is built (a new client starts with the next frame)
        self.results += 1
        data = pickle.dumps(("frame", result_record(result)), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._channel.send(data)
        except (BlockingIOError, InterruptedError):
            self.results_dropped += 1
        except OSError:
            self.results_dropped += 1
            self._report_gone()

    def attach(self, pipeline) -> None:
        """Send this pipeline's header (provider, model, source, configuration) and receive its results."""
        self.set_header(run_header(pipeline.tracker, pipeline.source.info))
        pipeline.add_consumer(self)

    def set_header(self, header: dict) -> None:
        self._send_control(("header", to_json_line(header)))

    # ---- control (any thread) ------------------------------------------------------------------------------
    def stats(self) -> list[dict]:
        """Per stream: its url, what its server or sender counted, and the run's results / results_skipped
        (offered to the stream process / dropped or superseded there)."""
        with self._control:
            request = next(self._requests)
            self._send_control(("stats", request))
            while True:
                reply = self._receive(CONTROL_TIMEOUT_S)
                if reply is None:
                    raise RuntimeError("the stream process did not answer")
                if reply[0] == "stats" and reply[1] == request:
                    break
        process = reply[2]
        common = {"results": self.results, "results_skipped": self.results_dropped + process["frames_skipped"],
                  "stream_process": {k: process[k] for k in ("frames_received", "frames_published", "cpu_s",
                                                             "rss_mb")}}
        ws, osc = iter(process["ws"]), iter(process["osc"])
        return [{"url": e.url, **common, **next(ws if e.target.scheme == "ws" else osc)} for e in self.streams]

    def close(self) -> None:
        """End the stream process (its WebSocket clients get 1001 going away); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._send_control(("close",))
        except (OSError, RuntimeError):
            pass
        try:
            self.process.wait(CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._channel.close()
        self._demand.close()

    def _send_control(self, message: tuple) -> None:
        """A message that must arrive (header, stats request, close): waits up to CONTROL_TIMEOUT_S for room."""
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        deadline = time.monotonic() + CONTROL_TIMEOUT_S
        while True:
            try:
                self._channel.send(data)
                return
            except (BlockingIOError, InterruptedError):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError("the stream process does not take messages") from None
                select.select([], [self._channel], [], remaining)
            except OSError:
                self._report_gone()
                raise RuntimeError("the stream process has ended") from None

    def _receive(self, timeout_s: float):
        """The next message from the stream process, None on timeout or when it has ended."""
        readable, _, _ = select.select([self._channel], [], [], timeout_s)
        if not readable:
            return None
        try:
            data = self._channel.recv(1 << 20)
        except OSError:
            return None
        return pickle.loads(data) if data else None

    def _report_gone(self) -> None:
        if not self._gone_reported and not self._closed:
            self._gone_reported = True
            self._log(f"warning: the stream process has ended (exit code {self.process.poll()}); "
                      "tracking goes on without --stream")


def open_streams(urls: list[str], max_clients: int = DEFAULT_MAX_CLIENTS,
                 log: Callable[[str], None] = _stderr, priority: str = STREAM_PROCESS_PRIORITY) -> Streams:
    """Check every URL, bind every WebSocket port and resolve every OSC host, then start the stream process
    (servers are listening when this returns). InputError (one line) for a bad URL, a port in use or an address
    that is not this machine's; nothing stays open then. Prints one line per stream, and one warning per stream
    that reaches beyond this machine. priority: the stream process's CPU priority (targets.py; benchmarks)."""
    from app.streaming.osc import resolve_osc_target
    from app.streaming.websocket import describe_bind_error, listening_socket

    targets = [parse_stream_url(url) for url in urls]
    max_clients = check_max_clients(max_clients)
    seen: set[tuple[str, str, int]] = set()
    for t in targets:
        key = (t.scheme, t.host, t.port)
        if key in seen and t.port != 0:
            raise InputError(f"--stream {t.url} is given twice")
        seen.add(key)
    sockets: list[socket.socket] = []
    spec: dict = {"ws": [], "osc": [], "max_clients": max_clients, "priority": str(priority)}
    endpoints: list[StreamEndpoint] = []
    try:
        for target in targets:
            if target.scheme == "ws":
                try:
                    sock = listening_socket(target.host, target.port)
                except OSError as exc:
                    raise InputError(f"--stream {target.url}: cannot listen on {target.host} port {target.port}: "
                                     f"{describe_bind_error(exc)}") from None
                sockets.append(sock)
                spec["ws"].append({"fd": sock.fileno()})
                endpoints.append(StreamEndpoint(target, int(sock.getsockname()[1])))
            else:
                family, address = resolve_osc_target(target)
                spec["osc"].append({"family": family, "address": list(address)})
                endpoints.append(StreamEndpoint(target, target.port))
        streams = _start_process(endpoints, spec, sockets, log)
    finally:
        for sock in sockets:     # the stream process has its own copies now (or there is none)
            sock.close()
    for endpoint in endpoints:
        log(endpoint.describe())
        warning = reach_warning(endpoint.target)
        if warning:
            log(warning)
    return streams


def _start_process(endpoints: list[StreamEndpoint], spec: dict, sockets: list[socket.socket],
                   log: Callable[[str], None]) -> Streams:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    demand_fd = os.memfd_create("stream-demand")
    os.ftruncate(demand_fd, mmap.PAGESIZE)
    try:
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHANNEL_BUFFER_BYTES)
        spec = dict(spec, channel_fd=theirs.fileno(), demand_fd=demand_fd)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (_REPO, os.environ.get("PYTHONPATH")) if p))
        process = subprocess.Popen([sys.executable, "-m", "app.streaming.server",
                                    json.dumps(spec, separators=(",", ":"))], env=env,
                                   pass_fds=[theirs.fileno(), demand_fd, *(s.fileno() for s in sockets)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, close_fds=True)
        demand = mmap.mmap(demand_fd, 1)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
        os.close(demand_fd)
    ours.setblocking(False)
    streams = Streams(endpoints, process, ours, demand, log)
    reply = streams._receive(START_TIMEOUT_S)
    if reply is None or reply[0] != "ready":
        streams.close()
        raise InputError(f"--stream: the stream process did not start (exit code {process.poll()})")
    return streams


def reach_warning(target: StreamTarget) -> str | None:
    """The one warning line for a stream that reaches beyond this machine, else None."""
    if target.is_loopback:
        return None
    reach = "listens on" if target.scheme == "ws" else "sends to"
    return (f"warning: --stream {target.url} {reach} {target.host}, not only this machine: anyone who can reach "
            "it can read the hand data (there is no authentication)")
