"""The viewer's HTTP adapter: the page and the session's zip, with byte ranges.

Listens on 127.0.0.1 only, on a port the OS picks; every path starts with a
random token, so another local user or a web page guessing ports gets 404.
A Host header that is not 127.0.0.1/localhost is refused (DNS rebinding).
The Content-Security-Policy allows nothing but this origin: the page cannot
load a remote script, font or image even by mistake.

The page is the share link's player (single_page.py): it reads the zip by byte ranges
exactly as it reads it from a bucket, so this server only hands out the zip's bytes.

Routes under /<token>/:

    GET  ""                            the page (one HTML document, traycap/viewer/single_page.py)
    GET  host.json                     what the page cannot read in the zip: the upload's status
    GET  bundle.zip                    the session's zip, Range requests answered with 206 (416 outside it)
    POST heartbeat  {"active": bool}   the tab is open (lifetime.py)
    POST bye                           the tab is going away
    POST link                          a share link, made by this process (never by the page)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from traycap.clock import Clock
from traycap.errors import TraycapError
from traycap.viewer import single_page
from traycap.viewer.bundle import MemberSlice
from traycap.viewer.lifetime import Lifetime
from traycap.viewer.ranges import Unsatisfiable, parse_range

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
CHUNK = 256 * 1024
CHECK_EVERY_S = 1.0
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Site:
    """What the server serves: one session's zip and what the page shows about its upload."""

    zip_path: Path
    host: dict[str, Any]  # host.json
    share_link: Callable[[], str] | None  # None: not uploaded (or no settings to presign with)


class ViewerServer:
    """One session's page on 127.0.0.1:<random port>/<random token>/."""

    def __init__(self, site: Site, clock: Clock, *, lifetime: Lifetime | None = None, token: str | None = None) -> None:
        self.site = site
        self.clock = clock
        self.lifetime = lifetime or Lifetime(clock)
        self.token = token or secrets.token_urlsafe(24)
        self._page = single_page.local_html()
        self._page_csp = single_page.build().csp + "; frame-ancestors 'none'"
        self._host = json.dumps(site.host, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        self._httpd = ThreadingHTTPServer((HOST, 0), _handler_class(self))
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/{self.token}/"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="traycap-viewer-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask `wait` to return (from a signal handler or another thread)."""
        self._stop.set()

    def wait(self) -> str:
        """Serve until the lifetime ends or stop() is called; returns why it stopped."""
        reason = "stopped"
        while not self._stop.is_set():
            self.clock.sleep(CHECK_EVERY_S, wake=self._stop)
            found = self.lifetime.stop_reason()
            if found is not None:
                reason = found
                break
        return reason

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5.0)

    # --- routes, called by the handler ---------------------------------------------
    def route_get(self, req: _Handler, path: str) -> None:
        if path == "":
            req.send_bytes(self._page, "text/html; charset=utf-8", csp=self._page_csp)
        elif path == "host.json":
            req.send_bytes(self._host, "application/json")
        elif path == "bundle.zip":
            self._zip(req)
        else:
            req.send_error_text(HTTPStatus.NOT_FOUND)

    def route_post(self, req: _Handler, path: str, body: bytes) -> None:
        if path == "heartbeat":
            active = False
            with contextlib.suppress(ValueError, AttributeError):
                active = bool(json.loads(body or b"{}").get("active"))
            self.lifetime.heartbeat(active)
            req.send_bytes(b"{}", "application/json")
        elif path == "bye":
            self.lifetime.bye()
            req.send_bytes(b"{}", "application/json")
        elif path == "link":
            self.lifetime.active()
            req.send_bytes(json.dumps(self._link()).encode(), "application/json")
        else:
            req.send_error_text(HTTPStatus.NOT_FOUND)

    def _link(self) -> dict[str, str]:
        if self.site.share_link is None:
            return {"error": "This session has not been uploaded, so it has no share link."}
        try:
            return {"url": self.site.share_link()}
        except TraycapError as exc:
            return {"error": exc.user_text()}

    def _zip(self, req: _Handler) -> None:
        try:
            fd = os.open(self.site.zip_path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError:
            req.send_error_text(HTTPStatus.NOT_FOUND)
            return
        try:
            self._window(req, MemberSlice(fd, 0, os.fstat(fd).st_size), "application/zip")
        finally:
            os.close(fd)

    def _window(self, req: _Handler, window: MemberSlice, ctype: str) -> None:
        """Answer GET with `window`'s bytes: 200 whole, 206 for one Range, 416 outside it."""
        with window as member:
            size = member.size
            try:
                span = parse_range(req.headers.get("Range"), size)
            except Unsatisfiable:
                req.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                req.send_header("Content-Range", f"bytes */{size}")
                req.send_header("Content-Length", "0")
                req.end_headers()
                return
            start, length = (0, size) if span is None else (span.start, span.length)
            req.send_response(HTTPStatus.OK if span is None else HTTPStatus.PARTIAL_CONTENT)
            req.send_header("Content-Type", ctype)
            req.send_header("Accept-Ranges", "bytes")
            req.send_header("Content-Length", str(length))
            if span is not None:
                req.send_header("Content-Range", span.content_range(size))
            req.send_security_headers()
            req.end_headers()
            sent = 0
            while sent < length:
                chunk = member.read_span(start + sent, min(CHUNK, length - sent))
                if not chunk:
                    break
                req.wfile.write(chunk)
                sent += len(chunk)


class _Handler(BaseHTTPRequestHandler):
    server_version = "traycap-viewer"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    viewer: ViewerServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # paths carry the token: not for logs

    def _path(self) -> str | None:
        """The route under the token, or None (after answering) when the request is not for us."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        if host not in (HOST, "localhost"):
            self.send_error_text(HTTPStatus.FORBIDDEN)
            return None
        raw = self.path.split("?", 1)[0].split("#", 1)[0]
        prefix = f"/{self.viewer.token}/"
        if not secrets.compare_digest(raw[: len(prefix)].encode(), prefix.encode()):
            if secrets.compare_digest(raw.encode(), prefix[:-1].encode()):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", prefix)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            self.send_error_text(HTTPStatus.NOT_FOUND)
            return None
        self.viewer.lifetime.request()
        return raw[len(prefix):]

    def do_GET(self) -> None:
        path = self._path()
        if path is not None:
            self._guard(lambda: self.viewer.route_get(self, path))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 64 * 1024)) if length > 0 else b""
        path = self._path()
        if path is not None:
            self._guard(lambda: self.viewer.route_post(self, path, body))

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the browser cancelled a range request: normal when seeking

    def send_security_headers(self, csp: str | None = None) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, csp if csp is not None and name == "Content-Security-Policy" else value)

    def send_bytes(self, body: bytes, ctype: str, *, csp: str | None = None) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_security_headers(csp)
        self.end_headers()
        self.wfile.write(body)

    def send_error_text(self, status: HTTPStatus) -> None:
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_security_headers()
        self.end_headers()
        self.wfile.write(body)


def _handler_class(viewer: ViewerServer) -> type[_Handler]:
    return type("ViewerHandler", (_Handler,), {"viewer": viewer})
