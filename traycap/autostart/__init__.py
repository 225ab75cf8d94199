"""Start traycap at login for the current user, on Linux, Windows and macOS.

One small interface, one backend per platform; the operating system is reached
only through the objects each backend is given, so every backend runs in tests
on any machine (a tmp dir for files, a dict for the registry, a fake launchctl).

    Autostart (Protocol)   .name .capabilities  status(expected) enable(command) disable()
    ├── XdgAutostart       $XDG_CONFIG_HOME/autostart/traycap.desktop (Linux, BSD)
    ├── WindowsAutostart   HKCU\\...\\CurrentVersion\\Run value "traycap"; also knows the
    │                      installer's Start-up folder shortcut and Task Manager's on/off
    ├── LaunchAgentAutostart  ~/Library/LaunchAgents/<label>.plist (+ launchctl to report)
    └── UnsupportedAutostart  everything else; status works, enable says why not

`TRAYCAP_AUTOSTART_BACKEND` (xdg | windows | launchagent | none) overrides the
platform's choice. What the entry launches comes from `launch_command()`.
"""


from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from traycap.autostart.base import (
    APP_NAME,
    BACKEND_ENV,
    CARRIED_ENV,
    DESKTOP_FILE,
    LAUNCH_AGENT_LABEL,
    RUN_VALUE,
    STARTUP_SHORTCUT,
    Autostart,
    AutostartStatus,
    Capabilities,
    LaunchCommand,
    current_launch_command,
    launch_command,
)
from traycap.autostart.macos import (
    CommandResult,
    LaunchAgentAutostart,
    Runner,
    launch_agent_plist,
)
from traycap.autostart.windows import (
    APPROVED_FOLDER_KEY,
    APPROVED_RUN_KEY,
    RUN_KEY,
    Registry,
    WindowsAutostart,
)
from traycap.autostart.xdg import (
    XdgAutostart,
    format_exec,
    parse_exec,
    quote_exec_arg,
)
from traycap.errors import AutostartError, AutostartUnsupported


# --- everything else ------------------------------------------------------------------------
@dataclass(frozen=True)
class UnsupportedAutostart:
    reason: str
    name: str = "none"
    capabilities: Capabilities = Capabilities(False, False, "never")

    def status(self, expected: LaunchCommand | None = None) -> AutostartStatus:
        return AutostartStatus(enabled=False, location="(none)", notes=(self.reason,))

    def enable(self, command: LaunchCommand) -> AutostartStatus:
        raise AutostartUnsupported(f"Autostart is not available here: {self.reason}")

    def disable(self) -> AutostartStatus:
        return self.status()


# --- the thin OS adapters and the factory ---------------------------------------------------
def run_subprocess(argv: Sequence[str]) -> CommandResult:
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CommandResult(returncode=127, stderr=str(exc))
    return CommandResult(proc.returncode, proc.stdout, proc.stderr)


@dataclass(frozen=True)
class WinregRegistry:
    """HKEY_CURRENT_USER through winreg (only importable on Windows)."""

    hive_name: str = field(default="HKEY_CURRENT_USER")

    def get(self, key: str, name: str) -> str | bytes | None:
        if sys.platform != "win32":
            raise AutostartUnsupported("the Windows registry exists only on Windows")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                value, _kind = winreg.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        return value if isinstance(value, (str, bytes)) else None

    def set_string(self, key: str, name: str, value: str) -> None:
        if sys.platform != "win32":
            raise AutostartUnsupported("the Windows registry exists only on Windows")
        import winreg

        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
            winreg.SetValueEx(handle, name, 0, winreg.REG_SZ, value)

    def delete(self, key: str, name: str) -> bool:
        if sys.platform != "win32":
            raise AutostartUnsupported("the Windows registry exists only on Windows")
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
                winreg.DeleteValue(handle, name)
        except FileNotFoundError:
            return False
        return True


def _xdg_dirs(environ: Mapping[str, str], home: Path) -> tuple[Path, tuple[Path, ...]]:
    # The spec says relative paths in these variables are invalid and must be ignored.
    config_home = environ.get("XDG_CONFIG_HOME", "")
    home_dir = Path(config_home) if os.path.isabs(config_home) else home / ".config"
    dirs = tuple(Path(d) for d in (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":") if os.path.isabs(d))
    return home_dir, dirs


def default_autostart(
    environ: Mapping[str, str] | None = None, platform: str | None = None, home: Path | None = None
) -> Autostart:
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    home_dir = Path.home() if home is None else home
    choice = env.get(BACKEND_ENV, "").strip().lower()
    if not choice:
        if plat == "win32":
            choice = "windows"
        elif plat == "darwin":
            choice = "launchagent"
        elif plat.startswith(("linux", "freebsd", "openbsd", "netbsd")):
            choice = "xdg"
        else:
            choice = "none"
    if choice == "xdg":
        config_home, config_dirs = _xdg_dirs(env, home_dir)
        return XdgAutostart(config_home=config_home, config_dirs=config_dirs)
    if choice == "windows":
        appdata = env.get("APPDATA")
        startup = Path(appdata, "Microsoft", "Windows", "Start Menu", "Programs", "Startup") if appdata else None
        return WindowsAutostart(registry=WinregRegistry(), startup_dir=startup)
    if choice == "launchagent":
        return LaunchAgentAutostart(
            agents_dir=home_dir / "Library" / "LaunchAgents", run=run_subprocess,
            uid=os.getuid() if hasattr(os, "getuid") else 0,
        )
    if choice == "none":
        return UnsupportedAutostart(f"no autostart mechanism is known for platform {plat!r}")
    raise AutostartError(
        f"Unknown {BACKEND_ENV}={choice!r}", "use one of: xdg, windows, launchagent, none (or unset it)"
    )

__all__ = [
    "APPROVED_FOLDER_KEY",
    "APPROVED_RUN_KEY",
    "APP_NAME",
    "BACKEND_ENV",
    "CARRIED_ENV",
    "DESKTOP_FILE",
    "LAUNCH_AGENT_LABEL",
    "RUN_KEY",
    "RUN_VALUE",
    "STARTUP_SHORTCUT",
    "Autostart",
    "AutostartStatus",
    "Capabilities",
    "CommandResult",
    "LaunchAgentAutostart",
    "LaunchCommand",
    "Registry",
    "Runner",
    "UnsupportedAutostart",
    "WindowsAutostart",
    "WinregRegistry",
    "XdgAutostart",
    "current_launch_command",
    "default_autostart",
    "format_exec",
    "launch_agent_plist",
    "launch_command",
    "parse_exec",
    "quote_exec_arg",
    "run_subprocess",
]
