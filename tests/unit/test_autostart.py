"""Autostart: the launch command, the Exec quoting, and the Linux backend on real files in tmp dirs."""

from __future__ import annotations

import argparse
import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.platforms import posix_only
from traycap.autostart import (
    BACKEND_ENV,
    LaunchAgentAutostart,
    LaunchCommand,
    UnsupportedAutostart,
    WindowsAutostart,
    XdgAutostart,
    default_autostart,
    format_exec,
    launch_command,
    parse_exec,
    quote_exec_arg,
)
from traycap.commands import autostart_cmd
from traycap.context import Context
from traycap.errors import AutostartError, AutostartUnsupported

PY = LaunchCommand(argv=("/home/u/.local/opt/traycap-venv/bin/python", "-m", "traycap", "tray"))


# --- what autostart launches ------------------------------------------------------------------
def test_frozen_build_launches_its_own_binary_with_tray() -> None:
    cmd = launch_command(frozen=True, executable="/home/u/.local/opt/traycap/traycap", platform="linux", environ={})
    assert cmd == LaunchCommand(argv=("/home/u/.local/opt/traycap/traycap", "tray"))


def test_source_install_launches_python_dash_m_with_the_running_interpreter() -> None:
    cmd = launch_command(frozen=False, executable="/venv/bin/python3", platform="linux", environ={})
    assert cmd.argv == ("/venv/bin/python3", "-m", "traycap", "tray")
    assert cmd.env == ()


def test_traycap_home_is_carried_into_the_entry() -> None:
    cmd = launch_command(
        frozen=True, executable="/opt/t/traycap", platform="linux", environ={"TRAYCAP_HOME": "/data/tc", "HOME": "/x"}
    )
    assert cmd.env == (("TRAYCAP_HOME", "/data/tc"),)


def test_windows_prefers_the_windowed_twin_when_it_exists() -> None:
    folder = r"C:\Users\u\AppData\Local\Programs\traycap"
    exe = os.path.join(folder, "traycap.exe")
    twin = os.path.join(folder, "traycapw.exe")
    cmd = launch_command(frozen=True, executable=exe, platform="win32", environ={}, exists=lambda p: p == twin)
    assert cmd.argv == (twin, "tray")
    alone = launch_command(frozen=True, executable=exe, platform="win32", environ={}, exists=lambda p: False)
    assert alone.argv == (exe, "tray")
    py = launch_command(frozen=False, executable="C:/Py/python.exe", platform="win32", environ={},
                        exists=lambda p: p.endswith("pythonw.exe"))
    assert py.argv[0].endswith("pythonw.exe") and py.argv[1:] == ("-m", "traycap", "tray")


def test_macos_refuses_a_translocated_app_path() -> None:
    exe = "/private/var/folders/xy/T/AppTranslocation/1234/d/Traycap.app/Contents/MacOS/traycap"
    with pytest.raises(AutostartError) as info:
        launch_command(frozen=True, executable=exe, platform="darwin", environ={})
    assert "Applications" in info.value.user_text()


def test_empty_executable_is_an_error() -> None:
    with pytest.raises(AutostartError):
        launch_command(frozen=False, executable="", platform="linux", environ={})


# --- Exec= quoting ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "arg",
    ["plain", "/with space/bin", 'quote"d', "dollar$HOME", "back\\slash", "tick`x`", "100%", "semi;colon",
     "ünïcødé/путь", "", "a'b", "~tilde", "*?#()<>|&"],
)
def test_exec_quoting_round_trips(arg: str) -> None:
    command = LaunchCommand(argv=("/usr/bin/traycap", arg, "tray"))
    assert parse_exec(format_exec(command)) == ("/usr/bin/traycap", arg, "tray")


def test_exec_quoting_follows_the_spec_examples() -> None:
    assert quote_exec_arg("/usr/bin/traycap") == "/usr/bin/traycap"
    assert quote_exec_arg("/a b") == '"/a b"'
    # `$` is escaped inside quotes, then the backslash itself gets key-file escaping.
    assert quote_exec_arg("$x") == '"\\\\$x"'
    assert quote_exec_arg("50%") == "50%%"


def test_exec_with_environment_uses_env() -> None:
    command = LaunchCommand(argv=("/opt/traycap/traycap", "tray"), env=(("TRAYCAP_HOME", "/d a/t"),))
    assert parse_exec(format_exec(command)) == ("env", "TRAYCAP_HOME=/d a/t", "/opt/traycap/traycap", "tray")


def test_line_breaks_cannot_be_put_into_an_entry() -> None:
    with pytest.raises(AutostartError):
        quote_exec_arg("a\nb")


# --- Linux: the XDG backend on real files ------------------------------------------------------
def _desktop_keys(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


@posix_only  # XDG autostart is Linux's; its 0644 mode too
def test_xdg_round_trip(tmp_path: Path) -> None:
    backend = XdgAutostart(config_home=tmp_path / "cfg", config_dirs=(tmp_path / "sys",))
    entry = tmp_path / "cfg" / "autostart" / "traycap.desktop"

    assert backend.status(PY).enabled is False
    on = backend.enable(PY)
    assert on.enabled and on.current is True and on.location == str(entry)
    keys = _desktop_keys(entry)
    assert keys["Type"] == "Application"
    assert parse_exec(keys["Exec"]) == PY.argv
    assert keys.get("Hidden", "false") == "false"
    assert oct(entry.stat().st_mode & 0o777) == oct(0o644)

    first = entry.read_bytes()
    again = backend.enable(PY)  # idempotent: same file, same status
    assert entry.read_bytes() == first and again == on

    off = backend.disable()
    assert off.enabled is False and not entry.exists()
    assert backend.disable().enabled is False  # off twice is fine


def test_xdg_status_says_when_the_entry_points_elsewhere(tmp_path: Path) -> None:
    backend = XdgAutostart(config_home=tmp_path)
    backend.enable(LaunchCommand(argv=("/old/place/traycap", "tray")))
    status = backend.status(LaunchCommand(argv=("/new/place/traycap", "tray")))
    assert status.enabled and status.current is False
    assert status.command == "/old/place/traycap tray"


def test_xdg_respects_a_user_disabled_entry(tmp_path: Path) -> None:
    entry = tmp_path / "autostart" / "traycap.desktop"
    entry.parent.mkdir(parents=True)
    entry.write_text("[Desktop Entry]\nType=Application\nName=traycap\nExec=traycap\nX-GNOME-Autostart-enabled=false\n")
    status = XdgAutostart(config_home=tmp_path).status(PY)
    assert status.enabled is False and any("disabled" in n for n in status.notes)


def test_xdg_off_hides_a_system_wide_entry(tmp_path: Path) -> None:
    system = tmp_path / "etc-xdg" / "autostart" / "traycap.desktop"
    system.parent.mkdir(parents=True)
    system.write_text("[Desktop Entry]\nType=Application\nName=traycap\nExec=/usr/bin/traycap tray\n")
    backend = XdgAutostart(config_home=tmp_path / "home-cfg", config_dirs=(tmp_path / "etc-xdg",))

    before = backend.status()
    assert before.enabled and before.location == str(system)
    off = backend.disable()
    assert off.enabled is False
    assert _desktop_keys(backend.path)["Hidden"] == "true"
    assert system.exists()  # never touches the system's file
    assert backend.enable(PY).enabled  # and on again overrides the hidden entry


def test_xdg_unwritable_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "cfg"
    blocker.write_text("a file where the config dir should be")
    with pytest.raises(AutostartError) as info:
        XdgAutostart(config_home=blocker).enable(PY)
    assert "traycap.desktop" in info.value.message


@posix_only
def test_written_entry_passes_desktop_file_validate(tmp_path: Path) -> None:
    tool = shutil.which("desktop-file-validate")
    assert tool, "desktop-file-validate is missing: install Debian's desktop-file-utils"
    backend = XdgAutostart(config_home=tmp_path)
    backend.enable(LaunchCommand(argv=("/opt/my apps/traycap", "tray"), env=(("TRAYCAP_HOME", "/d/$x"),)))
    proc = subprocess.run([tool, str(backend.path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == ""  # not even a warning


# --- the factory ------------------------------------------------------------------------------
def test_factory_picks_by_platform_and_env(tmp_path: Path) -> None:
    linux = default_autostart({"XDG_CONFIG_HOME": str(tmp_path / "c")}, "linux", tmp_path)
    assert isinstance(linux, XdgAutostart) and linux.config_home == tmp_path / "c"
    relative = default_autostart({"XDG_CONFIG_HOME": "rel/dir"}, "linux", tmp_path)
    assert isinstance(relative, XdgAutostart) and relative.config_home == tmp_path / ".config"
    assert isinstance(default_autostart({"APPDATA": "C:/x"}, "win32", tmp_path), WindowsAutostart)
    mac = default_autostart({}, "darwin", tmp_path)
    assert isinstance(mac, LaunchAgentAutostart) and mac.agents_dir == tmp_path / "Library" / "LaunchAgents"
    assert isinstance(default_autostart({}, "emscripten", tmp_path), UnsupportedAutostart)
    assert isinstance(default_autostart({BACKEND_ENV: "none"}, "linux", tmp_path), UnsupportedAutostart)
    with pytest.raises(AutostartError):
        default_autostart({BACKEND_ENV: "systemd"}, "linux", tmp_path)


def test_unsupported_backend_reports_and_refuses() -> None:
    backend = UnsupportedAutostart("no idea")
    assert backend.capabilities.supported is False
    assert backend.status().enabled is False and backend.disable().enabled is False
    with pytest.raises(AutostartUnsupported):
        backend.enable(PY)


# --- the command ------------------------------------------------------------------------------
def _run(ctx: Context, action: str, backend: XdgAutostart, command: LaunchCommand = PY) -> int:
    return autostart_cmd.run(argparse.Namespace(action=action), ctx, backend=backend, command=command)


def test_command_on_status_off(ctx: Context, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backend = XdgAutostart(config_home=tmp_path / "cfg")
    assert _run(ctx, "status", backend) == 0
    assert capsys.readouterr().out.startswith("Autostart is off.")
    assert _run(ctx, "on", backend) == 0
    out = capsys.readouterr().out
    assert out.startswith("Autostart is on") and "-m traycap tray" in out
    assert _run(ctx, "status", backend, LaunchCommand(argv=("/elsewhere/traycap", "tray"))) == 0
    assert "run `traycap autostart on`" in capsys.readouterr().out
    assert _run(ctx, "off", backend) == 0
    assert capsys.readouterr().out.startswith("Autostart is off.")
    assert not backend.path.exists()
