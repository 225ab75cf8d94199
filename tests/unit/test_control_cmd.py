"""`traycap toggle` / `traycap pause` (commands/control_cmd.py), in-process: the answers a person sees. The tray's
side is tests/unit/test_tray_app.py; both together, in real processes: tests/integration/test_wayland_record.py."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from traycap import cli
from traycap.clock import SystemClock
from traycap.paths import INSTANCE_LOCK_FILE
from traycap.storage.filelock import PidLock
from traycap.ui.tray_requests import RequestInbox, TrayAnswer


def test_without_a_tray_it_says_so_and_fails(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("toggle", "pause"):
        assert cli.main([command]) == 1
        err = capsys.readouterr().err
        assert "traycap is not running" in err and "`traycap record`" in err
    assert not (home / "tray-requests").exists() or not list((home / "tray-requests").iterdir())


def test_the_trays_answer_is_printed(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = PidLock(home / INSTANCE_LOCK_FILE)  # a tray runs
    assert lock.try_acquire()
    inbox, stop = RequestInbox(home), threading.Event()
    answers = iter([TrayAnswer(True, "starting a recording"),
                    TrayAnswer(False, "nothing is being recorded, so there is nothing to pause or resume")])

    def tray() -> None:
        while not stop.is_set():
            for request in inbox.take(SystemClock().now_ms()):
                inbox.answer(request, next(answers))
            stop.wait(0.05)

    thread = threading.Thread(target=tray)
    thread.start()
    try:
        assert cli.main(["toggle"]) == 0
        assert capsys.readouterr().out.strip() == "traycap: starting a recording"
        assert cli.main(["pause"]) == 1
        assert "nothing is being recorded" in capsys.readouterr().err
    finally:
        stop.set()
        thread.join()
        lock.release()
