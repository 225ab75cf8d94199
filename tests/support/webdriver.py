"""A real, headless Debian chromium driven through chromedriver's W3C WebDriver HTTP API.

The protocol is plain JSON over HTTP on 127.0.0.1, so the standard library is
enough: no Selenium (its current releases need newer packages than this host
has), and nothing that downloads its own browser.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from tests.support.waiting import stop_process, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# Headless, and nothing that talks to the network on its own.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required", "--hide-scrollbars",
]


def have_chromium() -> bool:
    return shutil.which(CHROMIUM) is not None and shutil.which(CHROMEDRIVER) is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Browser:
    """One WebDriver session: navigate, run JavaScript, take screenshots."""

    def __init__(self, base: str, session_id: str) -> None:
        self._base = base
        self.session_id = session_id

    def _call(self, method: str, path: str, body: Any = None, timeout: float = 60.0) -> Any:
        return call(self._base, method, f"/session/{self.session_id}{path}", body, timeout)

    def get(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def js(self, script: str, *args: Any) -> Any:
        """Run `script` as a function body (use `return`), synchronously."""
        return self._call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script: str, *args: Any, timeout: float = 30.0) -> Any:
        """Run `script` as a function body whose last argument is the callback to call with the result."""
        self._call("POST", "/timeouts", {"script": int(timeout * 1000)})
        return self._call("POST", "/execute/async", {"script": script, "args": list(args)}, timeout + 10)

    def screenshot_png(self) -> bytes:
        return base64.b64decode(self._call("GET", "/screenshot"))

    def set_window_size(self, width: int, height: int) -> None:
        self._call("POST", "/window/rect", {"width": width, "height": height})

    def key(self, key: str) -> None:
        """Press and release one key on the focused element (W3C key value, e.g. " " or "\\ue014")."""
        actions = {"actions": [{"type": "key", "id": "kbd", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]}
        self._call("POST", "/actions", actions)

    def quit(self) -> None:
        call(self._base, "DELETE", f"/session/{self.session_id}", None, 30.0)


def call(base: str, method: str, path: str, body: Any, timeout: float) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null").get("value")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise AssertionError(f"WebDriver {method} {path} failed: {exc.code} {detail[:2000]}") from exc


@contextmanager
def chromium(width: int = 1280, height: int = 860, env: dict[str, str] | None = None,
             downloads: Path | None = None) -> Iterator[Browser]:
    """chromedriver (ended by its PID) + a headless chromium with a new, empty profile;
    `downloads`: where a download goes (without asking)."""
    port = _free_port()
    driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}", "--allowed-ips=127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}"
    profile = tempfile.mkdtemp(prefix="traycap-chromium-")
    browser: Browser | None = None
    try:
        wait_until("chromedriver to answer", lambda: _ready(base), timeout=30)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [*CHROMIUM_ARGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"],
                "prefs": {} if downloads is None else {
                    "download.default_directory": str(downloads), "download.prompt_for_download": False},
            },
        }}}
        value = call(base, "POST", "/session", caps, 90.0)
        browser = Browser(base, value["sessionId"])
        browser.set_window_size(width, height)
        yield browser
    finally:
        if browser is not None:
            with suppress(AssertionError, OSError):
                browser.quit()
        stop_process(driver)
        shutil.rmtree(profile, ignore_errors=True)


def _ready(base: str) -> bool:
    try:
        status = call(base, "GET", "/status", None, 2.0)
    except (OSError, AssertionError):
        return False
    return bool(status and status.get("ready"))


def save_png(data: bytes, path: Path) -> Path:
    path.write_bytes(data)
    return path
