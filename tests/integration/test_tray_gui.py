"""The tray app as a user runs it: Xvfb, trayer as the system tray, a private D-Bus session
with dunst, real xdotool clicks and keys, a real S3 server on 127.0.0.1.

Screenshots go to the test's tmp dir; TRAYCAP_UPDATE_DOCS_IMG=1 also copies the menu
shot to docs/img/tray-menu.png.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.support.s3servers import moto_server
from tests.support.sessions import make_session_dir
from tests.support.tray_host import TrayHost, Win, tray_host
from tests.support.waiting import wait_until
from traycap.clock import SystemClock
from traycap.context import make_context
from traycap.models import AppSettings, UploadStatus
from traycap.paths import Paths
from traycap.storage.config_store import save_config, save_settings
from traycap.storage.state_store import StateStore
from traycap.ui import icons

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
ITEM_OFFSET = 16  # from a GTK menu's top (or bottom) edge to the middle of its first (last) item
SETTINGS_FROM_BOTTOM = 68  # "Upload settings…": Quit, a separator, Open sessions folder, then it
RECENT_OFFSET = 42  # "Recent sessions": the first item, a separator, then it


def count_near(img: Image.Image, rgb: tuple[int, int, int], tol: int = 40) -> int:
    w, h = img.size
    px = img.load()
    assert px is not None
    return sum(
        1 for y in range(h) for x in range(w)
        if all(abs(int(px[x, y][i]) - rgb[i]) <= tol for i in range(3))  # type: ignore[index]
    )


def log_text(home: Path) -> str:
    path = home / "logs" / "traycap.log"
    return path.read_text(errors="replace") if path.exists() else ""


def wait_log(home: Path, needle: str, timeout: float = 30) -> str:
    return wait_until(f"{needle!r} in the traycap log", lambda: needle in (t := log_text(home)) and t, timeout)


def open_menu(host: TrayHost, icon: Win) -> Win:
    host.click(icon.center, button=3)
    return host.wait_for_menu()


def close_menu(host: TrayHost) -> None:
    def closed() -> bool:
        if host.popup_windows():
            host.key("Escape")  # one submenu level per press
            return False
        return True

    wait_until("the menu to close", closed, 10, interval=0.2)


def new_session_ids(paths: Paths, known: set[str]) -> list[str]:
    return sorted(set(os.listdir(paths.sessions)) - known) if paths.sessions.exists() else []


def test_no_display_is_a_readable_failure(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["TRAYCAP_HOME"] = str(tmp_path / "home")
    proc = subprocess.run([sys.executable, "-m", "traycap"], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 1
    assert "There is no display (DISPLAY is not set)" in proc.stderr
    assert "traycap record" in proc.stderr and "traycap worker" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.gui
@pytest.mark.x11
@pytest.mark.s3
@pytest.mark.slow
def test_tray_records_with_hotkey_stops_from_menu_uploads_and_notifies(tmp_path: Path) -> None:
    home = tmp_path / "home"
    paths = Paths(root=home, logs=home / "logs").ensure()
    now = int(time.time() * 1000)
    seeded = {
        "20250101-090000-aaaaaa": UploadStatus.DONE,
        "20250102-090000-bbbbbb": UploadStatus.FAILED,
        "20250103-090000-cccccc": None,
    }
    for i, (sid, status) in enumerate(seeded.items()):
        make_session_dir(paths, sid, created_ms=now - (i + 1) * 3_600_000, exported=True, state=status)
    # The failed one has used up its retries, so restore leaves it failed (attention icon).
    states = StateStore(paths)
    failed = states.read("20250102-090000-bbbbbb")
    assert failed is not None
    states.write(failed.with_(retryCount=10, maxRetries=10, lastError="The access key was rejected by S3"))
    save_settings(paths.settings, AppSettings(fps=5, screenshotIntervalS=1.0))

    with moto_server() as s3, tray_host(tmp_path / "desktop") as host:
        save_config(paths.config, s3.config(autoUpload=True))
        proc = host.spawn(host.traycap_argv("--log-level", "DEBUG"), home, "traycap.out")
        try:
            icon = host.wait_for_icon("traycap")
            wait_log(home, "traycap is ready")
            wait_log(home, "hotkey <ctrl>+<shift>+r registered")

            # The icon is docked and drawn: a failed upload shows the orange attention badge (once the queue
            # has restored the sessions, which it does after the secrets are settled, just after "ready").
            def badge() -> object:
                crop = host.crop(host.screenshot("tray-idle.png"), icon)
                return crop if count_near(crop, icons.ATTENTION_ORANGE[:3]) > 20 else None

            crop = wait_until("the attention badge on the icon", badge, 10)
            assert count_near(crop, icons.RECORD_RED[:3], tol=30) == 0

            # A second instance says so and leaves.
            second = subprocess.run(host.traycap_argv(), env={**host.env, "TRAYCAP_HOME": str(home)},
                                    capture_output=True, text=True, timeout=60, check=False)
            assert second.returncode == 0
            assert "traycap is already running" in second.stdout

            # Right-click opens the menu; hovering opens Recent sessions and a session's actions.
            menu = open_menu(host, icon)
            host.run("xdotool", "mousemove", str(menu.x + 60), str(menu.y + RECENT_OFFSET))
            wait_until("the Recent sessions submenu", lambda: len(host.popup_windows()) >= 2, 10)
            sub = min(host.popup_windows(), key=lambda w: w.x)  # opens to the left of the menu
            host.run("xdotool", "mousemove", str(sub.x + 60), str(sub.y + ITEM_OFFSET))
            wait_until("the session's action submenu", lambda: len(host.popup_windows()) >= 3, 10)
            menu_shot = host.screenshot("tray-menu.png")
            assert menu.h >= 150 and menu.w >= 200
            text = log_text(home)
            for label in ("Start recording (Ctrl+Shift+R)", "Recent sessions [", "(Upload queue: 0 pending)",
                          "(1 upload failed (see Recent sessions))", "Upload settings…", "Open sessions folder",
                          "Quit", "View | Retry | Open folder | Show error", "View | Copy share link | Open folder",
                          "Not uploaded [View | Upload | Open folder]"):
                assert label in text, label
            assert count_near(host.crop(menu_shot, menu), (60, 60, 60), tol=50) > 200  # text drawn
            assert "tooltip: traycap: needs attention: 1 upload failed" in text
            if os.environ.get("TRAYCAP_UPDATE_DOCS_IMG"):
                popups = host.popup_windows()
                left = max(0, min(w.x for w in popups) - 12)
                bottom = max(w.y + w.h for w in popups) + 12
                with Image.open(menu_shot) as full:
                    full.crop((left, 0, icon.x + icon.w + 4, bottom)).save(DOCS_IMG / "tray-menu.png")
            close_menu(host)

            # The hotkey starts a recording: a new session dir, the icon turns red.
            host.key("ctrl+shift+r")
            sid = wait_until("a new session", lambda: new_session_ids(paths, set(seeded)), 30)[0]
            frames = paths.session_dir(sid) / "video" / "frames.jsonl"
            wait_until("a few recorded frames",
                       lambda: frames.exists() and len(frames.read_text().splitlines()) >= 3, 30)
            red = wait_until("the red recording icon",
                             lambda: count_near(host.crop(host.screenshot("tray-recording.png"), icon),
                                                icons.RECORD_RED[:3], tol=30) > 100, 10)
            assert red

            # Stop from the menu (its first item is now "Stop recording").
            menu = open_menu(host, icon)
            # The line after Pause says what the recording holds (issue 21).
            held = "Stop recording (Ctrl+Shift+R) | Pause | (Recording screen, pointer, clicks, keys) | Recent sessions"
            assert held in log_text(home)
            assert "tooltip: traycap: recording" in log_text(home)
            host.screenshot("tray-menu-recording.png")
            host.click((menu.x + 40, menu.y + ITEM_OFFSET))
            wait_until("the export", lambda: paths.exported_marker(sid).exists(), 60)

            # autoUpload: the session goes up, the object matches the zip, "Upload done" on the bus.
            def done() -> bool:
                state = states.read(sid)
                return state is not None and state.status is UploadStatus.DONE

            wait_until("the upload", done, 60)
            meta = paths.meta(sid)
            assert meta.exists()
            zip_bytes = (paths.session_dir(sid) / f"{sid}.zip").read_bytes()
            assert s3.object_bytes(f"sessions/{sid}.zip") == zip_bytes
            note = host.wait_for_notification("Upload done", 30)
            assert note.app == "traycap" and sid in note.body
            assert [n.summary for n in host.notifications()].count("Upload done") == 1

            # "Upload settings…" opens the Tk dialog in its own process; the tray keeps working.
            menu = open_menu(host, icon)
            host.click((menu.x + 40, menu.y + menu.h - SETTINGS_FROM_BOTTOM))
            dialog = wait_until("the settings window", lambda: host.run(
                "xdotool", "search", "--name", "^traycap: Upload settings$").stdout.split(), 30)[0]
            geometry = host.run("xdotool", "getwindowgeometry", dialog).stdout
            x, y = (int(v) for v in geometry.split("Position: ")[1].split(" ")[0].split(","))
            host.click((x + 5, y + 5))  # no window manager: the keyboard follows the pointer
            host.key("Escape")  # the dialog's Cancel
            wait_log(home, "settings dialog closed")

            # Quit from the menu: the process ends cleanly.
            menu = open_menu(host, icon)
            host.click((menu.x + 40, menu.y + menu.h - ITEM_OFFSET))
            assert proc.wait(timeout=30) == 0
            assert "traycap stopped" in log_text(home)
        finally:
            host.screenshot("last.png")  # what the screen showed when the test ended (or failed)
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)
        if os.environ.get("TRAYCAP_UPDATE_DOCS_IMG"):
            shutil.copy(host.tmp / "tray-menu.png", tmp_path / "kept-tray-menu.png")


@pytest.mark.gui
@pytest.mark.x11
def test_ctrl_c_quits_like_quit_and_exports_the_recording(tmp_path: Path) -> None:
    """Found in review (fix: d3fdc8e): pystray resets SIGINT to "kill the process" when its GTK loop starts:
    Ctrl-C in the terminal that runs `traycap` used to drop a running recording (and an upload) on the floor."""
    home = tmp_path / "home"
    home.mkdir()
    with tray_host(tmp_path / "desktop") as host:
        proc = host.spawn(host.traycap_argv(), home, "traycap.log")
        log = tmp_path / "desktop" / "traycap.log"
        host.wait_for_icon("traycap")
        wait_until("the tray to be ready", lambda: "traycap is ready" in log.read_text(errors="replace"), 30)
        host.key("ctrl+shift+r")
        wait_until("the recording to start", lambda: "started" in log.read_text(errors="replace"), 30)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log.read_text(errors="replace")
    ctx = make_context(Paths(root=home, logs=home / "logs"), SystemClock())
    [sid] = ctx.sessions.session_ids()
    assert ctx.sessions.is_exported(sid), log.read_text(errors="replace")
    assert ctx.sessions.read_meta(sid).extra["recorder"]["endReason"] == "stopped"
