"""PidLock: one holder at a time, pid recorded, dropped when the holder dies (even SIGKILL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from traycap.storage.filelock import PidLock


def test_second_holder_is_refused_until_release(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    first, second = PidLock(path), PidLock(path)
    assert first.try_acquire()
    assert first.try_acquire()  # re-entrant for the same object
    assert not second.try_acquire()
    assert first.holder_pid() == os.getpid()
    assert PidLock.is_held(path)
    first.release()
    assert not PidLock.is_held(path)
    assert second.try_acquire()
    second.release()


def test_lock_of_a_killed_process_is_free(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    code = (
        "import sys, pathlib; from traycap.storage.filelock import PidLock;"
        f"l = PidLock(pathlib.Path({str(path)!r})); assert l.try_acquire(); print('held', flush=True);"
        "sys.stdin.read()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        assert PidLock.is_held(path)
        assert PidLock(path).holder_pid() == proc.pid
    finally:
        proc.kill()  # SIGKILL; TerminateProcess on Windows
        proc.wait(timeout=10)
    assert not PidLock.is_held(path)
    assert PidLock(path).try_acquire()
