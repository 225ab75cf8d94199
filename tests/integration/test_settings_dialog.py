"""The Upload settings dialog as a user drives it: a real process on Xvfb, typed into with xdotool.

The dialog writes its visible state (inline errors, status line, widget positions) to
TRAYCAP_SETTINGS_STATE after every change; the test reads that to find the fields and
to check what the red labels say. Screenshots are saved in the test's tmp dir
(TRAYCAP_UPDATE_DOCS_IMG=1 also copies one to docs/img/settings.png).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.display import XDisplay, xvfb
from tests.support.s3servers import moto_server, rclone_server
from tests.support.sessions import write_config
from tests.support.waiting import wait_until
from tests.support.wayland import bus_without_activation
from traycap.clock import SystemClock
from traycap.models import MIB, UploadConfig
from traycap.paths import Paths
from traycap.storage.atomic import read_json
from traycap.storage.keyring_memory import KeyringMemory
from traycap.ui.settings import check_connection

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


class Dialog:
    def __init__(self, display: XDisplay, home: Path, tmp: Path, extra_env: dict[str, str] | None = None) -> None:
        self.display = display
        self.tmp = tmp
        self.state_path = tmp / "settings-state.json"
        env = {**display.env, **(extra_env or {})}
        env["TRAYCAP_HOME"] = str(home)
        env["TRAYCAP_SETTINGS_STATE"] = str(self.state_path)
        self.proc = subprocess.Popen([sys.executable, "-m", "traycap.ui.settings"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_until("the settings dialog", lambda: self.state_path.exists(), 30)
        self.seq = 0

    def state(self) -> dict[str, Any]:
        data = read_json(self.state_path)
        assert isinstance(data, dict)
        return data

    def center(self, widget: str) -> tuple[int, int]:
        x, y, w, h = self.state()["widgets"][widget]
        return x + w // 2, y + h // 2

    def click(self, widget: str) -> None:
        page = self.state()["pageOf"].get(widget)
        if page is not None and self.state()["page"] != page:  # on another tab: click its header first
            x, y = self.center(f"tab:{page}")
            self.display.run("xdotool", "mousemove", str(x), str(y), "click", "1")
            wait_until(f"the {page} tab", lambda: self.state()["page"] == page, 10)
        x, y = self.center(widget)
        self.display.run("xdotool", "mousemove", str(x), str(y), "click", "1")

    def type_into(self, widget: str, text: str) -> None:
        self.click(widget)
        self.display.run("xdotool", "key", "ctrl+slash", "BackSpace")  # Tk entries: select all, delete
        self.display.run("xdotool", "type", "--delay", "2", text)

    def press(self, button: str, until: str) -> dict[str, Any]:
        """Click a button and wait until the status line contains `until`."""
        self.click(button)
        return wait_until(f"status {until!r}", lambda: (s := self.state()) and until in s["status"] and s, 30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with xvfb(1024, 800) as d:
        yield d


@pytest.mark.x11
@pytest.mark.s3
def test_fill_validate_test_connection_and_save(display: XDisplay, tmp_path: Path, home: Path) -> None:
    memory = KeyringMemory(Paths(root=home, logs=home / "logs").keyring_unanswered, SystemClock())
    memory.remember("the keyring did not answer within 5 s")  # at a start today
    with moto_server() as s3:
        dialog = Dialog(display, home, tmp_path)
        try:
            # Save with nothing filled in: inline errors next to the fields, nothing written.
            state = dialog.press("save", "Not saved")
            assert state["errors"]["bucket"] == "a bucket name is required"
            assert state["errors"]["region"] == "a region is required (for example us-east-1)"
            assert not (home / "upload-config.json").exists()
            display.screenshot(str(tmp_path / "settings-errors.png"))

            # Fill everything but the bucket: only the bucket stays red.
            dialog.type_into("region", s3.region)
            dialog.type_into("endpointUrl", s3.endpoint_url)
            dialog.click("pathStyle")
            dialog.type_into("accessKeyId", s3.access_key)
            dialog.type_into("secretAccessKey", s3.secret_key)
            dialog.type_into("partSizeMiB", "8")
            dialog.click("autoUpload")
            dialog.type_into("fps", "12")
            dialog.click("save")
            state = wait_until("only the bucket error", lambda: (s := dialog.state()) and
                               set(s["errors"]) == {"bucket"} and s, 15)
            assert state["errors"]["bucket"] == "a bucket name is required"

            dialog.type_into("bucket", s3.bucket)
            state = dialog.press("test", "Connection OK")
            assert state["status"] == f"✓ Connection OK: bucket {s3.bucket} is reachable with these credentials"
            assert state["errors"] == {}
            shot = tmp_path / "settings-ok.png"
            display.screenshot(str(shot))
            if os.environ.get("TRAYCAP_UPDATE_DOCS_IMG"):
                shutil.copy(shot, DOCS_IMG / "settings.png")

            dialog.click("save")
            assert dialog.proc.wait(timeout=15) == 0  # Save closes the dialog
        finally:
            dialog.close()

        path = home / "upload-config.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert memory.recall() is None  # issue 24: Save makes the next start ask the keyring again
        saved = UploadConfig.from_json(read_json(path))
        assert saved == s3.config(partSizeBytes=8 * MIB, autoUpload=True)
        settings = json.loads((home / "app-settings.json").read_text())
        assert settings["fps"] == 12 and settings["hotkey"] == "<ctrl>+<shift>+r"
        assert s3.secret_key not in (dialog.proc.stdout.read().decode() if dialog.proc.stdout else "")


@pytest.mark.x11
def test_record_shortcut_takes_the_next_key_combination(display: XDisplay, tmp_path: Path, home: Path) -> None:
    """Issue 18: the hotkey field wanted pynput syntax; now it shows "Ctrl+Shift+R", and "Record shortcut"
    listens for the next combination pressed (a modifier alone waits for the key, Esc keeps the old one)."""
    write_config(Paths(root=home, logs=home / "logs"))  # upload settings that Save accepts as they are
    dialog = Dialog(display, home, tmp_path)
    try:
        assert dialog.state()["values"]["hotkey"] == "Ctrl+Shift+R"  # as people write it, not <ctrl>+<shift>+r
        dialog.press("recordShortcut", "Press the new start/stop shortcut")
        display.run("xdotool", "key", "Escape")
        wait_until("the old shortcut kept", lambda: "unchanged" in dialog.state()["status"], 10)
        assert dialog.state()["values"]["hotkey"] == "Ctrl+Shift+R"
        dialog.press("recordShortcut", "Press the new start/stop shortcut")
        # Modifiers first, as hands do. (Not Ctrl+Alt+F1..F12: the X server keeps those for switching consoles.)
        display.run("xdotool", "keydown", "ctrl", "keydown", "alt")
        display.run("xdotool", "key", "p")
        display.run("xdotool", "keyup", "alt", "keyup", "ctrl")
        state = wait_until("the new shortcut in the field", lambda: (s := dialog.state()) and
                           s["values"]["hotkey"] == "Ctrl+Alt+P" and s, 10)
        assert state["status"] == "Shortcut Ctrl+Alt+P: Save keeps it."
        display.screenshot(str(tmp_path / "settings-shortcut.png"))
        dialog.click("save")
        assert dialog.proc.wait(timeout=15) == 0
    finally:
        dialog.close()
    assert json.loads((home / "app-settings.json").read_text())["hotkey"] == "<ctrl>+<alt>+p"


@pytest.mark.s3
def test_test_connection_reports_a_wrong_secret_readably(tmp_path: Path) -> None:
    with rclone_server(tmp_path / "rclone") as s3:
        ok, text = check_connection(s3.config(secretAccessKey="wrong-secret-000000"))
        assert not ok
        assert "traceback" not in text.lower() and "botocore" not in text.lower()
        assert "secret" in text.lower() or "signature" in text.lower() or "rejected" in text.lower(), text
        ok, text = check_connection(s3.config(bucket="no-such-bucket"))
        assert not ok and "no-such-bucket" in text, text
        assert check_connection(s3.config()) == (
            True, f"Connection OK: bucket {s3.bucket} is reachable with these credentials",
        )


@pytest.mark.x11
def test_an_open_dialog_follows_config_set_from_a_terminal(display: XDisplay, tmp_path: Path, home: Path) -> None:
    import time

    from tests.support.cli import run

    assert run(home, "config", "set", "bucket=first-bucket", "region=us-east-1", "accessKeyId=AKIAFIRST",
               "secretAccessKey=first-secret-1234").returncode == 0
    dialog = Dialog(display, home, tmp_path)
    try:
        dialog.type_into("region", "eu-west-1")  # an unsaved edit
        wait_until("the typed region", lambda: dialog.state()["values"]["region"] == "eu-west-1", 10)
        proc = run(home, "config", "set", "bucket=second-bucket", "fps=20")
        assert proc.returncode == 0, proc.stderr
        written = time.monotonic()
        state = wait_until("the dialog to show the new values and say so",
                           lambda: (s := dialog.state())["values"]["bucket"] == "second-bucket"
                           and "changed by another program" in s["status"] and s, 2.0)
        assert time.monotonic() - written <= 2.0
        assert state["values"]["fps"] == "20" and state["values"]["region"] == "eu-west-1"
        assert "Region" in state["status"]  # the user's edit that now differs from the file is named
        dialog.press("save", "Saved")
        saved = json.loads((home / "upload-config.json").read_text())
        assert (saved["bucket"], saved["region"]) == ("second-bucket", "eu-west-1")
        assert json.loads((home / "app-settings.json").read_text())["fps"] == 20
    finally:
        dialog.close()


@pytest.mark.x11
def test_on_wayland_the_recording_tab_says_how_to_bind_the_keys(display: XDisplay, tmp_path: Path,
                                                                 home: Path) -> None:
    """Issue 21: on a Wayland desktop without the GlobalShortcuts portal the dialog says exactly how to bind
    `traycap toggle` on GNOME and KDE, has no shortcut field, and offers the Wayland choices. (Tk itself runs on
    the X server, as it does through XWayland; a private bus with no portal on it plays a desktop without one.)"""
    with bus_without_activation(tmp_path / "bus") as bus:
        env = {"WAYLAND_DISPLAY": "wayland-9", "XDG_SESSION_TYPE": "wayland", "DBUS_SESSION_BUS_ADDRESS": bus}
        dialog = Dialog(display, home, tmp_path, extra_env=env)
        try:
            state = dialog.state()
            keys = state["texts"]["keys"]
            assert "GNOME: Settings > Keyboard > View and Customize Shortcuts > Custom Shortcuts > +" in keys
            assert "KDE Plasma: System Settings > Keyboard > Shortcuts > Add New > Command or Script" in keys
            assert " toggle\"" in keys and " pause\"" in keys
            assert "pointer drawn in" in state["texts"]["whatIsRecorded"]
            assert "hotkey" not in state["values"] and "recordShortcut" not in state["widgets"]
            assert state["values"]["waylandSource"] == "screen" and state["values"]["waylandInput"] == "none"
            dialog.click("waylandInput")  # the Recording tab, shown
            wait_until("the Recording tab", lambda: dialog.state()["page"] == "Recording", 10)
            display.run("xdotool", "key", "Escape")  # close the drop-down the click opened
            shot = tmp_path / "settings-wayland.png"
            display.screenshot(str(shot))
            if os.environ.get("TRAYCAP_UPDATE_DOCS_IMG"):
                shutil.copy(shot, DOCS_IMG / "settings-wayland.png")
        finally:
            dialog.close()
