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


def test_an_owner_waits_out_a_probe_that_holds_the_lock_for_an_instant(tmp_path: Path) -> None:
    # A worker starting while `traycap upload` probes the lock must not conclude that
    # another worker runs (seen in CI: the worker exited "already run by another process").
    path = tmp_path / "x.lock"
    probe, owner = PidLock(path), PidLock(path)
    assert probe.try_acquire()
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            probe.release()  # the probe lets go while the owner is still trying

    assert owner.acquire_as_owner(wait)
    assert len(waits) == 3
    assert owner.holder_pid() == os.getpid()
    owner.release()


def test_an_owner_gives_up_when_the_lock_is_really_held(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    holder, owner = PidLock(path), PidLock(path)
    assert holder.try_acquire()
    waited: list[float] = []
    assert not owner.acquire_as_owner(waited.append)
    assert 0.4 <= sum(waited) <= 0.6  # about PROBE_GRACE_S of tries, then a clear refusal
    holder.release()
