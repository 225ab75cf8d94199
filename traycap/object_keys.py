"""Where things go in the bucket: the keyPrefix template, a session's zip and sidecar, the player page.

Pure. `keyPrefix` may hold placeholders, so that several machines can share one bucket:

    {host}  this machine's name (its first label, lower case;     team/{host}/  -> team/alice-laptop/
            TRAYCAP_HOST overrides it, e.g. in a container whose host name changes each run)
    {user}  the user name of the account that recorded            {user}/       -> {user}/bob/
    {yyyy} {mm} {dd}  the date the session was recorded (the recording machine's local date)

A template is expanded once per session, when the session first gets a key (queued, or uploaded
while recording); the key is stored in its upload-state.json, and a retry keeps it as long as it
still fits the template (`key_fits`), so a key never changes after the fact: not at midnight, not
when the machine is renamed. Changing the keyPrefix setting does give the next retry a new key.

Beside each zip `<prefix><id>.zip` the sidecar `<prefix><id>.json` describes it (player/sidecar.py);
the player page is stored once per version under the template's fixed part (`<fixed>player/`),
so a prefix with placeholders still has one player for the whole bucket.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import time
from dataclasses import dataclass

PLACEHOLDERS = ("host", "user", "yyyy", "mm", "dd")
_FIELD = re.compile(r"\{([^{}]*)\}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
ZIP_SUFFIX = ".zip"
SIDECAR_SUFFIX = ".json"
PLAYER_DIR = "player/"


@dataclass(frozen=True)
class KeyVars:
    """What the placeholders of one session expand to."""

    host: str
    user: str
    yyyy: str
    mm: str
    dd: str

    @classmethod
    def of(cls, created_ms: int, *, host: str, user: str) -> KeyVars:
        """The session's values: its recording date (local time here) and this machine's names."""
        try:
            day = time.localtime(created_ms / 1000)
            yyyy, mm, dd = f"{day.tm_year:04d}", f"{day.tm_mon:02d}", f"{day.tm_mday:02d}"
        except (OverflowError, OSError, ValueError):  # a hand-edited createdAt far outside the calendar
            yyyy, mm, dd = "0000", "00", "00"
        return cls(host=_safe(host.split(".")[0].lower()), user=_safe(user), yyyy=yyyy, mm=mm, dd=dd)


HOST_ENV = "TRAYCAP_HOST"


def this_machine(created_ms: int) -> KeyVars:
    """KeyVars of a session recorded on this machine, by this user."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name (a container without a passwd entry)
        user = ""
    return KeyVars.of(created_ms, host=os.environ.get(HOST_ENV) or socket.gethostname(), user=user)


def _safe(value: str) -> str:
    """A name as one path segment: letters, digits, '.', '_' and '-' (others become '-')."""
    cleaned = _UNSAFE.sub("-", value).strip("-.")
    return cleaned or "unknown"


def template_problem(template: str) -> str | None:
    """Why a keyPrefix template is not usable (unknown placeholder, stray brace), or None."""
    for name in _FIELD.findall(template):
        if name not in PLACEHOLDERS:
            known = " ".join("{" + p + "}" for p in PLACEHOLDERS)
            return f"unknown placeholder {{{name}}} (known: {known})"
    if "{" in _FIELD.sub("", template) or "}" in _FIELD.sub("", template):
        return "has a '{' or '}' that is not part of a placeholder"
    return None


def expand(template: str, values: KeyVars) -> str:
    """The template with its placeholders replaced (unknown ones are left as written)."""
    return _FIELD.sub(lambda m: getattr(values, m.group(1)) if m.group(1) in PLACEHOLDERS else m.group(0), template)


def zip_key(template: str, session_id: str, values: KeyVars) -> str:
    """`<expanded prefix><id>.zip` (the prefix is used as written: "sessions/" -> "sessions/ID.zip")."""
    return f"{expand(template, values)}{session_id}{ZIP_SUFFIX}"


def key_fits(template: str, key: str, session_id: str) -> bool:
    """Could `key` be this session's zip key under `template`, whatever the placeholders expanded to?"""
    pattern = "".join(
        "[^/]+" if i % 2 else re.escape(part) for i, part in enumerate(_FIELD.split(template))
    )
    return re.fullmatch(pattern + re.escape(session_id + ZIP_SUFFIX), key) is not None


def fixed_prefix(template: str) -> str:
    """The part of the template before its first placeholder: every session key starts with it."""
    return template.split("{", 1)[0]


def sidecar_key(zip_object_key: str) -> str:
    """`<prefix><id>.json` beside `<prefix><id>.zip`."""
    stem = zip_object_key[: -len(ZIP_SUFFIX)] if zip_object_key.endswith(ZIP_SUFFIX) else zip_object_key
    return stem + SIDECAR_SUFFIX


def player_key(template: str, version: str) -> str:
    """`<fixed prefix>player/<version>.html`: one player per bucket and version."""
    return f"{fixed_prefix(template)}{PLAYER_DIR}{version}.html"
