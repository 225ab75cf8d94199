"""Every setting by its JSON name, read off the fields of UploadConfig and AppSettings, and how a
`KEY=VALUE` string becomes that field's value.

A field added to either dataclass (and to its to_json/from_json) is settable
with `traycap config set` and shown by `config show` with no other change: the
table follows the dataclasses. Values are parsed by the field's type:

    bool            true/false, yes/no, on/off, 1/0
    int, float      a number (an int field takes whole numbers only)
    str             as written
    X | None        as X; an empty value clears it (None)
    an Enum         one of its values (keystrokePrivacy=no_text)
    tuple/list[str] comma-separated (excludedApps=Slack,zoom), or a JSON list
                    (excludedApps=["Slack","zoom"]); empty = none
    hotkey          a key combination as people write it (Ctrl+Shift+R), stored as pynput
                    writes it (<ctrl>+<shift>+r) and shown as people write it
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from traycap.format import hotkey_label, parse_hotkey
from traycap.models import AppSettings, UploadConfig


class SettingsFile(enum.Enum):
    UPLOAD = "upload"  # upload-config.json (mode 0600)
    APP = "app"  # app-settings.json


@dataclass(frozen=True)
class SettingKey:
    name: str  # the JSON field name, as `config set` takes it
    file: SettingsFile
    kind: Any  # the field's type (str, int | None, KeystrokePrivacy, tuple[str, ...], ...)
    secret: bool


_BOOL_TRUE = frozenset({"1", "true", "yes", "on"})
_BOOL_FALSE = frozenset({"0", "false", "no", "off"})
_INT_RE = re.compile(r"^[+-]?[0-9]+$")
_FLOAT_RE = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def _keys_of(cls: type[Any], file: SettingsFile, secrets: tuple[str, ...] = ()) -> list[SettingKey]:
    hints = typing.get_type_hints(cls)
    return [SettingKey(f.name, file, hints[f.name], f.name in secrets) for f in dataclasses.fields(cls)]


def _table() -> dict[str, SettingKey]:
    keys = _keys_of(UploadConfig, SettingsFile.UPLOAD, UploadConfig.SECRET_FIELDS) + _keys_of(
        AppSettings, SettingsFile.APP)
    table = {k.name: k for k in keys}
    if len(table) != len(keys):  # a name in both files: `config set NAME=` could not say which
        raise TypeError("UploadConfig and AppSettings share a field name")
    return table


KEYS: dict[str, SettingKey] = _table()


def keys_of(file: SettingsFile) -> list[SettingKey]:
    return [k for k in KEYS.values() if k.file is file]


def _optional(kind: Any) -> tuple[Any, bool]:
    """`X | None` -> (X, True); anything else -> (kind, False)."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return kind, False


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _BOOL_TRUE:
        return True
    if low in _BOOL_FALSE:
        return False
    raise ValueError("must be true or false")


def _parse_int(text: str) -> int:
    if not _INT_RE.fullmatch(text.strip()):
        raise ValueError("must be a whole number")
    return int(text.strip())


def _parse_float(text: str) -> float:
    if not _FLOAT_RE.fullmatch(text.strip()):
        raise ValueError("must be a number")
    return float(text.strip())


_SCALARS: dict[Any, Callable[[str], Any]] = {bool: _parse_bool, int: _parse_int, float: _parse_float, str: str}


def _parse_list(name: str, text: str) -> list[str]:
    """Comma-separated, or a JSON list of strings (what `config show --json` prints)."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError(f"write the list comma-separated ({name}=KeePassXC,1Password) or as a JSON list "
                             f"of names ({name}=[\"KeePassXC\",\"1Password\"])")
        return [i.strip() for i in items if i.strip()]
    return [part.strip() for part in text.split(",") if part.strip()]


# Settings a person writes in their own way: parsed to the one form the file keeps.
_SPECIAL: dict[str, Callable[[str], Any]] = {"hotkey": parse_hotkey}
_SHOWN: dict[str, Callable[[Any], str]] = {"hotkey": hotkey_label}


def parse_value(key: SettingKey, text: str) -> Any:
    """The value `text` means for `key`, as JSON would hold it; ValueError with a readable reason."""
    if key.name in _SPECIAL:
        return _SPECIAL[key.name](text)
    kind, optional = _optional(key.kind)
    if optional and not text.strip():
        return None
    if kind in _SCALARS:
        return _SCALARS[kind](text)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        choices = [str(m.value) for m in kind]
        if text.strip() not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text.strip()
    if typing.get_origin(kind) in (tuple, list) and typing.get_args(kind)[:1] == (str,):
        return _parse_list(key.name, text)
    raise TypeError(f"setting {key.name!r} has a type `config set` cannot parse: {key.kind!r}")


def display_value(value: Any, name: str = "") -> str:
    """A JSON value as `config show` prints it (what `config set` would take back)."""
    if name in _SHOWN and value is not None:
        return _SHOWN[name](value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_assignments(assignments: dict[str, str], file: SettingsFile) -> tuple[dict[str, Any], dict[str, str]]:
    """The assignments of one file's keys as JSON values, and a problem for each that does not parse."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, text in assignments.items():
        key = KEYS.get(name)
        if key is None or key.file is not file:
            continue
        try:
            values[name] = parse_value(key, text)
        except ValueError as exc:
            problems[name] = str(exc)
    return values, problems


def unknown_setting() -> str:
    return f"unknown setting (known: {', '.join(sorted(KEYS))})"
