"""A part's bytes as the streaming body of one request (UploadPart or PutObject)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from traycap.byte_window import ByteWindow

SEND_CHUNK = 256 * 1024
PROGRESS_STEP = 1024 * 1024  # progress at least this often while a body is sent


class Stopped(Exception):
    """Raised from inside a request body to abandon the part (cancel, or a permanent error elsewhere)."""


class PartBody(ByteWindow):
    """A part's bytes as a seekable stream that checks for a stop between reads.

    The sender (urllib3) pulls the body in 16 KiB reads and makes one send()
    per read; `read` hands out at least SEND_CHUNK bytes instead, which cuts the
    syscalls 16-fold and still checks for a stop every 256 KiB, i.e. within
    milliseconds. Only urllib3 reads this body: the checksum is computed by the
    caller and payload signing is off, so botocore never reads it to hash it.
    `readinto` keeps the exact size contract. `on_read(n)` runs before the
    bytes are handed out (a rate limit waits there).
    """

    def __init__(self, data: memoryview, stop: Callable[[], bool], on_read: Callable[[int], None]) -> None:
        self._data = data
        self._pos = 0
        self._stop = stop
        self._on_read = on_read

    def __len__(self) -> int:
        return len(self._data)

    def window_size(self) -> int:
        return len(self._data)

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and 0 <= size < SEND_CHUNK:
            size = SEND_CHUNK
        return self._take(size)

    def readinto(self, buffer: Any) -> int:
        chunk = self._take(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def _take(self, size: int | None) -> bytes:
        if self._stop():
            raise Stopped()
        end = len(self._data) if size is None or size < 0 else min(len(self._data), self._pos + size)
        chunk = bytes(self._data[self._pos : end])
        self._pos = end
        if chunk:
            self._on_read(len(chunk))
        return chunk


def metered_body(
    data: memoryview,
    *,
    stop: Callable[[], bool],
    count: Callable[[int], None],
    report: Callable[[int], None],
    throttle: Callable[[int], None] | None = None,
) -> PartBody:
    """A body that passes every byte read to `count` and its running total to `report`
    every PROGRESS_STEP bytes (not at the end: the caller reports a finished part).
    `throttle(n)` runs first and may wait (the upload rate cap)."""
    sent = 0
    pending = 0

    def on_read(n: int) -> None:
        nonlocal sent, pending
        if throttle is not None:
            throttle(n)
        sent += n
        pending += n
        count(n)
        if pending >= PROGRESS_STEP:
            pending = 0
            report(sent)

    return PartBody(data, stop, on_read)
