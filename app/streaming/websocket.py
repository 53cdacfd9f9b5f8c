"""The ws:// stream's server: a WebSocket server that pushes every tracked frame as one JSON text message, and
serves the live page (viewer.html) on a plain HTTP GET / of the same port. It runs in the stream process
(app/streaming/server.py), on that process's asyncio loop; the tracker's process only binds the listening
socket (listening_socket, so a port in use is its one-line error) and passes it on.

Messages are exactly the --output JSONL lines (app/runtime/records.py): the header object first, on connect (and
again when the run changes, e.g. the GUI opens another source), then one frame record per message.

Each new frame's text is written at once, in one websockets broadcast, to every client that is idle with an
empty write buffer; any other client's sender task is woken, and a task sends the newest message when its
previous send has finished, so a slow or stalled client skips frames (its socket buffer and websockets' 16 KiB
write buffer are all it ever holds) and never slows the other clients. A stalled client is closed by the
keep-alive ping timeout.

Clients may send nothing but a close: any data message closes that client (1008), and one over
MAX_CLIENT_MESSAGE_BYTES is refused unread (1009). At most max_clients at once (others: HTTP 503).
Imports the standard library, websockets and app.streaming.targets only (no Qt, no tracker code).
"""
from __future__ import annotations

import asyncio
import errno
import http
import logging
import socket
from importlib import resources
from typing import Callable

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.protocol import State

from app.streaming.targets import DEFAULT_MAX_CLIENTS, MAX_CLIENT_MESSAGE_BYTES

PAGE_PATHS = ("/", "/index.html")
PING_INTERVAL_S = 5.0      # keep-alive; a client that has not answered a ping within PING_TIMEOUT_S is closed
PING_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 1.0      # a stalled client cannot take the close frame: give up on it quickly
# What a client that does not keep up can have queued on our side: the kernel send buffer (Linux doubles the
# value asked for) and websockets' write buffer. Small, so a slow client gets the newest frame after a few stale
# ones instead of seconds of backlog, and a stalled one costs at most this much memory.
SEND_BUFFER_BYTES = 32 * 1024
WRITE_LIMIT_BYTES = 16 * 1024
# The page is self-contained: nothing but its own inline script and style, and a WebSocket back to this port.
PAGE_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
            "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

_LOG = logging.getLogger("app.streaming.websocket")
_LOG.addHandler(logging.NullHandler())   # handshake garbage from clients is theirs to see, not our stderr's
_LOG.propagate = False


def page_html() -> bytes:
    """The live page (app/streaming/viewer.html)."""
    return resources.files("app.streaming").joinpath("viewer.html").read_bytes()


class _Client:
    __slots__ = ("connection", "wake", "idle", "header_version", "frame_seq", "sent", "skipped")

    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection
        self.wake = asyncio.Event()
        self.idle = False          # its sender task waits for a wake-up (no send of its own in progress)
        self.header_version = -1   # the header version this client has; frames follow only the current one
        self.frame_seq = 0
        self.sent = 0
        self.skipped = 0


class WebSocketServer:
    """One ws:// server on the stream process's loop. start() serves on the listening socket it is given;
    publish_header(text) / publish_frame(text) hand it the run's header and each newest frame's JSON text;
    on_demand_change(has_clients) is called when the first client arrives and when the last one leaves (the
    tracker's process then starts and stops sending frames); close() ends it (clients get 1001 going away)."""

    def __init__(self, sock: socket.socket, max_clients: int = DEFAULT_MAX_CLIENTS,
                 on_demand_change: Callable[[], None] = lambda: None) -> None:
        self._sock = sock
        self.max_clients = int(max_clients)
        self.port = int(sock.getsockname()[1])
        self._on_demand_change = on_demand_change
        self._server = None
        self._clients: set[_Client] = set()
        self._header_text: str | None = None
        self._header_version = 0
        self._frame_text: str | None = None
        self._frame_seq = 0
        self.messages_sent = 0
        self.clients_served = 0
        self.clients_refused = 0

    @property
    def has_clients(self) -> bool:
        return bool(self._clients)

    async def start(self) -> None:
        self._server = await serve(self._handle, sock=self._sock, process_request=self._process_request,
                                   compression=None, max_size=MAX_CLIENT_MESSAGE_BYTES, max_queue=4,
                                   write_limit=WRITE_LIMIT_BYTES, ping_interval=PING_INTERVAL_S,
                                   ping_timeout=PING_TIMEOUT_S, close_timeout=CLOSE_TIMEOUT_S, open_timeout=5.0,
                                   server_header=None, logger=_LOG)

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        try:
            await asyncio.wait_for(self._server.wait_closed(), CLOSE_TIMEOUT_S * 3)
        except (asyncio.TimeoutError, Exception):
            pass   # closing is best effort: the process is ending

    def stats(self) -> dict:
        clients = list(self._clients)
        return {"clients": len(clients), "clients_served": self.clients_served,
                "clients_refused": self.clients_refused, "messages_sent": self.messages_sent,
                "per_client": [{"frames_sent": c.sent, "frames_skipped": c.skipped,
                                "frames_behind": max(0, self._frame_seq - c.frame_seq) if c.frame_seq else 0}
                               for c in clients]}

    def _process_request(self, connection: ServerConnection, request):
        """Plain HTTP: GET / gives the page, anything else 404. A WebSocket upgrade beyond the client limit: 503."""
        if request.headers.get("Upgrade", "").lower() != "websocket":
            if request.path.split("?", 1)[0] in PAGE_PATHS:
                response = connection.respond(http.HTTPStatus.OK, "")
                response.body = page_html()
                del response.headers["Content-Type"], response.headers["Content-Length"]
                response.headers["Content-Type"] = "text/html; charset=utf-8"
                response.headers["Content-Length"] = str(len(response.body))
                response.headers["Content-Security-Policy"] = PAGE_CSP
                response.headers["Cache-Control"] = "no-store"
                response.headers["X-Content-Type-Options"] = "nosniff"
                return response
            return connection.respond(http.HTTPStatus.NOT_FOUND,
                                      "not found: the live view is at /, the stream is a WebSocket on any path\n")
        if len(self._clients) >= self.max_clients:
            self.clients_refused += 1
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE,
                                      f"too many clients (at most {self.max_clients}, --stream-max-clients)\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        if len(self._clients) >= self.max_clients:   # several handshakes raced past the check above
            self.clients_refused += 1
            await connection.close(CloseCode.TRY_AGAIN_LATER, "too many clients")
            return
        client = _Client(connection)
        self._clients.add(client)
        self.clients_served += 1
        if len(self._clients) == 1:
            self._on_demand_change()
        if self._header_text is not None:
            client.wake.set()
        sender = asyncio.create_task(self._send_loop(client))
        try:
            async for _message in connection:   # clients may send nothing but a close
                await connection.close(CloseCode.POLICY_VIOLATION,
                                       "this stream is send-only: clients may send nothing but a close")
                break
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)
            if not self._clients:
                self._frame_text = None   # no stale frame for the next client (no frames come now)
                self._on_demand_change()
            sender.cancel()

    async def _send_loop(self, client: _Client) -> None:
        """Send the header when it is new to this client, then the newest frame; skip what came meanwhile."""
        try:
            while True:
                client.idle = True
                await client.wake.wait()
                client.idle = False
                client.wake.clear()
                header = self._header_text
                if header is not None and client.header_version != self._header_version:
                    client.header_version = self._header_version
                    await client.connection.send(header)
                    self.messages_sent += 1
                if self._frame_text is not None and client.frame_seq != self._frame_seq \
                        and client.header_version == self._header_version:
                    if client.frame_seq:
                        client.skipped += self._frame_seq - client.frame_seq - 1
                    client.frame_seq = self._frame_seq
                    await client.connection.send(self._frame_text)
                    client.sent += 1
                    self.messages_sent += 1
        except ConnectionClosed:
            pass

    def publish_frame(self, text: str) -> None:
        """The newest frame's JSON text: to every client now, or as soon as its previous send is done."""
        if not self._clients:
            return
        self._frame_text = text
        self._frame_seq += 1
        # A client that is idle, has this run's header and nothing left in its write buffer gets the frame
        # written now, all of them in one broadcast (no task switch per client); any other (behind, or new) is
        # woken and its own task sends the newest frame when its last send is done.
        direct = []
        for client in self._clients:
            connection = client.connection
            if client.idle and client.frame_seq and client.header_version == self._header_version \
                    and connection.state is State.OPEN and not connection.transport.get_write_buffer_size():
                client.skipped += self._frame_seq - client.frame_seq - 1
                client.frame_seq = self._frame_seq
                client.sent += 1
                direct.append(connection)
            else:
                client.wake.set()
        if direct:
            broadcast(direct, text)
            self.messages_sent += len(direct)

    def publish_header(self, text: str) -> None:
        self._header_text = text
        self._header_version += 1
        self._frame_text = None   # a frame of the previous run must not follow the new header
        for client in self._clients:
            client.wake.set()


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on host:port (the first address host resolves to) whose accepted connections
    inherit the small send buffer."""
    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # a restart need not wait for TIME_WAIT
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        sock.bind(address)
        sock.listen(64)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def describe_bind_error(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host ({exc.strerror or exc})"
    if isinstance(exc, OSError):
        if exc.errno == errno.EADDRINUSE:
            return "address already in use (another program, or another --stream, has this port)"
        if exc.errno == errno.EADDRNOTAVAIL:
            return "no such address on this machine"
        if exc.errno == errno.EACCES:
            return "permission denied (ports below 1024 need privileges)"
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__

