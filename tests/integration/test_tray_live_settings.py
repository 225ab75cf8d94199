"""Live settings in the running tray: `traycap config set` in a terminal changes the tray's menu,
icon and hotkey within 2 s, and the next recording uses the new frame rate (Xvfb, trayer, D-Bus,
dunst as in test_tray_gui.py; no S3 server needed: a share link is signed locally)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.support.sessions import make_session_dir
from tests.support.tray_host import TrayHost, Win, tray_host, wait_until
from traycap.models import AppSettings, UploadState, UploadStatus
from traycap.paths import Paths
from traycap.storage.config_store import save_settings
from traycap.storage.state_store import StateStore
from traycap.ui import icons

LIVE_WITHIN_S = 2.0
SID = "20250101-090000-aaaaaa"


def log_text(home: Path) -> str:
    path = home / "logs" / "traycap.log"
    return path.read_text(errors="replace") if path.exists() else ""


def last_menu(home: Path) -> str:
    """The menu the tray last handed to pystray, as its DEBUG log line describes it."""
    lines = [line for line in log_text(home).splitlines() if "menu: " in line and " | " in line]
    return lines[-1].split("menu: ", 1)[1] if lines else ""


def orange_pixels(host: TrayHost, icon: Win, name: str) -> int:
    with Image.open(host.screenshot(name)) as shot:
        crop = shot.convert("RGB").crop((icon.x, icon.y, icon.x + icon.w, icon.y + icon.h))
    px = crop.load()
    assert px is not None
    orange = icons.ATTENTION_ORANGE[:3]
    return sum(1 for y in range(crop.height) for x in range(crop.width)
               if all(abs(int(px[x, y][i]) - orange[i]) <= 40 for i in range(3)))  # type: ignore[index]


def config_set(host: TrayHost, home: Path, *assignments: str) -> float:
    """`traycap config set` as a user types it in another terminal; when it returned (the file is written)."""
    proc = subprocess.run([sys.executable, "-m", "traycap", "config", "set", *assignments],
                          env={**host.env, "TRAYCAP_HOME": str(home)}, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return time.monotonic()


@pytest.mark.gui
@pytest.mark.x11
@pytest.mark.slow
def test_config_set_from_the_cli_changes_the_running_trays_menu_icon_and_hotkey_within_2_s(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = Paths(root=home, logs=home / "logs").ensure()
    make_session_dir(paths, SID, created_ms=int(time.time() * 1000) - 3_600_000, exported=True)
    StateStore(paths).write(UploadState(sessionId=SID, status=UploadStatus.DONE, createdAt=1, updatedAt=1,
                                        s3Key=f"sessions/{SID}.zip"))
    save_settings(paths.settings, AppSettings(fps=5, screenshotIntervalS=1.0))

    with tray_host(tmp_path / "desktop") as host:
        proc = host.spawn(host.traycap_argv("--log-level", "DEBUG"), home, "traycap.out")
        try:
            icon = host.wait_for_icon("traycap")
            wait_until("traycap is ready", lambda: "traycap is ready" in log_text(home), 30)
            # No upload settings: the attention badge, the reason in the menu, Copy share link greyed.
            wait_until("the attention badge", lambda: orange_pixels(host, icon, "before.png") > 20, 10)
            before = last_menu(home)
            assert "(Upload settings needed: no upload settings yet)" in before, before
            assert "(Copy share link) | Open folder" in before, before

            written = config_set(host, home, "bucket=traycap-test", "region=us-east-1", "accessKeyId=AKIATRAYCAP",
                                 "secretAccessKey=not-a-real-secret-0123", "endpointUrl=http://127.0.0.1:9",
                                 "pathStyle=true")
            menu = wait_until("the menu without 'Upload settings needed'",
                              lambda: "Upload settings needed" not in (m := last_menu(home)) and m, LIVE_WITHIN_S)
            wait_until("the icon without the attention badge",
                       lambda: orange_pixels(host, icon, "after.png") == 0, written + LIVE_WITHIN_S - time.monotonic())
            assert "Copy share link | Open folder" in menu and "(Copy share link)" not in menu, menu
            assert "tooltip: traycap: idle" in log_text(home)

            # The recorder's settings: a new hotkey is registered and shown, the next recording uses the new fps.
            config_set(host, home, "hotkey=<alt>+<f9>", "fps=7")
            wait_until("the new hotkey registered",
                       lambda: "hotkey <alt>+<f9> registered" in log_text(home), LIVE_WITHIN_S)
            wait_until("the new hotkey in the menu",
                       lambda: last_menu(home).startswith("Start recording (Alt+F9) |"), LIVE_WITHIN_S)
            known = set(os.listdir(paths.sessions))
            host.key("alt+F9")
            sid = wait_until("a recording started by the new hotkey",
                             lambda: sorted(set(os.listdir(paths.sessions)) - known), 30)[0]
            frames = paths.session_dir(sid) / "video" / "frames.jsonl"
            wait_until("a few frames", lambda: frames.exists() and len(frames.read_text().splitlines()) >= 2, 30)
            host.key("alt+F9")
            wait_until("the export", lambda: paths.exported_marker(sid).exists(), 60)
            meta = json.loads(paths.meta(sid).read_text())
            assert meta["recorder"]["fps"] == 7
        finally:
            host.screenshot("last.png")
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
