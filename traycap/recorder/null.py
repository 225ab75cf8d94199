"""Null backends: a synthetic screen and a scripted input source, for tests and for the tray's own tests.

    screen = NullScreen(64, 48)
    inputs = NullInput()
    RecordingController(ctx, settings, capture_factory=lambda monitor: screen,
                        input_factory=inputs.factory)
    inputs.emit(RawClick(...))   # as if pynput had seen it
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from traycap.errors import TraycapError
from traycap.recorder.actions import RawEvent
from traycap.recorder.inputs import InputSource


class NullScreen:
    """Frames with a moving bar; optionally fails after `fail_after` grabs (display lost, disk full...)."""

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
                "all": [], "width": self._w, "height": self._h, "backend": "null"}

    def grab(self) -> Any:
        import numpy as np

        with self._lock:
            self.grabs += 1
            n = self.grabs
        if self._fail_after is not None and n > self._fail_after:
            raise self._error if self._error is not None else RuntimeError("NullScreen: no error given")
        image = np.zeros((self._h, self._w, 4), dtype=np.uint8)
        x = (n * 3) % self._w
        image[:, x : x + 4] = 255
        return image

    def close(self) -> None:
        self.closed = True


class NullInput:
    """An input source driven by the test: emit() delivers an event as a listener thread would."""

    def __init__(self) -> None:
        self.sink: Callable[[RawEvent], None] | None = None
        self.keyboard: bool | None = None
        self.started = False
        self.stopped = False

    def factory(self, sink: Callable[[RawEvent], None], monotonic: Callable[[], float],
                keyboard: bool) -> InputSource:
        self.sink = sink
        self.keyboard = keyboard
        return self

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def emit(self, event: RawEvent) -> None:
        if self.sink is None:
            raise RuntimeError("the controller has not created the input source yet")
        self.sink(event)
