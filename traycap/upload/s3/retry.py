"""The one retry loop of the S3 engine: a few quick tries of a single request.

The queue retries whole uploads with a long backoff; this only absorbs a single
reset or 5xx so one bad connection does not cost a whole queue round. Sleeps
go through the injected clock, so tests do not wait.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from traycap.clock import Clock
from traycap.errors import UploadError, UploadGone
from traycap.upload.s3.body import Stopped

log = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPTS = 3  # tries per request (a part, a Complete) inside one upload_file call
BASE_S = 0.25  # then 0.5 s, 1 s, ...


def _never() -> bool:
    return False


class Retry:
    def __init__(self, clock: Clock, attempts: int = ATTEMPTS, base_s: float = BASE_S) -> None:
        self.clock = clock
        self.attempts = max(1, attempts)
        self.base_s = base_s

    def delay_s(self, attempt: int) -> float:
        """The pause after failed try number `attempt` (1-based)."""
        return self.base_s * float(2 ** (attempt - 1))

    def call(
        self,
        fn: Callable[[], T],
        *,
        what: str,
        stop: Callable[[], bool] = _never,
        wake: threading.Event | None = None,
        give_up: Callable[[], bool] = _never,
    ) -> T:
        """`fn()`, tried again after a transient UploadError while tries are left.

        Not retried: permanent errors and UploadGone (nothing to send to any more), nor
        anything once `give_up()` says so (a part that stalls: tries would only add silence).
        Once `stop()` says so, a failure (most likely a connection cut on purpose) or
        a stop noticed while waiting raises Stopped.
        """
        for attempt in range(1, self.attempts + 1):
            try:
                return fn()
            except UploadError as err:
                if stop():
                    raise Stopped() from err
                if not err.transient or isinstance(err, UploadGone) or attempt >= self.attempts or give_up():
                    raise
                log.info("%s: %s; retrying (%d/%d)", what, err.message, attempt, self.attempts)
                woken = self.clock.sleep(self.delay_s(attempt), wake=wake)
                if woken and stop():
                    raise Stopped() from None
        raise AssertionError("unreachable")
