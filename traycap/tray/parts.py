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
from typing import Protocol

from traycap.context import Context
from traycap.models import AppSettings, UploadConfig, UploadProgress, UploadState
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
    )
