"""When the viewer's server stops: the tab was closed, nobody came, or nobody used it for a long time.

Pure, on an injected clock. The page sends a heartbeat every HEARTBEAT_EVERY_S
(saying whether the person did anything since the last one) and a goodbye
when the tab goes away. Browsers slow the timers of background tabs down to
about one a minute, so "closed" is decided only after CLOSED_AFTER_S without
any request, or BYE_GRACE_S after a goodbye (a reload says goodbye and then
comes straight back).
"""

from __future__ import annotations

import threading

from traycap.clock import Clock

HEARTBEAT_EVERY_S = 10.0
FIRST_VISIT_S = 120.0  # the browser never came: stop rather than linger
CLOSED_AFTER_S = 150.0
BYE_GRACE_S = 5.0
IDLE_AFTER_S = 30 * 60.0


class Lifetime:
    def __init__(self, clock: Clock, *, first_visit_s: float = FIRST_VISIT_S, closed_after_s: float = CLOSED_AFTER_S,
                 bye_grace_s: float = BYE_GRACE_S, idle_after_s: float = IDLE_AFTER_S) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._first_visit_s = first_visit_s
        self._closed_after_s = closed_after_s
        self._bye_grace_s = bye_grace_s
        self._idle_after_s = idle_after_s
        self._started = clock.monotonic()
        self._visited = False
        self._last_request = self._started
        self._last_active = self._started
        self._bye_at: float | None = None

    def request(self) -> None:
        """Any request from the page: it is there."""
        with self._lock:
            self._visited = True
            self._last_request = self._clock.monotonic()
            self._bye_at = None

    def heartbeat(self, active: bool) -> None:
        with self._lock:
            now = self._clock.monotonic()
            self._visited = True
            self._last_request = now
            self._bye_at = None
            if active:
                self._last_active = now

    def active(self) -> None:
        """The person did something (played, sought, asked for the link)."""
        with self._lock:
            self._last_active = self._clock.monotonic()

    def bye(self) -> None:
        with self._lock:
            self._bye_at = self._clock.monotonic()

    def stop_reason(self) -> str | None:
        """Why the server should stop now, or None to keep serving."""
        with self._lock:
            now = self._clock.monotonic()
            if not self._visited:
                if now - self._started >= self._first_visit_s:
                    return "the page was not opened"
                return None
            if self._bye_at is not None and now - self._bye_at >= self._bye_grace_s:
                return "the page was closed"
            if now - self._last_request >= self._closed_after_s:
                return "the page was closed"
            if now - self._last_active >= self._idle_after_s:
                return "the page was idle"
            return None
