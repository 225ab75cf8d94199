"""The signals that mean "stop cleanly", per OS, and one way to catch them for a while.

POSIX: SIGTERM (kill, logout, systemd), SIGINT (Ctrl-C), SIGHUP (the terminal closed).
Windows: SIGINT (Ctrl-C) and SIGBREAK (Ctrl-Break, and what a console's close sends);
there SIGTERM is never delivered from outside (TerminateProcess kills at once), so
the tray's own Quit is the graceful way out.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType

Handler = Callable[[int, FrameType | None], None]


def stop_signals() -> list[signal.Signals]:
    if sys.platform == "win32":
        return [signal.SIGINT, signal.SIGBREAK]
    return [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]


def install_stop_handler(handler: Handler) -> dict[signal.Signals, object]:
    """Route every stop signal to `handler`; returns the handlers it replaced.

    A signal the process was started with ignored stays ignored: `nohup` (SIGHUP) or a
    shell's `&` (SIGINT) asked for that.
    """
    previous: dict[signal.Signals, object] = {}
    for sig in stop_signals():
        current = signal.getsignal(sig)
        if current is signal.SIG_IGN:
            continue
        signal.signal(sig, handler)
        previous[sig] = current
    return previous


def restore(previous: dict[signal.Signals, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]  # exactly what getsignal returned


@contextlib.contextmanager
def stop_signals_caught(handler: Handler) -> Iterator[None]:
    """Stop signals go to `handler` inside the block, to whatever had them before afterwards."""
    previous = install_stop_handler(handler)
    try:
        yield
    finally:
        restore(previous)
