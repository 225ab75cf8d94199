"""Worker threads for menu actions and hotkey presses: a slow export never freezes the menu.

Work posted to one lane runs one at a time, in order, on that lane's thread.
The tray puts recording work (start/stop + export, pause, resume, quit,
hotkey presses) on the main lane, and everything else (open a folder, the
settings dialog, upload/retry/cancel, copy a link) on another, so those still
answer while a long export runs.
"""

from __future__ import annotations

import queue as queue_mod
import threading
from collections.abc import Callable

MAIN_LANE = "main"


class _Lane:
    def __init__(self, name: str, on_error: Callable[[str, Exception], None]) -> None:
        self.queue: queue_mod.Queue[tuple[str, Callable[[], None]] | None] = queue_mod.Queue()
        self._on_error = on_error
        suffix = "" if name == MAIN_LANE else f"-{name}"
        self.thread = threading.Thread(target=self._loop, name=f"traycap-actions{suffix}", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            job = self.queue.get()
            if job is None:
                return
            name, fn = job
            try:
                fn()
            except Exception as exc:
                self._on_error(name, exc)
            finally:
                self.queue.task_done()


class ActionRunner:
    """Runs posted work one at a time per lane, each lane on its own thread; errors go to `on_error`."""

    def __init__(self, on_error: Callable[[str, Exception], None]) -> None:
        self._on_error = on_error
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()
        self._lane(MAIN_LANE)

    def _lane(self, name: str) -> _Lane:
        with self._lock:
            lane = self._lanes.get(name)
            if lane is None:
                lane = self._lanes[name] = _Lane(name, self._on_error)
            return lane

    def post(self, name: str, fn: Callable[[], None], *, lane: str = MAIN_LANE) -> None:
        self._lane(lane).queue.put((name, fn))

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until everything posted so far ran, on every lane (tests)."""
        with self._lock:
            lanes = list(self._lanes.values())
        marks = []
        for lane in lanes:
            done = threading.Event()
            lane.queue.put(("drain", done.set))
            marks.append(done)
        return all(done.wait(timeout) for done in marks)

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            lanes = list(self._lanes.values())
        for lane in lanes:
            lane.queue.put(None)
        for lane in lanes:
            if threading.current_thread() is not lane.thread:
                lane.thread.join(timeout)
