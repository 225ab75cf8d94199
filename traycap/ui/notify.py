"""Desktop notifications (the only plyer importer), with a pure de-duplication gate.

NotificationGate is the rule "never more than one notification per session per
state change": the app feeds it every status it sees for a session (progress
ticks repeat the same status many times) and only a *change* passes.

Notifier sends through plyer on a worker thread, because plyer's Linux path
runs `notify-send` synchronously and a D-Bus activation can take seconds. On
Linux plyer uses dbus-python when installed, else `notify-send` (libnotify-bin),
and never reports failure, so before sending we ask the session bus whether
anything owns (or can be activated as) org.freedesktop.Notifications; when
nothing does, the notification goes to the log only. Windows (a balloon from
the notification area) and macOS have no such bus: there plyer is always tried.
Every notification is logged either way.
"""

from __future__ import annotations

import enum
import logging
import os
import queue
import shutil
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from traycap.format import human_duration, human_size

log = logging.getLogger(__name__)

NOTIFICATIONS_BUS_NAME = "org.freedesktop.Notifications"
APP_NAME = "traycap"


class NoticeKind(enum.Enum):
    UPLOAD_DONE = "upload_done"
    UPLOAD_FAILED = "upload_failed"
    RECORDING_FAILED = "recording_failed"
    PROBLEM = "problem"  # app-level: hotkey unavailable, settings unreadable


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    title: str
    message: str
    session_id: str | None = None


class NotificationGate:
    """Remembers the last status seen per session; `changed` is True only on a change."""

    def __init__(self) -> None:
        self._last: dict[str, str] = {}
        self._lock = threading.Lock()

    def seed(self, session_id: str, status: str) -> None:
        """What the session already was at start-up: no notification for it."""
        with self._lock:
            self._last[session_id] = status

    def changed(self, session_id: str, status: str) -> bool:
        with self._lock:
            if self._last.get(session_id) == status:
                return False
            self._last[session_id] = status
            return True


def upload_notice_kind(gate: NotificationGate, session_id: str, status: str) -> NoticeKind | None:
    """Which notice (if any) a status seen for a session calls for; records the status."""
    if not gate.changed(session_id, status):
        return None
    if status == "done":
        return NoticeKind.UPLOAD_DONE
    if status == "failed":
        return NoticeKind.UPLOAD_FAILED
    return None


# --- the texts (pure) ------------------------------------------------------
def upload_done_notice(session_id: str, size: int | None, took_ms: int | None, *, link_copied: bool) -> Notice:
    text = f"Session {session_id}, {human_size(size)}"
    if took_ms is not None:
        text += f" in {human_duration(took_ms)}"
    if link_copied:
        text += ". Share link copied to the clipboard."
    return Notice(NoticeKind.UPLOAD_DONE, "Upload done", text, session_id)


def upload_failed_notice(session_id: str, reason: str | None) -> Notice:
    text = f"Session {session_id}: {reason or 'unknown error'}"
    return Notice(NoticeKind.UPLOAD_FAILED, "Upload failed", text, session_id)


def recording_failed_notice(session_id: str | None, reason: str | None) -> Notice:
    who = f"Session {session_id}: " if session_id else ""
    return Notice(NoticeKind.RECORDING_FAILED, "Recording stopped", f"{who}{reason or 'unknown error'}", session_id)


def sound_problem_notice(session_id: str | None, reason: str | None) -> Notice:
    """A recording goes on without (some of) its sound."""
    who = f"Session {session_id}: " if session_id else ""
    return Notice(NoticeKind.PROBLEM, "Recording without sound", f"{who}{reason or 'the sound device failed'}",
                  session_id)


# --- delivery --------------------------------------------------------------
Backend = Callable[[Notice], None]


def plyer_backend(notice: Notice) -> None:
    with warnings.catch_warnings():
        # plyer warns (once, at first use) that dbus-python is absent, then uses notify-send.
        warnings.simplefilter("ignore")
        from plyer import notification

        notification.notify(title=notice.title, message=notice.message, app_name=APP_NAME, timeout=10)


def notification_service_available(env: dict[str, str] | None = None, platform: str | None = None) -> bool:
    """Does the session bus have (or can it start) a notification daemon? Always True off D-Bus desktops."""
    if (sys.platform if platform is None else platform) in ("win32", "darwin"):
        return True
    env = dict(os.environ if env is None else env)
    if not env.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    dbus_send = shutil.which("dbus-send")
    if dbus_send is None:
        return shutil.which("notify-send") is not None  # cannot ask; let plyer try
    for method, needle in (("NameHasOwner", "boolean true"), ("ListActivatableNames", NOTIFICATIONS_BUS_NAME)):
        argv = [
            dbus_send, "--session", "--print-reply", "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus", f"org.freedesktop.DBus.{method}",
        ]
        if method == "NameHasOwner":
            argv.append(f"string:{NOTIFICATIONS_BUS_NAME}")
        try:
            out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3, check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        if needle in out:
            return True
    return False


class Notifier:
    """Sends notices on its own thread; `send` never blocks the caller."""

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        available: Callable[[], bool] = notification_service_available,
    ) -> None:
        self._backend = backend or plyer_backend
        self._available = available
        self._checked: bool | None = None
        self._queue: queue.Queue[Notice | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.sent: list[Notice] = []  # delivered to the backend (for the status line and tests)
        self.logged_only: list[Notice] = []

    def send(self, notice: Notice) -> None:
        log.info("notification: %s: %s", notice.title, notice.message)
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="traycap-notify", daemon=True)
            self._thread.start()
        self._queue.put(notice)

    def deliver(self, notice: Notice) -> bool:
        """Synchronously: True if handed to the desktop, False if only logged."""
        if self._checked is None:
            self._checked = self._available()
            if not self._checked:
                log.warning("no desktop notification service on the session bus; notifications go to the log only")
        if not self._checked:
            self.logged_only.append(notice)
            return False
        try:
            self._backend(notice)
        except Exception as exc:  # a broken notifier must never take the tray down
            log.warning("could not show a notification (%s); it is in the log", exc)
            self.logged_only.append(notice)
            return False
        self.sent.append(notice)
        return True

    def _loop(self) -> None:
        while True:
            notice = self._queue.get()
            if notice is None:
                return
            self.deliver(notice)

    def close(self, timeout: float = 3.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
