"""Recovery of recordings a crash left unfinished (traycap/recorder/recover.py), and orphan
cleanup leaving them to it. The real controller on null screen/input backends makes the sessions."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from tests.support.recording import read_bundle
from tests.support.waiting import wait_until
from traycap.bundle.export import export_session
from traycap.bundle.raw import RecordingLock
from traycap.clock import SystemClock
from traycap.context import Context, make_context
from traycap.errors import StorageError
from traycap.media.capture.null import NullScreen
from traycap.models import AppSettings, SessionMeta
from traycap.recorder.controller import Exporter, RecordingController
from traycap.recorder.null import NullInput
from traycap.recorder.recover import recover_unfinished
from traycap.sharing.requests import UploadRequests
from traycap.sharing.startup import settle_at_start
from traycap.storage.atomic import write_json_atomic

DAY_MS = 24 * 3600 * 1000


def _record(ctx: Context, frames: int = 3, exporter: Exporter | None = None) -> tuple[str, RecordingController]:
    ctl = RecordingController(ctx, AppSettings(fps=20, screenshotIntervalS=5),
                              capture_factory=lambda monitor: NullScreen(), input_factory=NullInput().factory,
                              exporter=exporter)
    sid = ctl.start()
    frames_file = ctx.paths.session_dir(sid) / "video" / "frames.jsonl"
    wait_until(f"{frames} frames", lambda: frames_file.exists() and frames_file.read_bytes().count(b"\n") >= frames)
    return sid, ctl


def test_a_kill_between_the_meta_and_the_exported_marker_is_repaired(live_ctx: Context) -> None:
    """Found in review (fix: f25637b)."""
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


def test_recovery_in_another_process_never_exports_a_session_whose_export_is_running(live_ctx: Context) -> None:
    """Found in review (fix: f25637b)."""

    exporting, go_on = threading.Event(), threading.Event()

    def slow_export(ctx: Context, session_id: str) -> SessionMeta:
        exporting.set()
        assert go_on.wait(10)
        return export_session(ctx, session_id)

    sid, ctl = _record(live_ctx, exporter=slow_export)
    stopper = threading.Thread(target=ctl.stop)
    stopper.start()
    try:
        assert exporting.wait(10)
        # The tray (or `traycap record`) starting now must leave this session to its recorder:
        # exporting it too would write the same temp zip from two processes.
        other = make_context(live_ctx.paths, SystemClock())
        report = recover_unfinished(other)
        assert report.exported == [] and not report.failed
    finally:
        go_on.set()
        stopper.join(10)
    meta = live_ctx.sessions.read_meta(sid)
    assert live_ctx.sessions.is_exported(sid) and "recovered" not in meta.extra["recorder"]
    assert hashlib.sha256(live_ctx.sessions.zip_path(meta).read_bytes()).hexdigest() == meta.sha256


def test_orphan_cleanup_without_recovery_first_keeps_a_crashed_recording(live_ctx: Context) -> None:
    """Found in review (fix: 18f821f): `traycap worker` cleans up orphans without recovering
    recordings first; a recording killed more than a day ago is still a recording to export, not an orphan."""
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
    assert not (dead / "upload-state.json").exists()  # recovery only exports; its caller decides
    # The composition's start-up step, as the tray, `traycap record` and `worker` run it: queued like a normal stop.
    settle_at_start(live_ctx, UploadRequests(live_ctx), recover=lambda c: report)
    assert json.loads((dead / "upload-state.json").read_text())["status"] == "pending"
    assert not (live / "upload-state.json").exists()


def test_recover_finishes_an_export_that_was_killed_halfway(live_ctx: Context) -> None:
    def cut_off(step: str) -> None:
        if step == "zip-written":
            raise StorageError("killed while zipping")  # leaves what a kill leaves: a temp zip, raw files

    sid, ctl = _record(live_ctx, frames=5, exporter=lambda ctx, s: export_session(ctx, s, checkpoint=cut_off))
    stopped = ctl.stop()
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
