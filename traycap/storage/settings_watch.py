"""SettingsWatch: notices that another process (`traycap config set`, the settings dialog, an editor)
changed the settings files, so a running process can re-read them.

A cheap poll rather than an OS file watcher: one stat per file, at most every
`interval_s` on the injected clock (tests step it with FakeClock), and it
works the same on every platform and on network file systems. A file's
signature is (inode, size, mtime in ns): traycap writes settings atomically
(a new file renamed over the old one), so every save brings a new inode and is
seen even where timestamps are coarse; an edit in place changes size or mtime.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from traycap.clock import Clock

Signature = tuple[int, int, int] | None  # None: the file does not exist (or cannot be stat'ed)


def file_signature(path: Path) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class SettingsWatch:
    def __init__(self, files: Sequence[Path], clock: Clock, interval_s: float = 1.0) -> None:
        self._files = tuple(files)
        self._clock = clock
        self._interval = interval_s
        self._seen = self._signatures()  # what the caller has just loaded
        self._next = clock.monotonic() + interval_s

    def _signatures(self) -> tuple[Signature, ...]:
        return tuple(file_signature(p) for p in self._files)

    def due_in(self) -> float:
        """Seconds until the next look (0 when due): how long a polling loop may sleep."""
        return max(0.0, self._next - self._clock.monotonic())

    def poll(self) -> bool:
        """True once per change, when it is time to look; False (and no stat) before that."""
        now = self._clock.monotonic()
        if now < self._next:
            return False
        self._next = now + self._interval
        current = self._signatures()
        if current == self._seen:
            return False
        self._seen = current
        return True
