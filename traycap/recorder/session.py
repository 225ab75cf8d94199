"""A session's files while it is being recorded, written so that a kill at any moment loses (almost) nothing.

    sessions/<id>/
      session-meta.json      written at START (recorder.status = "recording"), so a
                             crashed recording is still a visible session
      .recording.lock        flock held by the recording process (a dead holder = unfinished)
      actions.jsonl          one action per line, written (to the OS) as each event comes
      video/screen.mp4       fragmented H.264 MP4 (screen.py)
      video/frames.jsonl     one line per video frame: index, capture time, video time
      screenshots/           <t ms, 9 digits>-<reason>.png
      screenshots/index.jsonl

Every line is one write() of a complete line: after SIGKILL the kernel still
has it. fsync runs at most once a second (and at stop) so power loss costs
at most about a second. A partial last line (power loss) is skipped by readers.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from traycap.errors import DiskFull, StorageError
from traycap.osutil.private import make_private_dir
from traycap.storage.atomic import write_bytes_atomic
from traycap.storage.filelock import PidLock

log = logging.getLogger(__name__)

ACTIONS_FILE = "actions.jsonl"
VIDEO_DIR = "video"
VIDEO_FILE = "screen.mp4"
FRAMES_FILE = "frames.jsonl"
SHOTS_DIR = "screenshots"
SHOTS_INDEX = "index.jsonl"
LOCK_NAME = ".recording.lock"
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


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete records of a JSON-lines file; a torn or garbled line is skipped (and logged)."""
    return list(iter_jsonl(path))


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    try:
        fh = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return
    with fh:
        for number, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                log.info("%s: incomplete last line %d skipped", path, number)
                break
            try:
                record = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                log.warning("%s: unreadable line %d skipped", path, number)
                continue
            if isinstance(record, dict):
                yield record


def truncate_jsonl(path: Path, keep: int) -> int:
    """Rewrite `path` (atomically) with only its first `keep` complete records; returns how many remain."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            torn = False
            if size:
                fh.seek(size - 1)
                torn = fh.read(1) != b"\n"
    except FileNotFoundError:
        return 0
    records = read_jsonl(path)
    if len(records) <= keep and not torn:
        return len(records)
    kept = records[:keep]
    data = "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in kept)
    write_bytes_atomic(path, data.encode("utf-8"))
    return len(kept)


class SessionFiles:
    """Paths of one session directory (no I/O)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    @property
    def actions(self) -> Path:
        return self.dir / ACTIONS_FILE

    @property
    def video_dir(self) -> Path:
        return self.dir / VIDEO_DIR

    @property
    def video(self) -> Path:
        return self.dir / VIDEO_DIR / VIDEO_FILE

    @property
    def frames(self) -> Path:
        return self.dir / VIDEO_DIR / FRAMES_FILE

    @property
    def shots_dir(self) -> Path:
        return self.dir / SHOTS_DIR

    @property
    def shots_index(self) -> Path:
        return self.dir / SHOTS_DIR / SHOTS_INDEX

    @property
    def lock(self) -> Path:
        return self.dir / LOCK_NAME


class RecordingLock(PidLock):
    """Held on .recording.lock for as long as the session is being recorded, so
    `is_held` tells a live recording from one a crash left behind."""

    def acquire(self) -> bool:
        return self.try_acquire()


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
