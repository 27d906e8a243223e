"""Open a page in headless Chromium and report what happened: a small DevTools driver.

Standard library only (a minimal WebSocket client over a socket), so the tests need nothing
that downloads a browser: they use Debian's ``chromium`` (``make test`` installs it when it
runs as root). The flags are those known to work on this machine; without the
background-networking flags Chromium tries to reach Google's hosts at every start.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--window-size=1280,900",
]


def find_chromium() -> str | None:
    """The Chromium executable, or None."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageVisit:
    """What loading a page produced.

    Attributes
    ----------
    screenshot : bytes
        PNG of the viewport after the load.
    console_errors : list of str
        Console messages of level error, uncaught exceptions and browser log errors.
    failed_requests : list of str
        URLs of requests that failed (or were blocked).
    requests : list of str
        URLs of every request the page made.
    dialogs : list of str
        JavaScript dialogs (``alert``) the page opened.
    values : dict
        Results of the JavaScript expressions passed to :func:`visit`.
    """

    screenshot: bytes = b""
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    values: dict = field(default_factory=dict)


class _WebSocket:
    """Just enough of RFC 6455 for DevTools: text frames, client-side masking."""

    def __init__(self, url: str) -> None:
        rest = url.removeprefix("ws://")
        host_port, path = rest.split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            response += chunk
        if b" 101 " not in response.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"DevTools refused the WebSocket: {response[:200]!r}")
        self.buffer = response.split(b"\r\n\r\n", 1)[1]

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytearray([0x81])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        header += mask
        self.sock.sendall(bytes(header) + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)  # servers do not mask
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):  # ping/pong: not used by DevTools
                continue
            message += payload
            if first & 0x80:
                return message.decode()

    def close(self) -> None:
        self.sock.close()


class _DevTools:
    def __init__(self, ws: _WebSocket) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            event = json.loads(self.ws.receive())
            self.events.append(event)
            if event.get("method") == "Page.javascriptDialogOpening":
                # An alert blocks the page until answered; it is recorded, then dismissed.
                self.call("Page.handleJavaScriptDialog", accept=True)


def visit(
    path: Path,
    expressions: dict[str, str] | None = None,
    timeout: float = 60,
    *,
    width: int = 1280,
    full_page: bool = False,
) -> PageVisit:
    """Load ``path`` (a local file) in a fresh headless Chromium and record what happened.

    Parameters
    ----------
    path : Path
    expressions : dict of str to str, optional
        JavaScript expressions evaluated after the load; results in ``PageVisit.values``.
    timeout : float
    width : int, default=1280
        Width of the window in CSS pixels.
    full_page : bool, default=False
        Screenshot the whole page, not only the first screen.
    """
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed")
    profile = tempfile.mkdtemp(prefix="poisonlab-chromium-")
    proc = subprocess.Popen(
        [exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = _devtools_port(Path(profile), proc, timeout)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            pages = [t for t in json.load(r) if t.get("type") == "page"]
        ws = _WebSocket(pages[0]["webSocketDebuggerUrl"])
        try:
            return _load(_DevTools(ws), path, expressions or {}, timeout, width, full_page)
        finally:
            ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_port(profile: Path, proc: subprocess.Popen, timeout: float) -> int:
    # With --remote-debugging-port=0 Chromium picks a free port and writes it here.
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with status {proc.returncode}")
        if marker.exists():
            text = marker.read_text().split()
            if text:
                return int(text[0])
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


def _load(
    dt: _DevTools,
    path: Path,
    expressions: dict[str, str],
    timeout: float,
    width: int = 1280,
    full_page: bool = False,
) -> PageVisit:
    for domain in ("Page", "Runtime", "Log", "Network"):
        dt.call(f"{domain}.enable")
    dt.call(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=900,
        deviceScaleFactor=1,
        mobile=False,
    )
    dt.call("Page.navigate", url=path.resolve().as_uri())
    dt.wait_for("Page.loadEventFired", timeout)
    time.sleep(0.5)  # late console messages and requests
    values = {
        name: dt.call("Runtime.evaluate", expression=expr, returnByValue=True)["result"].get(
            "value"
        )
        for name, expr in expressions.items()
    }
    if full_page:
        size = dt.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1}
        shot = dt.call(
            "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
        )
    else:
        shot = dt.call("Page.captureScreenshot", format="png")
    out = PageVisit(screenshot=base64.b64decode(shot["data"]), values=values)
    for event in dt.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.console_errors.append(json.dumps(params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            out.console_errors.append(json.dumps(params.get("exceptionDetails", {})))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            out.console_errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            out.requests.append(params["request"]["url"][:100])
        elif method == "Network.loadingFailed":
            out.failed_requests.append(f"{params.get('errorText')} {params.get('blockedReason')}")
        elif method == "Page.javascriptDialogOpening":
            out.dialogs.append(params.get("message", ""))
    return out
