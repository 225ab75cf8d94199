"""What the tray app needs from its parts (protocols, `Parts`) and the real wiring (`real_parts`).

Tests build `Parts` from fakes; `traycap tray` uses `real_parts`. What is shared how is not a part:
the tray asks traycap/sharing/ like `traycap record` and `traycap worker` do.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from traycap.context import Context
from traycap.errors import HotkeyUnavailable, PortalUnavailable
from traycap.models import AppSettings, UploadConfig, UploadProgress, UploadState
from traycap.osutil.desktop import X11, session_type
from traycap.portal.shortcuts import BIND_YOURSELF, PAUSE, TOGGLE, GlobalShortcutsPortal, ShortcutsSession
from traycap.recorder.api import EventSink, LiveFactory, Recorder
from traycap.sharing.lanes import LiveLanes, SharedRate
from traycap.sharing.links import ShareLinks
from traycap.sharing.startup import Recover
from traycap.ui import notify
from traycap.ui.menu import (
    Action,
    IconSpec,
    MenuItem,
)

if TYPE_CHECKING:
    from traycap.portal.dbus import GioBus

log = logging.getLogger(__name__)


class TrayLike(Protocol):
    def update(self, items: tuple[MenuItem, ...], spec: IconSpec, tooltip: str) -> None: ...
    def run(self, on_shown: Callable[[], None]) -> None: ...
    def stop(self) -> None: ...


class QueueLike(Protocol):
    def restore(self) -> None: ...
    def enqueue(self, session_id: str) -> UploadState: ...
    def retry(self, session_id: str) -> UploadState: ...
    def cancel(self, session_id: str) -> UploadState: ...
    def subscribe(self, fn: Callable[[UploadProgress], None]) -> Callable[[], None]: ...
    def start(self) -> None: ...
    def stop(self, *, timeout: float = 10.0) -> None: ...


class HotkeyLike(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class ShortcutsLike(Protocol):
    """The desktop's own start/stop keys (Wayland's GlobalShortcuts portal)."""

    def start(self) -> str:
        """Bind them (the desktop may ask the person, once); what the desktop bound for start/stop ("Ctrl+Alt+R",
        "" when nothing). HotkeyUnavailable when the desktop offers no global shortcuts."""
        ...

    def stop(self) -> None: ...


class LockLike(Protocol):
    def try_acquire(self) -> bool: ...
    def acquire_as_owner(self) -> bool: ...
    def release(self) -> None: ...


class ProcessLike(Protocol):
    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def terminate(self) -> None: ...


@dataclass
class Parts:
    """Factories and adapters; tests pass fakes, `real_parts` the real things."""

    make_tray: Callable[[Callable[[Action], None]], TrayLike]
    make_queue: Callable[[Context], QueueLike]
    make_recorder: Callable[[Context, AppSettings, EventSink, LiveFactory | None], Recorder]
    make_hotkey: Callable[[str, Callable[[], None]], HotkeyLike]
    queue_lock: LockLike
    notifier: notify.Notifier
    copy_text: Callable[[str], None]
    open_folder: Callable[[Path], None]
    share_link: Callable[[UploadConfig, str, int], str]
    launch_settings: Callable[[Context], ProcessLike]
    launch_viewer: Callable[[Context, str], ProcessLike] = lambda ctx, sid: launch_traycap(ctx, "view", sid)
    # Recovery of what a crash left mid-recording (recorder/recover.py; None: none, in tests).
    recover: Recover | None = None
    # Upload while recording: the process's live lanes (None: every recording uploads after Stop).
    make_lanes: Callable[[Context], LiveLanes] | None = None
    # The desktop session (osutil/desktop.py): on Wayland the start/stop keys are the desktop's, bound through
    # make_shortcuts(on_toggle, on_pause) (None: none; the person binds `traycap toggle`).
    desktop: str = X11
    make_shortcuts: Callable[[Callable[[], None], Callable[[], None]], ShortcutsLike] | None = None


@dataclass
class Running:
    """The parts start-up made (None before, or when they could not be made); shared by the
    tray's action dispatcher and its event router."""

    recorder: Recorder | None = None
    queue: QueueLike | None = None


def launch_traycap(ctx: Context, *args: str) -> subprocess.Popen[bytes]:
    """`traycap ARGS...` as a child process on the same data dir."""
    env = dict(os.environ)
    env["TRAYCAP_HOME"] = str(ctx.paths.root)
    module = [] if getattr(sys, "frozen", False) else ["-m", "traycap"]  # a PyInstaller build: the binary is the CLI
    return subprocess.Popen([sys.executable, *module, *args], env=env)


def launch_settings_process(ctx: Context) -> subprocess.Popen[bytes]:
    """The Tk dialog in its own process: a Tk main loop next to GTK's would freeze one of them."""
    return launch_traycap(ctx, "settings-dialog")


def _make_hotkey(spec: str, callback: Callable[[], None]) -> HotkeyLike:
    from traycap.recorder.hotkey import HotkeyListener

    return HotkeyListener(spec, callback)


def _make_recorder(ctx: Context, settings: AppSettings, on_event: EventSink, live: LiveFactory | None) -> Recorder:
    from traycap.recorder.controller import RecordingController

    return RecordingController(ctx, settings, on_event=on_event, live=live)


class PortalShortcuts:
    """ShortcutsLike through the GlobalShortcuts portal (KDE Plasma 5.27+, GNOME 48+), on a private bus connection."""

    def __init__(self, on_toggle: Callable[[], None], on_pause: Callable[[], None]) -> None:
        self._actions = {TOGGLE: on_toggle, PAUSE: on_pause}
        self._bus: GioBus | None = None
        self._session: ShortcutsSession | None = None

    def start(self) -> str:
        from traycap.portal.dbus import GioBus

        try:
            bus = GioBus()
        except PortalUnavailable as exc:
            raise HotkeyUnavailable(exc.message, BIND_YOURSELF) from exc
        portal = GlobalShortcutsPortal(bus)
        try:
            if not portal.available():
                raise HotkeyUnavailable("This desktop offers no global shortcuts to apps (no GlobalShortcuts portal)",
                                        BIND_YOURSELF)
            self._session = portal.bind(self._activated)
        except BaseException:
            bus.close()
            raise
        self._bus = bus
        return next((b.trigger for b in self._session.bound if b.id == TOGGLE), "")

    def _activated(self, shortcut_id: str) -> None:
        action = self._actions.get(shortcut_id)
        if action is not None:
            action()  # on the bus thread: the dispatcher only posts work

    def stop(self) -> None:
        session, self._session = self._session, None
        bus, self._bus = self._bus, None
        if session is not None:
            session.close()
        if bus is not None:
            bus.close()


def _make_queue_with(rate: SharedRate) -> Callable[[Context], QueueLike]:
    def make(ctx: Context) -> QueueLike:
        from traycap.sharing.sidecars import with_sidecars
        from traycap.upload.queue import UploadQueue

        q: QueueLike = UploadQueue(ctx, with_sidecars(rate.service, ctx.clock))
        return q

    return make


_LINKS = ShareLinks()  # one per process: the player page is checked once per bucket


def _share_link(config: UploadConfig, key: str, expires_s: int) -> str:
    """Copy share link: the player link (it plays in the browser, from the bucket alone)."""
    return _LINKS.player(config, key, expires_s)


def real_parts(ctx: Context, make_tray: Callable[[Callable[[Action], None]], TrayLike]) -> Parts:
    from traycap.recorder.recover import recover_unfinished
    from traycap.ui import clipboard, desktop
    from traycap.upload.lock import QueueLock

    rate = SharedRate(ctx.clock)  # one maxUploadMBps cap for the queue and the live lanes
    return Parts(
        make_tray=make_tray,
        make_queue=_make_queue_with(rate),
        make_lanes=lambda c: LiveLanes(c, rate=rate),
        make_recorder=_make_recorder,
        make_hotkey=_make_hotkey,
        queue_lock=QueueLock(ctx.paths),
        notifier=notify.Notifier(),
        copy_text=clipboard.copy_text,
        open_folder=desktop.open_folder,
        share_link=_share_link,
        launch_settings=launch_settings_process,
        recover=recover_unfinished,
        desktop=session_type(),
        make_shortcuts=PortalShortcuts,
    )
