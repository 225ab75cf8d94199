"""Review findings in the tray app's logic (fake tray/queue, the real recorder on a null screen)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.support.recording import wait_for
from tests.support.tray_app import CONFIG, Harness
from traycap.clock import SystemClock
from traycap.context import Context, make_context
from traycap.models import AppSettings, SessionMeta
from traycap.paths import Paths
from traycap.recorder.controller import RecordingController
from traycap.recorder.export import export_session
from traycap.recorder.null import NullInput, NullScreen
from traycap.storage.config_store import save_config


@pytest.fixture
def live_ctx(home: Path) -> Context:
    return make_context(Paths(root=home, logs=home / "logs"), SystemClock())


def test_quit_while_a_stopped_recording_is_exporting_waits_for_the_export(live_ctx: Context) -> None:
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
    h.parts.make_recorder = lambda c, s, e: recorder
    h.app.startup()
    sid = recorder.start()
    frames = live_ctx.paths.session_dir(sid) / "video" / "frames.jsonl"
    wait_for("a frame", lambda: frames.exists() and frames.read_bytes().count(b"\n") >= 2)
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
    # Every menu action ran on the one traycap-actions thread, behind Stop's export: with an
    # hour-long session, "Open sessions folder", "Upload settings…" or another session's
    # Upload did nothing for the whole export, then all fired at once.
    from traycap.ui.menu import Action, ActionKind

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
        wait_for("Open sessions folder to run during the export", lambda: h.opened, timeout=3)
        assert not go_on.is_set()
    finally:
        go_on.set()
        assert h.app.actions.drain()
        h.app.actions.close()
    assert h.opened == [ctx.paths.sessions] and "recorder.stop rec-1" in h.log
