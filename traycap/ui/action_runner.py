"""A single worker thread for menu actions and hotkey presses: a slow export never freezes the menu."""

from __future__ import annotations

import queue as queue_mod
import threading
from collections.abc import Callable


class ActionRunner:
    """Runs posted work one at a time on its own thread; errors go to `on_error`."""

    def __init__(self, on_error: Callable[[str, Exception], None]) -> None:
        self._queue: queue_mod.Queue[tuple[str, Callable[[], None]] | None] = queue_mod.Queue()
        self._on_error = on_error
        self._thread = threading.Thread(target=self._loop, name="traycap-actions", daemon=True)
        self._thread.start()

    def post(self, name: str, fn: Callable[[], None]) -> None:
        self._queue.put((name, fn))

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            name, fn = job
            try:
                fn()
            except Exception as exc:
                self._on_error(name, exc)
            finally:
                self._queue.task_done()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until everything posted so far ran (tests)."""
        done = threading.Event()
        self._queue.put(("drain", done.set))
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
