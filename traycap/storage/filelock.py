"""An exclusive, non-blocking lock on a file that records its holder's pid.

The OS drops the lock when the process dies, even on SIGKILL, so a crash never
leaves a stale lock behind; two PidLock objects in one process exclude each
other just like two processes (traycap.osutil.locks).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from traycap.osutil import locks

# Short-lived probes (`PidLock.is_held`, `traycap upload` asking whether a worker runs)
# take the lock for well under a millisecond. A process that means to *hold* the lock
# tries again for this long before it concludes that someone else really holds it.
PROBE_GRACE_S = 0.5
_GRACE_STEP_S = 0.01


class PidLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        with self._mutex:
            if self._fd is not None:
                return True
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = locks.open_lock_file(self.path)
            if not locks.try_lock(fd):
                os.close(fd)
                return False
            # Who holds it, for "already running" messages; informational only.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return True

    def acquire_as_owner(self, wait: Callable[[float], object] | None = None) -> bool:
        """try_acquire, tried again for PROBE_GRACE_S: a probe holding the lock for an instant
        must not make a worker or tray believe another owner exists. `wait(seconds)` is the
        pause between tries (tests inject one)."""
        pause = wait if wait is not None else threading.Event().wait
        for _ in range(int(PROBE_GRACE_S / _GRACE_STEP_S)):
            if self.try_acquire():
                return True
            pause(_GRACE_STEP_S)
        return self.try_acquire()

    def release(self, *, remove: bool = False) -> None:
        """Let go of the lock; `remove` also deletes the lock file, never one another process holds."""
        with self._mutex:
            fd, self._fd = self._fd, None
            if fd is None:
                return
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            if remove and not locks.OPEN_FILES_DELETABLE:
                # Windows: an open file cannot be deleted; delete it once closed (a race with a
                # new holder only costs that holder its informational pid line).
                with contextlib.suppress(OSError):
                    locks.unlock(fd)
                os.close(fd)
                with contextlib.suppress(OSError):
                    self.path.unlink()
                return
            if remove:
                # POSIX: delete while still holding it, so nobody mistakes the file for a crash's.
                with contextlib.suppress(OSError):
                    self.path.unlink()
            with contextlib.suppress(OSError):
                locks.unlock(fd)
            os.close(fd)

    def holder_pid(self) -> int | None:
        """The pid written by the holder (None when unknown or free)."""
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    @staticmethod
    def is_held(path: Path) -> bool:
        """True when some live process holds the lock at `path`."""
        if not path.exists():
            return False
        probe = PidLock(path)
        if probe.try_acquire():
            probe.release()
            return False
        return True
