"""--stream URLs: parse and check them (ws://HOST:PORT, osc://HOST:PORT) before anything is opened.

Defaults, written once here: host 127.0.0.1 when the URL names none (`ws://:8765`), port 8765 for ws and 9000 for
osc when it names none, at most DEFAULT_MAX_CLIENTS WebSocket clients per server. A host other than a loopback
address (127.0.0.0/8, ::1, localhost) is allowed but `is_loopback` is False, and the stream prints one warning.
Errors are InputError (one line, exit 2). Imports the standard library and app.errors only.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.errors import InputError

SCHEMES = ("ws", "osc")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORTS = {"ws": 8765, "osc": 9000}
DEFAULT_MAX_CLIENTS = 16
# The stream process's CPU priority (app/streaming/server.py): 'idle' (Linux SCHED_IDLE: it runs only on a core
# nothing else wants, so when the cores are busy the tracker comes first and clients skip frames; with a core to
# spare, as at a camera's rate, it makes no difference), 'low' (nice +10: a small share of a busy core) or
# 'normal' (the tracker's own).
STREAM_PROCESS_PRIORITIES = {"idle": None, "low": 10, "normal": 0}   # name -> nice increment (None: SCHED_IDLE)
STREAM_PROCESS_PRIORITY = "idle"
# Clients of the WebSocket stream may send nothing but a close; a message this large is refused unread.
MAX_CLIENT_MESSAGE_BYTES = 4096


@dataclass(frozen=True)
class StreamTarget:
    """scheme 'ws' (a server bound to host:port; port 0 = any free port) or 'osc' (UDP datagrams sent to
    host:port); url: as the user wrote it; is_loopback: the host is this machine only."""
    scheme: str
    host: str
    port: int
    url: str
    is_loopback: bool

    def display(self, port: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port if port is None else port}"


def parse_stream_url(url: str) -> StreamTarget:
    """StreamTarget for one --stream value; InputError naming the problem for anything else."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"--stream {url}: {exc} (expected ws://HOST:PORT or osc://HOST:PORT)") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        got = f"scheme '{parts.scheme}'" if parts.scheme else "no scheme"
        raise InputError(f"--stream {url}: {got}; expected ws://HOST:PORT or osc://HOST:PORT")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise InputError(f"--stream {url}: only {scheme}://HOST:PORT is accepted (no path, query or user)")
    host = parts.hostname or DEFAULT_HOST
    if port is None:
        if text.rstrip("/").endswith(":"):
            raise InputError(f"--stream {url}: empty port")
        port = DEFAULT_PORTS[scheme]
    if scheme == "osc" and port == 0:
        raise InputError(f"--stream {url}: an OSC stream needs the receiver's port (1-65535)")
    return StreamTarget(scheme, host, int(port), text, is_loopback(host))


def is_loopback(host: str) -> bool:
    """True for loopback addresses and names that resolve only to them (localhost); False for anything else,
    including 0.0.0.0 / :: (every interface) and names that do not resolve."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def check_max_clients(value: int) -> int:
    if value < 1:
        raise InputError(f"--stream-max-clients must be >= 1, got {value}")
    return int(value)
