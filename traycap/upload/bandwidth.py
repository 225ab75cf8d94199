"""A cap on the upload rate shared by every part in flight: a token bucket on the injected clock.

Each request body takes its bytes from the bucket before handing them to the
socket; a taker that overdraws waits until the bucket has refilled. Overdrafts
queue up (the bucket goes into debt), so N parts in flight share the rate
instead of each getting it. The bucket holds at most BURST bytes, so over any
window of T seconds at most rate * T + BURST bytes go out: within 1 % of the
rate over 30 s at 1 MB/s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from traycap.clock import Clock

MB = 1_000_000  # maxUploadMBps is in MB/s as network speeds are quoted, not MiB/s
BURST = 256 * 1024  # one request-body read (body.SEND_CHUNK)


def _never() -> bool:
    return False


class TokenBucket:
    def __init__(self, bytes_per_s: float, clock: Clock, *, burst: int = BURST) -> None:
        if bytes_per_s <= 0:
            raise ValueError("the rate must be positive")
        self.rate = float(bytes_per_s)
        self._clock = clock
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last = clock.monotonic()
        self._lock = threading.Lock()

    @classmethod
    def for_mbps(cls, mbps: float, clock: Clock) -> TokenBucket | None:
        """The bucket for a maxUploadMBps setting; None for 0 (no cap)."""
        return cls(mbps * MB, clock) if mbps > 0 else None

    def take(self, n: int, *, wake: threading.Event | None = None, stop: Callable[[], bool] = _never) -> None:
        """Take `n` bytes, waiting as long as the rate asks. A `wake` that is set ends the wait only
        if `stop()` says so (a cancel); otherwise (a quit or pause that lets the part finish) the
        wait goes on, so a part in flight never goes faster than the cap."""
        with self._lock:
            now = self._clock.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= n
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        deadline = self._clock.monotonic() + wait
        while True:
            left = deadline - self._clock.monotonic()
            woken = wake is not None and wake.is_set()
            if left <= 0 or (woken and stop()):
                return
            self._clock.sleep(left, wake=None if woken else wake)
