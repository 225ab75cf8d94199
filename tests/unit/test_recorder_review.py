"""Review findings in the recorder (each test was failing before its fix)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.support.recording import read_bundle, wait_for
from traycap.clock import SystemClock
from traycap.context import Context, make_context
from traycap.models import AppSettings
from traycap.paths import Paths
from traycap.recorder.controller import RecordingController
from traycap.recorder.null import NullInput, NullScreen
from traycap.recorder.recover import recover_unfinished

DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def live_ctx(home: Path) -> Context:
    return make_context(Paths(root=home, logs=home / "logs"), SystemClock())


def _record(ctx: Context, frames: int = 3) -> tuple[str, RecordingController]:
    ctl = RecordingController(ctx, AppSettings(fps=20, screenshotIntervalS=5),
                              capture_factory=lambda monitor: NullScreen(), input_factory=NullInput().factory)
    sid = ctl.start()
    frames_file = ctx.paths.session_dir(sid) / "video" / "frames.jsonl"
    wait_for(f"{frames} frames", lambda: frames_file.exists() and frames_file.read_bytes().count(b"\n") >= frames)
    return sid, ctl


def test_a_kill_between_the_meta_and_the_exported_marker_is_repaired(live_ctx: Context) -> None:
    sid, ctl = _record(live_ctx)
    done = ctl.stop()
    directory = live_ctx.paths.session_dir(sid)
    # export_session saves the meta (recorder.status "exported", zipPath, sha256) and THEN
    # writes .exported: a SIGKILL between the two leaves exactly this on disk.
    (directory / ".exported").unlink()
    assert live_ctx.sessions.read_meta(sid).extra["recorder"]["status"] == "exported"

    report = recover_unfinished(live_ctx)

    assert report.exported == [sid] and not report.failed
    assert live_ctx.sessions.is_exported(sid)
    meta = live_ctx.sessions.read_meta(sid)
    zip_path = live_ctx.sessions.zip_path(meta)
    assert hashlib.sha256(zip_path.read_bytes()).hexdigest() == meta.sha256 == done.sha256
    # ... and a day later the complete recording is not taken for an orphan.
    cleanup = live_ctx.sessions.cleanup_orphans(live_ctx.clock.now_ms() + 2 * DAY_MS)
    assert sid not in cleanup.deleted and directory.exists()


def test_recovery_in_another_process_never_exports_a_session_whose_export_is_running(
        live_ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import traycap.recorder.export as export_mod

    real_export = export_mod.export_session
    exporting, go_on = threading.Event(), threading.Event()

    def slow_export(ctx: Context, session_id: str):  # type: ignore[no-untyped-def]
        exporting.set()
        assert go_on.wait(10)
        return real_export(ctx, session_id)

    sid, ctl = _record(live_ctx)
    monkeypatch.setattr(export_mod, "export_session", slow_export)
    stopper = threading.Thread(target=ctl.stop)
    stopper.start()
    try:
        assert exporting.wait(10)
        # The tray (or `traycap record`) starting now must leave this session to its recorder:
        # exporting it too would write the same temp zip from two processes.
        other = make_context(live_ctx.paths, SystemClock())
        monkeypatch.setattr(export_mod, "export_session", real_export)
        report = recover_unfinished(other)
        assert report.exported == [] and not report.failed
    finally:
        go_on.set()
        stopper.join(10)
    meta = live_ctx.sessions.read_meta(sid)
    assert live_ctx.sessions.is_exported(sid) and "recovered" not in meta.extra["recorder"]
    assert hashlib.sha256(live_ctx.sessions.zip_path(meta).read_bytes()).hexdigest() == meta.sha256


def test_orphan_cleanup_without_recovery_first_keeps_a_crashed_recording(live_ctx: Context) -> None:
    # `traycap worker` cleans up orphans without recovering recordings first: a recording
    # killed more than a day ago is still a recording to export, not an orphan.
    import os

    sid, ctl = _record(live_ctx)
    ctl.stop()
    directory = live_ctx.paths.session_dir(sid)
    (directory / ".exported").unlink()
    meta = live_ctx.sessions.read_meta(sid)
    live_ctx.sessions.save_meta(meta.with_(createdAt=meta.createdAt - 3 * DAY_MS, extra={
        **meta.extra, "recorder": {**meta.extra["recorder"], "status": "recording"}}))
    old = (live_ctx.clock.now_ms() - 3 * DAY_MS) / 1000
    for dirpath, dirs, files in os.walk(directory):
        for name in (*dirs, *files):
            os.utime(os.path.join(dirpath, name), (old, old))
    os.utime(directory, (old, old))

    report = live_ctx.sessions.cleanup_orphans(live_ctx.clock.now_ms())

    assert sid not in report.deleted and directory.exists()
    assert recover_unfinished(live_ctx).exported == [sid]


def test_an_event_racing_a_pause_is_never_written_after_the_pause_marker(live_ctx: Context) -> None:
    import threading

    from traycap.recorder.actions import RawKey

    inputs = NullInput()
    ctl = RecordingController(live_ctx, AppSettings(fps=20, screenshotIntervalS=5),
                              capture_factory=lambda monitor: NullScreen(), input_factory=inputs.factory)
    ctl.start()
    rec = ctl._rec
    assert rec is not None
    emitter = "pynput-keyboard"

    class PauseRightAfterTheCheck(threading.Event):
        """The listener thread sees 'running', then the user's Pause lands before it writes."""

        fired = False

        def is_set(self) -> bool:
            value = super().is_set()
            if threading.current_thread().name == emitter and not self.fired:
                self.fired = True
                pauser = threading.Thread(target=ctl.pause)
                pauser.start()
                pauser.join(10)
            return value

    racy = PauseRightAfterTheCheck()
    racy.set()
    rec.running = racy
    t_key = live_ctx.clock.monotonic()
    listener = threading.Thread(target=inputs.emit, args=(RawKey(t_key, True, "q", None),), name=emitter)
    listener.start()
    listener.join(10)
    assert racy.fired and ctl.state.value == "paused"
    meta = ctl.stop()
    actions = read_bundle(live_ctx.sessions.zip_path(meta)).actions  # one copy: the zip holds them
    types = [a["type"] for a in actions]
    assert "pause" in types
    after_pause = types[types.index("pause") + 1:]
    assert "key_down" not in after_pause, actions
    assert [a["t"] for a in actions] == sorted(a["t"] for a in actions), actions


def test_screenshots_are_frames_of_the_video_even_when_the_encoder_falls_behind(live_ctx: Context) -> None:
    import threading

    from traycap.recorder.actions import RawClick

    inputs = NullInput()
    ctl = RecordingController(live_ctx, AppSettings(fps=30, screenshotIntervalS=5),
                              capture_factory=lambda monitor: NullScreen(), input_factory=inputs.factory)
    sid = ctl.start()
    rec = ctl._rec
    assert rec is not None
    go_on = threading.Event()
    real_write = rec.encoder.write

    def stalled_write(image, pts_ms):  # type: ignore[no-untyped-def]
        assert go_on.wait(10)
        return real_write(image, pts_ms)

    rec.encoder.write = stalled_write  # type: ignore[method-assign]
    wait_for("frames dropped because the encoder is busy", lambda: rec.busy_drops >= 2)
    now = live_ctx.clock.monotonic()
    inputs.emit(RawClick(now, 5, 5, "left", True))
    inputs.emit(RawClick(now, 5, 5, "left", False))
    shots_dir = live_ctx.paths.session_dir(sid) / "screenshots"
    wait_for("the click screenshot", lambda: list(shots_dir.glob("*-click.png")), timeout=5)
    go_on.set()
    bundle = read_bundle(live_ctx.sessions.zip_path(ctl.stop()))  # one copy: the zip holds them
    frame_times = {f["t"] for f in bundle.frames}
    shots = bundle.shots
    assert shots and all(s["t"] in frame_times for s in shots), (shots, sorted(frame_times))
