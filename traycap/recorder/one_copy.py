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
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from traycap.context import Context
from traycap.errors import TraycapError
from traycap.models import SessionMeta
from traycap.recorder.session import SHOTS_DIR, VIDEO_DIR, VIDEO_FILE, RecordingLock, SessionFiles

log = logging.getLogger(__name__)

# Called with a step name at each point a crash could happen; tests inject a SIGKILL there.
Checkpoint = Callable[[str], None]
_CHUNK = 1024 * 1024


def no_checkpoint(step: str) -> None:
    """The production checkpoint: nothing happens between steps."""


@dataclass(frozen=True)
class RawFile:
    """A raw file of the recording and the zip member that holds it."""

    path: Path
    member: str
    same_bytes: bool  # stored as is (video, PNG): its CRC-32 must match; JSON lines are converted


def raw_files(files: SessionFiles) -> list[RawFile]:
    """The raw recording files that exist now, each with the zip member that holds its content."""
    found: list[RawFile] = []
    candidates = [
        (files.video, f"{VIDEO_DIR}/{VIDEO_FILE}", True),
        (files.frames, f"{VIDEO_DIR}/frames.json", False),
        (files.actions, "actions.json", False),
        (files.shots_index, f"{SHOTS_DIR}/index.json", False),
    ]
    for path, member, same in candidates:
        if path.is_file():
            found.append(RawFile(path, member, same))
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(files.shots_dir), key=lambda e: e.name):
            if entry.name.endswith(".png") and entry.is_file(follow_symlinks=False):
                found.append(RawFile(Path(entry.path), f"{SHOTS_DIR}/{entry.name}", True))
    return found


def has_raw_files(files: SessionFiles) -> bool:
    return bool(raw_files(files))


def _crc32(path: Path) -> int:
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def _held_by(zf: zipfile.ZipFile, raw: RawFile) -> bool:
    try:
        info = zf.getinfo(raw.member)
    except KeyError:
        return False
    if not raw.same_bytes:
        return True
    try:
        return info.file_size == raw.path.stat().st_size and _crc32(raw.path) == info.CRC
    except OSError:
        return False


def remove_raw_files(zip_path: Path, files: SessionFiles, *, checkpoint: Checkpoint = no_checkpoint) -> int:
    """Remove each raw file the zip holds (same bytes for stored members); returns the bytes freed.

    The caller has verified the zip (fresh export, or SHA-256 against the meta).
    """
    freed = 0
    with zipfile.ZipFile(zip_path) as zf:
        for raw in raw_files(files):
            if not _held_by(zf, raw):
                log.warning("%s is not in %s as it is on disk; it is kept", raw.path, zip_path.name)
                continue
            try:
                size = raw.path.stat().st_size
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
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


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
        except (TraycapError, OSError, zipfile.BadZipFile) as exc:
            report.kept[session_id] = str(exc)
            log.warning("session %s: raw files kept: %s", session_id, exc)
    if report.deduped:
        log.info("removed the raw files of %d exported session(s), %d bytes: their verified zips hold them",
                 len(report.deduped), sum(report.deduped.values()))
    return report
