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
import plistlib
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from traycap.errors import AutostartError, AutostartUnsupported, StorageError
from traycap.storage.atomic import write_bytes_atomic

APP_NAME = "traycap"
DESKTOP_FILE = "traycap.desktop"
LAUNCH_AGENT_LABEL = "io.traycap.Traycap"  # also the macOS bundle identifier
RUN_VALUE = "traycap"
STARTUP_SHORTCUT = "traycap.lnk"  # created by the Inno Setup installer's "start at sign-in" task
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


# --- Linux: XDG autostart -------------------------------------------------------------------
# Desktop Entry Specification, "The Exec key": these characters force quoting, and inside
# quotes ", `, $ and \ take a backslash; % is doubled. The value then gets key-file escaping.
_EXEC_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
_EXEC_IN_QUOTES = re.compile(r'(["`$\\])')


def quote_exec_arg(arg: str) -> str:
    if any(ch in arg for ch in "\n\r\0"):
        raise AutostartError(f"Cannot put {arg!r} into a desktop entry: it contains a line break or NUL")
    arg = arg.replace("%", "%%")
    if not arg or any(ch in _EXEC_RESERVED for ch in arg):
        arg = '"' + _EXEC_IN_QUOTES.sub(r"\\\1", arg) + '"'
    return arg.replace("\\", "\\\\")


def format_exec(command: LaunchCommand) -> str:
    words = [*(("env", *(f"{k}={v}" for k, v in command.env)) if command.env else ()), *command.argv]
    return " ".join(quote_exec_arg(w) for w in words)


def _unescape_keyfile(value: str) -> str:
    out: list[str] = []
    it = iter(value)
    for ch in it:
        if ch != "\\":
            out.append(ch)
            continue
        nxt = next(it, "")
        out.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(nxt, "\\" + nxt))
    return "".join(out)


def parse_exec(value: str) -> tuple[str, ...]:
    """The argument vector of an Exec value as written in the file (inverse of format_exec)."""
    text = _unescape_keyfile(value)
    args: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == " ":
            i += 1
            continue
        word: list[str] = []
        if text[i] == '"':
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n and text[i + 1] in '"`$\\':
                    i += 1
                word.append(text[i])
                i += 1
            if i >= n:
                raise AutostartError(f"Unbalanced quote in Exec={value}")
            i += 1
        else:
            while i < n and text[i] != " ":
                word.append(text[i])
                i += 1
        args.append("".join(word).replace("%%", "%"))
    return tuple(args)


def _desktop_entry(command: LaunchCommand) -> str:
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            "Version=1.0",
            "Name=traycap",
            "GenericName=Screen session recorder",
            "Comment=Record desktop sessions and upload them to S3",
            f"Exec={format_exec(command)}",
            "Icon=traycap",
            "Terminal=false",
            "Categories=Utility;",
            "X-GNOME-Autostart-enabled=true",
            # Give the panel (the tray host) a moment to come up first.
            "X-GNOME-Autostart-Delay=5",
            "X-KDE-autostart-after=panel",
            "X-Traycap-Managed=true",
            "",
        ]
    )


def _read_desktop_keys(path: Path) -> dict[str, str] | None:
    """Keys of the [Desktop Entry] group; None when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AutostartError(f"Could not read {path}: {exc}") from exc
    keys: dict[str, str] = {}
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
            continue
        if group == "Desktop Entry" and "=" in line:
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), value.strip())
    return keys


def _entry_active(keys: Mapping[str, str]) -> bool:
    return keys.get("Hidden", "false").lower() != "true" and (
        keys.get("X-GNOME-Autostart-enabled", "true").lower() != "false"
    )


@dataclass(frozen=True)
class XdgAutostart:
    """An autostart .desktop file in the user's config dir (XDG Autostart spec).

    `config_dirs` are the system dirs ($XDG_CONFIG_DIRS): if one of them also has a
    traycap.desktop, turning autostart off writes a user entry with Hidden=true, the
    spec's way to override it; otherwise off simply removes the user's file.
    """

    config_home: Path
    config_dirs: tuple[Path, ...] = ()
    name: str = "xdg"
    capabilities: Capabilities = Capabilities(True, True, "at the next login to the desktop")

    @property
    def path(self) -> Path:
        return self.config_home / "autostart" / DESKTOP_FILE

    def _system_entry(self) -> tuple[Path, dict[str, str]] | None:
        for d in self.config_dirs:
            p = d / "autostart" / DESKTOP_FILE
            keys = _read_desktop_keys(p)
            if keys is not None:
                return p, keys
        return None

    def status(self, expected: LaunchCommand | None = None) -> AutostartStatus:
        keys = _read_desktop_keys(self.path)
        where = self.path
        notes: list[str] = []
        if keys is None:
            system = self._system_entry()
            if system is None:
                return AutostartStatus(enabled=False, location=str(self.path))
            where, keys = system
            notes.append(f"the entry comes from the system-wide {where}")
        if not _entry_active(keys):
            notes.append(f"{where} exists but is disabled (Hidden or X-GNOME-Autostart-enabled=false)")
            return AutostartStatus(enabled=False, location=str(where), notes=tuple(notes))
        exec_value = keys.get("Exec", "")
        current = None if expected is None else exec_value == format_exec(expected)
        return AutostartStatus(
            enabled=True, location=str(where), command=exec_value or None, current=current, notes=tuple(notes)
        )

    def enable(self, command: LaunchCommand) -> AutostartStatus:
        _write_text(self.path, _desktop_entry(command))
        return self.status(command)

    def disable(self) -> AutostartStatus:
        if self._system_entry() is not None:
            _write_text(self.path, "[Desktop Entry]\nType=Application\nName=traycap\nHidden=true\n")
        else:
            _remove(self.path)
        return self.status()


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


# --- macOS: a LaunchAgent -------------------------------------------------------------------
@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str = ""
    stderr: str = ""


class Runner(Protocol):
    def __call__(self, argv: Sequence[str]) -> CommandResult: ...


def launch_agent_plist(command: LaunchCommand, label: str = LAUNCH_AGENT_LABEL) -> dict[str, object]:
    plist: dict[str, object] = {
        "Label": label,
        "ProgramArguments": list(command.argv),
        "RunAtLoad": True,
        # Restart after a crash, not after the user chose Quit (exit status 0).
        "KeepAlive": {"SuccessfulExit": False},
        "LimitLoadToSessionType": "Aqua",  # only in a graphical login, never over ssh
        "ProcessType": "Interactive",
    }
    if command.env:
        plist["EnvironmentVariables"] = dict(command.env)
    return plist


@dataclass(frozen=True)
class LaunchAgentAutostart:
    """~/Library/LaunchAgents/<label>.plist: launchd loads it at every login.

    on writes the plist and clears a `launchctl disable` override; it does not
    bootstrap the job now, which would start a second traycap beside the one
    running. off removes the plist and leaves a job loaded in this login alone
    (booting it out would quit the running app); status reports it.
    """

    agents_dir: Path
    run: Runner
    uid: int
    label: str = LAUNCH_AGENT_LABEL
    name: str = "launchagent"
    capabilities: Capabilities = Capabilities(True, True, "at the next login")

    @property
    def path(self) -> Path:
        return self.agents_dir / f"{self.label}.plist"

    @property
    def _target(self) -> str:
        return f"gui/{self.uid}/{self.label}"

    def _loaded(self) -> bool:
        return self.run(["launchctl", "print", self._target]).returncode == 0

    def status(self, expected: LaunchCommand | None = None) -> AutostartStatus:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            loaded = ("still loaded in this login session; it will not start at the next login",)
            return AutostartStatus(enabled=False, location=str(self.path), notes=loaded if self._loaded() else ())
        except OSError as exc:
            raise AutostartError(f"Could not read {self.path}: {exc.strerror or exc}") from exc
        try:
            plist = plistlib.loads(data)
        except Exception as exc:  # plistlib raises several unrelated types for bad input
            raise AutostartError(
                f"{self.path} is not a valid property list", "run `traycap autostart on` to rewrite it"
            ) from exc
        args = plist.get("ProgramArguments") if isinstance(plist, dict) else None
        command = subprocess.list2cmdline([str(a) for a in args]) if isinstance(args, list) else None
        if isinstance(plist, dict) and plist.get("Disabled") is True:
            return AutostartStatus(
                enabled=False, location=str(self.path), command=command, notes=("the plist has Disabled=true",)
            )
        current = None if expected is None else plist == launch_agent_plist(expected, self.label)
        return AutostartStatus(enabled=True, location=str(self.path), command=command, current=current)

    def enable(self, command: LaunchCommand) -> AutostartStatus:
        data = plistlib.dumps(launch_agent_plist(command, self.label), fmt=plistlib.FMT_XML)
        _write_file(self.path, data)
        result = self.run(["launchctl", "enable", self._target])
        status = self.status(command)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip() or f"exit status {result.returncode}"
            return AutostartStatus(
                enabled=status.enabled, location=status.location, command=status.command, current=status.current,
                notes=(*status.notes, f"launchctl enable failed ({detail}); check System Settings > Login Items"),
            )
        return status

    def disable(self) -> AutostartStatus:
        _remove(self.path)
        return self.status()


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
