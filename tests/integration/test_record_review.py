"""Review findings in `traycap record`, on a real X server."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.display import xvfb
from tests.support.recording import start_record

pytestmark = pytest.mark.x11


def test_a_closed_terminal_sighup_stops_and_exports_like_ctrl_c(home: Path) -> None:
    # Closing the terminal window that runs `traycap record` sends SIGHUP: the recording
    # used to die unexported (left for the next start's recovery).
    with xvfb(320, 240) as display:
        rec = start_record(display.env, home, "--duration", "60")
        sid = rec.wait_ready()
        rec.proc.send_signal(signal.SIGHUP)
        code, out, err = rec.finish()
    assert code == 0, err
    assert out.strip() == sid
    assert (home / "sessions" / sid / ".exported").exists()
