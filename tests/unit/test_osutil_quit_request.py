"""traycap.osutil.quit_request: another process asks the tray to quit (SIGTERM on POSIX, a named event on Windows).

The Windows branch runs here under the Windows CPython (the Windows bench) and, through the
installed traycap.exe, in tests/integration/test_windows_installer.py (the installer's upgrade).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from traycap.osutil import quit_request


def test_one_event_per_data_dir(tmp_path: Path) -> None:
    a, b = quit_request.event_name(tmp_path / "a"), quit_request.event_name(tmp_path / "b")
    assert a.startswith("Local\\traycap-quit-") and b.startswith("Local\\traycap-quit-")
    assert a != b
    assert quit_request.event_name(tmp_path / "a") == a
    assert "\\" not in a.removeprefix("Local\\")  # only the namespace may hold a backslash


def test_a_request_reaches_the_tray_of_that_data_dir(tmp_path: Path) -> None:
    if sys.platform == "win32":
        asked = threading.Event()
        stop = quit_request.listen(tmp_path, asked.set)
        try:
            assert quit_request.request_quit(tmp_path / "elsewhere", None) is False  # nobody listens there
            assert quit_request.request_quit(tmp_path, None) is True
            assert asked.wait(10)
        finally:
            stop()
        assert quit_request.request_quit(tmp_path, None) is False  # stopped listening: the event is gone
        return
    # POSIX: the request is SIGTERM to the pid the tray wrote in its lock file.
    assert quit_request.listen(tmp_path, lambda: None)() is None  # nothing to listen to
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import signal, sys\n"
         "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
         "print('ready', flush=True)\n"
         "signal.pause()\n"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert quit_request.request_quit(tmp_path, child.pid) is True
        assert child.wait(timeout=10) == 7  # its SIGTERM handler ran: a graceful quit, not a kill
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert quit_request.request_quit(tmp_path, child.pid) is False  # gone
    assert quit_request.request_quit(tmp_path, None) is False
