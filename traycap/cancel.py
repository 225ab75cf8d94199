"""Cooperative cancellation shared by the upload engine, the queue and the recorder."""

from __future__ import annotations

import enum
import threading


class StopKind(enum.Enum):
    CANCEL = "cancel"  # the user cancelled: abort the multipart upload, forget progress
    SHUTDOWN = "shutdown"  # the app is quitting: stop at a part boundary, keep progress
    PAUSE = "pause"  # the user paused uploads: like SHUTDOWN, the upload stays pending


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()
        self._kind: StopKind | None = None

    def cancel(self, kind: StopKind = StopKind.CANCEL) -> None:
        if self._kind is None:
            self._kind = kind
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    @property
    def kind(self) -> StopKind | None:
        return self._kind

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)

    @property
    def event(self) -> threading.Event:
        return self._event
