"""The tray app's parts as fakes (tray, queue, recorder, hotkey, queue lock), and a Harness that wires
them into a TrayApp: tests drive actions and events and read what would be rendered and notified.

The fakes speak the real types (RecorderState, RecorderEvent, UploadState), so a change of the
seams shows up here as a type error, not as a test that still passes against strings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.sessions import make_session_dir
from traycap.context import Context
from traycap.errors import HotkeyUnavailable
from traycap.models import AppSettings, SessionMeta, UploadConfig, UploadProgress, UploadState, UploadStatus
from traycap.osutil.desktop import X11
from traycap.recorder.api import EventSink, Recorder, RecorderEvent, RecorderEventKind, RecorderState
from traycap.recorder.recover import RecoveryReport
from traycap.storage.state_store import StateStore
from traycap.tray.app import TrayApp
from traycap.tray.parts import Parts
from traycap.ui import notify
from traycap.ui.menu import Action, ActionKind, IconSpec, MenuItem

T0 = 1_700_000_000_000
CONFIG = UploadConfig(bucket="traycap-test", region="us-east-1", accessKeyId="AKIAX", secretAccessKey="s3cr3t-value")


class FakeTray:
    def __init__(self, on_action: Callable[[Action], None]) -> None:
        self.on_action = on_action
        self.renders: list[tuple[tuple[MenuItem, ...], IconSpec, str]] = []
        self.stopped = False

    def update(self, items: tuple[MenuItem, ...], spec: IconSpec, tooltip: str) -> None:
        self.renders.append((items, spec, tooltip))

    def run(self, on_shown: Callable[[], None]) -> None:
        on_shown()

    def stop(self) -> None:
        self.stopped = True


class FakeQueue:
    def __init__(self, log: list[str], states: StateStore, clock_ms: Callable[[], int]) -> None:
        self.log = log
        self.states = states
        self.now = clock_ms
        self.subs: list[Callable[[UploadProgress], None]] = []

    def restore(self) -> None:
        self.log.append("queue.restore")

    def _set(self, sid: str, status: UploadStatus) -> UploadState:
        state = UploadState(sessionId=sid, status=status, createdAt=self.now(), updatedAt=self.now())
        self.states.write(state)
        self.emit(UploadProgress.of(state))
        return state

    def enqueue(self, sid: str) -> UploadState:
        self.log.append(f"enqueue {sid}")
        return self._set(sid, UploadStatus.PENDING)

    def retry(self, sid: str) -> UploadState:
        self.log.append(f"retry {sid}")
        return self._set(sid, UploadStatus.PENDING)

    def cancel(self, sid: str) -> UploadState:
        self.log.append(f"cancel {sid}")
        return self._set(sid, UploadStatus.NOT_UPLOADED)

    def subscribe(self, fn: Callable[[UploadProgress], None]) -> Callable[[], None]:
        self.subs.append(fn)
        return lambda: self.subs.remove(fn)

    def emit(self, p: UploadProgress) -> None:
        for fn in list(self.subs):
            fn(p)

    def start(self) -> None:
        self.log.append("queue.start")

    def stop(self, *, timeout: float = 10.0) -> None:
        self.log.append(f"queue.stop({timeout})")


class FakeRecorder:
    """The recorder seam with the real states and events: stop "exports" a session dir at once."""

    def __init__(self, ctx: Context, log: list[str], on_event: EventSink) -> None:
        self.ctx, self.log, self.on_event = ctx, log, on_event
        self.state = RecorderState.IDLE
        self.session_id: str | None = None
        self.count = 0
        self.settings: list[AppSettings] = []
        self.aborts = 0

    def start(self) -> str:
        self.count += 1
        self.session_id = f"rec-{self.count}"
        self.state = RecorderState.RECORDING
        self.log.append(f"recorder.start {self.session_id}")
        self.on_event(RecorderEvent(RecorderEventKind.STARTED, self.session_id))
        return self.session_id

    def abort_start(self) -> None:
        self.aborts += 1

    def pause(self) -> None:
        self.state = RecorderState.PAUSED
        self.log.append("recorder.pause")
        assert self.session_id is not None
        self.on_event(RecorderEvent(RecorderEventKind.PAUSED, self.session_id))

    def resume(self) -> None:
        self.state = RecorderState.RECORDING
        self.log.append("recorder.resume")
        assert self.session_id is not None
        self.on_event(RecorderEvent(RecorderEventKind.RESUMED, self.session_id))

    def stop(self) -> SessionMeta:
        sid = self.session_id
        assert sid is not None
        self.state = RecorderState.IDLE
        self.on_event(RecorderEvent(RecorderEventKind.STOPPED, sid))
        make_session_dir(self.ctx.paths, sid, created_ms=self.ctx.clock.now_ms(), exported=True)
        self.log.append(f"recorder.stop {sid}")
        meta = self.ctx.sessions.read_meta(sid)
        self.on_event(RecorderEvent(RecorderEventKind.EXPORTED, sid, meta=meta))
        return meta

    def update_settings(self, settings: AppSettings) -> None:
        self.settings.append(settings)

    def wait_idle(self, timeout: float | None = None) -> bool:
        return True


class FakeHotkey:
    def __init__(self, spec: str, callback: Callable[[], None], log: list[str], fail: bool) -> None:
        self.spec, self.callback, self.log, self.fail = spec, callback, log, fail

    def start(self) -> None:
        if self.fail:
            raise HotkeyUnavailable(f"The hotkey {self.spec} cannot be registered: grabbed by another program")
        self.log.append(f"hotkey.start {self.spec}")

    def stop(self) -> None:
        self.log.append("hotkey.stop")


class FakeShortcuts:
    """The desktop's GlobalShortcuts as the tray sees them (tray/parts.py's ShortcutsLike): `trigger` is what the
    desktop bound; None plays a desktop without the portal."""

    def __init__(self, trigger: str | None, on_toggle: Callable[[], None], on_pause: Callable[[], None],
                 log: list[str]) -> None:
        self.trigger, self.on_toggle, self.on_pause, self.log = trigger, on_toggle, on_pause, log

    def start(self) -> str:
        if self.trigger is None:
            raise HotkeyUnavailable("This desktop offers no global shortcuts to apps (no GlobalShortcuts portal)")
        self.log.append(f"shortcuts.bind {self.trigger}")
        return self.trigger

    def stop(self) -> None:
        self.log.append("shortcuts.stop")


class FakeLock:
    def __init__(self, free: bool, log: list[str]) -> None:
        self.free, self.log = free, log

    def try_acquire(self) -> bool:
        self.log.append(f"queue_lock.acquire -> {self.free}")
        return self.free

    def acquire_as_owner(self) -> bool:
        return self.try_acquire()

    def release(self) -> None:
        self.log.append("queue_lock.release")


class Harness:
    def __init__(self, ctx: Context, *, lock_free: bool = True, hotkey_fails: bool = False,
                 settle: bool = True, desktop: str = X11, shortcut_trigger: str | None = None) -> None:
        """`settle`: run the app's keyring step at once (False: the test runs `app.settle_secrets()`).
        `desktop`, `shortcut_trigger`: a Wayland session and what its GlobalShortcuts bind (None: no portal)."""
        self.ctx = ctx
        self.log: list[str] = []
        self.delivered: list[notify.Notice] = []
        self.copied: list[str] = []
        self.opened: list[Path] = []
        self.queue: FakeQueue | None = None
        self.recorder: FakeRecorder | None = None
        self.hotkeys: list[FakeHotkey] = []
        self.shortcuts: list[FakeShortcuts] = []
        self.tray: FakeTray | None = None

        def make_tray(on_action: Callable[[Action], None]) -> FakeTray:
            self.tray = FakeTray(on_action)
            return self.tray

        def make_queue(c: Context) -> FakeQueue:
            self.queue = FakeQueue(self.log, c.states, c.clock.now_ms)
            return self.queue

        def make_recorder(c: Context, settings: AppSettings, on_event: EventSink, live: object = None) -> Recorder:
            self.recorder = FakeRecorder(c, self.log, on_event)
            return self.recorder

        def make_hotkey(spec: str, cb: Callable[[], None]) -> FakeHotkey:
            hk = FakeHotkey(spec, cb, self.log, hotkey_fails)
            self.hotkeys.append(hk)
            return hk

        def make_shortcuts(on_toggle: Callable[[], None], on_pause: Callable[[], None]) -> FakeShortcuts:
            sc = FakeShortcuts(shortcut_trigger, on_toggle, on_pause, self.log)
            self.shortcuts.append(sc)
            return sc

        def cleanup_spy(c: Context) -> RecoveryReport:
            self.log.append("recover")
            return RecoveryReport()

        self.notifier = notify.Notifier(self.delivered.append, available=lambda: True)
        self.parts = Parts(
            make_tray=make_tray,
            make_queue=make_queue,
            make_recorder=make_recorder,
            make_hotkey=make_hotkey,
            queue_lock=FakeLock(lock_free, self.log),
            notifier=self.notifier,
            copy_text=self.copied.append,
            open_folder=self.opened.append,
            share_link=lambda cfg, key, exp: f"{cfg.endpointUrl or 'https://s3'}/{cfg.bucket}/{key}?X-Amz-Expires={exp}",
            launch_settings=lambda c: _DoneProcess(),
            recover=cleanup_spy,
            desktop=desktop,
            make_shortcuts=make_shortcuts,
        )
        self.app = TrayApp(ctx, self.parts)
        if settle:
            self.app.settle_secrets()  # the step `run()` runs on its own thread: the store answers from now on

    def do(self, action_id: str) -> None:
        kind, _, sid = action_id.partition(":")
        self.app.dispatch.perform(Action(ActionKind(kind), sid or None))

    def menu(self) -> tuple[MenuItem, ...]:
        self.app.render()
        assert self.tray is not None
        return self.tray.renders[-1][0]

    def spec(self) -> IconSpec:
        self.app.render()
        assert self.tray is not None
        return self.tray.renders[-1][1]

    def notices(self) -> list[notify.Notice]:
        self.notifier.close()
        return list(self.delivered)


class _DoneProcess:
    def poll(self) -> int | None:
        return 0

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def terminate(self) -> None:
        raise AssertionError("a finished process is not terminated")
