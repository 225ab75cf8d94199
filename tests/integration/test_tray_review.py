"""Review findings in the tray app, on a real desktop (Xvfb, D-Bus, dunst, trayer)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.support.recording import wait_for
from tests.support.tray_host import tray_host
from traycap.clock import SystemClock
from traycap.context import make_context
from traycap.paths import Paths

pytestmark = [pytest.mark.x11, pytest.mark.gui]


def test_ctrl_c_quits_like_quit_and_exports_the_recording(tmp_path: Path) -> None:
    # pystray resets SIGINT to "kill the process" when its GTK loop starts: Ctrl-C in the
    # terminal that runs `traycap` used to drop a running recording (and an upload) on the floor.
    home = tmp_path / "home"
    home.mkdir()
    with tray_host(tmp_path / "desktop") as host:
        proc = host.spawn(host.traycap_argv(), home, "traycap.log")
        log = tmp_path / "desktop" / "traycap.log"
        host.wait_for_icon("traycap")
        wait_for("the tray to be ready", lambda: "traycap is ready" in log.read_text(errors="replace"), 30)
        host.key("ctrl+shift+r")
        wait_for("the recording to start", lambda: "started" in log.read_text(errors="replace"), 30)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log.read_text(errors="replace")
    ctx = make_context(Paths(root=home, logs=home / "logs"), SystemClock())
    [sid] = ctx.sessions.session_ids()
    assert ctx.sessions.is_exported(sid), log.read_text(errors="replace")
    assert ctx.sessions.read_meta(sid).extra["recorder"]["endReason"] == "stopped"
