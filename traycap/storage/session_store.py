"""Sessions on disk: list them, save their meta, clean up orphans.

A session is a directory under sessions/ whose name is a valid session id and
which holds a session-meta.json. Anything else there is left alone.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from traycap.errors import CorruptFile, SessionNotFound
from traycap.models import SessionListItem, SessionMeta, UploadState, UploadStatus
from traycap.paths import EXPORTED_MARKER, META_FILE, STATE_FILE, Paths, check_session_id, is_valid_session_id
from traycap.storage.atomic import read_json, remove_stale_temp_files, write_json_atomic

log = logging.getLogger(__name__)

ORPHAN_AGE_MS = 24 * 3600 * 1000
# A temp file this old cannot belong to a write in progress (its mtime moves while it is written).
STALE_TEMP_AGE_MS = 3600 * 1000
_PROTECTED = frozenset({UploadStatus.PENDING, UploadStatus.UPLOADING, UploadStatus.DONE, UploadStatus.LIVE})


@dataclass(frozen=True)
class CleanupReport:
    deleted: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # session id -> why
    temp_files_removed: list[str] = field(default_factory=list)  # stale `.tmp-*` files of interrupted writes


@dataclass(frozen=True)
class Listing:
    items: list[SessionListItem]
    problems: list[str]  # readable, one per unreadable file


def _read_meta(path: str | os.PathLike[str]) -> SessionMeta:
    data = read_json(path)
    if data is None:
        raise CorruptFile(os.fspath(path), "the file is missing")
    try:
        return SessionMeta.from_json(data)
    except ValueError as exc:
        raise CorruptFile(os.fspath(path), str(exc)) from exc


def _read_state(path: str | os.PathLike[str]) -> UploadState | None:
    data = read_json(path)
    if data is None:
        return None
    try:
        return UploadState.from_json(data)
    except ValueError as exc:
        raise CorruptFile(os.fspath(path), str(exc)) from exc


def _checked_meta(meta: SessionMeta, session_id: str, path: str) -> SessionMeta:
    # zip_path() and the S3 key are built from meta.sessionId; a meta copied
    # into another dir must not make us upload (or build a path from) the wrong name.
    if meta.sessionId != session_id:
        raise CorruptFile(path, f"it belongs to session {meta.sessionId!r}, not {session_id!r}")
    return meta


class SessionStore:
    def __init__(self, paths: Paths) -> None:
        self._paths = paths

    @property
    def paths(self) -> Paths:
        return self._paths

    def session_ids(self) -> list[str]:
        root = self._paths.sessions
        try:
            entries = list(os.scandir(root))
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [e.name for e in entries if is_valid_session_id(e.name) and e.is_dir(follow_symlinks=False)]

    def exists(self, session_id: str) -> bool:
        return self._paths.meta(session_id).is_file()

    def read_meta(self, session_id: str) -> SessionMeta:
        """The session's meta; SessionNotFound, or CorruptFile (also when it names another session)."""
        path = self._paths.meta(check_session_id(session_id))
        if not path.exists():
            raise SessionNotFound(f"There is no session {session_id!r}")
        return _checked_meta(_read_meta(path), session_id, os.fspath(path))

    def save_meta(self, meta: SessionMeta) -> None:
        write_json_atomic(self._paths.meta(meta.sessionId), meta.to_json())

    def is_exported(self, session_id: str) -> bool:
        return self._paths.exported_marker(session_id).exists()

    def zip_path(self, meta: SessionMeta) -> Path:
        """Where the session's zip is: zipPath if set (absolute, or relative to the dir)."""
        directory = self._paths.session_dir(meta.sessionId)
        if meta.zipPath:
            p = Path(meta.zipPath)
            return p if p.is_absolute() else directory / p
        return directory / f"{meta.sessionId}.zip"

    def item(self, session_id: str) -> SessionListItem:
        directory = os.fspath(self._paths.session_dir(session_id))
        item = self._item(session_id, directory)
        if item is None:
            raise SessionNotFound(f"There is no session {session_id!r}")
        return item

    def _item(self, session_id: str, directory: str) -> SessionListItem | None:
        """One row, None when the dir holds no session-meta.json (not a session).

        A corrupt file becomes the row's `problem`, never an exception. Paths
        are plain strings here: this runs 1,000 times per `traycap sessions`.
        """
        problems: list[str] = []
        meta: SessionMeta | None = None
        prefix = directory + os.sep  # plain concatenation: os.path.join costs more than the JSON parse here
        meta_path = prefix + META_FILE
        try:
            data = read_json(meta_path)
            if data is None:
                return None
            meta = _checked_meta(SessionMeta.from_json(data), session_id, meta_path)
        except CorruptFile as exc:
            meta = None
            problems.append(exc.message)
        except ValueError as exc:
            problems.append(CorruptFile(meta_path, str(exc)).message)
        try:
            state = _read_state(prefix + STATE_FILE)
        except CorruptFile as exc:
            state = None
            problems.append(exc.message)
        exported = os.path.exists(prefix + EXPORTED_MARKER)
        zip_path: str | None = None
        local_copy = True  # before export, the raw files are the local copy
        if meta is not None and exported:
            # join keeps an absolute zipPath as it is
            zip_path = os.path.join(directory, meta.zipPath) if meta.zipPath else f"{prefix}{session_id}.zip"
            local_copy = os.path.exists(zip_path)
        return SessionListItem(
            sessionId=session_id,
            createdAt=meta.createdAt if meta else _mtime_ms(directory),
            endedAt=meta.endedAt if meta else None,
            actionCount=meta.actionCount if meta else 0,
            fileSizeBytes=meta.fileSizeBytes if meta else None,
            zipPath=zip_path,
            isExported=exported,
            uploadStatus=state.status if state else UploadStatus.NOT_UPLOADED,
            uploadProgress=state.progress if state else 0,
            lastUploadError=state.lastError if state else None,
            problem="; ".join(problems) or None,
            retryCount=state.retryCount if state else 0,
            maxRetries=state.maxRetries if state else 0,
            localCopy=local_copy,
            uploadedBytes=state.bytesUploaded if state else 0,
        )

    def list(self) -> Listing:
        """All sessions, newest first. Unreadable files are reported per session."""
        items: list[SessionListItem] = []
        problems: list[str] = []
        try:
            entries = list(os.scandir(self._paths.sessions))
        except (FileNotFoundError, NotADirectoryError):
            return Listing([], [])
        for entry in entries:
            if not is_valid_session_id(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            item = self._item(entry.name, entry.path)
            if item is None:
                continue
            if item.problem:
                problems.append(f"session {entry.name}: {item.problem}")
            items.append(item)
        items.sort(key=lambda i: (i.createdAt, i.sessionId), reverse=True)
        return Listing(items, problems)

    def cleanup_orphans(self, now_ms: int) -> CleanupReport:
        """Delete a session dir only if older than 24 h AND not exported AND its
        upload state is absent or not pending/uploading/done. Nothing else."""
        report = CleanupReport()
        for session_id in self.session_ids():
            directory = self._paths.session_dir(session_id)
            why = self._keep_reason(session_id, directory, now_ms)
            if why:
                report.kept[session_id] = why
                continue
            try:
                shutil.rmtree(directory)
            except OSError as exc:
                report.kept[session_id] = f"could not delete: {exc.strerror or exc}"
                continue
            log.info("deleted orphaned session %s (older than 24 h, never exported)", session_id)
            report.deleted.append(session_id)
        # Only after the ages above were read: removing a file touches its dir's mtime.
        for directory in [self._paths.root, *(self._paths.session_dir(sid) for sid in report.kept)]:
            for tmp in remove_stale_temp_files(directory, now_ms, STALE_TEMP_AGE_MS):
                log.info("removed leftover temp file %s (from an interrupted write)", tmp)
                report.temp_files_removed.append(str(tmp))
        return report

    def _keep_reason(self, session_id: str, directory: Path, now_ms: int) -> str | None:
        if not (directory / META_FILE).exists():
            return "not a session (no session-meta.json)"
        if (directory / EXPORTED_MARKER).exists():
            return "exported"
        try:
            state = _read_state(directory / STATE_FILE)
        except CorruptFile:
            return "upload state unreadable"
        if state is not None and state.status in _PROTECTED:
            return f"upload {state.status.value}"
        try:
            meta = _read_meta(directory / META_FILE)
        except CorruptFile:
            meta = None
        created = meta.createdAt if meta is not None else 0
        recorder = meta.extra.get("recorder") if meta is not None else None
        if isinstance(recorder, dict) and recorder.get("status") in _UNFINISHED_RECORDING:
            # A crash left it mid-recording or mid-export: the recorder's recovery exports it.
            return "an unfinished recording (exported when the tray or `traycap record` starts)"
        # The newest file time guards a recording that is still being written.
        newest = max(created, _newest_mtime_ms(directory))
        if now_ms - newest <= ORPHAN_AGE_MS:
            return "younger than 24 h"
        return None


_UNFINISHED_RECORDING = frozenset({"recording", "stopped", "exported"})  # recorder/recover.py


def _mtime_ms(path: str | os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_mtime_ns // 1_000_000
    except OSError:
        return 0


def _newest_mtime_ms(directory: Path) -> int:
    """The newest mtime of the dir, its subdirs and files (symlinked dirs are not followed)."""
    newest = _mtime_ms(directory)
    for dirpath, dirs, files in os.walk(directory):
        for name in (*dirs, *files):
            newest = max(newest, _mtime_ms(os.path.join(dirpath, name)))
    return newest
