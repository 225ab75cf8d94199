"""The queue's worker thread: call `step()` until stopped, sleeping on the injected clock when idle.

Tests call the step directly; this loop only adds the thread, the wake-ups and
the error capture: an exception in a step (a bug, a full disk) is logged, the
loop keeps going, and `stop()` re-raises the first one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from traycap.clock import Clock

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, step: Callable[[], bool], idle_delay: Callable[[], float], clock: Clock) -> None:
        self._step = step
        self._idle_delay = idle_delay
        self._clock = clock
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="traycap-upload-queue", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def join(self, timeout: float) -> None:
        """Wait for the thread; re-raise the first error a step raised."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the upload worker did not stop within %.0f s", timeout)
            else:
                self._thread = None
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                did_work = self._step()
            except Exception as exc:  # a bug or a full disk: keep the worker alive, report on stop()
                log.exception("the upload worker hit an error; it keeps going")
                if self._error is None:
                    self._error = exc
                did_work = False
            if did_work or self._stopping.is_set():
                continue
            self._clock.sleep(self._idle_delay(), wake=self._wake)
