"""A click on a screen that does not change is recorded when it happens.

pynput hears X11 input through the RECORD extension, whose data the X server sends only when it
flushes output to some client. A DAMAGE-driven capture of a still screen asks the server for nothing
(media/capture/xdamage.py), so an otherwise idle Xvfb held a click until the next drawing anywhere,
and the click got that later time (the replay page then drew it on the wrong frame). The capture's
round trip at every frame keeps the server flushing; without it this test fails: the click does not
reach actions.jsonl while the screen stays still and xdotool stays connected.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.display import XDisplay, have_xvfb, xvfb
from tests.support.recording import start_record
from tests.support.waiting import stop_process, wait_until

pytestmark = [pytest.mark.x11, pytest.mark.skipif(not have_xvfb(), reason="needs Xvfb and xdotool")]

FPS = 10
HOLD_S = 6.0  # xdotool stays connected this long after its click


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with xvfb(320, 240) as d:
        d.run("xsetroot", "-solid", "#303030")
        yield d


def test_a_click_on_a_still_screen_is_recorded_at_once_with_its_own_time(display: XDisplay, tmp_path: Path) -> None:
    rec = start_record(display.env, tmp_path / "home", "--fps", str(FPS))
    rec.wait_ready()
    clicker: subprocess.Popen[bytes] | None = None
    try:
        wait_until("the screen recorded as still", lambda: rec.recorded_ms() > 1500, 30)  # repeats only
        before = time.monotonic()
        # xdotool clicks, then stays connected and silent: nothing on this display draws or asks the X
        # server anything from here, but the recorder.
        clicker = subprocess.Popen(["xdotool", "mousemove", "50", "60", "click", "1", "sleep", str(HOLD_S)],
                                   env=display.env)
        [click] = wait_until("the click in actions.jsonl", lambda: _clicks(rec.actions()), HOLD_S - 1)
        session = json.loads((rec.session_dir / "session-meta.json").read_text())
        at = session["recorder"]["timeBase"]["monotonicOriginS"] + click["t"] / 1000
        # Heard with its own time: xdotool's start, a frame interval, a margin for a loaded machine.
        assert before <= at <= before + 1.0, (click, before)
    finally:
        if clicker is not None:
            stop_process(clicker)
        rec.proc.terminate()
        code, _, err = rec.finish()
    assert code == 0, err


def _clicks(actions: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    return [a for a in actions if a["type"] == "mouse_down"] or None
