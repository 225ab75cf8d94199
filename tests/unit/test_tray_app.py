"""TrayApp (traycap/tray/app.py) with fake parts: start-up order, actions, live menu updates, notifications, quit.

No GUI here: the fakes in tests/support/fake_app_parts.py record what would be rendered.
The real run is tests/integration/test_tray_gui.py.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest

from tests.support.fake_app_parts import CONFIG, T0, Harness
from tests.support.secret_stores import MemorySecretStore
from tests.support.sessions import make_session_dir, set_tree_mtime
from tests.support.waiting import wait_until
from traycap.bundle.export import export_session
from traycap.context import Context
from traycap.errors import CaptureCancelled
from traycap.media.capture.null import NullScreen
from traycap.models import AppSettings, SessionMeta, UploadProgress, UploadState, UploadStatus
from traycap.osutil.desktop import WAYLAND
from traycap.recorder.api import RecorderEvent, RecorderEventKind, RecorderState
from traycap.recorder.controller import RecordingController
from traycap.recorder.null import NullInput
from traycap.recorder.tracks import WAYLAND_NO_INPUT
from traycap.storage.config_store import save_config, save_settings
from traycap.storage.secrets import NOT_SETTLED
from traycap.tray.view import recording_mode
from traycap.ui import notify
from traycap.ui.menu import Action, ActionKind, IconSpec, IconState, RecordingMode, find_action
from traycap.ui.tray_requests import TrayAction, TrayAnswer, await_answer, send


@pytest.fixture
def h(ctx: Context) -> Iterator[Harness]:
    save_config(ctx.paths.config, CONFIG)
    harness = Harness(ctx)
    yield harness
    harness.app.actions.close()


def test_startup_order_and_ready(h: Harness) -> None:
    assert not find_action(h.menu(), "toggle_recording").enabled  # type: ignore[union-attr]
    h.app.startup()
    assert h.log == [
        "queue_lock.acquire -> True", "recover", "queue.restore", "queue.start", "hotkey.start <ctrl>+<shift>+r",
    ]
    start = find_action(h.menu(), "toggle_recording")
    assert start is not None and start.enabled and start.label == "Start recording (Ctrl+Shift+R)"


def test_start_up_does_not_wait_for_the_keyring_and_the_queue_starts_once_it_answered(ctx: Context) -> None:
    """Issue 24: the icon, the menu and the hotkey come first; a secret in the keyring reads as "not known
    yet" until `settle_secrets` (its own thread in `run`) asked the keyring; then the settings are re-read
    and the queue starts (its first attempt needs the secret)."""
    keyring = MemorySecretStore()
    ctx = dataclasses.replace(ctx, secrets=keyring)
    save_config(ctx.paths.config, CONFIG, keyring)  # the secret is in the keyring
    keyring.calls.clear()
    h = Harness(ctx, settle=False)
    try:
        h.app.startup()
        assert h.log == ["queue_lock.acquire -> True", "recover", "queue.restore", "hotkey.start <ctrl>+<shift>+r"]
        assert keyring.calls == []  # not asked on the start-up path
        config, problem = h.app.model.usable_config()
        assert config is None and problem is not None and NOT_SETTLED in problem
        start = find_action(h.menu(), "toggle_recording")
        assert start is not None and start.enabled  # ready: the hotkey and Start work meanwhile
        h.app.settle_secrets()
        assert h.log[-1] == "queue.start"
        assert h.app.model.usable_config() == (CONFIG, None)
        h.app.settle_secrets()
        assert h.log.count("queue.start") == 1  # once
    finally:
        h.app.actions.close()


def test_a_keyring_that_answers_before_start_up_is_done_lets_start_up_start_the_queue(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG)
    h = Harness(ctx, settle=False)
    try:
        h.app.settle_secrets()  # the keyring answered first: there is no queue yet to start
        assert "queue.start" not in h.log
        h.app.startup()
        assert h.log.count("queue.start") == 1
    finally:
        h.app.actions.close()


def test_orphans_are_cleaned_up_at_startup(ctx: Context) -> None:
    old = ctx.clock.now_ms() - 3 * 24 * 3600 * 1000
    make_session_dir(ctx.paths, "orphan", created_ms=old, exported=False, zip_bytes=None)
    set_tree_mtime(ctx.paths.session_dir("orphan"), old)
    make_session_dir(ctx.paths, "kept", created_ms=old, exported=True)
    h = Harness(ctx)
    h.app.startup()
    assert not ctx.paths.session_dir("orphan").exists()
    assert [i.sessionId for i in h.app.model.cache.recent()] == ["kept"]
    h.app.actions.close()


def test_hotkey_then_stop_records_exports_and_auto_uploads(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG.with_(autoUpload=True))
    h = Harness(ctx)
    h.app.startup()
    h.hotkeys[-1].callback()  # the hotkey fires on pynput's thread; the work is posted
    assert h.app.actions.drain()
    assert h.spec().state is IconState.RECORDING
    assert [i.label for i in h.menu()[:2]] == ["Stop recording (Ctrl+Shift+R)", "Pause"]
    h.do("pause")
    assert h.spec().state is IconState.PAUSED and h.menu()[1].label == "Resume"
    h.do("resume")
    h.do("toggle_recording")
    assert "recorder.stop rec-1" in h.log and "enqueue rec-1" in h.log
    row = h.app.model.cache.get("rec-1")
    assert row is not None and row.uploadStatus is UploadStatus.PENDING
    assert find_action(h.menu(), "cancel:rec-1") is not None
    assert h.spec().state is IconState.IDLE
    h.app.actions.close()


def test_without_auto_upload_the_session_waits_for_the_user(h: Harness) -> None:
    h.app.startup()
    h.do("toggle_recording")
    h.do("toggle_recording")
    assert not [x for x in h.log if x.startswith("enqueue")]
    h.do("upload:rec-1")
    assert "enqueue rec-1" in h.log


def test_progress_updates_the_cached_row_icon_and_notifies_once(h: Harness) -> None:
    make_session_dir(h.ctx.paths, "s1", created_ms=T0, exported=True, state=UploadStatus.PENDING)
    h.app.startup()
    assert h.queue is not None
    for pct in (10, 45, 45, 45):
        h.queue.emit(UploadProgress("s1", UploadStatus.UPLOADING, pct, 100, pct))
    menu = h.menu()
    assert h.spec() == IconSpec(IconState.UPLOADING, 45)
    recent = next(i for i in menu if i.label == "Recent sessions")
    assert recent.children[0].label.endswith("Uploading 45%")
    assert "Upload queue: 1 pending, uploading 45%" in [i.label for i in menu]
    state = UploadState(
        sessionId="s1", status=UploadStatus.DONE, createdAt=T0, updatedAt=T0 + 9000, bytesUploaded=100,
        totalBytes=100, s3Key="sessions/s1.zip", lastAttemptAt=T0 + 1000, completedAt=T0 + 9000,
    )
    h.ctx.states.write(state)
    for _ in range(3):
        h.queue.emit(UploadProgress.of(state))
    assert h.app.actions.drain()
    assert h.spec().state is IconState.IDLE
    done = [n for n in h.notices() if n.kind is notify.NoticeKind.UPLOAD_DONE]
    assert [n.message for n in done] == ["Session s1, 100 B in 0:08"]
    assert find_action(h.menu(), "copy_link:s1") is not None


def test_failure_notifies_once_with_the_reason_and_sets_attention(h: Harness) -> None:
    make_session_dir(h.ctx.paths, "s1", created_ms=T0, exported=True, state=UploadStatus.UPLOADING)
    h.app.startup()
    assert h.queue is not None
    reason = "The access key was rejected by S3 (check Upload settings, then Retry)"
    for _ in range(3):
        h.queue.emit(UploadProgress("s1", UploadStatus.FAILED, 0, 100, 0, error=reason))
    assert h.spec().state is IconState.ATTENTION
    assert find_action(h.menu(), "retry:s1") is not None
    h.do("retry:s1")
    assert "retry s1" in h.log
    failed = [n for n in h.notices() if n.kind is notify.NoticeKind.UPLOAD_FAILED]
    assert [n.message for n in failed] == [f"Session s1: {reason}"]


def test_sessions_failed_before_startup_are_not_announced_again(ctx: Context) -> None:
    make_session_dir(ctx.paths, "old", created_ms=T0, exported=True, state=UploadStatus.FAILED)
    h = Harness(ctx)
    h.app.startup()
    assert h.queue is not None
    h.queue.emit(UploadProgress("old", UploadStatus.FAILED, 0, 0, 0, error="x"))
    assert h.notices() == []
    assert h.spec().state is IconState.ATTENTION
    h.app.actions.close()


def test_copy_link_and_open_folders(h: Harness) -> None:
    make_session_dir(h.ctx.paths, "s1", created_ms=T0, exported=True)
    h.ctx.states.write(UploadState(sessionId="s1", status=UploadStatus.DONE, createdAt=T0, updatedAt=T0,
                                   s3Key="sessions/s1.zip"))
    h.app.startup()
    h.do("copy_link:s1")
    assert h.copied == ["https://s3/traycap-test/sessions/s1.zip?X-Amz-Expires=604800"]
    h.do("open_folder:s1")
    h.do("open_sessions_folder")
    assert h.opened == [h.ctx.paths.session_dir("s1"), h.ctx.paths.sessions]


def test_copy_link_of_a_session_not_uploaded_is_a_readable_error(h: Harness) -> None:
    make_session_dir(h.ctx.paths, "s1", created_ms=T0, exported=True)
    h.app.startup()
    h.app.dispatch.handle(Action(ActionKind.COPY_LINK, "s1"))
    assert h.app.actions.drain()
    assert h.copied == []
    assert [n.message for n in h.notices()] == ["Session s1 has not been uploaded yet"]


def test_hotkey_failure_is_not_fatal_and_shows_in_menu_and_notification(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG)
    h = Harness(ctx, hotkey_fails=True)
    h.app.startup()
    labels = [i.label for i in h.menu()]
    assert labels[0] == "Start recording"
    assert any(label.startswith("Hotkey unavailable: The hotkey <ctrl>+<shift>+r") for label in labels)
    assert [n.title for n in h.notices()] == ["Hotkey unavailable"]
    h.do("toggle_recording")
    assert "recorder.start rec-1" in h.log
    h.app.actions.close()


def test_missing_config_is_attention_and_disables_upload(ctx: Context) -> None:
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    h = Harness(ctx)
    h.app.startup()
    assert h.spec().state is IconState.ATTENTION
    upload = find_action(h.menu(), "upload:s1")
    assert upload is not None and not upload.enabled
    save_config(ctx.paths.config, CONFIG)
    h.do("open_settings")  # the fake dialog exits at once; the watcher reloads the settings
    wait_until("the settings to be reloaded", lambda: h.app.model.view().config_problem is None, 5)
    upload = find_action(h.menu(), "upload:s1")
    assert upload is not None and upload.enabled
    h.app.actions.close()


def test_changed_hotkey_in_settings_is_registered_again(h: Harness) -> None:
    h.app.startup()
    save_settings(h.ctx.paths.settings, AppSettings(hotkey="<alt>+<f9>"))
    h.app.reload_settings()
    assert h.log[-2:] == ["hotkey.stop", "hotkey.start <alt>+<f9>"]
    assert h.menu()[0].label == "Start recording (Alt+F9)"


def test_without_the_queue_lock_requests_go_to_disk(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG)
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    h = Harness(ctx, lock_free=False)
    h.app.startup()
    assert h.queue is None and "queue.restore" not in h.log
    h.do("upload:s1")
    assert ctx.states.read("s1").status is UploadStatus.PENDING  # type: ignore[union-attr]  # for the queue's process
    h.do("cancel:s1")
    assert ctx.states.read("s1").status is UploadStatus.NOT_UPLOADED  # type: ignore[union-attr]
    assert not [x for x in h.log if x.startswith(("enqueue", "cancel"))]
    h.app.shutdown()
    assert "queue_lock.release" not in h.log


def test_a_tray_without_the_queue_lock_takes_over_the_queue_once_it_is_free(ctx: Context) -> None:
    """The lock may be held only for a moment (a CLI command checking for a running queue) or by a
    worker that later exits: the tray keeps trying and then runs the queue itself."""
    save_config(ctx.paths.config, CONFIG)
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    h = Harness(ctx, lock_free=False)
    h.app.startup()
    h.app._take_over_queue()  # still held elsewhere: nothing changes
    assert h.queue is None and "queue.restore" not in h.log
    h.parts.queue_lock.free = True  # type: ignore[attr-defined]  # FakeLock
    h.app._take_over_queue()
    assert h.queue is not None
    assert h.log[-3:] == ["queue_lock.acquire -> True", "queue.restore", "queue.start"]
    h.do("upload:s1")
    assert h.log[-1] == "enqueue s1"  # this tray runs the queue now: the request goes to it
    h.app.shutdown()
    assert h.log[-1] == "queue_lock.release"


def test_quit_stops_recording_then_queue_at_a_part_boundary(h: Harness) -> None:
    h.app.startup()
    h.do("toggle_recording")
    h.do("quit")
    tail = h.log[h.log.index("recorder.start rec-1") + 1:]
    assert tail == ["recorder.stop rec-1", "hotkey.stop", "queue.stop(10.0)", "queue_lock.release"]
    assert h.tray is not None and h.tray.stopped
    assert h.ctx.sessions.is_exported("rec-1")


def test_recorder_failure_event_notifies_once(h: Harness) -> None:
    h.app.startup()
    h.do("toggle_recording")

    event = RecorderEvent(RecorderEventKind.FAILED, "rec-1", "The display went away")
    assert h.recorder is not None
    h.recorder.state = RecorderState.IDLE
    h.recorder.on_event(event)
    h.recorder.on_event(event)
    assert "Recording problem: The display went away" in [i.label for i in h.menu()]
    assert [n.title for n in h.notices()] == ["Recording stopped"]


def test_recording_mode_mapping() -> None:
    assert [recording_mode(s) for s in RecorderState] == [
        RecordingMode.IDLE, RecordingMode.RECORDING, RecordingMode.PAUSED]


def test_copy_link_on_done_setting_copies_and_says_so(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG)
    save_settings(ctx.paths.settings, AppSettings(copyLinkOnDone=True, linkExpiresS=3600))
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True, state=UploadStatus.UPLOADING)
    h = Harness(ctx)
    h.app.startup()
    assert h.queue is not None
    done = UploadState(sessionId="s1", status=UploadStatus.DONE, createdAt=T0, updatedAt=T0, bytesUploaded=22,
                       totalBytes=22, s3Key="sessions/s1.zip")
    ctx.states.write(done)
    h.queue.emit(UploadProgress.of(done))
    assert h.app.actions.drain()
    assert h.copied == ["https://s3/traycap-test/sessions/s1.zip?X-Amz-Expires=3600"]
    (notice,) = h.notices()
    assert notice.message == "Session s1, 22 B. Share link copied to the clipboard."
    h.app.actions.close()


def test_hotkey_during_export_does_not_start_a_new_recording(h: Harness) -> None:
    h.app.startup()
    h.do("toggle_recording")
    h.app.model.set_mode(RecordingMode.STOPPING)  # what toggle_recording sets while recorder.stop() exports
    h.hotkeys[-1].callback()
    assert h.app.actions.drain()
    assert [x for x in h.log if x.startswith("recorder.")] == ["recorder.start rec-1"]


def test_quit_while_a_stopped_recording_is_exporting_waits_for_the_export(live_ctx: Context) -> None:
    """Found in review (fix: 908b7fd), with the real recorder on a null screen: SIGTERM at logout or
    Ctrl-C while Stop's export runs must wait for the export, not exit with the session half-written."""
    save_config(live_ctx.paths.config, CONFIG)
    h = Harness(live_ctx)
    exporting, go_on = threading.Event(), threading.Event()

    def slow_export(ctx: Context, session_id: str) -> SessionMeta:
        exporting.set()
        assert go_on.wait(10)
        return export_session(ctx, session_id)

    recorder = RecordingController(live_ctx, AppSettings(fps=20, screenshotIntervalS=5),
                                   on_event=h.app.events.on_recorder_event,
                                   capture_factory=lambda monitor: NullScreen(), input_factory=NullInput().factory,
                                   exporter=slow_export)
    h.parts.make_recorder = lambda c, s, e, live: recorder
    h.app.startup()
    sid = recorder.start()
    frames = live_ctx.paths.session_dir(sid) / "video" / "frames.jsonl"
    wait_until("a frame", lambda: frames.exists() and frames.read_bytes().count(b"\n") >= 2)
    stopper = threading.Thread(target=h.app.dispatch.toggle_recording)  # the hotkey's Stop, on traycap-actions
    stopper.start()
    assert exporting.wait(10)
    # SIGTERM (logout) or Ctrl-C now: the recorder is already IDLE, its export still runs.
    quitter = threading.Thread(target=h.app.shutdown)
    quitter.start()
    try:
        quitter.join(1.0)
        assert quitter.is_alive(), "shutdown returned (and the process would exit) in the middle of the export"
    finally:
        go_on.set()
        quitter.join(10)
        stopper.join(10)
    assert not quitter.is_alive() and live_ctx.sessions.is_exported(sid)


def test_menu_actions_still_run_while_a_long_export_runs(ctx: Context) -> None:
    """Found in review (fix: 0eac413): every menu action ran on the one traycap-actions thread, behind
    Stop's export: with an hour-long session, "Open sessions folder", "Upload settings…" or another
    session's Upload did nothing for the whole export, then all fired at once."""
    save_config(ctx.paths.config, CONFIG)
    h = Harness(ctx)
    h.app.startup()
    h.do("toggle_recording")
    recorder = h.recorder
    assert recorder is not None
    exporting, go_on = threading.Event(), threading.Event()
    real_stop = recorder.stop

    def slow_stop():  # type: ignore[no-untyped-def]
        exporting.set()
        assert go_on.wait(10)
        return real_stop()

    recorder.stop = slow_stop  # type: ignore[method-assign]
    try:
        h.app.dispatch.handle(Action(ActionKind.TOGGLE_RECORDING))
        assert exporting.wait(10)
        h.app.dispatch.handle(Action(ActionKind.OPEN_SESSIONS_FOLDER))
        wait_until("Open sessions folder to run during the export", lambda: h.opened, timeout=3)
        assert not go_on.is_set()
    finally:
        go_on.set()
        assert h.app.actions.drain()
        h.app.actions.close()
    assert h.opened == [ctx.paths.sessions] and "recorder.stop rec-1" in h.log


# --- issue 21: `traycap toggle` / `traycap pause`, the desktop's shortcuts on Wayland, what a recording holds ---

def _ask(h: Harness, action: TrayAction) -> TrayAnswer:
    """What `traycap toggle` / `pause` does, with the tray's request thread played by one poll."""
    request = send(h.ctx.paths.root, action, h.ctx.clock.now_ms())
    assert h.app.poll_requests() == 1
    answer = await_answer(h.ctx.paths.root, request, wait=h.ctx.clock.sleep, monotonic=h.ctx.clock.monotonic)
    assert answer is not None
    assert h.app.actions.drain()
    return answer


def test_toggle_and_pause_requests_drive_the_recorder_and_are_answered(h: Harness) -> None:
    assert _ask(h, TrayAction.TOGGLE) == TrayAnswer(False, "traycap is still starting up; try again in a moment")
    h.app.startup()
    assert _ask(h, TrayAction.PAUSE) == TrayAnswer(
        False, "nothing is being recorded, so there is nothing to pause or resume")
    assert _ask(h, TrayAction.TOGGLE) == TrayAnswer(True, "starting a recording")
    assert h.recorder is not None and h.recorder.state is RecorderState.RECORDING
    assert _ask(h, TrayAction.PAUSE) == TrayAnswer(True, "pausing the recording")
    assert h.recorder.state is RecorderState.PAUSED and h.spec().state is IconState.PAUSED
    assert _ask(h, TrayAction.PAUSE) == TrayAnswer(True, "resuming the recording")
    assert h.recorder.state is RecorderState.RECORDING
    assert _ask(h, TrayAction.TOGGLE) == TrayAnswer(True, "stopping the recording (it is saved and exported)")
    assert "recorder.stop rec-1" in h.log and h.spec().state is IconState.IDLE


def test_a_second_toggle_while_the_first_is_starting_is_refused(h: Harness) -> None:
    """Two key presses before the screen picker is answered must not start and then stop a recording."""
    h.app.startup()
    h.app.model.set_mode(RecordingMode.STARTING)
    assert _ask(h, TrayAction.TOGGLE).ok is False
    h.app.model.set_mode(RecordingMode.STOPPING)
    answer = _ask(h, TrayAction.TOGGLE)
    assert answer == TrayAnswer(False, "the last recording is still being exported; try again in a moment")
    assert h.recorder is not None and h.recorder.count == 0


def test_on_wayland_the_desktop_binds_the_keys_once_and_they_toggle_and_pause(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG)
    h = Harness(ctx, desktop=WAYLAND, shortcut_trigger="Ctrl+Alt+R")
    h.app.startup()
    assert h.app.actions.drain()
    assert "shortcuts.bind Ctrl+Alt+R" in h.log and not h.hotkeys  # no pynput hotkey on Wayland
    assert find_action(h.menu(), "toggle_recording").label == "Start recording (Ctrl+Alt+R)"  # type: ignore[union-attr]
    (shortcuts,) = h.shortcuts
    shortcuts.on_toggle()  # Activated("toggle-recording"), on the bus thread
    assert h.app.actions.drain() and h.recorder is not None and h.recorder.state is RecorderState.RECORDING
    shortcuts.on_pause()
    assert h.app.actions.drain() and h.recorder.state is RecorderState.PAUSED
    save_settings(ctx.paths.settings, AppSettings(hotkey="<ctrl>+<alt>+k"))
    h.app.reload_settings()  # the hotkey setting does not apply on Wayland: nothing is bound again
    assert h.app.actions.drain() and len(h.shortcuts) == 1
    h.app.shutdown()
    assert "shortcuts.stop" in h.log


def test_on_wayland_without_global_shortcuts_the_menu_says_how_to_bind_the_command(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG)
    h = Harness(ctx, desktop=WAYLAND, shortcut_trigger=None)
    h.app.startup()
    assert h.app.actions.drain()
    labels = [i.label for i in h.menu()]
    assert labels[0] == "Start recording"
    assert "Keys: bind `traycap toggle` in your desktop (Upload settings… says how)" in labels
    assert h.spec().state is IconState.IDLE  # a way to bind keys is not a problem
    assert not any(n.title == "Hotkey unavailable" for n in h.notices())
    h.app.actions.close()


def test_the_menu_says_what_the_recording_holds(h: Harness) -> None:
    h.app.startup()
    tracks = {"video": True, "cursor": "embedded", "pointer": "none", "clicks": False, "keys": False,
              "why": WAYLAND_NO_INPUT}
    meta = SessionMeta(sessionId="w1", createdAt=T0, extra={"recorder": {"tracks": tracks}})
    h.app.events.on_recorder_event(RecorderEvent(RecorderEventKind.STARTED, "w1", meta=meta))
    assert "Recording screen with pointer; no clicks or keys (Wayland)" in [i.label for i in h.menu()]
    h.app.events.on_recorder_event(RecorderEvent(
        RecorderEventKind.STARTED, "w2", meta=meta, message="No permission to read the input devices"))
    assert [(n.title, n.message) for n in h.notices()] == [("Recording started",
                                                            "No permission to read the input devices")]


def test_a_cancelled_screen_picker_is_said_in_the_tray_and_no_recording_runs(ctx: Context) -> None:
    """Issue 21: the person closes the desktop's picker; the tray says so, and nothing is left half made."""
    save_config(ctx.paths.config, CONFIG)
    h = Harness(ctx)
    h.app.startup()

    def cancelled() -> str:
        raise CaptureCancelled("Recording did not start: the screen picker was closed without choosing a screen")

    assert h.recorder is not None
    h.recorder.start = cancelled  # type: ignore[method-assign]
    h.app.dispatch.handle(Action(ActionKind.TOGGLE_RECORDING))
    assert h.app.actions.drain()
    menu = [i.label for i in h.menu()]
    assert menu[0] == "Start recording (Ctrl+Shift+R)"
    assert any(label.startswith("Recording problem: Recording did not start: the screen picker") for label in menu)
    (notice,) = [n for n in h.notices() if n.kind is notify.NoticeKind.PROBLEM]
    assert "screen picker was closed" in notice.message and "choose a screen" in notice.message
    assert h.recorder.count == 0


def test_quit_ends_a_start_that_waits_for_the_picker(h: Harness) -> None:
    h.app.startup()
    h.app.dispatch.handle(Action(ActionKind.QUIT))
    assert h.recorder is not None and h.recorder.aborts >= 1
    assert h.app.actions.drain()
