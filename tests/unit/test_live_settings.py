"""Live settings: a change another process makes to the settings files reaches the tray's menu and icon,
the recorder's next recording, the hotkey and the upload queue's engine, on the fake clock."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.fake_app_parts import CONFIG, Harness
from tests.support.fake_engine import FakeEngine
from tests.support.sessions import TEST_CONFIG, make_session_dir, write_config
from tests.support.sessions import make_exported_session as make_exported
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.models import AppSettings, UploadState, UploadStatus
from traycap.storage.atomic import write_json_atomic
from traycap.storage.config_store import save_config, save_settings
from traycap.storage.settings_watch import SettingsWatch
from traycap.tray.app import SETTINGS_POLL_S
from traycap.ui.menu import IconState, find_action
from traycap.upload.queue import UploadQueue

T0 = 1_700_000_000_000


def test_the_watch_reports_each_change_once_and_only_when_due(tmp_path: Path, clock: FakeClock) -> None:
    config, settings = tmp_path / "upload-config.json", tmp_path / "app-settings.json"
    watch = SettingsWatch((config, settings), clock, interval_s=1.0)
    assert not watch.poll() and watch.due_in() == 1.0
    write_json_atomic(config, {"bucket": "a"})  # created
    clock.advance(0.5)
    assert not watch.poll() and watch.due_in() == 0.5  # not due yet: not even a stat
    clock.advance(0.5)
    assert watch.poll() and not watch.poll()
    clock.advance(1.0)
    assert not watch.poll()  # nothing changed since
    write_json_atomic(config, {"bucket": "b"})  # same size, same second: a new inode all the same
    clock.advance(1.0)
    assert watch.poll()
    with open(settings, "w") as fh:  # an editor writing in place
        fh.write('{"fps": 15}')
    clock.advance(1.0)
    assert watch.poll()
    os.unlink(config)
    clock.advance(1.0)
    assert watch.poll()  # deleted
    clock.advance(1.0)
    assert not watch.poll()


def test_upload_settings_set_by_another_process_clear_the_attention_within_one_poll(
        ctx: Context, clock: FakeClock) -> None:
    """What `traycap config set bucket=…` in a terminal does to a running tray."""
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    ctx.states.write(UploadState(sessionId="s1", status=UploadStatus.DONE, createdAt=T0, updatedAt=T0,
                                 s3Key="sessions/s1.zip"))
    h = Harness(ctx)
    h.app.startup()
    h.app.ui_step()
    assert h.spec().state is IconState.ATTENTION
    assert "Upload settings needed: no upload settings yet" in [i.label for i in h.menu()]
    link = find_action(h.menu(), "copy_link:s1")
    assert link is not None and not link.enabled

    save_config(ctx.paths.config, CONFIG)  # another process
    h.app.ui_step()
    assert h.spec().state is IconState.ATTENTION  # not looked yet: one stat a second at most
    clock.advance(SETTINGS_POLL_S)
    h.app.ui_step()
    assert h.tray is not None
    items, spec, tooltip = h.tray.renders[-1]  # what the UI thread rendered in that one step
    assert spec.state is IconState.IDLE and tooltip == "traycap: idle"
    assert not [i.label for i in items if i.label.startswith("Upload settings needed")]
    link = find_action(items, "copy_link:s1")
    assert link is not None and link.enabled
    h.do("copy_link:s1")
    assert h.copied == ["https://s3/traycap-test/sessions/s1.zip?X-Amz-Expires=604800"]
    h.app.actions.close()


def test_recorder_settings_apply_to_the_next_recording_and_the_hotkey_is_registered_again(
        ctx: Context, clock: FakeClock) -> None:
    save_config(ctx.paths.config, CONFIG)
    h = Harness(ctx)
    h.app.startup()
    assert h.recorder is not None
    save_settings(ctx.paths.settings, AppSettings(fps=15, hotkey="<alt>+<f9>", linkExpiresS=3600))
    clock.advance(SETTINGS_POLL_S)
    h.app.ui_step()
    assert h.recorder.settings[-1].fps == 15
    assert h.log[-2:] == ["hotkey.stop", "hotkey.start <alt>+<f9>"]
    assert h.menu()[0].label == "Start recording (Alt+F9)"
    clock.advance(SETTINGS_POLL_S)
    h.app.ui_step()
    assert h.log[-1] == "hotkey.start <alt>+<f9>" and len(h.recorder.settings) == 1  # no change: no reload
    h.app.actions.close()


def test_a_broken_settings_file_written_meanwhile_is_reported_not_fatal(ctx: Context, clock: FakeClock) -> None:
    save_config(ctx.paths.config, CONFIG)
    h = Harness(ctx)
    h.app.startup()
    ctx.paths.config.write_text("{half a file")
    clock.advance(SETTINGS_POLL_S)
    h.app.ui_step()
    assert h.spec().state is IconState.ATTENTION
    assert any(i.label.startswith("Upload settings needed: the settings file is unreadable") for i in h.menu())
    h.app.actions.close()


def test_the_queue_uses_new_credentials_and_endpoint_for_the_next_attempt(ctx: Context) -> None:
    engine = FakeEngine(part_size=1024)
    write_config(ctx)
    queue = UploadQueue(ctx, engine.factory)
    make_exported(ctx, "a", 3000)
    make_exported(ctx, "b", 3000)
    queue.enqueue("a")
    queue.enqueue("b")
    assert queue.process_one()
    changed = TEST_CONFIG.with_(accessKeyId="AKIANEWKEY", secretAccessKey="new-secret-4567",
                                endpointUrl="http://127.0.0.1:9000")
    save_config(ctx.paths.config, changed)  # `traycap config set` in another terminal
    assert queue.process_one()
    assert [c.accessKeyId for c in engine.configs] == [TEST_CONFIG.accessKeyId, "AKIANEWKEY"]
    assert engine.configs[-1].endpointUrl == "http://127.0.0.1:9000"
    assert ctx.states.read("b").status is UploadStatus.DONE  # type: ignore[union-attr]
