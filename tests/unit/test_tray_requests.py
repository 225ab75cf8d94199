"""ui/tray_requests.py: `traycap toggle` / `traycap pause` reach the running tray through its data dir and get
its answer (issue 21: the keys a person binds on Wayland). The tray's end in a real process:
tests/integration/test_wayland_record.py; the tray's dispatching: tests/unit/test_tray_app.py."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tests.support.platforms import WINDOWS
from traycap.clock import FakeClock, SystemClock
from traycap.ui.tray_requests import (
    ANSWER_TIMEOUT_S,
    STALE_S,
    RequestInbox,
    TrayAction,
    TrayAnswer,
    await_answer,
    requests_dir,
    send,
)


def test_a_request_is_taken_once_in_order_and_answered(tmp_path: Path) -> None:
    clock = FakeClock()
    first = send(tmp_path, TrayAction.TOGGLE, clock.now_ms())
    clock.advance(0.01)
    second = send(tmp_path, TrayAction.PAUSE, clock.now_ms())
    path = requests_dir(tmp_path) / f"{first.id}.json"
    assert WINDOWS or stat.S_IMODE(path.stat().st_mode) == 0o600  # Windows: the data dir's ACL
    assert WINDOWS or stat.S_IMODE(requests_dir(tmp_path).stat().st_mode) == 0o700
    inbox = RequestInbox(tmp_path)
    taken = inbox.take(clock.now_ms())
    assert [(r.id, r.action) for r in taken] == [(first.id, TrayAction.TOGGLE), (second.id, TrayAction.PAUSE)]
    assert inbox.take(clock.now_ms()) == []  # taken means removed: never acted on twice
    inbox.answer(taken[0], TrayAnswer(True, "starting a recording"))
    answer = await_answer(tmp_path, first, wait=clock.sleep, monotonic=clock.monotonic)
    assert answer == TrayAnswer(True, "starting a recording")
    assert list(requests_dir(tmp_path).iterdir()) == []  # the answer is collected, nothing is left


def test_the_answer_comes_while_the_command_waits(tmp_path: Path) -> None:
    """A real tray thread and a real command wait: the answer is there within the poll interval."""
    clock = SystemClock()
    inbox = RequestInbox(tmp_path)
    stop = threading.Event()

    def tray() -> None:
        while not stop.is_set():
            for request in inbox.take(clock.now_ms()):
                inbox.answer(request, TrayAnswer(True, f"did {request.action.value}"))
            stop.wait(0.2)

    thread = threading.Thread(target=tray)
    thread.start()
    try:
        t0 = clock.monotonic()
        request = send(tmp_path, TrayAction.PAUSE, clock.now_ms())
        answer = await_answer(tmp_path, request, wait=clock.sleep, monotonic=clock.monotonic)
        assert answer == TrayAnswer(True, "did pause")
        assert clock.monotonic() - t0 < ANSWER_TIMEOUT_S
    finally:
        stop.set()
        thread.join()


def test_a_request_nobody_takes_is_withdrawn_at_the_timeout(tmp_path: Path) -> None:
    clock = FakeClock()
    request = send(tmp_path, TrayAction.TOGGLE, clock.now_ms())
    assert await_answer(tmp_path, request, wait=clock.sleep, monotonic=clock.monotonic) is None
    assert clock.monotonic() - 1000.0 >= ANSWER_TIMEOUT_S
    assert RequestInbox(tmp_path).take(clock.now_ms()) == []  # a tray that comes later does not act on it


def test_a_request_taken_at_the_timeout_still_gets_its_answer(tmp_path: Path) -> None:
    """The race at the deadline: the tray took the request just before the command gave up on it."""
    clock = FakeClock()
    request = send(tmp_path, TrayAction.TOGGLE, clock.now_ms())
    inbox = RequestInbox(tmp_path)
    sleeps = 0

    def wait(seconds: float) -> None:
        nonlocal sleeps
        sleeps += 1
        clock.advance(seconds)
        if clock.monotonic() - 1000.0 >= ANSWER_TIMEOUT_S and inbox.take(clock.now_ms()):
            inbox.answer(request, TrayAnswer(True, "stopping the recording"))

    assert await_answer(tmp_path, request, wait=wait, monotonic=clock.monotonic) == TrayAnswer(
        True, "stopping the recording")


def test_stale_and_malformed_requests_are_dropped_unanswered(tmp_path: Path) -> None:
    clock = FakeClock()
    send(tmp_path, TrayAction.TOGGLE, clock.now_ms())
    (requests_dir(tmp_path) / "1-bad.json").write_text('{"action": "format-disk", "createdAt": 1}')
    (requests_dir(tmp_path) / "2-broken.json").write_text("{not json")
    clock.advance(STALE_S + 1)  # a key pressed while no tray ran, found by a tray started later
    assert RequestInbox(tmp_path).take(clock.now_ms()) == []
    assert list(requests_dir(tmp_path).iterdir()) == []


@pytest.mark.skipif(WINDOWS or os.getuid() != 0, reason="needs root (POSIX) to make another user's file")
def test_a_request_of_another_user_is_refused(tmp_path: Path) -> None:
    clock = FakeClock()
    request = send(tmp_path, TrayAction.TOGGLE, clock.now_ms())
    os.chown(requests_dir(tmp_path) / f"{request.id}.json", 4242, 4242)
    assert RequestInbox(tmp_path).take(clock.now_ms()) == []
    assert list(requests_dir(tmp_path).iterdir()) == []


def test_answers_nobody_collected_are_dropped_after_a_minute(tmp_path: Path) -> None:
    clock = FakeClock()
    request = send(tmp_path, TrayAction.TOGGLE, clock.now_ms())
    inbox = RequestInbox(tmp_path)
    inbox.take(clock.now_ms())
    inbox.answer(request, TrayAnswer(True, "starting a recording"))
    answer_file = next(requests_dir(tmp_path).iterdir())
    mtime = answer_file.stat().st_mtime
    inbox.drop_uncollected_answers(mtime + 30)
    assert answer_file.exists()
    inbox.drop_uncollected_answers(mtime + 61)
    assert not answer_file.exists()
