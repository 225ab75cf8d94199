"""Free disk space, read through one function that tests replace (`FreeSpace`)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from traycap.errors import LowDisk
from traycap.models import MIB

FreeSpace = Callable[[Path], int]  # bytes free for the user on the file system holding the path


def free_bytes(path: Path) -> int:
    """Free bytes where `path` is (or would be: its nearest existing parent)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return shutil.disk_usage(candidate).free
    return shutil.disk_usage(Path.cwd()).free


def check_free(path: Path, min_free_mb: int, free_space: FreeSpace = free_bytes) -> None:
    """LowDisk when fewer than `min_free_mb` MiB are free at `path` (0 = no check)."""
    if min_free_mb <= 0:
        return
    free = free_space(path)
    if free < min_free_mb * MIB:
        raise LowDisk(str(path), free, min_free_mb * MIB)
