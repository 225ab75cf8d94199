"""The viewer's HTTP adapter: the page, its data, the video (with byte ranges) and screenshots from the zip.

Listens on 127.0.0.1 only, on a port the OS picks; every path starts with a
random token, so another local user or a web page guessing ports gets 404.
A Host header that is not 127.0.0.1/localhost is refused (DNS rebinding).
The Content-Security-Policy allows nothing but this origin: the page cannot
load a remote script, font or image even by mistake.

Routes under /<token>/:

    GET  ""  viewer.js  viewer.css     the page (package data, traycap/viewer/page/)
    GET  data.json                     model.page_data
    GET  video.mp4                     the bundle's video, Range requests answered with 206
    GET  shots/<file>                  a screenshot;  GET preview.jpg  the contact sheet
    POST heartbeat  {"active": bool}   the tab is open (lifetime.py)
    POST bye                           the tab is going away
    POST link                          a share link, presigned by this process (never by the page)
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from traycap.bundle.layout import PREVIEW_JPG, SHOTS_PREFIX
from traycap.clock import Clock
from traycap.errors import TraycapError
from traycap.viewer.bundle import BundleReader, MemberSlice, SliceChain
from traycap.viewer.lifetime import Lifetime
from traycap.viewer.ranges import Unsatisfiable, parse_range

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
CHUNK = 256 * 1024
CHECK_EVERY_S = 1.0
PAGE_FILES = {
    "": ("index.html", "text/html; charset=utf-8"),
    "viewer.js": ("viewer.js", "text/javascript; charset=utf-8"),
    "viewer.css": ("viewer.css", "text/css; charset=utf-8"),
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Site:
    """What the server serves: the page data and, when the zip is on this machine, the bundle."""

    data: dict[str, Any]
    bundle: BundleReader | None
    share_link: Callable[[], str] | None  # None: not uploaded (or no settings to presign with)


def page_files() -> dict[str, tuple[bytes, str]]:
    root = resources.files("traycap.viewer").joinpath("page")
    return {route: (root.joinpath(name).read_bytes(), ctype) for route, (name, ctype) in PAGE_FILES.items()}


class ViewerServer:
    """One session's page on 127.0.0.1:<random port>/<random token>/."""

    def __init__(self, site: Site, clock: Clock, *, lifetime: Lifetime | None = None, token: str | None = None) -> None:
        self.site = site
        self.clock = clock
        self.lifetime = lifetime or Lifetime(clock)
        self.token = token or secrets.token_urlsafe(24)
        self._files = page_files()
        self._data = json.dumps(site.data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
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
        if path in self._files:
            body, ctype = self._files[path]
            req.send_bytes(body, ctype)
        elif path == "data.json":
            req.send_bytes(self._data, "application/json")
        elif path == "video.mp4":
            self._video(req)
        elif path == "preview.jpg":
            self._member(req, PREVIEW_JPG, "image/jpeg")
        elif path.startswith("shots/") and "/" not in path[6:] and path[6:] not in ("", ".", ".."):
            self._member(req, SHOTS_PREFIX + path[6:], "image/png")
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

    def _video(self, req: _Handler) -> None:
        """The video as one file, whatever the bundle's format (one member, or its segments end to end)."""
        bundle = self.site.bundle
        if bundle is None or not bundle.has_video:
            req.send_error_text(HTTPStatus.NOT_FOUND)
            return
        self._window(req, bundle.open_video(), "video/mp4")

    def _member(self, req: _Handler, name: str, ctype: str) -> None:
        bundle = self.site.bundle
        if bundle is None or not bundle.has(name):
            req.send_error_text(HTTPStatus.NOT_FOUND)
            return
        self._window(req, bundle.open_member(name), ctype)

    def _window(self, req: _Handler, window: MemberSlice | SliceChain, ctype: str) -> None:
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

    def send_security_headers(self) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)

    def send_bytes(self, body: bytes, ctype: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_security_headers()
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
