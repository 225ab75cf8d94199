"""The catch-all every recorder worker thread needs, written once.

A worker (capture, encoder, screenshots, an input callback) must never die
silently: whatever it raises stops the recording, which is then exported with
what was recorded. A TraycapError already reads well; anything else is logged
with its traceback and wrapped in a RecorderError naming the worker's job.

    with WorkerGuard("Screen capture", on_failure) as guard:
        ...
    if guard.failed: ...
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType

from traycap.errors import RecorderError, TraycapError

log = logging.getLogger(__name__)


class WorkerGuard:
    def __init__(self, job: str, on_failure: Callable[[TraycapError], None]) -> None:
        self.job = job  # "Screen capture": the message reads "Screen capture failed: ..."
        self._on_failure = on_failure
        self.failed = False

    def __enter__(self) -> WorkerGuard:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False  # KeyboardInterrupt / SystemExit go on
        self.failed = True
        if isinstance(exc, TraycapError):
            self._on_failure(exc)
        else:
            log.error("%s failed", self.job, exc_info=exc)
            self._on_failure(RecorderError(f"{self.job} failed: {exc}"))
        return True
