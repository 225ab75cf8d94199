"""Live sessions go first, in every process: while a live lane records, the queue sends one part
at a time; from Stop until that session is verified, the queue starts no new part
(docs/instant-share.md). The queue and the lane may run in different processes (`traycap record`
while the tray or `traycap worker` runs the queue), so the lane says so in the data dir:

    live-lanes/<session>.lock      an OS lock the lane holds while it runs (upload/lock.py's kind:
                                   the OS drops it when the process dies, even on SIGKILL, so the
                                   file of a crashed lane holds nothing and is ignored)
    live-lanes/<session>.stopped   {"stoppedAt": ms}: Stop came, the tail is on its way

The queue asks `LivePriority.parts_allowed()` before every new part and while parts wait (the
driver's pacing, every 0.1 s): one directory listing, and one lock probe per lane. A lane that is
still not verified FINISH_HOLD_S after Stop (an outage, a store that stalls) holds the queue no
longer. The files of a crashed lane are removed when recovery hands its session over.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from traycap.clock import Clock
from traycap.errors import CorruptFile, TraycapError
from traycap.osutil import locks
from traycap.paths import Paths
from traycap.storage.atomic import read_json, write_json_atomic
from traycap.storage.filelock import PidLock

log = logging.getLogger(__name__)

LIVE_LANES_DIR = "live-lanes"
FINISH_HOLD_S = 120.0  # as long as `traycap record` waits for the link after Stop
_LOCK = ".lock"
_STOPPED = ".stopped"


def _lanes_dir(paths: Paths) -> Path:
    return paths.root / LIVE_LANES_DIR


def _held(lock: Path) -> bool:
    """Some live process holds this lane's lock. Probed without creating the file (PidLock.is_held
    would, had the lane just removed it) and let go at once."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False  # gone: the lane ended
    try:
        if not locks.try_lock(fd):
            return True
        locks.unlock(fd)
        return False  # nobody holds it: its process died
    finally:
        os.close(fd)


class LaneMarker:
    """The live lane's side: held from the start of the recording until the lane ends."""

    def __init__(self, paths: Paths, session_id: str, clock: Clock) -> None:
        directory = _lanes_dir(paths)
        self._clock = clock
        self._lock = PidLock(directory / f"{session_id}{_LOCK}")
        self._stopped = directory / f"{session_id}{_STOPPED}"

    def hold(self) -> bool:
        """The recording is live: the queue sends one part at a time. False if the files cannot be
        written (the lane goes on without priority)."""
        try:
            with contextlib.suppress(FileNotFoundError):
                self._stopped.unlink()  # a crashed earlier lane's
            if self._lock.acquire_as_owner():
                return True
            log.warning("%s is held by another process; no queue priority for this recording", self._lock.path)
        except OSError as exc:
            log.warning("no queue priority for this recording: %s", exc)
        return False

    def stopped(self) -> None:
        """Stop: the queue starts no new part until `release()`."""
        if not self._lock.held:
            return
        try:
            write_json_atomic(self._stopped, {"stoppedAt": self._clock.now_ms()})
        except (OSError, TraycapError) as exc:
            log.warning("the queue keeps sending while this recording's upload finishes: %s", exc)

    def release(self) -> None:
        """Verified, failed, cancelled or handed over: the queue goes at full speed again."""
        if not self._lock.held:
            return
        self._lock.release(remove=True)  # first: without it the other file says nothing
        with contextlib.suppress(OSError):
            self._stopped.unlink()


class LivePriority:
    """The queue's side: what the live lanes of every process allow it now."""

    def __init__(self, paths: Paths, clock: Clock) -> None:
        self._dir = _lanes_dir(paths)
        self._clock = clock

    def parts_allowed(self) -> int | None:
        """0 while a lane is between Stop and verified, 1 while one records, None otherwise."""
        try:
            names = os.listdir(self._dir)
        except OSError:  # no lane has ever run here
            return None
        allowed: int | None = None
        for name in names:
            if not name.endswith(_LOCK) or not _held(self._dir / name):
                continue
            if self._finishing(self._dir / (name[: -len(_LOCK)] + _STOPPED)):
                return 0
            allowed = 1
        return allowed

    def _finishing(self, stopped: Path) -> bool:
        try:
            data = read_json(stopped)
        except (CorruptFile, OSError):
            return False
        if not isinstance(data, dict) or not isinstance(data.get("stoppedAt"), int):
            return False
        return self._clock.now_ms() - int(data["stoppedAt"]) < FINISH_HOLD_S * 1000


def remove_stale(paths: Paths, session_id: str) -> None:
    """Recovery of a crashed lane's session: its marker files, unless a live lane holds them."""
    directory = _lanes_dir(paths)
    lock = directory / f"{session_id}{_LOCK}"
    if _held(lock):
        return
    for path in (directory / f"{session_id}{_STOPPED}", lock):
        with contextlib.suppress(OSError):
            path.unlink()
