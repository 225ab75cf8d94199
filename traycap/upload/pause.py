"""Paused uploads: a flag in the data dir, so it holds across restarts and for every process.

`traycap pause-uploads` / `resume-uploads` and the tray menu write it; the
process that runs the queue reads it every step (one stat) and, while it is
there, starts nothing, finishes no new part and closes its connections. The
file holds when it was paused, for `traycap sessions`.
"""

from __future__ import annotations

import contextlib
import logging

from traycap.errors import CorruptFile
from traycap.paths import Paths
from traycap.storage.atomic import read_json, write_json_atomic

log = logging.getLogger(__name__)


def uploads_paused(paths: Paths) -> bool:
    return paths.uploads_paused.exists()


def paused_since(paths: Paths) -> int | None:
    """When uploads were paused (epoch ms), or None when they are not (or the time is unreadable)."""
    try:
        data = read_json(paths.uploads_paused)
    except CorruptFile:
        return None
    if isinstance(data, dict) and isinstance(data.get("pausedAt"), int):
        return int(data["pausedAt"])
    return None


def set_uploads_paused(paths: Paths, paused: bool, *, now_ms: int) -> bool:
    """Pause or resume uploads; True if that changed anything."""
    if paused == uploads_paused(paths):
        return False
    if paused:
        write_json_atomic(paths.uploads_paused, {"pausedAt": now_ms})
        log.info("uploads paused")
    else:
        with contextlib.suppress(FileNotFoundError):
            paths.uploads_paused.unlink()
        log.info("uploads resumed")
    return True
