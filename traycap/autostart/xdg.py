"""Linux (and the BSDs): an XDG autostart entry, $XDG_CONFIG_HOME/autostart/traycap.desktop."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from traycap.autostart.base import DESKTOP_FILE, AutostartStatus, Capabilities, LaunchCommand, _remove, _write_text
from traycap.errors import AutostartError

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


def xdg_dirs(environ: Mapping[str, str], home: Path) -> tuple[Path, tuple[Path, ...]]:
    # The spec says relative paths in these variables are invalid and must be ignored.
    config_home = environ.get("XDG_CONFIG_HOME", "")
    home_dir = Path(config_home) if os.path.isabs(config_home) else home / ".config"
    dirs = tuple(Path(d) for d in (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":") if os.path.isabs(d))
    return home_dir, dirs
