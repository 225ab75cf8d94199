"""The null capture backend: a synthetic screen with a moving bar, for tests and benches.

    screen = NullScreen(64, 48)
    RecordingController(ctx, settings, capture_factory=lambda monitor: screen, ...)
"""

from __future__ import annotations

import threading
from typing import Any

from traycap.errors import TraycapError
from traycap.media import frames
from traycap.media.capture.base import Capabilities


class NullScreen:
    """Frames with a moving bar; optionally fails after `fail_after` grabs (display lost, disk full...)."""

    capabilities = Capabilities("null")
    notice: TraycapError | None = None

    def __init__(self, width: int = 64, height: int = 48, *, fail_after: int | None = None,
                 error: TraycapError | None = None) -> None:
        self._w = width
        self._h = height
        self._fail_after = fail_after
        self._error = error
        self.grabs = 0
        self.closed = False
        self._lock = threading.Lock()

    @property
    def width(self) -> int:
        return self._w

    @property
    def height(self) -> int:
        return self._h

    def describe(self) -> dict[str, Any]:
        return {"monitor": 0, "rect": {"left": 0, "top": 0, "width": self._w, "height": self._h},
                "all": [], "width": self._w, "height": self._h, "backend": self.capabilities.name}

    def grab(self) -> Any:
        with self._lock:
            self.grabs += 1
            n = self.grabs
        if self._fail_after is not None and n > self._fail_after:
            raise self._error if self._error is not None else RuntimeError("NullScreen: no error given")
        return frames.test_pattern(self._w, self._h, n)

    def changed_areas(self) -> None:
        return None  # the bar moves at every grab

    def close(self) -> None:
        self.closed = True
