"""Requests to the running tray from another process: `traycap toggle` and `traycap pause`.

On Wayland no app may listen for a global key, so the person binds these two commands in the
desktop's keyboard settings (GNOME, KDE) or config (sway); on X11 they work as well.

    command:  write tray-requests/<id>.json {"action": "toggle", "createdAt": ms}   (atomic, 0600)
              wait for tray-requests/<id>.answer.json {"ok": true, "message": "..."}, print it
    tray:     every POLL_S: take each request (read, remove), act, write its answer

Why files in the data directory, not a socket: the data dir is the user's alone (0700, made so at
every start; on Windows a user-only ACL), so only the same user can ask, and the tray never listens
on anything another user or a web page could reach; the tray checks each request's owner as well.
It works alike on Linux, macOS and Windows (no AF_UNIX path length or named-pipe code), costs the
tray one directory scan every POLL_S (microseconds), and an answer comes within POLL_S plus the
time to act: a toggle answers as soon as the tray took it ("starting a recording"), not after an
export. A request nobody takes (the tray quit in between) is removed by the command at its
timeout, and one older than STALE_S is dropped by the tray unanswered, so a late key press never
starts a recording by surprise.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from traycap.errors import CorruptFile, StorageError
from traycap.storage.atomic import read_json, write_json_atomic

log = logging.getLogger(__name__)

DIR_NAME = "tray-requests"
POLL_S = 0.2
ANSWER_TIMEOUT_S = 3.0
STALE_S = 10.0
_ANSWER = ".answer.json"


class TrayAction(str, enum.Enum):
    TOGGLE = "toggle"  # start a recording, or stop (and export) the one running
    PAUSE = "pause"  # pause the running recording, or resume the paused one


@dataclass(frozen=True)
class TrayRequest:
    id: str
    action: TrayAction
    created_ms: int


@dataclass(frozen=True)
class TrayAnswer:
    ok: bool
    message: str


def requests_dir(data_dir: Path) -> Path:
    return data_dir / DIR_NAME


# --- the command's side -------------------------------------------------------------------
def send(data_dir: Path, action: TrayAction, now_ms: int) -> TrayRequest:
    """Leave a request for the tray (it takes it within POLL_S)."""
    directory = requests_dir(data_dir)
    directory.mkdir(mode=0o700, exist_ok=True)
    request = TrayRequest(id=f"{now_ms}-{secrets.token_hex(4)}", action=action, created_ms=now_ms)
    write_json_atomic(directory / f"{request.id}.json", {"action": action.value, "createdAt": now_ms}, mode=0o600)
    return request


def await_answer(data_dir: Path, request: TrayRequest, wait: Callable[[float], object], monotonic: Callable[[], float],
                 timeout_s: float = ANSWER_TIMEOUT_S) -> TrayAnswer | None:
    """The tray's answer, or None when no tray took the request within `timeout_s` (it is then withdrawn)."""
    directory = requests_dir(data_dir)
    answer_path = directory / f"{request.id}{_ANSWER}"
    deadline = monotonic() + timeout_s
    withdrawn = False
    while True:
        answer = _read_answer(answer_path)
        if answer is not None:
            return answer
        if monotonic() >= deadline:
            if withdrawn:
                return None
            try:
                (directory / f"{request.id}.json").unlink()
                return None  # nobody took it: it will not be acted on later
            except FileNotFoundError:
                withdrawn = True  # the tray took it just now: its answer is on the way
                deadline = monotonic() + timeout_s
        wait(0.02)


def _read_answer(path: Path) -> TrayAnswer | None:
    try:
        data = read_json(path)
    except CorruptFile:
        return None
    if not isinstance(data, dict):
        return None
    with contextlib.suppress(OSError):
        path.unlink()
    return TrayAnswer(ok=bool(data.get("ok")), message=str(data.get("message") or ""))


# --- the tray's side ----------------------------------------------------------------------------
class RequestInbox:
    """The tray's end: requests taken in order, each answered once."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = requests_dir(data_dir)

    def take(self, now_ms: int) -> list[TrayRequest]:
        """The requests waiting, oldest first, each removed; stale, foreign or malformed ones are dropped."""
        try:
            entries = sorted(p for p in self.dir.iterdir() if p.name.endswith(".json") and not
                             p.name.endswith(_ANSWER) and not p.name.startswith("."))
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("cannot read %s: %s", self.dir, exc)
            return []
        taken = []
        for path in entries:
            request = self._take_one(path, now_ms)
            if request is not None:
                taken.append(request)
        return taken

    def _take_one(self, path: Path, now_ms: int) -> TrayRequest | None:
        try:
            if not _own(path):
                log.warning("ignoring %s: it belongs to another user", path)
                path.unlink()
                return None
            data = read_json(path)
            path.unlink()
        except FileNotFoundError:
            return None  # withdrawn by the command at its timeout
        except (OSError, StorageError) as exc:
            log.warning("ignoring the tray request %s: %s", path.name, exc)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        try:
            action = TrayAction(data.get("action")) if isinstance(data, dict) else None
            created = int(data.get("createdAt", 0)) if isinstance(data, dict) else 0
        except (ValueError, TypeError):
            action = None
        if action is None:
            log.warning("ignoring the tray request %s: not a request traycap knows", path.name)
            return None
        if now_ms - created > STALE_S * 1000:
            log.info("dropping the tray request %s: %.0f s old", path.name, (now_ms - created) / 1000)
            return None
        return TrayRequest(id=path.name[: -len(".json")], action=action, created_ms=created)

    def answer(self, request: TrayRequest, answer: TrayAnswer) -> None:
        try:
            write_json_atomic(self.dir / f"{request.id}{_ANSWER}", {"ok": answer.ok, "message": answer.message},
                              mode=0o600)
        except StorageError as exc:
            log.warning("could not answer the tray request %s: %s", request.id, exc)

    def drop_uncollected_answers(self, now_s: float) -> None:
        """Answers whose command was gone before reading them (killed), once they are a minute old."""
        with contextlib.suppress(OSError):
            for path in self.dir.glob(f"*{_ANSWER}"):
                with contextlib.suppress(OSError):
                    if now_s - path.stat().st_mtime > 60:
                        path.unlink()


def _own(path: Path) -> bool:
    """The request was written by this user (the data dir is private anyway; this keeps a shared TRAYCAP_HOME
    from becoming a way for another user to start a recording)."""
    if sys.platform == "win32":
        return True  # the dir's ACL admits this user alone (osutil/winacl.py)
    return path.lstat().st_uid == os.getuid()
