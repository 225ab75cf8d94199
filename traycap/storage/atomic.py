"""Atomic JSON files: a reader sees the old file or the new one, never half of one.

Write: temp file in the same directory, fsync, os.replace, fsync the directory.
Read: a file that is not valid JSON is reported as CorruptFile (and can be
quarantined), never raised as a raw decode error.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from traycap.errors import CorruptFile, DiskFull, StorageError

TMP_PREFIX = ".tmp-"


def write_bytes_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)  # before any byte of a secret is written
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(f"The disk is full: could not write {path.name}") from exc
        raise StorageError(f"Could not write {path}: {exc.strerror or exc}") from exc
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json_atomic(path: Path, obj: Any, *, mode: int | None = None) -> None:
    data = json.dumps(obj, indent=2, sort_keys=False).encode("utf-8") + b"\n"
    write_bytes_atomic(path, data, mode=mode)


def read_json(path: Path) -> Any | None:
    """The parsed file, None when it does not exist, CorruptFile when unreadable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise CorruptFile(str(path), "it is a directory, not a file") from None
    except OSError as exc:
        raise CorruptFile(str(path), exc.strerror or str(exc)) from exc
    if not raw.strip():
        raise CorruptFile(str(path), "the file is empty")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CorruptFile(str(path), "the file is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise CorruptFile(str(path), f"invalid JSON at line {exc.lineno} column {exc.colno}") from exc


def quarantine(path: Path, now_ms: int) -> Path | None:
    """Move a corrupt file aside (kept for inspection, no longer in the way)."""
    target = path.with_name(f"{path.name}.corrupt-{now_ms}")
    try:
        os.replace(path, target)
    except OSError:
        return None
    return target
