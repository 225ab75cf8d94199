"""`traycap quit`: ask the running tray to quit and wait for it (what the Windows installer runs first)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from traycap.clock import FakeClock
from traycap.commands import quit_cmd
from traycap.context import Context
from traycap.osutil import quit_request
from traycap.storage.filelock import PidLock


def _args(timeout: float | None = None) -> argparse.Namespace:
    return argparse.Namespace(timeout=timeout)


def test_nothing_running_exits_3(ctx: Context, capsys: pytest.CaptureFixture[str]) -> None:
    assert quit_cmd.run(_args(), ctx) == quit_cmd.EXIT_NOT_RUNNING == 3
    assert capsys.readouterr().out == "traycap is not running\n"


def test_asks_the_holder_and_waits_until_it_let_go(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tray = PidLock(ctx.paths.instance_lock)  # the running tray (two PidLocks exclude each other)
    assert tray.try_acquire()
    asked: list[tuple[Path, int | None]] = []

    def request(root: Path, pid: int | None) -> bool:
        asked.append((root, pid))
        return True

    clock = ctx.clock
    assert isinstance(clock, FakeClock)
    real_sleep = clock.sleep

    def sleep(seconds: float, wake: object = None) -> bool:
        if len(clock.sleeps) == 3:  # the tray takes a few polls to shut down
            tray.release()
        return real_sleep(seconds)

    monkeypatch.setattr(quit_request, "request_quit", request)
    monkeypatch.setattr(clock, "sleep", sleep)
    assert quit_cmd.run(_args(), ctx) == 0
    assert asked == [(ctx.paths.root, os.getpid())]  # the pid the tray wrote in its lock file
    assert capsys.readouterr().out == f"traycap (process {os.getpid()}) has quit\n"


@pytest.mark.parametrize(("delivered", "message"), [
    (True, "was asked to quit but is still running after 5 s"),
    (False, "it does not listen for the request (an older version?); quit it from its menu"),
])
def test_a_tray_that_does_not_quit_or_listen_is_reported(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], delivered: bool, message: str
) -> None:
    tray = PidLock(ctx.paths.instance_lock)
    assert tray.try_acquire()
    monkeypatch.setattr(quit_request, "request_quit", lambda root, pid: delivered)
    try:
        assert quit_cmd.run(_args(timeout=5), ctx) == 1
    finally:
        tray.release()
    assert message in capsys.readouterr().err
