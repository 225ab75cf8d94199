"""Damage-driven frames in, a frame at every grab out (pure).

PipeWire sends a frame only when the screen changed: none for a minute of a still screen, thirty
a second while a video plays. The recorder grabs on its own fixed grid (recorder/timing.py) and
the encoder wants a frame at every slot, so `LatestFrame` keeps the newest image and `take`
returns it at every grab: a new one when one came, the last one again when none did. Each
grab's time is the recording clock's (the injected Clock), like the X11 path's.

The producer (GStreamer's streaming thread, pipewire.py) hands over its own copy of each image
and keeps nothing: holding GStreamer samples would drain PipeWire's buffer pool, and the
portal backend then busy-loops waiting for a free buffer. A consumer that is slow for a while
therefore costs nothing upstream: images that nobody took are simply replaced.

Before the first image there is nothing to show (`take` answers None): a wlroots compositor
sends a new cast's first frame only once something on the screen changes, if that screen was
cast before and has not changed since.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from traycap.clock import Clock
from traycap.errors import TraycapError


@dataclass(frozen=True)
class PacedFrame:
    image: Any  # a BGRx/BGRA numpy array, height x width x 4 (alpha undefined, as on X11)
    t: float  # the grab's time on the recording's monotonic clock
    arrived_t: float  # when this image came from PipeWire (same clock)
    fresh: bool  # a new image since the previous grab; False: the last one repeated
    seq: int  # which image this is, counting from 1 in arrival order


class LatestFrame:
    """The newest image and, once the stream has ended, why."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._arrived = threading.Event()
        self._image: Any = None
        self._arrived_t = 0.0
        self._seq = 0
        self._taken_seq = 0
        self._failure: TraycapError | None = None
        self.received = 0  # images that came
        self.taken = 0  # grabs answered
        self.repeated = 0  # grabs answered with an image already taken

    # --- the producer's side -------------------------------------------------------
    def put(self, image: Any) -> None:
        t = self._clock.monotonic()
        with self._lock:
            if self._failure is not None:
                return
            self._image = image
            self._arrived_t = t
            self._seq += 1
            self.received += 1
        self._arrived.set()

    def fail(self, error: TraycapError) -> None:
        """The stream has ended: every later grab raises `error` (the first reason given is kept)."""
        with self._lock:
            if self._failure is None:
                self._failure = error
        self._arrived.set()

    # --- the consumer's side ---------------------------------------------------------
    @property
    def failure(self) -> TraycapError | None:
        with self._lock:
            return self._failure

    def wait_first(self, timeout_s: float, wake: threading.Event | None = None) -> bool:
        """Wait (on the clock) until the first image came or the stream failed; False at the deadline."""
        deadline = self._clock.monotonic() + timeout_s
        while True:
            with self._lock:
                if self._seq > 0 or self._failure is not None:
                    return True
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0 or (wake is not None and wake.is_set()):
                return False
            self._arrived.clear()
            with self._lock:  # an image that came between the check and the clear must not be slept over
                if self._seq > 0 or self._failure is not None:
                    return True
            self._clock.sleep(min(remaining, 0.25), self._arrived)

    def take(self) -> PacedFrame | None:
        """The newest image, stamped now; None before the first one came; CaptureLost (or the stream's
        own error) once the stream ended."""
        now = self._clock.monotonic()
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._seq == 0:
                return None
            fresh = self._seq != self._taken_seq
            self._taken_seq = self._seq
            self.taken += 1
            if not fresh:
                self.repeated += 1
            return PacedFrame(image=self._image, t=now, arrived_t=self._arrived_t, fresh=fresh, seq=self._seq)
