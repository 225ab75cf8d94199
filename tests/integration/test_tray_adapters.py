"""The tray's small adapters: backend choice, the no-menu failure, xdg-open, the clipboard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.display import xvfb
from tests.support.waiting import wait_until
from traycap.errors import UiError
from traycap.ui import clipboard, desktop
from traycap.ui.tray import backend_candidates


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({}, "linux", ["gtk", "appindicator"]),
        ({"XDG_CURRENT_DESKTOP": "XFCE"}, "linux", ["gtk", "appindicator"]),
        ({"XDG_CURRENT_DESKTOP": "ubuntu:GNOME"}, "linux", ["appindicator", "gtk"]),
        ({"XDG_CURRENT_DESKTOP": "sway", "WAYLAND_DISPLAY": "wayland-1"}, "linux", ["appindicator", "gtk"]),
        ({"XDG_CURRENT_DESKTOP": "KDE", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux",
         ["appindicator", "gtk"]),  # Wayland trays host StatusNotifier items only (issue 21)
        ({"XDG_CURRENT_DESKTOP": "XFCE", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "x11"}, "linux",
         ["gtk", "appindicator"]),
        ({"PYSTRAY_BACKEND": "xorg"}, "linux", ["xorg"]),  # asked for explicitly: respected
        ({}, "darwin", ["darwin"]),
        ({}, "win32", ["win32"]),
    ],
)
def test_backend_candidates_never_include_xorg_unless_asked(
    env: dict[str, str], platform: str, expected: list[str],
) -> None:
    assert backend_candidates(env, platform) == expected


@pytest.mark.x11
def test_no_backend_with_a_menu_fails_naming_the_packages(tmp_path: Path) -> None:
    # A desktop without PyGObject: a `gi` package that cannot be imported shadows the real one.
    fake = tmp_path / "no-pygobject" / "gi"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("No module named \'gi\' (PyGObject is not installed)")\n')
    with xvfb(640, 480) as d:
        env = dict(d.env)
        env["TRAYCAP_HOME"] = str(tmp_path / "home")
        env["PYTHONPATH"] = os.pathsep.join([str(fake.parent), env.get("PYTHONPATH", "")])
        env.pop("PYSTRAY_BACKEND", None)
        proc = subprocess.run([sys.executable, "-m", "traycap"], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
    assert proc.returncode == 1
    assert "traycap: No tray backend with a menu could be loaded (gtk: " in proc.stderr
    assert "appindicator: " in proc.stderr and "xorg" not in proc.stderr
    for package in ("gir1.2-gtk-3.0", "libgirepository1.0-dev", "libcairo2-dev", "PyGObject"):
        assert package in proc.stderr, package
    assert "Traceback" not in proc.stderr


def test_open_folder_runs_xdg_open_detached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = tmp_path / "opened.txt"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "xdg-open"
    fake.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {record}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    target = tmp_path / "sessions"
    target.mkdir()
    desktop.open_folder(target)
    assert wait_until("xdg-open to run", lambda: record.exists() and record.read_text(), 10) == str(target)


def test_open_folder_errors_are_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UiError, match="does not exist"):
        desktop.open_folder(tmp_path / "gone")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UiError) as info:
        desktop.open_folder(tmp_path)
    assert "xdg-open is not installed" in info.value.message and info.value.hint == "install xdg-utils"


@pytest.mark.x11
def test_clipboard_round_trip_through_xclip(monkeypatch: pytest.MonkeyPatch) -> None:
    link = "http://127.0.0.1:9000/traycap-test/sessions/s1.zip?X-Amz-Signature=abc&X-Amz-Expires=604800"
    with xvfb(640, 480) as d:
        monkeypatch.setenv("DISPLAY", d.name)
        clipboard.copy_text(link)
        assert clipboard.paste_text() == link
