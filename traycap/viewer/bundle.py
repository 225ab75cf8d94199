"""Read a session straight from its zip bundle (either format, through traycap/bundle/reader.py):
JSON parsed, big members as byte slices.

The viewer never unpacks a bundle: the video and the screenshots are stored
(not compressed) in the zip, so each is a contiguous run of bytes in the zip
file, and `MemberSlice` reads that run as if it were a file of its own (seek,
read, HTTP byte ranges). A format-2 bundle keeps the video as several stored
segments; `SliceChain` puts their slices end to end, so the page still gets
one seekable MP4. A member that is compressed after all (a bundle written by
another tool) is extracted once into the viewer's cache directory, which the
caller removes when it stops.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from traycap.bundle.reader import BundleModel, BundleZip, pread
from traycap.byte_window import ByteWindow
from traycap.errors import CorruptFile


class _SpanReader(ByteWindow, io.RawIOBase):
    """A window whose bytes come from `read_span(start, length)`: reads at the position."""

    def read_span(self, start: int, length: int) -> bytes:
        raise NotImplementedError

    def readinto(self, buffer: Any) -> int:
        data = self.read_span(self._pos, len(buffer))
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n


class MemberSlice(_SpanReader):
    """A read-only, seekable view of bytes [offset, offset+size) of a file (a stored zip member).

    Reads use os.pread on one shared descriptor, so the HTTP server's threads
    can each hold a slice of the same zip without fighting over a file position.
    """

    def __init__(self, fd: int, offset: int, size: int) -> None:
        super().__init__()
        self._fd = fd
        self._offset = offset
        self.size = size
        self._pos = 0

    def window_size(self) -> int:
        return self.size

    def read_span(self, start: int, length: int) -> bytes:
        """`length` bytes from `start` (clamped to the member), without moving the position."""
        length = max(0, min(length, self.size - start))
        return pread(self._fd, length, self._offset + start) if length else b""


class SliceChain(_SpanReader):
    """Several slices end to end, read as one seekable file (a format-2 video: its segments in order).

    A read or span that crosses a boundary reads the end of one slice and the start of the next.
    The chain reads its slices with `read_span` only (no position), so several chains may share
    them; closing a chain closes its slices only when it owns them.
    """

    def __init__(self, parts: Sequence[MemberSlice], *, owns_parts: bool = True) -> None:
        super().__init__()
        self._parts = list(parts)
        self._owns_parts = owns_parts
        self._starts: list[int] = []
        total = 0
        for part in self._parts:
            self._starts.append(total)
            total += part.size
        self.size = total
        self._pos = 0

    def window_size(self) -> int:
        return self.size

    def read_span(self, start: int, length: int) -> bytes:
        """`length` bytes from `start` (clamped to the chain), without moving the position."""
        start = max(0, start)
        end = min(self.size, start + max(0, length))
        out: list[bytes] = []
        pos = start
        k = bisect.bisect_right(self._starts, pos) - 1
        while pos < end and 0 <= k < len(self._parts):
            part, base = self._parts[k], self._starts[k]
            data = part.read_span(pos - base, end - pos)
            if not data and part.size > pos - base:
                break  # the file is shorter than its directory says
            out.append(data)
            pos += len(data)
            if pos >= base + part.size:
                k += 1
        return b"".join(out)

    def close(self) -> None:
        if not self.closed:
            try:
                for part in self._parts if self._owns_parts else ():
                    part.close()
            finally:
                super().close()


class BundleReader:
    """One open bundle zip for the viewer. Thread-safe for reading; close() when done."""

    def __init__(self, path: Path, cache_dir: Path | None = None) -> None:
        self.path = path
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        self.zip = BundleZip(path)
        self._extracted: dict[str, Path] = {}
        self._video_parts: list[MemberSlice] | None = None  # a segmented video's slices, made once

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            parts, self._video_parts = self._video_parts or [], None
        for part in parts:
            part.close()
        self.zip.close()

    @property
    def members(self) -> frozenset[str]:
        return self.zip.members

    def has(self, name: str) -> bool:
        return self.zip.has(name)

    @property
    def has_video(self) -> bool:
        return bool(self.zip.video_members())

    def data(self) -> BundleModel:
        return self.zip.model()

    def open_member(self, name: str) -> MemberSlice:
        """The member as a seekable byte slice; KeyError if the bundle has no such member."""
        if self.zip.is_stored(name):
            offset, size = self.zip.stored_range(name)
            return MemberSlice(self.zip.fd, offset, size)
        path = self._extract(name)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        return _OwnedSlice(fd, 0, path.stat().st_size)

    def open_video(self) -> MemberSlice | SliceChain:
        """The video as one seekable file (its segments end to end); KeyError when the bundle has none."""
        names = self.zip.video_members()
        if not names:
            raise KeyError("video")
        if len(names) == 1:
            return self.open_member(names[0])
        return SliceChain(self._segment_slices(names), owns_parts=False)

    def _segment_slices(self, names: tuple[str, ...]) -> list[MemberSlice]:
        """The segments' slices, made at the first request and shared by every chain after it
        (an hour of video is ~3,600 segments: their local headers are read once, not per request)."""
        with self._lock:
            if self._video_parts is not None:
                return self._video_parts
        parts: list[MemberSlice] = []
        ranges = self.zip.video_ranges()
        if ranges is not None:  # all stored: slices of the zip itself
            parts = [MemberSlice(self.zip.fd, offset, size) for offset, size in ranges]
        try:
            for name in names if ranges is None else ():
                parts.append(self.open_member(name))
        except BaseException:
            for part in parts:
                part.close()
            raise
        with self._lock:
            if self._video_parts is None:
                self._video_parts, parts = parts, []
        for part in parts:  # another thread made them first
            part.close()
        return self._video_parts

    def _extract(self, name: str) -> Path:
        with self._lock:
            done = self._extracted.get(name)
            if done is not None:
                return done
            if self._cache_dir is None:
                raise CorruptFile(f"{self.path}:{name}", "compressed member and no cache directory")
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            target = self._cache_dir / f"{len(self._extracted)}-{Path(name).name}"
            with self.zip.open_stream(name) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            self._extracted[name] = target
            return target


class _OwnedSlice(MemberSlice):
    """A slice of a file extracted to the cache: it owns (and closes) its descriptor."""

    def close(self) -> None:
        if not self.closed:
            try:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
            finally:
                super().close()
