"""The null input backend: a scripted input source, for tests (the null screen is media/capture/null.py).

    screen = NullScreen(64, 48)
    inputs = NullInput()
    RecordingController(ctx, settings, capture_factory=lambda monitor: screen,
                        input_factory=inputs.factory)
    inputs.emit(RawClick(...))   # as if pynput had seen it
"""

from __future__ import annotations

from collections.abc import Callable

from traycap.recorder.actions import RawEvent
from traycap.recorder.inputs import InputSource


class NullInput:
    """An input source driven by the test: emit() delivers an event as a listener thread would."""

    positions_exact = True

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
