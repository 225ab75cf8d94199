"""Read a session straight from its zip bundle: JSON members parsed, big members as byte slices.

The viewer never unpacks a bundle: the video and the screenshots are stored
(not compressed) in the zip, so each is a contiguous run of bytes in the zip
file, and `MemberSlice` reads that run as if it were a file of its own (seek,
read, HTTP byte ranges). A member that is compressed after all (a bundle
written by another tool) is extracted once into the viewer's cache directory,
which the caller removes when it stops.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import struct
import sys
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traycap.byte_window import ByteWindow
from traycap.errors import CorruptFile

SESSION_JSON = "session.json"
ACTIONS_JSON = "actions.json"
FRAMES_JSON = "video/frames.json"
VIDEO_MP4 = "video/screen.mp4"
SHOTS_INDEX = "screenshots/index.json"
SHOTS_PREFIX = "screenshots/"
PREVIEW_JPG = "preview.jpg"

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"

if sys.platform == "win32":
    _seek_lock = threading.Lock()

    def pread(fd: int, n: int, offset: int) -> bytes:
        with _seek_lock:  # Windows has no pread: one seek+read at a time
            os.lseek(fd, offset, os.SEEK_SET)
            return os.read(fd, n)
else:
    def pread(fd: int, n: int, offset: int) -> bytes:
        return os.pread(fd, n, offset)


@dataclass(frozen=True)
class BundleData:
    """The small members of a bundle, parsed."""

    info: dict[str, Any]
    actions: list[dict[str, Any]]
    frames: list[dict[str, Any]]
    shots: list[dict[str, Any]]
    members: frozenset[str]


class MemberSlice(ByteWindow, io.RawIOBase):
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

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self.size - self._pos)
        if want <= 0:
            return 0
        data = pread(self._fd, want, self._offset + self._pos)
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n

    def read_span(self, start: int, length: int) -> bytes:
        """`length` bytes from `start` (clamped to the member), without moving the position."""
        length = max(0, min(length, self.size - start))
        return pread(self._fd, length, self._offset + start) if length else b""


class BundleReader:
    """One open bundle zip. Thread-safe for reading; close() when done."""

    def __init__(self, path: Path, cache_dir: Path | None = None) -> None:
        self.path = path
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        try:
            self._zip = zipfile.ZipFile(path)
            self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except FileNotFoundError:
            raise
        except (OSError, zipfile.BadZipFile) as exc:
            raise CorruptFile(str(path), f"not a readable zip ({exc})") from exc
        self._infos = {i.filename: i for i in self._zip.infolist()}
        self._extracted: dict[str, Path] = {}

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._zip.close()
            with contextlib.suppress(OSError):
                os.close(self._fd)

    @property
    def members(self) -> frozenset[str]:
        return frozenset(self._infos)

    def has(self, name: str) -> bool:
        return name in self._infos

    def read_json(self, name: str, default: Any = None) -> Any:
        """A JSON member; `default` when the bundle has no such member; CorruptFile when it is not JSON."""
        if name not in self._infos:
            return default
        try:
            with self._lock:
                raw = self._zip.read(name)
            return json.loads(raw)
        except (zipfile.BadZipFile, OSError, ValueError, UnicodeDecodeError) as exc:
            raise CorruptFile(f"{self.path}:{name}", str(exc)) from exc

    def data(self) -> BundleData:
        info = self.read_json(SESSION_JSON, {})
        actions = self.read_json(ACTIONS_JSON, [])
        frames = self.read_json(FRAMES_JSON, [])
        shots = self.read_json(SHOTS_INDEX, [])
        for name, value, kind in ((SESSION_JSON, info, dict), (ACTIONS_JSON, actions, list),
                                  (FRAMES_JSON, frames, list), (SHOTS_INDEX, shots, list)):
            if not isinstance(value, kind):
                raise CorruptFile(f"{self.path}:{name}", f"must be a JSON {kind.__name__}")
        return BundleData(
            info=info,
            actions=[a for a in actions if isinstance(a, dict)],
            frames=[f for f in frames if isinstance(f, dict)],
            shots=[s for s in shots if isinstance(s, dict) and s.get("file")
                   and f"{SHOTS_PREFIX}{s['file']}" in self._infos],
            members=self.members,
        )

    def open_member(self, name: str) -> MemberSlice:
        """The member as a seekable byte slice; KeyError if the bundle has no such member."""
        info = self._infos[name]
        if info.compress_type == zipfile.ZIP_STORED:
            return MemberSlice(self._fd, self._data_offset(info), info.file_size)
        path = self._extract(info)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        return _OwnedSlice(fd, 0, info.file_size)

    def _data_offset(self, info: zipfile.ZipInfo) -> int:
        # The local header's own name/extra lengths can differ from the central directory's.
        header = pread(self._fd, _LOCAL_HEADER.size, info.header_offset)
        fields = _LOCAL_HEADER.unpack(header) if len(header) == _LOCAL_HEADER.size else None
        if fields is None or fields[0] != _LOCAL_MAGIC:
            raise CorruptFile(f"{self.path}:{info.filename}", "bad local file header")
        return info.header_offset + _LOCAL_HEADER.size + int(fields[9]) + int(fields[10])

    def _extract(self, info: zipfile.ZipInfo) -> Path:
        with self._lock:
            done = self._extracted.get(info.filename)
            if done is not None:
                return done
            if self._cache_dir is None:
                raise CorruptFile(f"{self.path}:{info.filename}", "compressed member and no cache directory")
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            target = self._cache_dir / f"{len(self._extracted)}-{Path(info.filename).name}"
            with self._zip.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            self._extracted[info.filename] = target
            return target


class _OwnedSlice(MemberSlice):
    """A slice of a file extracted to the cache: it owns (and closes) its descriptor."""

    def close(self) -> None:
        if not self.closed:
            try:
                os.close(self._fd)
            finally:
                super().close()
