"""Remembers that the OS keyring did not answer, so that a start nobody watches (the tray at login,
`traycap record`, `traycap worker`) does not ask it again, and wait for it, every time.

    memory = KeyringMemory(paths.keyring_unanswered, clock)
    memory.recall()            # Unanswered (why, when) while it holds, else None
    memory.remember(reason)    # a call to the keyring timed out
    memory.forget()            # the user acts: `traycap config set`, the settings dialog's Save

A day (REMEMBER_MS): a keyring that hung at this login is asked again at tomorrow's, and at once
when the user saves settings. The file is written atomically in the data dir; an unreadable one is
moved aside and counts as nothing remembered (the keyring is then asked, as with no file).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from traycap.clock import Clock
from traycap.errors import CorruptFile
from traycap.format import local_time
from traycap.storage.atomic import quarantine, read_json, write_json_atomic

log = logging.getLogger(__name__)

REMEMBER_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Unanswered:
    """The keyring did not answer at `at_ms`, for this reason (as the keyring adapter said it)."""

    reason: str
    at_ms: int

    @property
    def until_ms(self) -> int:
        return self.at_ms + REMEMBER_MS

    def holds(self, now_ms: int) -> bool:
        """Still remembered at `now_ms`. A time before `at_ms` (the clock was set back) does not hold:
        asking once more costs less than trusting a date that cannot be right."""
        return self.at_ms <= now_ms < self.until_ms

    def text(self) -> str:
        """Why the keyring is not used, for the log, the menu and `config show`."""
        return (f"{self.reason} at {local_time(self.at_ms)}; traycap asks it again at {local_time(self.until_ms)}, "
                "or when the settings are saved (`traycap config set`, or Save in Upload settings)")

    def to_json(self) -> dict[str, object]:
        return {"reason": self.reason, "atMs": self.at_ms, "untilMs": self.until_ms}


class KeyringMemory:
    def __init__(self, path: Path, clock: Clock) -> None:
        self._path = path
        self._clock = clock

    def recall(self) -> Unanswered | None:
        """What is remembered now; None when nothing is, or it has run out."""
        try:
            data = read_json(self._path)
        except CorruptFile as exc:
            moved = quarantine(self._path, self._clock.now_ms())
            log.warning("%s; it was moved aside (%s) and the OS keyring is asked again", exc.user_text(), moved)
            return None
        if data is None:
            return None
        entry = _entry(data)
        if entry is None:
            moved = quarantine(self._path, self._clock.now_ms())
            log.warning("%s does not say when the OS keyring did not answer; it was moved aside (%s)",
                        self._path, moved)
            return None
        return entry if entry.holds(self._clock.now_ms()) else None

    def remember(self, reason: str) -> Unanswered:
        entry = Unanswered(reason, self._clock.now_ms())
        write_json_atomic(self._path, entry.to_json(), mode=0o600)
        log.info("the OS keyring did not answer: it is not asked again by a start until %s, or until the settings "
                 "are saved", local_time(entry.until_ms))
        return entry

    def forget(self) -> bool:
        """Ask the keyring again from now on; True when something was remembered."""
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()
            return True
        return False


def _entry(data: object) -> Unanswered | None:
    if not isinstance(data, dict):
        return None
    reason, at_ms = data.get("reason"), data.get("atMs")
    if not isinstance(reason, str) or not isinstance(at_ms, int) or isinstance(at_ms, bool):
        return None
    return Unanswered(reason, at_ms)
