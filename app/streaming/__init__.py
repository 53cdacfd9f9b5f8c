"""Streaming the hand to other programs (--stream URL): a WebSocket server with a live browser view (ws://,
websocket.py) and OSC over UDP (osc://, osc.py). Both are pipeline consumers like the JSONL writer: the tracker
thread only hands them the newest result, each runs its own thread.

    streams = open_streams(["ws://127.0.0.1:8765", "osc://127.0.0.1:9000"])   # binds now; InputError if not
    streams.attach(pipeline)   # before pipeline.start(); again for every new pipeline (the GUI's restarts)
    ...
    streams.close()

No Qt here. Imports the standard library, websockets, python-osc and app code.
"""
from __future__ import annotations

import sys
from typing import Callable

from app.errors import InputError
from app.streaming.targets import DEFAULT_MAX_CLIENTS, StreamTarget, check_max_clients, parse_stream_url

__all__ = ["Streams", "open_streams", "parse_stream_url", "StreamTarget", "DEFAULT_MAX_CLIENTS"]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Streams:
    """The streams of one run."""

    def __init__(self, streams: list) -> None:
        self.streams = streams

    def attach(self, pipeline) -> None:
        for stream in self.streams:
            stream.attach(pipeline)

    def close(self) -> None:
        for stream in self.streams:
            stream.close()

    def stats(self) -> list[dict]:
        return [stream.stats() for stream in self.streams]


def open_streams(urls: list[str], max_clients: int = DEFAULT_MAX_CLIENTS,
                 log: Callable[[str], None] = _stderr) -> Streams:
    """Check every URL, then start every stream (servers are bound when this returns). InputError (one line)
    for a bad URL, a port in use or an address that is not this machine's; nothing stays open then. Prints one
    line per stream, and one warning per stream that reaches beyond this machine."""
    targets = [parse_stream_url(url) for url in urls]
    max_clients = check_max_clients(max_clients)
    seen: set[tuple[str, str, int]] = set()
    for t in targets:
        key = (t.scheme, t.host, t.port)
        if key in seen and t.port != 0:
            raise InputError(f"--stream {t.url} is given twice")
        seen.add(key)
    started: list = []
    try:
        for target in targets:
            if target.scheme == "ws":
                from app.streaming.websocket import WebSocketStream
                stream = WebSocketStream(target, max_clients=max_clients)
            else:
                from app.streaming.osc import OscStream
                stream = OscStream(target)
            stream.start()
            started.append(stream)
            log(stream.describe())
            warning = reach_warning(target)
            if warning:
                log(warning)
    except BaseException:
        for stream in started:
            stream.close()
        raise
    return Streams(started)



def reach_warning(target: StreamTarget) -> str | None:
    """The one warning line for a stream that reaches beyond this machine, else None."""
    if target.is_loopback:
        return None
    reach = "listens on" if target.scheme == "ws" else "sends to"
    return (f"warning: --stream {target.url} {reach} {target.host}, not only this machine: anyone who can reach "
            "it can read the hand data (there is no authentication)")
