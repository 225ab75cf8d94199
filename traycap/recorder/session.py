"""A session's files while it is being recorded, written so that a kill at any moment loses (almost) nothing.

Where each file is: bundle/raw.py (SessionFiles). Every line is one write() of a complete line:
after SIGKILL the kernel still has it. fsync runs at most once a second (and at stop) so power loss
costs at most about a second. A partial last line (power loss) is skipped by readers (raw.read_jsonl).
"""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path
from typing import IO, Any

from traycap.bundle.raw import RecordingLock, SessionFiles
from traycap.errors import DiskFull, StorageError
from traycap.osutil.private import make_private_dir
from traycap.storage.atomic import write_bytes_atomic

log = logging.getLogger(__name__)

FSYNC_INTERVAL_S = 1.0


def _storage_error(exc: OSError, what: str) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"The disk is full: could not write {what}")
    return StorageError(f"Could not write {what}: {exc.strerror or exc}")


class JsonLines:
    """An append-only JSON-lines file; each record reaches the OS in one write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fh: IO[bytes] = open(path, "ab", buffering=0)  # noqa: SIM115 (kept open while recording)
        except OSError as exc:
            raise _storage_error(exc, path.name) from exc
        self.count = 0
        self._dirty = False

    def append(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")
        try:
            view = memoryview(data)
            while view:
                written = self._fh.write(view)
                if not written:
                    raise OSError(errno.EIO, "short write")
                view = view[written:]
        except OSError as exc:
            raise _storage_error(exc, self.path.name) from exc
        self.count += 1
        self._dirty = True

    def sync(self) -> None:
        if self._dirty:
            try:
                os.fsync(self._fh.fileno())
            except OSError as exc:
                raise _storage_error(exc, self.path.name) from exc
            self._dirty = False

    def close(self) -> None:
        try:
            self.sync()
        finally:
            self._fh.close()


class SessionWriter:
    """Appends actions, frame times and screenshots of the session being recorded."""

    def __init__(self, directory: Path, monotonic: Any) -> None:
        self.files = SessionFiles(directory)
        self._monotonic = monotonic
        try:
            make_private_dir(directory)
            self.files.video_dir.mkdir(parents=True, exist_ok=True)
            self.files.shots_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _storage_error(exc, str(directory)) from exc
        self.lock = RecordingLock(self.files.lock)
        if not self.lock.acquire():
            raise StorageError(f"{directory.name} is already being recorded by another process")
        self.actions = JsonLines(self.files.actions)
        self.frames = JsonLines(self.files.frames)
        self.shots = JsonLines(self.files.shots_index)
        self._last_sync = monotonic()

    def save_screenshot(self, name: str, data: bytes) -> None:
        write_bytes_atomic(self.files.shots_dir / name, data)

    def maybe_sync(self) -> None:
        now = self._monotonic()
        if now - self._last_sync >= FSYNC_INTERVAL_S:
            self._last_sync = now
            for f in (self.actions, self.frames, self.shots):
                f.sync()

    def close(self, *, keep_lock: bool = False) -> None:
        """Close the files; `keep_lock` holds .recording.lock on (until release_lock) while the export runs,
        so another process's recovery never exports the same session at the same time."""
        errors: list[StorageError] = []
        for f in (self.actions, self.frames, self.shots):
            try:
                f.close()
            except StorageError as exc:
                errors.append(exc)
        if not keep_lock:
            self.release_lock()
        if errors:
            raise errors[0]

    def release_lock(self) -> None:
        self.lock.release(remove=True)
