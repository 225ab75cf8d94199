"""File operations whose spelling differs by OS: read flags, atomic replace and removal, file modes."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

WINDOWS = sys.platform == "win32"

# Windows: a reader, an antivirus or the search indexer holding the target open makes
# os.replace fail with a sharing violation for a moment; pip retries for a second.
REPLACE_ATTEMPTS = 5
REPLACE_WAIT_S = 0.25

if sys.platform == "win32":  # pragma: no cover - run by the Windows bench under Wine
    # O_BINARY: bytes as they are on disk (no "\r\n" translation).
    READ_FLAGS = os.O_RDONLY | os.O_BINARY | os.O_NOINHERIT
    APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_BINARY | os.O_NOINHERIT
    OPEN_DIR_FLAGS: int | None = None  # a directory cannot be opened (or fsynced) through os.open
else:
    # O_NONBLOCK: a FIFO put in place of a JSON file reads as empty instead of hanging the reader.
    READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK
    # O_APPEND: every write goes to the end, whatever any offset says (the live zip, its journal).
    APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC
    OPEN_DIR_FLAGS: int | None = os.O_RDONLY | os.O_CLOEXEC


def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
            sleep: Callable[[float], object] = time.sleep, windows: bool = WINDOWS) -> None:
    """os.replace; on Windows retried for about a second while another process holds `dst` open."""
    for attempt in range(REPLACE_ATTEMPTS):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if not windows or attempt == REPLACE_ATTEMPTS - 1:
                raise
        sleep(REPLACE_WAIT_S)


def remove(path: str | os.PathLike[str], *, sleep: Callable[[float], object] = time.sleep,
           windows: bool = WINDOWS) -> None:
    """os.unlink, a missing file being fine; on Windows retried for about a second while another
    handle holds `path` open (os.open and open() share no FILE_SHARE_DELETE: a reader, such as the
    live upload lane reading a part of the zip, makes the unlink fail until it closes the file)."""
    for attempt in range(REPLACE_ATTEMPTS):
        try:
            os.unlink(path)
            return
        except FileNotFoundError:
            return
        except PermissionError:
            if not windows or attempt == REPLACE_ATTEMPTS - 1:
                raise
        sleep(REPLACE_WAIT_S)


def set_mode(fd: int, mode: int) -> None:
    """chmod an open file on POSIX. Windows has no modes: a file there is as private as the
    ACL it inherits from its directory (traycap.osutil.private makes the data dir user-only)."""
    if sys.platform != "win32":
        os.fchmod(fd, mode)


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a rename in `directory` durable (POSIX); Windows commits renames with the file system's journal."""
    if OPEN_DIR_FLAGS is None:
        return
    try:
        fd = os.open(directory, OPEN_DIR_FLAGS)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
