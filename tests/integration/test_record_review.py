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


def test_under_nohup_sighup_is_still_ignored(home: Path) -> None:
    # `nohup traycap record ... &` must keep recording when the terminal closes.
    import os
    import subprocess
    import sys
    import threading

    from tests.support.recording import RecordProcess, jsonl, wait_for

    with xvfb(320, 240) as display:
        env = dict(display.env, TRAYCAP_HOME=str(home))
        proc = subprocess.Popen([sys.executable, "-m", "traycap", "record", "--duration", "60"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
        rec = RecordProcess(proc=proc, home=home)
        rec._pump_thread = threading.Thread(target=rec._pump, daemon=True)
        rec._pump_thread.start()
        sid = rec.wait_ready()
        frames = home / "sessions" / sid / "video" / "frames.jsonl"
        os.kill(proc.pid, signal.SIGHUP)
        at_hup = len(jsonl(frames))
        wait_for("frames recorded after the ignored SIGHUP", lambda: len(jsonl(frames)) >= at_hup + 15, 10)
        proc.send_signal(signal.SIGINT)
        code, out, err = rec.finish()
    assert code == 0, err
    assert out.strip() == sid
    assert (home / "sessions" / sid / ".exported").exists()
