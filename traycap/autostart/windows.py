"""Windows: the HKCU Run value (and the installer's Start-up shortcut, Task Manager's on/off), and the
registry through winreg (the one module that imports it; importable on Windows only)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from traycap.autostart.base import RUN_VALUE, STARTUP_SHORTCUT, AutostartStatus, Capabilities, LaunchCommand, _remove
from traycap.errors import AutostartUnsupported

# --- Windows: the Run key -------------------------------------------------------------------
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
APPROVED_FOLDER_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\StartupFolder"


class Registry(Protocol):
    """The few HKEY_CURRENT_USER operations autostart needs (winreg in production)."""

    def get(self, key: str, name: str) -> str | bytes | None: ...

    def set_string(self, key: str, name: str, value: str) -> None: ...

    def delete(self, key: str, name: str) -> bool:
        """Remove a value; False when it was not there."""
        ...


def _approved_off(value: str | bytes | None) -> bool:
    # Task Manager's "Disable" writes 03 00 00 00 + a timestamp; enabled is 02 (or absent).
    return isinstance(value, bytes) and len(value) > 0 and bool(value[0] & 1)


@dataclass(frozen=True)
class WindowsAutostart:
    """`traycap autostart on` writes HKCU\\...\\Run "traycap"; the installer may instead have
    put a shortcut in the user's Start-up folder. Status sees both; off removes both."""

    registry: Registry
    startup_dir: Path | None  # %APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs\\Startup
    name: str = "windows"
    capabilities: Capabilities = Capabilities(True, False, "at the next sign-in")

    @property
    def location(self) -> str:
        return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{RUN_VALUE}"

    def _shortcut(self) -> Path | None:
        return self.startup_dir / STARTUP_SHORTCUT if self.startup_dir is not None else None

    def status(self, expected: LaunchCommand | None = None) -> AutostartStatus:
        value = self.registry.get(RUN_KEY, RUN_VALUE)
        shortcut = self._shortcut()
        notes: list[str] = []
        if isinstance(value, str) and value:
            if _approved_off(self.registry.get(APPROVED_RUN_KEY, RUN_VALUE)):
                notes.append("the entry is disabled in Task Manager > Startup apps")
                return AutostartStatus(enabled=False, location=self.location, command=value, notes=tuple(notes))
            current = None if expected is None else value == subprocess.list2cmdline(expected.argv)
            return AutostartStatus(enabled=True, location=self.location, command=value, current=current)
        if shortcut is not None and shortcut.exists():
            if _approved_off(self.registry.get(APPROVED_FOLDER_KEY, STARTUP_SHORTCUT)):
                notes.append("the Start-up shortcut is disabled in Task Manager > Startup apps")
                return AutostartStatus(enabled=False, location=str(shortcut), notes=tuple(notes))
            notes.append("started by the installer's Start-up shortcut")
            return AutostartStatus(enabled=True, location=str(shortcut), notes=tuple(notes))
        return AutostartStatus(enabled=False, location=self.location)

    def enable(self, command: LaunchCommand) -> AutostartStatus:
        self.registry.set_string(RUN_KEY, RUN_VALUE, subprocess.list2cmdline(command.argv))
        # Turning it on again also undoes a "Disable" in Task Manager.
        self.registry.delete(APPROVED_RUN_KEY, RUN_VALUE)
        # One entry only, or the app would be started twice at sign-in.
        shortcut = self._shortcut()
        if shortcut is not None:
            _remove(shortcut)
        self.registry.delete(APPROVED_FOLDER_KEY, STARTUP_SHORTCUT)
        return self.status(command)

    def disable(self) -> AutostartStatus:
        self.registry.delete(RUN_KEY, RUN_VALUE)
        self.registry.delete(APPROVED_RUN_KEY, RUN_VALUE)
        shortcut = self._shortcut()
        if shortcut is not None:
            _remove(shortcut)
        self.registry.delete(APPROVED_FOLDER_KEY, STARTUP_SHORTCUT)
        return self.status()


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
