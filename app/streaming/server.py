"""The stream process: serves every --stream of a run (WebSocket servers, OSC senders) away from the tracker.

The tracker's process (app/streaming/__init__.py) binds the WebSocket ports and resolves the OSC hosts, so
their errors are its one-line errors, then starts this process with those sockets and a channel (a Unix
SEQPACKET socket: one message per send, in order) and hands it, over the channel, the run's header and each
newest frame record. Here each record is serialised once, written to every WebSocket client and sent as one
OSC bundle to every OSC target; when the process falls behind it keeps only the newest record (the others are
counted as skipped). Running apart, the stream never holds the tracker's GIL, and at idle CPU priority
(STREAM_PROCESS_PRIORITY) it yields the cores to the tracker when they are busy: then clients skip frames, the
tracker does not slow.

Channel messages (pickled tuples), tracker -> here: ('header', json_text), ('frame', record),
('stats', request_id), ('close',); here -> tracker: ('ready',), ('stats', request_id, dict). The channel's end
(the tracker's process has gone, even killed) ends this process too. A shared byte (the demand map) tells the
tracker whether anyone takes frames (a WebSocket client, or an OSC target), so with no client it sends nothing.

    python -m app.streaming.server SPEC_JSON    (started by app.streaming.open_streams only)

Imports the standard library, app.runtime.records and app.streaming only.
"""
from __future__ import annotations

import asyncio
import json
import mmap
import os
import pickle
import signal
import socket
import sys
import time

from app.runtime.records import to_json_line
from app.streaming.osc import OscSender
from app.streaming.targets import STREAM_PROCESS_PRIORITIES
from app.streaming.websocket import WebSocketServer


class StreamService:
    """The stream process's state on its asyncio loop: the servers, the senders, and the channel's reader."""

    def __init__(self, spec: dict) -> None:
        self.channel = socket.socket(fileno=spec["channel_fd"])
        self.channel.setblocking(False)
        self.demand = mmap.mmap(spec["demand_fd"], 1)
        self.servers = [WebSocketServer(socket.socket(fileno=ws["fd"]), spec["max_clients"], self.update_demand)
                        for ws in spec["ws"]]
        self.senders = [OscSender(osc["family"], tuple(osc["address"])) for osc in spec["osc"]]
        self.frames_received = 0
        self.frames_skipped = 0     # received, but a newer one came before it could be sent
        self.frames_published = 0
        self._stop: asyncio.Event | None = None

    async def run(self) -> None:
        self._stop = asyncio.Event()
        for server in self.servers:
            await server.start()
        self.update_demand()
        loop = asyncio.get_running_loop()
        loop.add_reader(self.channel.fileno(), self.on_readable)
        self.reply(("ready",))
        try:
            await self._stop.wait()
        finally:
            loop.remove_reader(self.channel.fileno())
            for server in self.servers:
                await server.close()
            for sender in self.senders:
                sender.close()

    def update_demand(self) -> None:
        """Tell the tracker's process whether anyone takes frames now."""
        wanted = bool(self.senders) or any(server.has_clients for server in self.servers)
        self.demand[0] = 1 if wanted else 0

    def on_readable(self) -> None:
        """Take every message waiting on the channel; publish only the newest frame among them."""
        newest = None
        while True:
            try:
                data = self.channel.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:             # the tracker's process has closed the channel, or has gone
                self._stop.set()
                return
            message = pickle.loads(data)
            kind = message[0]
            if kind == "frame":
                self.frames_received += 1
                if newest is not None:
                    self.frames_skipped += 1
                newest = message[1]
            elif kind == "header":
                if newest is not None:   # a frame of the previous run must not follow the new header
                    self.frames_skipped += 1
                    newest = None
                for server in self.servers:
                    server.publish_header(message[1])
            elif kind == "stats":
                self.reply(("stats", message[1], self.stats()))
            elif kind == "close":
                self._stop.set()
                return
        if newest is not None:
            self.publish(newest)

    def publish(self, record: dict) -> None:
        self.frames_published += 1
        if self.servers:
            text = to_json_line(record)
            for server in self.servers:
                server.publish_frame(text)
        for sender in self.senders:
            sender.send(record)

    def stats(self) -> dict:
        times = os.times()
        with open("/proc/self/statm") as f:
            rss_mb = int(f.read().split()[1]) * mmap.PAGESIZE / 2**20
        return {"frames_received": self.frames_received, "frames_skipped": self.frames_skipped,
                "frames_published": self.frames_published, "cpu_s": times.user + times.system,
                "rss_mb": round(rss_mb, 1), "ws": [server.stats() for server in self.servers],
                "osc": [sender.stats() for sender in self.senders], "time_s": time.monotonic()}

    def reply(self, message: tuple) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.channel.setblocking(True)   # replies are rare and small; the tracker's process reads them
        try:
            self.channel.settimeout(5.0)
            self.channel.sendall(data)
        except OSError:
            pass   # the tracker's process is gone or not reading: the channel's end will follow
        finally:
            self.channel.setblocking(False)


def lower_priority(name: str) -> None:
    """Run this process at the priority STREAM_PROCESS_PRIORITIES names; where that is refused, as low as
    allowed (the stream still runs apart from the tracker)."""
    nice = STREAM_PROCESS_PRIORITIES[name]
    try:
        if nice is None:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        elif nice:
            os.nice(nice)
    except (OSError, AttributeError):   # not Linux, or not allowed
        try:
            os.nice(19)
        except OSError:
            pass


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the tracker's to handle; it then closes us
    lower_priority(spec["priority"])
    asyncio.run(StreamService(spec).run())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
