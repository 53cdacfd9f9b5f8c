"""What --stream costs, on loopback: latency from the tracker's result to a client's receipt, tracker throughput
with no stream and with 0, 1 and 16 WebSocket clients plus one stalled client, memory over the run, and the
OSC sender's cost per frame.

    python -m app.streaming.bench_stream --frames 1000 --rounds 7
    python -m app.streaming.bench_stream --frames 1000 --rounds 5 --source replay --client-kind websockets

A synthetic session (640x480) is recorded once, then handed to the tracker frame-exact (every frame, as fast as
the tracker goes, one ONNX Runtime thread: the README's headless benchmark) once per configuration and round:
from memory (--source memory, the default: decoded before the run, a source that costs nothing, like a camera
faster than the tracker) or decoded from its PNGs while the tracker runs (--source replay: ~4 ms per frame on the
second core). The configurations alternate within each round so a busy machine affects them alike; the change
against no stream is reported both from the medians and paired round by round. Clients run in a separate
process (like real ones: they do not share the tracker's interpreter), either light readers (--client-kind raw,
the default: plain sockets past the handshake in one selector loop, the cost of a compiled client) or clients
of the Python websockets library (--client-kind websockets); each stamps every message with
time.perf_counter() on receipt (CLOCK_MONOTONIC, the same clock as the tracker's TrackerResult.ready_s), so
latency = receipt - ready_s per frame. The stalled client completes the handshake and never reads again.
Memory: this process's and the stream process's resident sets, sampled every 50 ms; "growth" is RSS at the end
minus RSS at half-way. CPU, per frame: what each of this process's threads ran (/proc schedstat: the tracker,
the capture thread that decodes the replayed PNGs, ...), what the stream process (app/streaming/server.py) and
the clients' process used, since on a 2-core machine the replay alone keeps both cores busy and every
microsecond a stream or a client spends is taken from the tracker or the capture thread unless it yields
(--stream-priority); and the tracker thread's wall time per frame split into running, waiting for a core, and
blocked (the GIL, or the next frame). The sampler's own reads of /proc are in every
configuration alike ('sampler').
Prints one JSON object (medians over rounds, and every round). Imports app code, websockets and the
standard library.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from app.config import DEFAULT_MODEL_PATH, TrackerConfig
from app.runtime.benchmark import BenchmarkCollector
from app.runtime.pipeline import Pipeline
from app.sources.base import FrameSource, SourceInfo
from app.sources.session import SessionSource
from app.streaming import open_streams
from app.streaming.targets import STREAM_PROCESS_PRIORITIES, STREAM_PROCESS_PRIORITY
from app.tracking.estimator import Estimator
from app.tracking.tracker import HandTracker
from app.types import DepthFrame

CONFIGS = ("no stream", "ws, 0 clients", "ws, 1 client", "ws, 16 clients + 1 stalled", "osc")


# ---- the clients' process -----------------------------------------------------------------------------------
async def _clients_main(url: str, clients: int, stalled: int) -> None:
    from websockets.asyncio.client import connect

    receipts: list[list[tuple[int, float]]] = [[] for _ in range(clients)]
    connections = [await connect(url, compression=None, max_size=None) for _ in range(clients)]
    stalled_socks = [_stalled_socket(url) for _ in range(stalled)]

    async def read(k: int, ws) -> None:
        try:
            async for message in ws:
                t = time.perf_counter()
                if message.startswith('{"header"'):
                    continue
                receipts[k].append((int(message[9:message.index(",", 9)]), t))   # '{"frame":N,...'
        except Exception:
            pass
    tasks = [asyncio.create_task(read(k, ws)) for k, ws in enumerate(connections)]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)   # until told to stop
    for ws in connections:
        await ws.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    for sock in stalled_socks:
        sock.close()
    print(json.dumps({"receipts": receipts}), flush=True)


def _raw_clients_main(url: str, clients: int, stalled: int) -> None:
    """Readers as light as a client can be (what a compiled client costs, not what Python's websockets library
    does per message): each a plain socket after the handshake, all in one selector loop, reading whatever has
    arrived, splitting it into WebSocket frames and stamping each text frame's index on receipt; pings are
    answered (the keep-alive), nothing else is parsed."""
    socks = [_handshake(url) for _ in range(clients)]
    stalled_socks = [_stalled_socket(url) for _ in range(stalled)]
    receipts: list[list[tuple[int, float]]] = [[] for _ in range(clients)]
    pending = [rest for _, rest in socks]
    selector = selectors.DefaultSelector()
    for k, (sock, _) in enumerate(socks):
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, k)
    selector.register(sys.stdin, selectors.EVENT_READ, None)
    print("ready", flush=True)
    running = True
    while running:
        for key, _ in selector.select():
            if key.data is None:   # told to stop
                running = False
                continue
            k = key.data
            try:
                data = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            t = time.perf_counter()
            if not data:
                selector.unregister(key.fileobj)
                continue
            buf = pending[k] = pending[k] + data
            pos = 0
            while len(buf) - pos >= 2:
                n, head = buf[pos + 1] & 0x7F, 2
                if n == 126:
                    n, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
                elif n == 127:
                    n, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
                if len(buf) - pos < head + n:
                    break
                opcode, body = buf[pos] & 0x0F, pos + head
                if opcode == 1 and buf.startswith(b'{"frame":', body):
                    receipts[k].append((int(buf[body + 9:buf.index(b",", body + 9)]), t))
                elif opcode == 9:   # ping: pong with the same payload (a client's frames are masked)
                    key.fileobj.sendall(_masked_frame(0x8A, buf[body:body + n]))
                pos = body + n
            pending[k] = buf[pos:]
    for sock, _ in socks:
        try:
            sock.setblocking(True)
            sock.sendall(_masked_frame(0x88, (1000).to_bytes(2, "big")))
        except OSError:
            pass
        sock.close()
    for sock in stalled_socks:
        sock.close()
    print(json.dumps({"receipts": receipts}), flush=True)


def _masked_frame(first_byte: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    return bytes([first_byte, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _handshake(url: str, rcvbuf: int | None = None) -> tuple[socket.socket, bytes]:
    """A connected socket past the WebSocket handshake, and the bytes that came after the response."""
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        if not chunk:
            break
        response += chunk
    if not response.startswith(b"HTTP/1.1 101"):
        raise RuntimeError("a client's handshake failed")
    return sock, response.split(b"\r\n\r\n", 1)[1]


def _stalled_socket(url: str) -> socket.socket:
    return _handshake(url, rcvbuf=4096)[0]


class _ClientProcess:
    def __init__(self, url: str, clients: int, stalled: int, kind: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "app.streaming.bench_stream", "--client", url,
                                      "--clients", str(clients), "--stalled", str(stalled), "--client-kind", kind],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])))
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the client process did not start")

    def cpu_s(self) -> float:
        return _process_cpu_s(self.proc.pid)

    def finish(self) -> list[list[tuple[int, float]]]:
        out, _ = self.proc.communicate("stop\n", timeout=60)
        return json.loads(out.strip().splitlines()[-1])["receipts"]


# ---- the tracker's process ----------------------------------------------------------------------------------
def _process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process pid, all its threads (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class _RssSampler(threading.Thread):
    """This process's resident set every 50 ms, and per thread the time it ran and the time it waited, runnable,
    for a core (/proc schedstat, ns) while sampled: the last value seen minus the first, so threads that end
    before the sampler stops are counted too."""

    def __init__(self, other_pid: int | None = None) -> None:
        super().__init__(name="sampler", daemon=True)
        self.samples: list[float] = []
        self.other_pid = other_pid         # the stream process, if any: its RSS too
        self.other_samples: list[float] = []
        self._first: dict[int, tuple[float, float]] = {}
        self._last: dict[int, tuple[str, float, float]] = {}
        self._halt = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def run(self) -> None:
        while not self._halt.is_set():
            with open("/proc/self/statm") as f:
                self.samples.append(int(f.read().split()[1]) * self._page / 2**20)
            if self.other_pid is not None:
                try:
                    with open(f"/proc/{self.other_pid}/statm") as f:
                        self.other_samples.append(int(f.read().split()[1]) * self._page / 2**20)
                except OSError:
                    pass
            names = {t.native_id: t.name for t in threading.enumerate()}
            for tid in map(int, os.listdir("/proc/self/task")):
                try:
                    with open(f"/proc/self/task/{tid}/schedstat") as f:
                        ran_s, waited_s = (int(v) / 1e9 for v in f.read().split()[:2])
                except (OSError, ValueError):
                    continue   # the thread has just ended
                # a thread already there at the first sample counts from then, one that started later from 0
                self._first.setdefault(tid, (0.0, 0.0) if self.samples[1:] else (ran_s, waited_s))
                name = names.get(tid, self._last.get(tid, ("other",))[0])   # 'other': not Python's (onnxruntime's)
                self._last[tid] = (name, ran_s, waited_s)
            self._halt.wait(0.05)

    def by_thread(self) -> dict[str, tuple[float, float]]:
        """(seconds run, seconds waited for a core) per thread name: 'tracker', 'capture', 'MainThread',
        'other' (threads Python did not start), ..."""
        out: dict[str, tuple[float, float]] = {}
        for tid, (name, ran_s, waited_s) in self._last.items():
            ran0, waited0 = self._first[tid]
            prev = out.get(name, (0.0, 0.0))
            out[name] = (prev[0] + ran_s - ran0, prev[1] + waited_s - waited0)
        return out

    def stop(self) -> dict:
        self._halt.set()
        self.join()
        s = self.samples or [0.0]
        row = {"rss_start_mb": round(s[0], 1), "rss_max_mb": round(max(s), 1), "rss_end_mb": round(s[-1], 1),
               "rss_growth_second_half_mb": round(s[-1] - s[len(s) // 2], 1)}
        if self.other_samples:
            o = self.other_samples
            row.update({"stream_process_rss_end_mb": round(o[-1], 1),
                        "stream_process_rss_growth_second_half_mb": round(o[-1] - o[len(o) // 2], 1)})
        return row


def _record_session(directory: str, frames: int, estimator: Estimator) -> None:
    from app.sources.synthetic import SyntheticSource

    pipeline = Pipeline(SyntheticSource(frame_count=frames, realtime=False),
                        HandTracker(TrackerConfig(model_path=estimator.model_path), estimator))
    pipeline.start_recording(directory)
    pipeline.start()
    pipeline.wait_finished(None)
    pipeline.stop()


class _FramesInMemory(FrameSource):
    """The session's frames decoded once, before the run, and handed out from memory: a source that costs the
    capture thread nothing, like a camera that delivers frames faster than the tracker takes them (a PNG replay
    instead spends ~4 ms of the second core per frame on decoding). Same info as the session's replay."""

    _decoded: dict[str, tuple[SourceInfo, list[DepthFrame]]] = {}

    def __init__(self, directory: str) -> None:
        if directory not in self._decoded:
            with SessionSource(directory) as replay:
                frames = list(iter(replay.read, None))
                self._decoded[directory] = (replay.info, frames)
        self._info, self._frames = self._decoded[directory]
        self._next = 0

    @property
    def info(self) -> SourceInfo:
        return self._info

    def open(self) -> None:
        pass

    def read(self, timeout_s: float = 1.0) -> DepthFrame | None:
        if self._next >= len(self._frames):
            return None
        self._next += 1
        return self._frames[self._next - 1]

    def close(self) -> None:
        self._next = len(self._frames)


def run_config(name: str, session: str, estimator: Estimator, speed: float | None = None,
               priority: str = STREAM_PROCESS_PRIORITY, source: str = "memory", client_kind: str = "raw") -> dict:
    streams, clients, count = None, None, 0
    if name.startswith("ws"):
        streams = open_streams(["ws://127.0.0.1:0"], max_clients=32, log=lambda line: None, priority=priority)
        count = {"ws, 0 clients": 0, "ws, 1 client": 1}.get(name, 16)
        if count:
            clients = _ClientProcess(streams.streams[0].url, count, 1 if "stalled" in name else 0, client_kind)
    elif name == "osc":
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # a listener, so nothing is refused
        receiver.bind(("127.0.0.1", 0))
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        streams = open_streams([f"osc://127.0.0.1:{receiver.getsockname()[1]}"], log=lambda line: None,
                               priority=priority)
    frames_source = SessionSource(session) if source == "replay" else _FramesInMemory(session)
    pipeline = Pipeline(frames_source, HandTracker(TrackerConfig(model_path=estimator.model_path), estimator),
                        speed=speed)
    ready_s: dict[int, float] = {}
    pipeline.add_consumer(lambda r: ready_s.__setitem__(r.frame.index, r.ready_s))
    collector = BenchmarkCollector()
    pipeline.add_consumer(collector)
    if streams is not None:
        streams.attach(pipeline)
    sampler = _RssSampler(streams.process.pid if streams is not None else None)
    sampler.start()
    client_cpu_s = clients.cpu_s() if clients is not None else 0.0
    stream_cpu_s = _process_cpu_s(streams.process.pid) if streams is not None else 0.0
    pipeline.start()
    pipeline.wait_finished(None)
    pipeline.stop()
    time.sleep(0.3)   # the last frames' way to the clients
    row = {"config": name, "throughput_fps": collector.summary()["throughput_fps"], **sampler.stop()}
    # CPU per frame (us): this process's threads, and the clients' process (on a 2-core machine it competes
    # with the tracker for the cores: part of what a local client costs, but not the stream's own work)
    # and the tracker thread's time per frame split into running, waiting for a core, and neither (blocked: on
    # the GIL, or on the next frame)
    frames = max(1, len(ready_s))
    threads = sampler.by_thread()
    row["cpu_us_per_frame"] = {k: round(ran / frames * 1e6, 1) for k, (ran, _) in sorted(threads.items())
                               if ran > 0}
    ran, waited = threads.get("tracker", (0.0, 0.0))
    wall_us = 1e6 / row["throughput_fps"] if row["throughput_fps"] else 0.0
    row["tracker_us_per_frame"] = {"running": round(ran / frames * 1e6, 1),
                                   "waiting_for_a_core": round(waited / frames * 1e6, 1),
                                   "blocked": round(wall_us - (ran + waited) / frames * 1e6, 1)}
    if streams is not None:
        row["cpu_us_per_frame"]["stream process"] = round((_process_cpu_s(streams.process.pid) - stream_cpu_s)
                                                          / frames * 1e6, 1)
    if clients is not None:
        row["cpu_us_per_frame"]["clients' process"] = round((clients.cpu_s() - client_cpu_s) / frames * 1e6, 1)
    if clients is not None:
        latencies = [(t - ready_s[f]) * 1e3 for per_client in clients.finish() for f, t in per_client if f in ready_s]
        row.update({"latency_ms_p50": _pct(latencies, 50), "latency_ms_p99": _pct(latencies, 99),
                    "frames_received_per_reader": round(len(latencies) / count, 1)})
    if streams is not None:
        stats = streams.stats()[0]
        row["stream"] = {k: v for k, v in stats.items() if k != "per_client"}
        streams.close()
    if name == "osc":
        row.update({"osc_send_us_p50": stats["send_us_p50"], "osc_send_us_p99": stats["send_us_p99"],
                    "osc_bundles_sent": stats["bundles_sent"], "osc_bundle_bytes": _bundle_bytes(pipeline)})
        receiver.close()
    row["frames"] = len(ready_s)
    return row


def _bundle_bytes(pipeline: Pipeline) -> int:
    from app.runtime.records import result_record
    from app.streaming.osc import osc_bundle
    result = pipeline.latest_result()
    return len(osc_bundle(result_record(result))) if result is not None else 0


def _pct(values, q) -> float:
    v = np.asarray(list(values), dtype=np.float64)
    return round(float(np.percentile(v, q)), 3) if v.size else 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=1000, help="frames in the replayed session (default 1000)")
    p.add_argument("--rounds", type=int, default=3, help="runs of every configuration (default 3)")
    p.add_argument("--model", default=DEFAULT_MODEL_PATH)
    p.add_argument("--session", help="replay this session instead of recording a synthetic one")
    p.add_argument("--speed", type=float, default=None, metavar="X",
                   help="pace the replay at X times its recorded rate (the synthetic session is 30 fps: 3 = a "
                        "90 fps camera), every frame still processed; default: as fast as the tracker goes")
    p.add_argument("--stream-priority", choices=tuple(STREAM_PROCESS_PRIORITIES), default=STREAM_PROCESS_PRIORITY,
                   help=f"the stream process's CPU priority (default {STREAM_PROCESS_PRIORITY})")
    p.add_argument("--source", choices=("memory", "replay"), default="memory",
                   help="memory (default): the session's frames decoded before each run, so the capture thread "
                        "costs nothing, like a camera faster than the tracker; replay: decoded from the PNGs "
                        "while the tracker runs (the replay's ~4 ms per frame on the second core)")
    p.add_argument("--client-kind", choices=("raw", "websockets"), default="raw",
                   help="raw (default): readers as light as a compiled client (plain sockets, one selector loop: "
                        "the stream's cost, not the clients'); websockets: Python websockets-library clients, "
                        "~50 us of CPU per message each")
    p.add_argument("--client", help=argparse.SUPPRESS)
    p.add_argument("--clients", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--stalled", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.client:
        if args.client_kind == "raw":
            _raw_clients_main(args.client, args.clients, args.stalled)
        else:
            asyncio.run(_clients_main(args.client, args.clients, args.stalled))
        return 0
    estimator = Estimator(args.model, "cpu", 1)
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        session = args.session
        if session is None:
            session = str(Path(tmp) / "session")
            print(f"recording a {args.frames}-frame synthetic session ...", file=sys.stderr)
            _record_session(session, args.frames, estimator)
        rows: list[dict] = []
        for k in range(args.rounds):
            for name in CONFIGS:
                row = run_config(name, session, estimator, args.speed, args.stream_priority, args.source,
                                 args.client_kind)
                row["round"] = k
                rows.append(row)
                print(f"  round {k + 1}: {name}: {row['throughput_fps']} fps"
                      + (f", latency p50 {row['latency_ms_p50']} ms p99 {row['latency_ms_p99']} ms"
                         if "latency_ms_p50" in row else "")
                      + (f", OSC send p50 {row['osc_send_us_p50']} us" if "osc_send_us_p50" in row else "")
                      + f", CPU us/frame {row['cpu_us_per_frame']}, tracker us/frame {row['tracker_us_per_frame']}",
                      file=sys.stderr)
    summary = {}
    base = float(np.median([r["throughput_fps"] for r in rows if r["config"] == "no stream"]))
    no_stream = {r["round"]: r["throughput_fps"] for r in rows if r["config"] == "no stream"}
    for name in CONFIGS:
        mine = [r for r in rows if r["config"] == name]
        entry = {key: round(float(np.median([r[key] for r in mine])), 3) for key in mine[0]
                 if isinstance(mine[0][key], (int, float)) and key not in ("round",)}
        for key in ("cpu_us_per_frame", "tracker_us_per_frame"):
            entry[key] = {k: round(float(np.median([r[key].get(k, 0.0) for r in mine])), 1)
                          for k in sorted({k for r in mine for k in r[key]})}
        entry["throughput_vs_no_stream_pct"] = round(100.0 * (entry["throughput_fps"] / base - 1.0), 1)
        # the same, paired: each round's throughput against that round's no stream, the median of those (a
        # machine whose speed drifts between rounds moves both alike)
        entry["paired_vs_no_stream_pct"] = round(100.0 * float(np.median(
            [r["throughput_fps"] / no_stream[r["round"]] - 1.0 for r in mine])), 1)
        summary[name] = entry
    print(json.dumps({"frames": args.frames, "rounds": args.rounds, "cpu_count": os.cpu_count(),
                      "source": args.source, "client_kind": args.client_kind,
                      "median": summary, "runs": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
