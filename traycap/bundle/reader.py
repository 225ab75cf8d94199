"""One reader for every bundle format: the same model from a format-1 and a format-2 zip.

    with BundleZip(path) as bundle:
        model = bundle.model()       # info, actions, frames, shots, screenshot members, preview, video
        model.video                  # the video's members in order (one, or one per segment)
        bundle.video_ranges()        # their bytes as (offset in the zip file, length), when all stored

Format 1 keeps each JSON array in one member and the video in `video/screen.mp4`; format 2
(written while recording) keeps each array as `*.jsonl` chunks whose lines, concatenated in
name order, are the array, and the video as `video/screen/NNNNN.*` segments whose bytes,
concatenated in name order, are the MP4 (layout.py). Nothing here unpacks the video: a stored
member is a contiguous run of bytes in the zip file, found from its local header, so a caller
reads it with `pread` (the viewer serves it over HTTP; one_copy compares it with the raw file).
A compressed member (a bundle written by another tool) is read through `open_stream`.

This module is the only one that knows the member names of either format; everything that
reads a bundle goes through it.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from traycap.bundle import layout
from traycap.errors import CorruptFile

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"
_CHUNK = 1024 * 1024

if sys.platform == "win32":
    _seek_lock = threading.Lock()

    def pread(fd: int, n: int, offset: int) -> bytes:
        with _seek_lock:  # Windows has no pread: one seek+read at a time
            os.lseek(fd, offset, os.SEEK_SET)
            return os.read(fd, n)
else:
    def pread(fd: int, n: int, offset: int) -> bytes:
        return os.pread(fd, n, offset)


# The three JSON arrays of a bundle: (format-1 member, format-2 chunk prefix).
ACTIONS = (layout.ACTIONS_JSON, layout.ACTIONS_CHUNKS)
FRAMES = (layout.FRAMES_JSON, layout.FRAMES_CHUNKS)
SHOTS_INDEX = (layout.SHOTS_INDEX_JSON, layout.SHOTS_INDEX_CHUNKS)
LEVELS = (layout.LEVELS_JSON, layout.LEVELS_CHUNKS)  # the sound's loudness (absent without sound)
Records = tuple[str, str]


@dataclass(frozen=True)
class BundleModel:
    """What a bundle holds, the same for every format."""

    format: int
    info: dict[str, Any]  # session.json ({} when absent)
    actions: list[dict[str, Any]]
    frames: list[dict[str, Any]]
    shots: list[dict[str, Any]]  # index entries whose screenshot is in the zip
    shot_members: dict[str, str]  # screenshot file name (as in the index) -> member name
    preview: str | None  # member name of preview.jpg, when present
    video: tuple[str, ...]  # the video's members in play order; () when the bundle has no video
    # The video's bytes as (offset in the zip file, length), in play order: one range for format 1,
    # one per segment for format 2; None when a video member is compressed (read it with open_stream).
    video_ranges: tuple[tuple[int, int], ...] | None
    members: frozenset[str]

    @property
    def has_video(self) -> bool:
        return bool(self.video)


def _children(names: frozenset[str], prefix: str, suffix: str = "") -> list[str]:
    """Members directly under `prefix` (no deeper folder), in name order: NNNNN names by their number,
    which is name order for the 5-digit names layout.py writes and stays right past 99999."""
    found = [n for n in names if n.startswith(prefix) and len(n) > len(prefix)
             and "/" not in n[len(prefix):] and n.endswith(suffix)]
    return sorted(found, key=_number_first)


def _number_first(name: str) -> tuple[int, str]:
    stem = name.rsplit("/", 1)[-1].split(".", 1)[0]
    return (int(stem) if stem.isdigit() else sys.maxsize, name)


def detect_format(names: frozenset[str], info: dict[str, Any]) -> int:
    """FORMAT_LIVE when session.json says so, or (session.json missing or silent) the zip has format-2
    members and none of format 1's; otherwise FORMAT_CLASSIC."""
    version = info.get("formatVersion")
    if version == layout.FORMAT_LIVE:
        return layout.FORMAT_LIVE
    if isinstance(version, int) and version != layout.FORMAT_LIVE:
        return layout.FORMAT_CLASSIC
    classic = {layout.VIDEO_MP4, layout.ACTIONS_JSON, layout.FRAMES_JSON, layout.SHOTS_INDEX_JSON}
    if names & classic:
        return layout.FORMAT_CLASSIC
    live = [layout.VIDEO_SEGMENTS, layout.ACTIONS_CHUNKS, layout.FRAMES_CHUNKS, layout.SHOTS_INDEX_CHUNKS]
    if any(_children(names, prefix) for prefix in live):
        return layout.FORMAT_LIVE
    return layout.FORMAT_CLASSIC


def parse_lines(data: bytes) -> Iterator[dict[str, Any]]:
    """The records of concatenated JSON-lines chunks; a line that is not a JSON object is skipped
    (as the recorder's own reader skips it in the raw .jsonl file)."""
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            continue
        if isinstance(record, dict):
            yield record


class BundleZip:
    """One open bundle zip, either format. Thread-safe for reading; close() when done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._zip = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise
        except (OSError, zipfile.BadZipFile) as exc:
            raise CorruptFile(str(path), f"not a readable zip ({exc})") from exc
        try:
            self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            self._zip.close()
            if isinstance(exc, FileNotFoundError):
                raise
            raise CorruptFile(str(path), f"not a readable zip ({exc})") from exc
        self._infos = {i.filename: i for i in self._zip.infolist()}
        self.members = frozenset(self._infos)
        self._info: dict[str, Any] | None = None
        self._video: tuple[str, ...] | None = None
        self._ranges: tuple[tuple[int, int], ...] | None = None

    @property
    def info(self) -> dict[str, Any]:
        """session.json ({} when absent); CorruptFile when it is not a JSON object."""
        if self._info is None:
            info = self._read_json(layout.SESSION_JSON, {})
            if not isinstance(info, dict):
                raise CorruptFile(f"{self.path}:{layout.SESSION_JSON}", "must be a JSON dict")
            self._info = info
        return self._info

    @property
    def format(self) -> int:
        """FORMAT_CLASSIC or FORMAT_LIVE (from session.json's formatVersion, else from the member names)."""
        try:
            info = self.info
        except CorruptFile:
            info = {}
        return detect_format(self.members, info)

    def __enter__(self) -> BundleZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._zip.close()
            with contextlib.suppress(OSError):
                os.close(self.fd)

    # --- members -----------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self._infos

    def member_info(self, name: str) -> zipfile.ZipInfo:
        """KeyError when the bundle has no such member."""
        return self._infos[name]

    def is_stored(self, name: str) -> bool:
        return self._infos[name].compress_type == zipfile.ZIP_STORED

    def stored_range(self, name: str) -> tuple[int, int]:
        """(offset in the zip file, length) of a stored member's bytes; KeyError / CorruptFile."""
        info = self._infos[name]
        if info.compress_type != zipfile.ZIP_STORED:
            raise CorruptFile(f"{self.path}:{name}", "compressed, so not a byte range of the zip")
        # The local header's own name/extra lengths can differ from the central directory's.
        header = pread(self.fd, _LOCAL_HEADER.size, info.header_offset)
        fields = _LOCAL_HEADER.unpack(header) if len(header) == _LOCAL_HEADER.size else None
        if fields is None or fields[0] != _LOCAL_MAGIC:
            raise CorruptFile(f"{self.path}:{name}", "bad local file header")
        offset = info.header_offset + _LOCAL_HEADER.size + int(fields[9]) + int(fields[10])
        return offset, info.file_size

    def read(self, name: str) -> bytes:
        """A whole member (CRC checked); KeyError / CorruptFile."""
        try:
            with self._lock:
                return self._zip.read(name)
        except KeyError:
            raise
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise CorruptFile(f"{self.path}:{name}", str(exc)) from exc

    def open_stream(self, name: str) -> IO[bytes]:
        """A member as a read-once stream (decompressed; its CRC is checked at the end).
        Not thread-safe: one stream at a time per BundleZip."""
        return self._zip.open(self._infos[name])

    def iter_bytes(self, names: list[str] | tuple[str, ...], chunk: int = _CHUNK) -> Iterator[bytes]:
        """The members' bytes, concatenated, streamed (CRC of each checked); CorruptFile when unreadable."""
        for name in names:
            try:
                with self.open_stream(name) as src:
                    while data := src.read(chunk):
                        yield data
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise CorruptFile(f"{self.path}:{name}", str(exc)) from exc

    def _read_json(self, name: str, default: Any) -> Any:
        if name not in self._infos:
            return default
        try:
            return json.loads(self.read(name))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CorruptFile(f"{self.path}:{name}", str(exc)) from exc

    # --- the model ---------------------------------------------------------------------
    def records(self, kind: Records) -> list[dict[str, Any]]:
        """One JSON array of the bundle (ACTIONS, FRAMES or SHOTS_INDEX): its dict entries, in order."""
        single, _prefix = kind
        if self.format == layout.FORMAT_LIVE:
            return list(parse_lines(b"".join(self.read(n) for n in self.record_members(kind))))
        value = self._read_json(single, [])
        if not isinstance(value, list):
            raise CorruptFile(f"{self.path}:{single}", "must be a JSON list")
        return [v for v in value if isinstance(v, dict)]

    def record_members(self, kind: Records) -> list[str]:
        """The members that hold one JSON array: the .json member, or the .jsonl chunks in order."""
        single, prefix = kind
        if self.format == layout.FORMAT_LIVE:
            return _children(self.members, prefix, ".jsonl")
        return [single] if single in self._infos else []

    def video_members(self) -> tuple[str, ...]:
        """The members whose bytes, concatenated in this order, are the MP4."""
        if self._video is None:
            if self.format == layout.FORMAT_LIVE:
                self._video = tuple(_children(self.members, layout.VIDEO_SEGMENTS))
            else:
                self._video = (layout.VIDEO_MP4,) if layout.VIDEO_MP4 in self._infos else ()
        return self._video

    def video_ranges(self) -> tuple[tuple[int, int], ...] | None:
        """The video as byte ranges of the zip file, in order (one per member); None when a video
        member is compressed (read it with open_stream) and () when there is no video."""
        names = self.video_members()
        if not all(self.is_stored(n) for n in names):
            return None
        if self._ranges is None:
            self._ranges = tuple(self.stored_range(n) for n in names)
        return self._ranges

    def video_size(self) -> int:
        return sum(self._infos[n].file_size for n in self.video_members())

    def shot_members(self) -> dict[str, str]:
        """Screenshot file name -> member name, for every file directly under screenshots/ but the index."""
        return {n[len(layout.SHOTS_PREFIX):]: n for n in _children(self.members, layout.SHOTS_PREFIX)
                if n != layout.SHOTS_INDEX_JSON}

    def model(self) -> BundleModel:
        shot_members = self.shot_members()
        shots = [s for s in self.records(SHOTS_INDEX) if s.get("file") and str(s["file"]) in shot_members]
        return BundleModel(
            format=self.format,
            info=self.info,
            actions=self.records(ACTIONS),
            frames=self.records(FRAMES),
            shots=shots,
            shot_members=shot_members,
            preview=layout.PREVIEW_JPG if layout.PREVIEW_JPG in self._infos else None,
            video=self.video_members(),
            video_ranges=self.video_ranges(),
            members=self.members,
        )
