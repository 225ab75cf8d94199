"""What to launch at login, the Autostart interface every backend implements, and file helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from traycap.errors import AutostartError, AutostartUnsupported, StorageError
from traycap.storage.atomic import write_bytes_atomic

APP_NAME = "traycap"
DESKTOP_FILE = "traycap.desktop"
LAUNCH_AGENT_LABEL = "io.traycap.Traycap"  # also the macOS bundle identifier
RUN_VALUE = "traycap"
STARTUP_SHORTCUT = "traycap.lnk"  # a Start-up folder shortcut (made by hand or by IT; the setup uses the Run value)
BACKEND_ENV = "TRAYCAP_AUTOSTART_BACKEND"
# Environment variables worth carrying into the login session: the data dir override.
CARRIED_ENV = ("TRAYCAP_HOME",)


# --- what to launch -------------------------------------------------------------------------
@dataclass(frozen=True)
class LaunchCommand:
    """The program and arguments the login entry runs, plus environment it must set."""

    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()

    def display(self) -> str:
        prefix = " ".join(f"{k}={v}" for k, v in self.env)
        return (prefix + " " if prefix else "") + subprocess.list2cmdline(self.argv)


def launch_command(
    *,
    frozen: bool,
    executable: str,
    platform: str,
    environ: Mapping[str, str],
    exists: Callable[[str], bool] = os.path.exists,
) -> LaunchCommand:
    """What autostart should run for the traycap that is running now.

    A PyInstaller build runs its own binary (the installers put it at a fixed path
    that upgrades overwrite in place). Anything else runs `<python> -m traycap`:
    the interpreter path is absolute and, for a venv or pipx install, stays the same
    across upgrades, while a `traycap` console script may not be on the login PATH.
    """
    exe = executable
    if not exe:
        raise AutostartError("Cannot tell which program is running traycap (sys.executable is empty)")
    if platform == "darwin" and "/AppTranslocation/" in exe:
        raise AutostartError(
            "traycap is running from a temporary copy that macOS makes for apps opened from Downloads",
            "move Traycap.app to Applications, open it from there, then turn autostart on",
        )
    if platform == "win32":
        # No console window at sign-in: the windowed twin of the binary or of python.
        folder, name = os.path.split(exe)
        twin = {"traycap.exe": "traycapw.exe", "python.exe": "pythonw.exe"}.get(name.lower())
        if twin and exists(os.path.join(folder, twin)):
            exe = os.path.join(folder, twin)
    argv = (exe, "tray") if frozen else (exe, "-m", "traycap", "tray")
    env = tuple((k, environ[k]) for k in CARRIED_ENV if environ.get(k))
    return LaunchCommand(argv=argv, env=env)


def current_launch_command() -> LaunchCommand:
    return launch_command(
        frozen=bool(getattr(sys, "frozen", False)),
        executable=sys.executable,
        platform=sys.platform,
        environ=os.environ,
    )


# --- the interface --------------------------------------------------------------------------
@dataclass(frozen=True)
class Capabilities:
    supported: bool  # enable() can work here
    carries_env: bool  # the entry can set TRAYCAP_HOME for the login session
    effective: str  # when an enabled entry takes effect, for messages


@dataclass(frozen=True)
class AutostartStatus:
    enabled: bool
    location: str  # file or registry value where the entry lives (or would live)
    command: str | None = None  # what the entry runs, as the OS stores it
    current: bool | None = None  # entry runs exactly the expected command (None: off or not asked)
    notes: tuple[str, ...] = ()  # things a person should know (disabled elsewhere, still loaded...)


class Autostart(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    def status(self, expected: LaunchCommand | None = None) -> AutostartStatus: ...

    def enable(self, command: LaunchCommand) -> AutostartStatus: ...

    def disable(self) -> AutostartStatus: ...


def _write_file(path: Path, data: bytes) -> None:
    try:
        write_bytes_atomic(path, data, mode=0o644)
    except StorageError as exc:
        raise AutostartError(exc.message) from exc
    except OSError as exc:
        raise AutostartError(f"Could not write {path}: {exc.strerror or exc}") from exc


def _write_text(path: Path, text: str) -> None:
    _write_file(path, text.encode("utf-8"))


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise AutostartError(f"Could not remove {path}: {exc.strerror or exc}") from exc
    return True


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
