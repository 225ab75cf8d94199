"""A real HTTP proxy on 127.0.0.1 that sits between an S3 client and an S3 server,
counts what passes and injects network faults on request.

    with moto_server() as s3, FaultProxy(s3.host, s3.port) as proxy:
        config = s3.config(endpointUrl=proxy.url)
        proxy.fail_next(1, "reset", op="UploadPart")     # RST halfway through the next part
        ...
        assert proxy.count("UploadPart") == 4
        assert proxy.body_bytes <= 20 * MIB

Faults (`fail_next(n, kind, match=None, op=None)`):
  "reset"        forward part of the request body, then close both sides with RST
                 (no body: RST before any response)
  "stall"        forward the request, hold the response for `stall_s`, then RST
                 (longer than the client's read timeout)
  "500"          read the body, answer 500 InternalError (S3 XML), keep the connection
  "503slowdown"  read the body, answer 503 SlowDown (S3 XML), keep the connection
  "answer"       read the body, answer `answer=(status, code, message)` (S3 XML), e.g. the
                 403 AccessDenied S3 gives when the credentials may not use a KMS key
`set_offline(True)` resets every connection and every new one (an unreachable
endpoint); `limit_rate(bytes_per_s)` slows request bodies so a test can act
while an upload is in the middle (a SIGKILL, a cancel); `limit_response_rate(bytes_per_s)`
slows response bodies (a download link of that speed, shared by all connections) and
`response_bytes` counts them;
`rewrite_head_responses(fn)` edits HEAD answers (a store that lies);
`stick_cut_parts()` makes the store refuse a part for good once an attempt at
it was cut off mid-body (the rclone behaviour issue 11 reports, see there).

The proxy speaks HTTP/1.1 with keep-alive, Content-Length and chunked bodies.
It answers `Expect: 100-continue` itself (botocore sends it with every part and
would otherwise wait a second for it) and strips the header upstream; botocore
does not sign Expect, so the signature stays valid. One thread per client
connection, at most `max_connections` at once (further ones are reset).
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

FAULT_KINDS = ("reset", "stall", "500", "503slowdown", "answer")
_CHUNK = 64 * 1024
_MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # as sent: path + "?" + query
    headers: dict[str, str]  # lower-case names
    op: str  # S3 operation, e.g. "UploadPart"

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.target).query, keep_blank_values=True).items()}

    @property
    def bucket(self) -> str:
        return unquote(self.path.lstrip("/").split("/", 1)[0])

    @property
    def key(self) -> str:
        parts = self.path.lstrip("/").split("/", 1)
        return unquote(parts[1]) if len(parts) > 1 else ""

    @property
    def part_number(self) -> int | None:
        value = self.query.get("partNumber")
        return int(value) if value else None


HeaderRewrite = Callable[[Request, int, list[tuple[str, str]]], list[tuple[str, str]]]


@dataclass
class LogEntry:
    method: str
    path: str
    query: dict[str, str]
    op: str
    key: str
    status: int | None  # None: no response reached the client (reset/stall)
    body_bytes: int  # request-body bytes received from the client
    fault: str | None = None
    started: float = 0.0  # time.monotonic() when the request head arrived
    ended: float = 0.0  # ... and when its answer began (or the connection was cut)


@dataclass
class _Rule:
    remaining: int
    kind: str
    match: Callable[[Request], bool] | None
    op: str | None
    after_bytes: int | None
    answer: tuple[int, str, str] | None = None
    hits: int = 0


@dataclass(eq=False)  # identity-hashed: kept in a set
class _Conn:
    client: socket.socket
    upstream: socket.socket | None = None
    upstream_r: BinaryIO | None = None
    extra: list[socket.socket] = field(default_factory=list)


class _Abort(Exception):
    """End this client connection with a reset."""


def s3_operation(method: str, target: str) -> str:
    """The S3 API name of a path-style request."""
    parts = urlsplit(target)
    query = parse_qs(parts.query, keep_blank_values=True)
    has_key = "/" in parts.path.lstrip("/") and not parts.path.lstrip("/").endswith("/")
    if not parts.path.strip("/"):
        return "ListBuckets"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        if "delete" in query:
            return "DeleteObjects"
        return "Post"
    if method == "PUT":
        if "partNumber" in query and "uploadId" in query:
            return "UploadPart"
        return "PutObject" if has_key else "CreateBucket"
    if method == "DELETE":
        if "uploadId" in query:
            return "AbortMultipartUpload"
        return "DeleteObject" if has_key else "DeleteBucket"
    if method == "HEAD":
        return "HeadObject" if has_key else "HeadBucket"
    if method == "GET":
        if "uploadId" in query:
            return "ListParts"
        if "uploads" in query:
            return "ListMultipartUploads"
        return "GetObject" if has_key else "ListObjects"
    return method


def _error_xml(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>faultproxy</RequestId><HostId>faultproxy</HostId></Error>"
    ).encode()


def _rst(sock: socket.socket | None, *, wake: bool = False) -> None:
    """Close with RST (SO_LINGER 0). `wake`: also shut it down first, which wakes a
    thread blocked reading it (close alone does not); the peer may then see a FIN."""
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if wake:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def _read_head(rfile: BinaryIO) -> list[bytes] | None:
    """Lines of an HTTP head (without CRLF); None on a clean EOF before any byte."""
    lines: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(_MAX_HEAD)
        if not line:
            if not lines:
                return None
            raise _Abort("EOF inside a head")
        total += len(line)
        if total > _MAX_HEAD:
            raise _Abort("head too long")
        stripped = line.rstrip(b"\r\n")
        if not stripped:
            if not lines:
                continue  # tolerate stray CRLF between messages
            return lines
        lines.append(stripped)


def _headers(lines: list[bytes]) -> list[tuple[str, str]]:
    out = []
    for raw in lines[1:]:
        name, _, value = raw.decode("latin-1").partition(":")
        out.append((name.strip(), value.strip()))
    return out


def _get(headers: list[tuple[str, str]], name: str) -> str | None:
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


class FaultProxy:
    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        stall_s: float = 120.0,
        max_connections: int = 64,
        host: str = "127.0.0.1",
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.stall_s = stall_s
        self.max_connections = max_connections
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(128)
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._closed = threading.Event()
        self._rules: list[_Rule] = []
        self._log: list[LogEntry] = []
        self._conns: set[_Conn] = set()
        self._threads: list[threading.Thread] = []
        self._offline = False
        self._rate: float | None = None
        self._rewrite: HeaderRewrite | None = None
        self._stick = False
        self._stuck: set[tuple[str, int]] = set()  # (uploadId, part number) never answered again
        self._next_send = 0.0
        self._response_rate: float | None = None
        self._next_response = 0.0
        self.response_bytes = 0  # response-body bytes sent to clients
        self.body_bytes = 0  # request-body bytes received from clients
        self.forwarded_bytes = 0  # request-body bytes sent upstream
        self.connections = 0
        self._acceptor = threading.Thread(target=self._accept_loop, name="faultproxy-accept", daemon=True)

    # --- lifecycle -----------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaultProxy:
        self._acceptor.start()
        return self

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._listener.close()
        self._reset_all()
        self._acceptor.join(timeout=5)
        for thread in list(self._threads):
            thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- controls ------------------------------------------------------------
    def fail_next(
        self,
        n: int,
        kind: str,
        match: Callable[[Request], bool] | None = None,
        *,
        op: str | None = None,
        after_bytes: int | None = None,
        answer: tuple[int, str, str] | None = None,
    ) -> None:
        """Inject `kind` into the next `n` requests that match (`op` name and/or `match`).
        `after_bytes` (reset only): bytes of the body forwarded before the reset
        (default: half the body)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
        if (kind == "answer") != (answer is not None):
            raise ValueError("answer=(status, code, message) goes with the kind 'answer' only")
        with self._lock:
            self._rules.append(_Rule(n, kind, match, op, after_bytes, answer))

    def faults_pending(self) -> int:
        with self._lock:
            return sum(r.remaining for r in self._rules)

    def clear_faults(self) -> None:
        with self._lock:
            self._rules.clear()

    def set_offline(self, offline: bool) -> None:
        with self._lock:
            self._offline = offline
        if offline:
            self._reset_all()

    def rewrite_head_responses(self, fn: HeaderRewrite | None) -> None:
        """Pass the headers of every HEAD answer through fn(request, status, headers)
        (a store that returns the wrong size or metadata). HEAD only: an answer
        without a body can change Content-Length without breaking the framing."""
        with self._lock:
            self._rewrite = fn

    def limit_rate(self, bytes_per_s: float | None) -> None:
        """Cap the request-body rate over all connections (None: no cap)."""
        with self._lock:
            self._rate = bytes_per_s
            self._next_send = time.monotonic()

    def limit_response_rate(self, bytes_per_s: float | None) -> None:
        """Cap the response-body rate over all connections (None: no cap): a download link's speed."""
        with self._lock:
            self._response_rate = bytes_per_s
            self._next_response = time.monotonic()

    def stick_cut_parts(self, on: bool = True) -> None:
        """Emulate the store issue 11 describes ("rclone serve s3 stops answering UploadPart for a part
        number whose previous attempt was cut off mid-body; every later try times out, from any
        client"): once an UploadPart is cut off mid-body (an injected reset, or a client gone
        mid-body), every later UploadPart for that uploadId and part number is read, never
        forwarded and never answered (held `stall_s`, then reset). Other requests pass as usual.
        The rclone here (v1.75) did not show the bug when tried, so tests that need it ask for it."""
        with self._lock:
            self._stick = on
            if not on:
                self._stuck.clear()

    @property
    def stuck_parts(self) -> set[tuple[str, int]]:
        """(uploadId, part number) of the parts this store refuses for good (see stick_cut_parts)."""
        with self._lock:
            return set(self._stuck)

    def _cut(self, req: Request) -> None:
        """An UploadPart was cut off mid-body: remember it if the store is to stick."""
        number = req.part_number
        upload_id = req.query.get("uploadId")
        with self._lock:
            if self._stick and req.op == "UploadPart" and number is not None and upload_id:
                self._stuck.add((upload_id, number))

    def _is_stuck(self, req: Request) -> bool:
        number = req.part_number
        with self._lock:
            return req.op == "UploadPart" and number is not None and (req.query.get("uploadId"), number) in self._stuck

    # --- statistics ----------------------------------------------------------
    @property
    def requests(self) -> list[LogEntry]:
        with self._lock:
            return list(self._log)

    def count(self, op: str, key: str | None = None, *, status: int | None = None) -> int:
        with self._lock:
            return sum(
                1
                for e in self._log
                if e.op == op and (key is None or e.key == key) and (status is None or e.status == status)
            )

    @property
    def active_connections(self) -> int:
        with self._lock:
            return len(self._conns)

    def body_bytes_of(self, op: str) -> int:
        """Request-body bytes received for one S3 operation (e.g. the parts' bytes)."""
        with self._lock:
            return sum(e.body_bytes for e in self._log if e.op == op)

    def reset_stats(self) -> None:
        with self._lock:
            self._log.clear()
            self.body_bytes = 0
            self.response_bytes = 0
            self.forwarded_bytes = 0
            self.connections = 0

    def wait_until(self, predicate: Callable[[FaultProxy], bool], timeout: float) -> bool:
        """Wait (on a condition, not a sleep loop) until predicate(self) holds; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                self._lock.release()
                try:
                    ok = predicate(self)
                finally:
                    self._lock.acquire()
                if ok:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))

    # --- internals -----------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refuse = self._offline or len(self._conns) >= self.max_connections
                self._threads = [t for t in self._threads if t.is_alive()]
                if not refuse:
                    conn = _Conn(sock)
                    self._conns.add(conn)
                    self.connections += 1
            if refuse:
                _rst(sock)
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), name="faultproxy-conn", daemon=True)
            with self._lock:
                self._threads.append(thread)
            thread.start()

    def _reset_all(self) -> None:
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _rst(conn.client, wake=True)
            _rst(conn.upstream, wake=True)

    def _take_fault(self, req: Request) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.remaining <= 0:
                    continue
                if rule.op is not None and rule.op != req.op:
                    continue
                if rule.match is not None and not rule.match(req):
                    continue
                rule.remaining -= 1
                rule.hits += 1
                return rule
            self._rules = [r for r in self._rules if r.remaining > 0]
        return None

    def _record(self, entry: LogEntry) -> None:
        entry.ended = time.monotonic()
        with self._changed:
            self._log.append(entry)
            self._changed.notify_all()

    def _count_body(self, received: int, forwarded: int) -> None:
        with self._changed:
            self.body_bytes += received
            self.forwarded_bytes += forwarded
            self._changed.notify_all()

    def _throttle(self, n: int) -> None:
        with self._lock:
            rate = self._rate
            if not rate:
                return
            now = time.monotonic()
            start = max(now, self._next_send)
            self._next_send = start + n / rate
            delay = self._next_send - now
        if delay > 0:
            self._closed.wait(delay)

    def _send_response_body(self, dst: socket.socket, data: bytes) -> None:
        """Response bytes to the client, at most at the response rate (one schedule for every connection)."""
        with self._lock:
            rate = self._response_rate
        for i in range(0, len(data), 16 * 1024) if rate else (0,):
            piece = data[i: i + 16 * 1024] if rate else data
            if rate:
                with self._lock:
                    now = time.monotonic()
                    start = max(now, self._next_response)
                    self._next_response = start + len(piece) / rate
                    delay = self._next_response - now
                if delay > 0:
                    self._closed.wait(delay)
            dst.sendall(piece)
            with self._changed:
                self.response_bytes += len(piece)

    def _upstream(self, conn: _Conn) -> tuple[socket.socket, BinaryIO]:
        if conn.upstream is not None and conn.upstream_r is not None:
            readable, _, _ = select.select([conn.upstream], [], [], 0)
            if not readable:
                return conn.upstream, conn.upstream_r
            # Readable while idle means the server closed the connection: reconnect.
            self._drop_upstream(conn)
        sock = socket.create_connection(self.upstream, timeout=None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.upstream = sock
        conn.upstream_r = sock.makefile("rb")
        return sock, conn.upstream_r

    def _drop_upstream(self, conn: _Conn) -> None:
        if conn.upstream_r is not None:
            with contextlib.suppress(OSError):
                conn.upstream_r.close()
        if conn.upstream is not None:
            with contextlib.suppress(OSError):
                conn.upstream.close()
        conn.upstream = None
        conn.upstream_r = None

    def _serve(self, conn: _Conn) -> None:
        client = conn.client
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rfile = client.makefile("rb")
        try:
            while not self._closed.is_set():
                if not self._one_exchange(conn, rfile):
                    break
        except (_Abort, OSError, ValueError):
            _rst(client)
            _rst(conn.upstream)
        finally:
            with contextlib.suppress(OSError):
                rfile.close()
            with contextlib.suppress(OSError):
                client.close()
            self._drop_upstream(conn)
            with self._changed:
                self._conns.discard(conn)
                self._changed.notify_all()

    def _one_exchange(self, conn: _Conn, rfile: BinaryIO) -> bool:
        """Relay one request/response; False when the client connection should end."""
        client = conn.client
        head = _read_head(rfile)
        if head is None:
            return False
        if self._offline:
            raise _Abort("offline")
        method, target, _version = head[0].decode("latin-1").split(" ", 2)
        headers = _headers(head)
        op = s3_operation(method, target)
        req = Request(method, target, {k.lower(): v for k, v in headers}, op)
        entry = LogEntry(method, req.path, req.query, op, req.key, None, 0, started=time.monotonic())
        rule = None if self._is_stuck(req) else self._take_fault(req)
        entry.fault = rule.kind if rule else None
        length_text = _get(headers, "content-length")
        chunked = (_get(headers, "transfer-encoding") or "").lower() == "chunked"
        length = int(length_text) if length_text and not chunked else 0
        if (_get(headers, "expect") or "").lower() == "100-continue":
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            headers = [(k, v) for k, v in headers if k.lower() != "expect"]
        close_after = (_get(headers, "connection") or "").lower() == "close"
        recorded = False
        try:
            if self._is_stuck(req):
                entry.fault = "stuck"
                entry.body_bytes = self._relay_body(rfile, None, length, chunked)
                self._record(entry)
                recorded = True
                self._closed.wait(self.stall_s)
                raise _Abort("a part this store no longer answers")
            if rule is not None and rule.kind in ("500", "503slowdown", "answer"):
                entry.body_bytes = self._relay_body(rfile, None, length, chunked)
                if rule.answer is not None:
                    status, code, message = rule.answer
                    reason = "Error"
                    body = _error_xml(code, message)
                elif rule.kind == "500":
                    status, reason = 500, "Internal Server Error"
                    body = _error_xml("InternalError", "We encountered an internal error. Please try again.")
                else:
                    status, reason = 503, "Slow Down"
                    body = _error_xml("SlowDown", "Please reduce your request rate.")
                entry.status = status
                self._record(entry)  # before the client can see the answer, so counts never lag
                recorded = True
                client.sendall(
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n"
                    f"Content-Length: {len(body)}\r\nx-amz-request-id: faultproxy\r\n\r\n".encode()
                    + (b"" if method == "HEAD" else body)
                )
                return not close_after

            up, up_r = self._upstream(conn)
            out_head = head[0] + b"\r\n" + b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in headers) + b"\r\n"
            up.sendall(out_head)
            if rule is not None and rule.kind == "reset":
                cut = rule.after_bytes if rule.after_bytes is not None else length // 2
                entry.body_bytes = self._relay_body(rfile, up, length, chunked, stop_after=cut)
                self._cut(req)
                raise _Abort("injected reset")
            try:
                entry.body_bytes = self._relay_body(rfile, up, length, chunked)
            except _Abort:
                self._cut(req)  # the client went away mid-body
                raise

            resp_head = _read_head(up_r)
            while resp_head is not None and resp_head[0].split(b" ", 2)[1] == b"100":
                resp_head = _read_head(up_r)  # we already said 100 Continue ourselves
            if resp_head is None:
                raise _Abort("upstream closed without a response")
            status = int(resp_head[0].split(b" ", 2)[1])
            if rule is not None and rule.kind == "stall":
                self._record(entry)  # now, so a test can see the stall begin
                recorded = True
                self._closed.wait(self.stall_s)
                raise _Abort("injected stall")
            resp_headers = _headers(resp_head)
            rewrite = self._rewrite
            if rewrite is not None and method == "HEAD":
                resp_headers = rewrite(req, status, resp_headers)
                resp_head = [resp_head[0]] + [f"{k}: {v}".encode("latin-1") for k, v in resp_headers]
            entry.status = status
            self._record(entry)  # before the client can see the answer, so counts never lag
            recorded = True
            client.sendall(b"\r\n".join(resp_head) + b"\r\n\r\n")
            r_chunked = (_get(resp_headers, "transfer-encoding") or "").lower() == "chunked"
            r_len_text = _get(resp_headers, "content-length")
            no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
            upstream_closes = (_get(resp_headers, "connection") or "").lower() == "close"
            if no_body:
                pass
            elif r_chunked:
                self._copy_chunked(up_r, client, count=False)
            elif r_len_text is not None:
                self._copy_exact(up_r, client, int(r_len_text), count=False)
            else:  # body runs to EOF
                while True:
                    data = up_r.read1(_CHUNK) if hasattr(up_r, "read1") else up_r.read(_CHUNK)
                    if not data:
                        break
                    self._send_response_body(client, data)
                upstream_closes = True
            if upstream_closes:
                self._drop_upstream(conn)
                if r_len_text is None and not r_chunked and not no_body:
                    return False  # the client learns the end of the body from our close
            return not close_after
        finally:
            if not recorded:
                self._record(entry)

    def _relay_body(
        self, rfile: BinaryIO, up: socket.socket | None, length: int, chunked: bool, stop_after: int | None = None
    ) -> int:
        if chunked:
            return self._copy_chunked(rfile, up, count=True, stop_after=stop_after)
        return self._copy_exact(rfile, up, length, count=True, stop_after=stop_after)

    def _copy_exact(
        self,
        src: BinaryIO,
        dst: socket.socket | None,
        length: int,
        *,
        count: bool,
        stop_after: int | None = None,
    ) -> int:
        done = 0
        while done < length:
            if stop_after is not None and done >= stop_after:
                break
            want = min(_CHUNK if self._rate is None else 16 * 1024, length - done)
            if stop_after is not None:
                want = min(want, max(1, stop_after - done))
            data = src.read(want)
            if not data:
                raise _Abort("EOF inside a body")
            done += len(data)
            if count:
                self._throttle(len(data))
            if dst is not None and not count:
                self._send_response_body(dst, data)
            elif dst is not None:
                dst.sendall(data)
            if count:
                self._count_body(len(data), len(data) if dst is not None else 0)
        return done

    def _copy_chunked(
        self, src: BinaryIO, dst: socket.socket | None, *, count: bool, stop_after: int | None = None
    ) -> int:
        done = 0
        while True:
            size_line = src.readline(1024)
            if not size_line:
                raise _Abort("EOF inside a chunked body")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if dst is not None:
                dst.sendall(size_line)
            if size == 0:
                while True:  # trailers, then the blank line
                    line = src.readline(_MAX_HEAD)
                    if not line:
                        raise _Abort("EOF inside trailers")
                    if dst is not None:
                        dst.sendall(line)
                    if not line.rstrip(b"\r\n"):
                        return done
            left = None if stop_after is None else max(0, stop_after - done)
            done += self._copy_exact(src, dst, size, count=count, stop_after=left)
            if stop_after is not None and done >= stop_after:
                return done
            crlf = src.read(2)
            if dst is not None:
                dst.sendall(crlf)
