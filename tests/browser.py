"""A real headless Chromium for the tests, driven over its DevTools protocol (a WebSocket, through the
`websockets` client the project already depends on): open a page, read what it shows, move the mouse, take a
screenshot, and list every URL the page requested.

Chromium comes from the system packages (Debian's `chromium`; `./setup.sh --dev` installs it). It runs with a
fresh profile, no sandbox (tests run as root), no GPU, and everything that would reach the network off.

    python -m tests.browser docs/stream_page.png     # the README's picture of the live page
"""
from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from websockets.sync.client import connect

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
         "--remote-debugging-port=0", "--remote-allow-origins=*", "--window-size=1280,720")


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """with Browser() as b: page = b.open(url); page.text('#frames') ..."""

    def __init__(self, executable: str | None = None, timeout_s: float = 30.0) -> None:
        self.executable = executable or find_chromium()
        if self.executable is None:
            raise RuntimeError("chromium not found")
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._profile = tempfile.mkdtemp(prefix="handtracker-chromium-")
        self._proc = None
        self._ws = None
        self.events: list[dict] = []

    def __enter__(self) -> "Browser":
        self._proc = subprocess.Popen([self.executable, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.perf_counter() + self.timeout_s
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self._proc.poll() is not None or time.perf_counter() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self._ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, compression=None,
                           open_timeout=self.timeout_s).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._ws is not None:
            self._ws.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        shutil.rmtree(self._profile, ignore_errors=True)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """One DevTools command; events that arrive meanwhile are kept in self.events."""
        msg_id = next(self._ids)
        message = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        deadline = time.perf_counter() + self.timeout_s
        while True:
            reply = json.loads(self._ws.recv(max(0.1, deadline - time.perf_counter())))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def open(self, url: str) -> "Page":
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.call("Network.enable")
        page.call("Page.enable")
        page.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 720, "deviceScaleFactor": 1, "mobile": False})
        page.call("Page.navigate", {"url": url})
        return page


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session

    def call(self, method: str, params: dict | None = None) -> dict:
        return self.browser.call(method, params, self.session)

    def evaluate(self, expression: str):
        reply = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression}: {reply['exceptionDetails'].get('text')}")
        return reply["result"].get("value")

    def text(self, element_id: str) -> str | None:
        return self.evaluate(f"(document.getElementById({json.dumps(element_id)}) || {{}}).textContent || null")

    def wait_for(self, expression: str, timeout_s: float = 20.0):
        """Poll a JavaScript expression until it is truthy; its value (None on timeout)."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            try:
                value = self.evaluate(expression)
            except RuntimeError:
                value = None
            if value:
                return value
            time.sleep(0.1)
        return None

    def drag(self, x0: float, y0: float, x1: float, y1: float, steps: int = 10) -> None:
        self.call("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x0, "y": y0, "button": "left",
                                               "buttons": 1, "clickCount": 1})
        for k in range(1, steps + 1):
            self.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x0 + (x1 - x0) * k / steps,
                                                   "y": y0 + (y1 - y0) * k / steps, "button": "left", "buttons": 1})
        self.call("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x1, "y": y1, "button": "left",
                                               "buttons": 0, "clickCount": 1})

    def screenshot(self, path: str | os.PathLike) -> bytes:
        data = base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"])
        Path(path).write_bytes(data)
        return data

    def requested_urls(self) -> list[str]:
        """Every URL this page requested (documents, scripts, images, fetches, WebSockets) so far."""
        urls = []
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                continue
            if event.get("method") == "Network.requestWillBeSent":
                urls.append(event["params"]["request"]["url"])
            elif event.get("method") == "Network.webSocketCreated":
                urls.append(event["params"]["url"])
        return urls


def _docs_screenshot(path: str) -> int:
    """Run the tracker on the synthetic hand with a ws stream, open the page, turn the view, save a picture."""
    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "run_tracker.py", "--headless", "--source", "synthetic", "--realtime",
                             "--stream", "ws://127.0.0.1:0"], cwd=repo, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        url = line.split("live view ", 1)[1].split(")", 1)[0]
        with Browser() as browser:
            page = browser.open(url)
            page.wait_for("Number(document.getElementById('frames').textContent) > 30")
            page.drag(640, 400, 760, 360)
            time.sleep(1.5)
            page.screenshot(path)
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(_docs_screenshot(sys.argv[1] if len(sys.argv) > 1 else "docs/stream_page.png"))
