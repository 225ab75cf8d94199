"""traycap.osutil.signals: which signals stop traycap, and that ignored ones stay ignored."""

from __future__ import annotations

import signal
import sys
from types import FrameType

from traycap.osutil import signals


def _noop(_signum: int, _frame: FrameType | None) -> None:
    return None


def test_stop_signals_of_this_os() -> None:
    if sys.platform == "win32":  # Ctrl-C, Ctrl-Break
        expected = [signal.SIGINT, signal.SIGBREAK]
    else:  # kill / logout, Ctrl-C, terminal closed
        expected = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]
    assert signals.stop_signals() == expected


def test_handlers_are_installed_then_restored() -> None:
    before = {sig: signal.getsignal(sig) for sig in signals.stop_signals()}
    with signals.stop_signals_caught(_noop):
        for sig in signals.stop_signals():
            assert signal.getsignal(sig) is _noop
    assert {sig: signal.getsignal(sig) for sig in signals.stop_signals()} == before


def test_an_ignored_signal_stays_ignored() -> None:
    sig = signals.stop_signals()[-1]  # SIGHUP (nohup) or SIGBREAK
    old = signal.signal(sig, signal.SIG_IGN)
    try:
        previous = signals.install_stop_handler(_noop)
        try:
            assert signal.getsignal(sig) is signal.SIG_IGN
            assert sig not in previous
        finally:
            signals.restore(previous)
    finally:
        signal.signal(sig, old)
