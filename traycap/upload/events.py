"""Upload progress to subscribers (tray, notifications, CLI), throttled.

The engine reports every chunk it sends; subscribers get at most one event per
session per `interval_s`, plus every status change (those are never dropped).
A subscriber that raises is logged and does not stop the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from traycap.clock import Clock
from traycap.models import UploadProgress, UploadStatus

log = logging.getLogger(__name__)

Subscriber = Callable[[UploadProgress], None]


class ProgressThrottle:
    """Decides which progress events go out (pure apart from the injected clock)."""

    def __init__(self, clock: Clock, interval_s: float) -> None:
        self._clock = clock
        self._interval = interval_s
        self._last: dict[str, tuple[UploadStatus, float, int]] = {}
        self._lock = threading.Lock()

    def should_emit(self, event: UploadProgress) -> bool:
        now = self._clock.monotonic()
        with self._lock:
            last = self._last.get(event.sessionId)
            if last is not None:
                status, at, progress = last
                # The last byte is a status-like moment too (100% before "done").
                reached_end = event.progress == 100 and progress != 100
                if status is event.status and now - at < self._interval and not reached_end:
                    return False
            self._last[event.sessionId] = (event.status, now, event.progress)
            return True


class ProgressBus:
    def __init__(self, clock: Clock, interval_s: float = 0.25) -> None:
        self._throttle = ProgressThrottle(clock, interval_s)
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)

        return unsubscribe

    def publish(self, event: UploadProgress) -> bool:
        """Deliver `event` unless the throttle drops it; True if delivered."""
        if not self._throttle.should_emit(event):
            return False
        with self._lock:
            targets = list(self._subscribers)
        for fn in targets:
            try:
                fn(event)
            except Exception:
                log.exception("a progress subscriber failed on %s", event.sessionId)
        return True
