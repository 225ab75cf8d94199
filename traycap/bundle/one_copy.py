"""One copy on disk: once a session's zip is verified, the raw files it holds are removed.

Order of operations (export.py runs the first four, this module the last):

    1. the zip is written to `.tmp-<id>.zip`, fsynced, hashed
    2. renamed to `<id>.zip`
    3. session-meta.json records zipPath, fileSizeBytes and sha256
    4. `.exported` is written
    5. the raw files the zip holds are removed, each checked against its zip member first

A crash before 4 leaves every raw file (recovery exports again, or only writes
the marker when the zip already matches the meta). A crash during 5 leaves a
verified zip plus some raw files; `dedup_exported` (run at start-up by
`recover_unfinished`) removes the rest, but only after the zip's SHA-256 and
size match the meta again. So at every moment there is either every raw file
or a verified zip.

Raw files a zip does not hold (a screenshot whose index line was lost in a
crash) are left where they are: they are not in the bundle, so they are not a
second copy of anything.

Which member holds which raw file depends on the bundle's format (traycap/bundle/reader.py
tells): format 1 (exported at Stop) holds video/screen.mp4 as one stored member (its size and
CRC-32 must match) and the .jsonl files converted to JSON arrays (present is enough: the export
made them from these files a moment ago). Format 2 (written while recording) holds the video as
segments, so screen.mp4 must have the SHA-256 of the segments concatenated (both streamed), and
each .jsonl file as chunks, so its records must equal the chunks' records (a torn last line or a
garbled line is skipped on both sides, as the recorder's reader skips it). PNGs are stored
members in both: size and CRC-32.

At Stop, the live bundle's writer knows what it took (`Taken`: how many bytes of each raw file
from its start, which screenshots whole): a raw file whose size is what the bundle took is held
without reading it again (the recorder only appends to these files and writes each PNG once).
A raw file that is not on disk any more is nothing to keep and nothing to warn about; a warning
means a file on disk that the zip does not hold as it is (kept, for a person to look at).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from traycap.bundle import layout, reader
from traycap.bundle.raw import SHOTS_DIR, RecordingLock, SessionFiles, read_jsonl
from traycap.bundle.reader import BundleZip
from traycap.context import Context
from traycap.errors import CorruptFile, TraycapError
from traycap.models import SessionMeta

log = logging.getLogger(__name__)

# Called with a step name at each point a crash could happen; tests inject a SIGKILL there.
Checkpoint = Callable[[str], None]
_CHUNK = 1024 * 1024


def no_checkpoint(step: str) -> None:
    """The production checkpoint: nothing happens between steps."""


@dataclass(frozen=True)
class RawFile:
    """A raw file of the recording and the zip member(s) that hold it.

    `member` names what holds it: a member (format 1, screenshots) or a folder of format-2
    segments/chunks ("video/screen/", "actions/", ...).
    """

    path: Path
    member: str
    same_bytes: bool  # stored as is (video, PNG): the bytes must match; JSON lines are compared as records
    kind: str = ""  # "video", "actions", "frames", "shots_index" or "shot"


@dataclass(frozen=True)
class Taken:
    """What a live bundle's writer copied into its zip: for each raw file kind ("video", "actions",
    "frames", "shots_index"), the bytes from its start; and each screenshot taken whole, by name,
    with its size. A raw file of that size now holds those bytes: the recorder only appends to
    the first four and writes each PNG once, under a new name."""

    sizes: dict[str, int] = field(default_factory=dict)
    shots: dict[str, int] = field(default_factory=dict)

    def holds(self, raw: RawFile, size: int) -> bool:
        taken = self.shots.get(raw.path.name) if raw.kind == "shot" else self.sizes.get(raw.kind)
        return taken == size


class _Gone(Exception):
    """The raw file went while it was looked at: nothing left to keep."""


def raw_files(files: SessionFiles, bundle_format: int = layout.FORMAT_CLASSIC) -> list[RawFile]:
    """The raw recording files that exist now, each with the zip member(s) that hold its content."""
    live = bundle_format == layout.FORMAT_LIVE
    found: list[RawFile] = []
    candidates = [
        (files.video, layout.VIDEO_SEGMENTS if live else layout.VIDEO_MP4, True, "video"),
        (files.frames, layout.FRAMES_CHUNKS if live else layout.FRAMES_JSON, False, "frames"),
        (files.actions, layout.ACTIONS_CHUNKS if live else layout.ACTIONS_JSON, False, "actions"),
        (files.shots_index, layout.SHOTS_INDEX_CHUNKS if live else layout.SHOTS_INDEX_JSON, False, "shots_index"),
        (files.levels, layout.LEVELS_CHUNKS if live else layout.LEVELS_JSON, False, "levels"),
    ]
    for path, member, same, kind in candidates:
        if path.is_file():
            found.append(RawFile(path, member, same, kind))
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(files.shots_dir), key=lambda e: e.name):
            if entry.name.endswith(".png") and entry.is_file(follow_symlinks=False):
                found.append(RawFile(Path(entry.path), f"{SHOTS_DIR}/{entry.name}", True, "shot"))
    return found


def has_raw_files(files: SessionFiles) -> bool:
    return bool(raw_files(files))


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


_RECORDS = {"actions": reader.ACTIONS, "frames": reader.FRAMES, "shots_index": reader.SHOTS_INDEX,
            "levels": reader.LEVELS}


def _held_by(bundle: BundleZip, raw: RawFile) -> bool:
    """The bundle holds the raw file's content: the same bytes (video, screenshots) or, for a
    format-2 bundle, the same JSON records (format 1 converts the lines to an array: present is enough)."""
    try:
        if raw.kind == "video":
            names = bundle.video_members()
            if not names:
                return False
            if len(names) == 1:  # format 1: one stored member, its CRC-32 against the file
                info = bundle.member_info(names[0])
                return info.file_size == raw.path.stat().st_size and _crc32(raw.path) == info.CRC
            return bundle.video_size() == raw.path.stat().st_size and _same_stream(raw.path, bundle, names)
        if raw.kind in _RECORDS:
            kind = _RECORDS[raw.kind]
            if bundle.format == layout.FORMAT_LIVE:  # no chunk at all is right for a file without records
                return bundle.records(kind) == read_jsonl(raw.path)
            return bool(bundle.record_members(kind))
        info = bundle.member_info(raw.member)
        return info.file_size == raw.path.stat().st_size and _crc32(raw.path) == info.CRC
    except KeyError:
        return False
    except FileNotFoundError as exc:
        if exc.filename is not None and os.fspath(exc.filename) == os.fspath(raw.path):
            raise _Gone from exc
        log.warning("could not compare %s with the zip: %s", raw.path, exc)
        return False
    except (OSError, CorruptFile) as exc:
        log.warning("could not compare %s with the zip: %s", raw.path, exc)
        return False


def _same_stream(path: Path, bundle: BundleZip, names: tuple[str, ...]) -> bool:
    """The file's SHA-256 equals that of the members' bytes concatenated (both streamed; each member's
    CRC-32 is checked as it is read)."""
    theirs = hashlib.sha256()
    for data in bundle.iter_bytes(names, _CHUNK):
        theirs.update(data)
    mine, _size = file_sha256(path)
    return mine == theirs.hexdigest()


def remove_raw_files(zip_path: Path, files: SessionFiles, *, taken: Taken | None = None,
                     checkpoint: Checkpoint = no_checkpoint) -> int:
    """Remove each raw file the zip holds (same bytes for stored members); returns the bytes freed.

    The caller has verified the zip (fresh export, or SHA-256 against the meta). Either bundle format.
    `taken`: what the live bundle's writer copied (see the module doc); a file it does not cover,
    or whose size differs, is compared with the zip as without it."""
    freed = 0
    with BundleZip(zip_path) as bundle:
        for raw in raw_files(files, bundle.format):
            try:
                size = raw.path.stat().st_size
                held = (taken is not None and taken.holds(raw, size)) or _held_by(bundle, raw)
            except (FileNotFoundError, _Gone):
                log.debug("%s went before it was compared: nothing to remove", raw.path)
                continue
            if not held:
                log.warning("%s is not in %s as it is on disk; it is kept", raw.path, zip_path.name)
                continue
            try:
                raw.path.unlink()
            except FileNotFoundError:
                continue
            freed += size
            checkpoint(f"removed:{raw.member}")
    remove_empty_dirs(files)
    return freed


def remove_empty_dirs(files: SessionFiles) -> None:
    for directory in (files.shots_dir, files.video_dir):
        with contextlib.suppress(OSError):
            directory.rmdir()  # only when empty: anything the zip did not hold stays


def file_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in chunks."""
    sha, _crc, size = _digest(path, crc=False)
    return sha, size


def file_digests(path: Path) -> tuple[str, str, int]:
    """SHA-256 and CRC32 (hex) and size of a file, read once in chunks."""
    return _digest(path, crc=True)


def _digest(path: Path, *, crc: bool) -> tuple[str, str, int]:
    digest = hashlib.sha256()
    value = 0
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            if crc:
                value = zlib.crc32(chunk, value)
            size += len(chunk)
    return digest.hexdigest(), f"{value:08x}", size


def zip_verified(ctx: Context, meta: SessionMeta) -> bool:
    """The session's zip exists and has the size and SHA-256 its meta recorded."""
    if not meta.zipPath or not meta.sha256 or meta.fileSizeBytes is None:
        return False
    try:
        sha, size = file_sha256(ctx.sessions.zip_path(meta))
    except OSError:
        return False
    return sha == meta.sha256 and size == meta.fileSizeBytes


@dataclass(frozen=True)
class DedupReport:
    deduped: dict[str, int] = field(default_factory=dict)  # session id -> bytes freed
    kept: dict[str, str] = field(default_factory=dict)  # session id -> why its raw files stay


def dedup_exported(ctx: Context) -> DedupReport:
    """Exported sessions that still hold raw files (made before one-copy, or a crash mid-removal):
    remove the raw files, but only once the zip's SHA-256 matches the meta again."""
    report = DedupReport()
    for session_id in sorted(ctx.sessions.session_ids()):
        files = SessionFiles(ctx.paths.session_dir(session_id))
        try:
            if not ctx.sessions.is_exported(session_id):
                continue
            if RecordingLock.is_held(files.lock):
                continue  # its export is removing them right now
            with contextlib.suppress(OSError):
                files.lock.unlink()  # left by an export that was killed after writing `.exported`
            if not has_raw_files(files):
                remove_empty_dirs(files)  # killed after the last file went
                continue
            meta = ctx.sessions.read_meta(session_id)
            if not zip_verified(ctx, meta):
                report.kept[session_id] = "its zip does not match the size and SHA-256 recorded at export"
                log.warning("session %s: raw files kept: %s", session_id, report.kept[session_id])
                continue
            report.deduped[session_id] = remove_raw_files(ctx.sessions.zip_path(meta), files)
        except (TraycapError, OSError) as exc:
            report.kept[session_id] = str(exc)
            log.warning("session %s: raw files kept: %s", session_id, exc)
    if report.deduped:
        log.info("removed the raw files of %d exported session(s), %d bytes: their verified zips hold them",
                 len(report.deduped), sum(report.deduped.values()))
    return report
