"""Upload while recording, the recorder's side: RecordingController with a live factory (null
screen/input, real encoder, real files) writes the format-2 zip as it records."""

from __future__ import annotations

import errno
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.live_recording import RecordingSink, concat
from tests.support.platforms import zip_test_errors
from tests.support.waiting import wait_until
from traycap.bundle import bundler as bundler_mod
from traycap.bundle import layout
from traycap.bundle.reader import BundleZip
from traycap.context import Context
from traycap.media.capture.null import NullScreen
from traycap.media.video import video_frame_count
from traycap.models import AppSettings
from traycap.recorder.actions import RawClick
from traycap.recorder.api import RecorderEvent
from traycap.recorder.controller import RecordingController
from traycap.recorder.null import NullInput


@pytest.fixture(autouse=True)
def _fast_cuts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundler_mod, "CUT_EVERY_S", 0.2)
    monkeypatch.setattr(bundler_mod, "CHUNK_EVERY_S", 0.5)


def _controller(ctx: Context, sink: RecordingSink | None, events: list[RecorderEvent],
                inputs: NullInput) -> RecordingController:
    return RecordingController(ctx, AppSettings(fps=20, screenshotIntervalS=0.5), on_event=events.append,
                               capture_factory=lambda monitor: NullScreen(64, 48), input_factory=inputs.factory,
                               live=lambda sid: sink)


def _names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as z:
        return z.namelist()


def test_a_live_recording_writes_its_format_2_zip_while_recording(live_ctx: Context, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    sink, events, inputs = RecordingSink(), [], NullInput()
    ctl = _controller(live_ctx, sink, events, inputs)
    sid = ctl.start()
    directory = live_ctx.paths.session_dir(sid)
    inputs.emit(RawClick(live_ctx.clock.monotonic(), 3, 4, "left", True))
    inputs.emit(RawClick(live_ctx.clock.monotonic(), 3, 4, "left", False))
    # While recording: entries are committed (the video's first fragments, screenshots, chunks).
    wait_until("a video fragment and a chunk committed", lambda: len(sink.committed_sizes) >= 4
               and (directory / "live-zip.jsonl").read_bytes().count(b"frames/") >= 1, timeout=30)
    assert not live_ctx.sessions.read_meta(sid).zipPath  # not "exported" while it grows
    assert not live_ctx.sessions.is_exported(sid)
    meta = ctl.stop()
    assert [e.kind.value for e in events] == ["started", "stopped", "exported"]
    zip_path = live_ctx.sessions.zip_path(meta)
    assert zip_path == directory / f"{sid}.zip"
    assert zip_test_errors(zip_path) is None, zip_test_errors(zip_path)
    assert sink.done == (meta.fileSizeBytes, meta.sha256) and not sink.abandoned
    assert sink.committed_sizes == sorted(sink.committed_sizes) and sink.committed_sizes[-1] <= zip_path.stat().st_size
    names = _names(zip_path)
    assert names[-1] == "session.json" and "preview.jpg" in names
    with zipfile.ZipFile(zip_path) as z:
        info = json.loads(z.read("session.json"))
    assert info["formatVersion"] == 2 and info["recovered"] is False
    video = tmp_path / "video.mp4"
    video.write_bytes(concat(zip_path, layout.VIDEO_SEGMENTS))
    frames = concat(zip_path, layout.FRAMES_CHUNKS).count(b"\n")
    assert video_frame_count(video) == frames == info["counts"]["frames"] == meta.extra["frameCount"]
    actions = [json.loads(x) for x in concat(zip_path, layout.ACTIONS_CHUNKS).splitlines()]
    assert [a["type"] for a in actions][:2] == ["mouse_down", "mouse_up"]
    shots = [json.loads(x) for x in concat(zip_path, layout.SHOTS_INDEX_CHUNKS).splitlines()]
    assert shots and all(f"screenshots/{s['file']}" in names for s in shots)
    assert meta.zipPath and live_ctx.sessions.is_exported(sid)
    with BundleZip(zip_path) as bundle:  # the one reader of both formats sees the same session
        model = bundle.model()
        assert bundle.format == 2 and len(model.frames) == frames and len(model.actions) == len(actions)
        assert model.video == tuple(n for n in names if n.startswith(layout.VIDEO_SEGMENTS))
        assert bundle.video_ranges() is not None
    # One copy on disk: the raw files the zip holds are gone, and nothing was said about them (issue 24).
    assert not (directory / "video" / "screen.mp4").exists() and not (directory / "actions.jsonl").exists()
    assert not list((directory / "screenshots").glob("*.png")) if (directory / "screenshots").exists() else True
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_broken_bundler_leaves_the_recording_alone_and_stop_exports_format_1(
        live_ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    sink, events, inputs = RecordingSink(), [], NullInput()
    calls = {"n": 0}
    real_tick = bundler_mod.Bundler.tick

    def tick(self: bundler_mod.Bundler) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_tick(self)

    monkeypatch.setattr(bundler_mod.Bundler, "tick", tick)
    ctl = _controller(live_ctx, sink, events, inputs)
    sid = ctl.start()
    wait_until("the bundler gave up", lambda: sink.abandoned, timeout=30)
    frames = live_ctx.paths.session_dir(sid) / "video" / "frames.jsonl"
    seen = frames.read_bytes().count(b"\n")
    wait_until("the recording goes on", lambda: frames.read_bytes().count(b"\n") >= seen + 10)
    meta = ctl.stop()
    assert [e.kind.value for e in events] == ["started", "stopped", "exported"]
    zip_path = live_ctx.sessions.zip_path(meta)
    assert "video/screen.mp4" in _names(zip_path) and not (zip_path.parent / "live-zip.jsonl").exists()
    assert sink.done is None


def test_no_sink_records_classic(live_ctx: Context) -> None:
    events: list[RecorderEvent] = []
    ctl = _controller(live_ctx, None, events, NullInput())
    sid = ctl.start()
    wait_until("frames", lambda: (live_ctx.paths.session_dir(sid) / "video" / "frames.jsonl").stat().st_size > 0)
    meta = ctl.stop()
    assert "video/screen.mp4" in _names(live_ctx.sessions.zip_path(meta))


def test_a_live_zip_that_cannot_be_finished_at_stop_falls_back_to_format_1(
        live_ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    import traycap.recorder.live as live_mod

    def disk_full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(live_mod, "finish_live", disk_full)
    sink, events, inputs = RecordingSink(), [], NullInput()
    ctl = _controller(live_ctx, sink, events, inputs)
    sid = ctl.start()
    wait_until("an entry committed", lambda: len(sink.committed_sizes) >= 2, timeout=30)
    meta = ctl.stop()
    assert [e.kind.value for e in events] == ["started", "stopped", "exported"]
    assert sink.abandoned and sink.done is None
    zip_path = live_ctx.sessions.zip_path(meta)
    assert "video/screen.mp4" in _names(zip_path) and not (zip_path.parent / "live-zip.jsonl").exists()
    assert live_ctx.sessions.is_exported(sid)


def test_pause_and_resume_during_a_live_recording(live_ctx: Context) -> None:
    # Pausing the recording pauses what the bundle gets, not the bundle: after Resume it grows
    # again, and the finished zip holds the pause and resume markers like a format-1 bundle.
    sink, events, inputs = RecordingSink(), [], NullInput()
    ctl = _controller(live_ctx, sink, events, inputs)
    sid = ctl.start()
    wait_until("a first entry", lambda: len(sink.committed_sizes) >= 2, timeout=30)
    ctl.pause()
    ctl.resume()
    after_resume = len(sink.committed_sizes)
    wait_until("entries after Resume", lambda: len(sink.committed_sizes) >= after_resume + 2, timeout=30)
    meta = ctl.stop()
    assert sink.done == (meta.fileSizeBytes, meta.sha256) and not sink.abandoned
    zip_path = live_ctx.sessions.zip_path(meta)
    types = [json.loads(x)["type"] for x in concat(zip_path, layout.ACTIONS_CHUNKS).splitlines()]
    assert types.index("pause") < types.index("resume")
    assert [e.kind.value for e in events] == ["started", "paused", "resumed", "stopped", "exported"]
    assert live_ctx.sessions.read_meta(sid).sha256 == meta.sha256
