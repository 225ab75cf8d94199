"""Who may run the upload queue, and short locks around upload-state.json updates.

Both are OS file locks (traycap.osutil.locks): the OS drops them when the process
dies, even on SIGKILL, so a crash never leaves a stale lock behind. Two QueueLock
objects in one process exclude each other just like two processes do (tests rely
on that).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from traycap.errors import QueueBusy
from traycap.osutil import locks
from traycap.paths import Paths
from traycap.storage.filelock import PidLock

STATE_LOCK_FILE = "upload-state.lock"


class QueueLock:
    """Exactly one process runs the queue: the one holding `paths.queue_lock`."""

    def __init__(self, paths: Paths) -> None:
        self._lock = PidLock(paths.queue_lock)

    @property
    def path(self) -> Path:
        return self._lock.path

    @property
    def held(self) -> bool:
        return self._lock.held

    def try_acquire(self) -> bool:
        return self._lock.try_acquire()

    def acquire_as_owner(self, wait: Callable[[float], object] | None = None) -> bool:
        """For the process that will run the queue: see PidLock.acquire_as_owner."""
        return self._lock.acquire_as_owner(wait)

    def release(self) -> None:
        self._lock.release()

    def holder_pid(self) -> int | None:
        return self._lock.holder_pid()

    def busy_error(self) -> QueueBusy:
        pid = self.holder_pid()
        who = f"process {pid}" if pid else "another traycap process"
        return QueueBusy(f"The upload queue is already run by {who}")

    def __enter__(self) -> QueueLock:
        if not self.try_acquire():
            raise self.busy_error()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


_state_mutex = threading.Lock()


@contextlib.contextmanager
def state_lock(paths: Paths) -> Iterator[None]:
    """Held for one read-modify-write of an upload-state.json (milliseconds).

    The queue process and CLI commands (cancel, retry, upload) change states on
    disk; this makes each change see the latest state, so a cancel written by
    another process is never overwritten by the worker's next checkpoint.
    """
    with _state_mutex:
        paths.root.mkdir(parents=True, exist_ok=True)
        fd = locks.open_lock_file(paths.root / STATE_LOCK_FILE)
        try:
            locks.lock(fd)
            yield
        finally:
            os.close(fd)  # closing drops the lock
