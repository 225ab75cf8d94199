"""RecordingController with null screen/input backends (real encoder, real files, real zip)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.support.recording import read_bundle, wait_for
from traycap.clock import SystemClock
from traycap.context import Context, make_context
from traycap.errors import AlreadyRecording, CaptureLost, DiskFull, NotRecording, StorageError, TraycapError
from traycap.models import AppSettings, KeystrokePrivacy
from traycap.paths import Paths
from traycap.recorder.actions import RawClick, RawKey, RawMove
from traycap.recorder.controller import RecorderEvent, RecorderState, RecordingController
from traycap.recorder.null import NullInput, NullScreen
from traycap.recorder.recover import recover_unfinished
from traycap.recorder.screen import video_frame_count
from traycap.recorder.session import RecordingLock
from traycap.storage.atomic import write_json_atomic


@pytest.fixture
def live_ctx(home: Path) -> Context:
    # A real clock: the worker threads really run; tests wait on conditions, never on sleeps.
    return make_context(Paths(root=home, logs=home / "logs"), SystemClock())


def _controller(ctx: Context, screen: NullScreen, inputs: NullInput, events: list[RecorderEvent],
                **settings: object) -> RecordingController:
    values: dict[str, object] = {"fps": 20, "screenshotIntervalS": 0.5, **settings}
    return RecordingController(ctx, AppSettings(**values),  # type: ignore[arg-type]
                               on_event=events.append, capture_factory=lambda monitor: screen,
                               input_factory=inputs.factory)


def _frames(ctx: Context, session_id: str) -> int:
    path = ctx.paths.session_dir(session_id) / "video" / "frames.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_start_pause_resume_stop_export(live_ctx: Context) -> None:
    screen, inputs, events = NullScreen(64, 48), NullInput(), []
    ctl = _controller(live_ctx, screen, inputs, events)
    sid = ctl.start()
    assert ctl.state is RecorderState.RECORDING and ctl.session_id == sid and inputs.started
    meta0 = live_ctx.sessions.read_meta(sid)  # written at start: a crash from here is a visible session
    assert meta0.extra["recorder"]["status"] == "recording" and meta0.endedAt is None
    clock = live_ctx.clock
    inputs.emit(RawMove(clock.monotonic(), 3, 4))
    inputs.emit(RawClick(clock.monotonic(), 3, 4, "left", True))
    inputs.emit(RawClick(clock.monotonic(), 3, 4, "left", False))
    wait_for("a click screenshot", lambda: list((live_ctx.paths.session_dir(sid) / "screenshots").glob("*-click.png")))
    wait_for("10 frames", lambda: _frames(live_ctx, sid) >= 10)
    ctl.pause()
    assert ctl.state is RecorderState.PAUSED
    inputs.emit(RawKey(clock.monotonic(), True, "x", None))  # ignored: paused
    grabs_at_pause = screen.grabs
    with pytest.raises(AlreadyRecording):
        ctl.start()
    ctl.resume()
    wait_for("frames after resume", lambda: screen.grabs >= grabs_at_pause + 5)
    inputs.emit(RawKey(clock.monotonic(), True, "y", None))
    meta = ctl.stop()
    assert ctl.state is RecorderState.IDLE and ctl.session_id is None and inputs.stopped and screen.closed
    assert [e.kind for e in events] == ["started", "paused", "resumed", "stopped", "exported"]

    assert meta.zipPath and meta.sha256 and live_ctx.sessions.is_exported(sid)
    zip_path = live_ctx.sessions.zip_path(meta)
    assert hashlib.sha256(zip_path.read_bytes()).hexdigest() == meta.sha256
    assert meta.fileSizeBytes == zip_path.stat().st_size
    bundle = read_bundle(zip_path)
    kinds = [a["type"] for a in bundle.actions]
    assert kinds == ["mouse_move", "mouse_down", "mouse_up", "pause", "resume", "key_down"]
    assert bundle.actions[-1]["key"] == "y"
    assert meta.actionCount == 4 and bundle.info["counts"]["markers"] == 2
    pause_t, resume_t = bundle.actions[3]["t"], bundle.actions[4]["t"]
    # Nothing captured while paused; the video's clock skips the pause.
    assert not [f for f in bundle.frames if pause_t < f["t"] < resume_t]
    assert bundle.info["pausedMs"] == pytest.approx(resume_t - pause_t, abs=2)
    video = bundle.extract("video/screen.mp4", live_ctx.paths.root)  # one copy: the zip holds the video
    assert video_frame_count(video) == len(bundle.frames) == meta.extra["frameCount"]
    assert meta.screenshotCount == len(bundle.shots) >= 1
    dropped = meta.extra["recorder"]["droppedFrames"]
    assert dropped["total"] == dropped["late"] + dropped["encoderBusy"]
    assert meta.extra["recorder"]["framesCaptured"] == len(bundle.frames) + dropped["encoderBusy"]


def test_state_errors_are_readable(live_ctx: Context) -> None:
    ctl = _controller(live_ctx, NullScreen(), NullInput(), [])
    with pytest.raises(NotRecording):
        ctl.stop()
    with pytest.raises(NotRecording):
        ctl.pause()
    ctl.toggle()
    assert ctl.state is RecorderState.RECORDING
    ctl.toggle()
    assert ctl.state is RecorderState.IDLE
    assert ctl.last_meta is not None and ctl.last_meta.zipPath


@pytest.mark.parametrize("error", [CaptureLost("The display went away"), DiskFull("The disk is full")])
def test_a_failure_while_recording_stops_exports_and_says_why(live_ctx: Context, error: TraycapError) -> None:
    screen, inputs, events = NullScreen(fail_after=8, error=error), NullInput(), []
    ctl = _controller(live_ctx, screen, inputs, events)
    sid = ctl.start()
    assert ctl.wait_idle(30)
    assert [e.kind for e in events] == ["started", "stopped", "exported", "failed"]
    failed = events[-1]
    assert failed.message and error.message in failed.message and sid in failed.message
    meta = live_ctx.sessions.read_meta(sid)
    assert live_ctx.sessions.is_exported(sid)
    bundle = read_bundle(live_ctx.sessions.zip_path(meta))
    assert len(bundle.frames) == 8
    assert bundle.info["endReason"].startswith(error.message)


def test_auto_upload_enqueues_after_export(live_ctx: Context) -> None:
    write_json_atomic(live_ctx.paths.config, {
        "bucket": "bucket-a", "region": "us-east-1", "accessKeyId": "AKIA", "secretAccessKey": "s3cr3t-key",
        "autoUpload": True})
    events: list[RecorderEvent] = []
    ctl = _controller(live_ctx, NullScreen(), NullInput(), events)
    sid = ctl.start()
    wait_for("3 frames", lambda: _frames(live_ctx, sid) >= 3)
    ctl.stop()
    exported = next(e for e in events if e.kind == "exported")
    assert exported.message == "Queued for upload"
    state = json.loads((live_ctx.paths.session_dir(sid) / "upload-state.json").read_text())
    assert state["status"] == "pending"


def test_auto_upload_problem_never_loses_the_export(live_ctx: Context) -> None:
    write_json_atomic(live_ctx.paths.config, {"bucket": "", "autoUpload": True})  # not usable
    events: list[RecorderEvent] = []
    ctl = _controller(live_ctx, NullScreen(), NullInput(), events)
    sid = ctl.start()
    meta = ctl.stop()
    exported = next(e for e in events if e.kind == "exported")
    assert exported.message and exported.message.startswith("Not uploaded automatically")
    assert "failed" not in [e.kind for e in events]
    assert live_ctx.sessions.is_exported(sid) and meta.zipPath


def test_keystroke_privacy_none_does_not_even_listen_to_the_keyboard(live_ctx: Context) -> None:
    inputs = NullInput()
    ctl = _controller(live_ctx, NullScreen(), inputs, [], keystrokePrivacy=KeystrokePrivacy.NONE)
    ctl.start()
    assert inputs.keyboard is False
    ctl.stop()


def test_recover_exports_a_crashed_session_and_skips_a_live_one(live_ctx: Context) -> None:
    def crashed(session_id: str) -> Path:
        directory = live_ctx.paths.session_dir(session_id)
        (directory / "video").mkdir(parents=True)
        write_json_atomic(directory / "session-meta.json", {
            "sessionId": session_id, "createdAt": 1_700_000_000_000,
            "recorder": {"status": "recording", "fps": 10, "timeBase": {"wallOriginMs": 1_700_000_000_000}}})
        (directory / "actions.jsonl").write_bytes(
            b'{"t":1.0,"type":"mouse_down","x":1,"y":2,"button":"left"}\n'
            b'{"t":2.0,"type":"mouse_up","x":1,"y":2,"button":"left"}\n{"t":3.0,"ty')  # torn by the kill
        return directory

    write_json_atomic(live_ctx.paths.config, {
        "bucket": "bucket-a", "region": "us-east-1", "accessKeyId": "AKIA", "secretAccessKey": "s3cr3t-key",
        "autoUpload": True})
    dead = crashed("20240101-000000-aaaaaa")
    live = crashed("20240101-000000-bbbbbb")
    holder = RecordingLock(live / ".recording.lock")
    assert holder.acquire()  # another recorder is still writing this one
    try:
        report = recover_unfinished(live_ctx)
    finally:
        holder.release()
    assert report.exported == ["20240101-000000-aaaaaa"] and not report.failed
    meta = live_ctx.sessions.read_meta("20240101-000000-aaaaaa")
    assert meta.actionCount == 2 and meta.endedAt == 1_700_000_000_002
    bundle = read_bundle(live_ctx.sessions.zip_path(meta))
    assert [a["type"] for a in bundle.actions] == ["mouse_down", "mouse_up"] and bundle.frames == []
    assert bundle.info["recovered"] is True
    assert not live_ctx.sessions.is_exported("20240101-000000-bbbbbb")
    assert (dead / ".exported").exists()
    # Queued like a normally stopped recording would be (autoUpload is on).
    assert json.loads((dead / "upload-state.json").read_text())["status"] == "pending"
    assert not (live / "upload-state.json").exists()


def test_a_real_enospc_on_the_actions_file_stops_cleanly(live_ctx: Context) -> None:
    """The kernel's own ENOSPC: the actions file descriptor is pointed at /dev/full mid-recording."""
    import os

    screen, inputs, events = NullScreen(), NullInput(), []
    ctl = _controller(live_ctx, screen, inputs, events)
    sid = ctl.start()
    clock = live_ctx.clock
    inputs.emit(RawClick(clock.monotonic(), 1, 1, "left", True))
    rec = ctl._rec  # the one place a test reaches inside: to swap a file descriptor, like a full disk would
    assert rec is not None
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        os.dup2(full, rec.writer.actions._fh.fileno())
    finally:
        os.close(full)
    inputs.emit(RawClick(clock.monotonic(), 1, 1, "left", False))  # this write hits ENOSPC
    assert ctl.wait_idle(30)
    assert [e.kind for e in events] == ["started", "stopped", "exported", "failed"]
    assert events[-1].message and "disk is full" in events[-1].message
    meta = live_ctx.sessions.read_meta(sid)
    bundle = read_bundle(live_ctx.sessions.zip_path(meta))
    assert [a["type"] for a in bundle.actions] == ["mouse_down"]  # what was written before is kept
    assert len(bundle.frames) >= 1


def test_idle_once_stopped_while_the_export_runs_and_bad_settings_are_readable(live_ctx: Context) -> None:
    seen: list[tuple[str, RecorderState]] = []
    ctl: RecordingController | None = None

    def on_event(event: RecorderEvent) -> None:
        assert ctl is not None
        seen.append((event.kind, ctl.state))

    ctl = RecordingController(live_ctx, AppSettings(fps=20), on_event=on_event,
                              capture_factory=lambda monitor: NullScreen(), input_factory=NullInput().factory)
    ctl.start()
    ctl.stop()
    assert seen == [("started", RecorderState.RECORDING), ("stopped", RecorderState.IDLE),
                    ("exported", RecorderState.IDLE)]
    assert ctl.wait_idle(0)
    ctl.update_settings(AppSettings(fps=0))
    with pytest.raises(TraycapError) as err:
        ctl.start()
    assert "fps" in err.value.user_text() and ctl.state is RecorderState.IDLE


def test_stopping_while_paused_captures_nothing_more(live_ctx: Context) -> None:
    screen = NullScreen()
    ctl = _controller(live_ctx, screen, NullInput(), [])
    sid = ctl.start()
    wait_for("5 frames", lambda: _frames(live_ctx, sid) >= 5)
    ctl.pause()
    meta = ctl.stop()
    bundle = read_bundle(live_ctx.sessions.zip_path(meta))
    pause_t = bundle.actions[-1]["t"]
    assert bundle.actions[-1]["type"] == "pause"
    assert all(f["t"] < pause_t for f in bundle.frames)
    # An open pause lasts until the stop.
    assert bundle.info["pausedMs"] == pytest.approx(meta.extra["recorder"]["stoppedAtMs"] - pause_t, abs=1)


def test_recover_finishes_an_export_that_was_killed_halfway(live_ctx: Context,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from traycap.recorder import export as export_mod

    real_export = export_mod.export_session

    def cut_off(step: str) -> None:
        if step == "zip-written":
            raise StorageError("killed while zipping")  # leaves what a kill leaves: a temp zip, raw files

    monkeypatch.setattr(export_mod, "export_session", lambda ctx, sid: real_export(ctx, sid, checkpoint=cut_off))
    ctl = _controller(live_ctx, NullScreen(), NullInput(), [])
    sid = ctl.start()
    wait_for("5 frames", lambda: _frames(live_ctx, sid) >= 5)
    stopped = ctl.stop()
    monkeypatch.undo()
    directory = live_ctx.paths.session_dir(sid)
    assert not live_ctx.sessions.is_exported(sid) and (directory / f".tmp-{sid}.zip").exists()
    assert stopped.extra["recorder"]["status"] == "stopped"
    assert recover_unfinished(live_ctx).exported == [sid]
    meta = live_ctx.sessions.read_meta(sid)
    zip_path = live_ctx.sessions.zip_path(meta)
    assert live_ctx.sessions.is_exported(sid) and not (directory / f".tmp-{sid}.zip").exists()
    assert hashlib.sha256(zip_path.read_bytes()).hexdigest() == meta.sha256
    assert len(read_bundle(zip_path).frames) == meta.extra["frameCount"] == stopped.extra["recorder"]["framesEncoded"]
    assert not (directory / "video").exists()  # one copy once exported


def test_a_screen_that_fails_at_once_makes_start_raise_readably_and_leaves_nothing(live_ctx: Context) -> None:
    events: list[RecorderEvent] = []
    ctl = _controller(live_ctx, NullScreen(fail_after=0, error=CaptureLost("The display went away")),
                      NullInput(), events)
    with pytest.raises(CaptureLost):
        ctl.start()
    assert ctl.state is RecorderState.IDLE and ctl.wait_idle(0) and events == []
    assert live_ctx.sessions.session_ids() == []  # no half-made session left behind
