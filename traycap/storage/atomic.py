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
from traycap.osutil import files

TMP_PREFIX = ".tmp-"


def write_bytes_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace `path` with `data` so that a reader (or a crash) sees the old bytes or the new, never a mix.

    DiskFull when the disk (or quota) is full, StorageError for any other OS
    failure; in both cases the previous file is left as it was and the temp
    file is removed.
    """
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + path.name + ".", dir=path.parent)
        try:
            if mode is not None:
                files.set_mode(fd, mode)  # before any byte of a secret is written
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        files.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(f"The disk is full: could not write {path}") from exc
        if exc.errno == errno.EFBIG:
            raise DiskFull(f"The file size limit was reached: could not write {path}") from exc
        raise StorageError(f"Could not write {path}: {exc.strerror or exc}") from exc
    files.fsync_dir(path.parent)


def write_json_atomic(path: Path, obj: Any, *, mode: int | None = None) -> None:
    data = json.dumps(obj, indent=2, sort_keys=False).encode("utf-8") + b"\n"
    write_bytes_atomic(path, data, mode=mode)


def read_json(path: str | os.PathLike[str]) -> Any | None:
    """The parsed file, None when it does not exist, CorruptFile when unreadable.

    Takes a str as well as a Path: listing 1,000 sessions calls this 2,000
    times and pathlib objects are a measurable part of that.
    """
    try:
        raw = _read_all(path)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise CorruptFile(os.fspath(path), "it is a directory, not a file") from None
    except OSError as exc:
        raise CorruptFile(os.fspath(path), exc.strerror or str(exc)) from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CorruptFile(os.fspath(path), "the file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        if not raw.strip():
            raise CorruptFile(os.fspath(path), "the file is empty") from None
        raise CorruptFile(os.fspath(path), f"invalid JSON at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise CorruptFile(os.fspath(path), "the JSON is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise CorruptFile(os.fspath(path), f"invalid JSON ({exc})") from None
    if data is None:
        # None means "no such file" to every caller; a file holding `null` must not
        # pass for a missing one (a missing upload state makes a session deletable).
        raise CorruptFile(os.fspath(path), "the file holds null, not a JSON object")
    return data


def _read_all(path: str | os.PathLike[str]) -> bytes:
    # os.open/os.read: half the cost of a buffered open() for these small files.
    fd = os.open(path, files.READ_FLAGS)
    try:
        chunks = [os.read(fd, 65536)]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks)
    finally:
        os.close(fd)


def quarantine(path: Path, now_ms: int) -> Path | None:
    """Move a corrupt file aside (kept for inspection, no longer in the way)."""
    target = path.with_name(f"{path.name}.corrupt-{now_ms}")
    try:
        files.replace(path, target)
    except OSError:
        return None
    return target


def remove_stale_temp_files(directory: Path, now_ms: int, min_age_ms: int) -> list[Path]:
    """Delete our own leftover temp files (`.tmp-*`, regular files) not modified for `min_age_ms`.

    A temp file that still exists means its os.replace never happened (the
    writer was killed), so the real file holds the previous complete version
    and the temp file is garbage. A young one may belong to a write in progress
    in another process, so it is left alone.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(TMP_PREFIX):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if now_ms - entry.stat(follow_symlinks=False).st_mtime_ns // 1_000_000 < min_age_ms:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed
