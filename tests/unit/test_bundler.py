"""The format-2 writer (traycap/bundle/bundler.py): where a video segment ends, and the bundler on
session files written step by step with the recorder's own encoder, on a fake clock. The MP4 box
parser it reads the video with is tests/unit/test_mp4.py."""

from __future__ import annotations

import itertools
import json
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.platforms import zip_test_errors
from traycap.bundle import layout
from traycap.bundle.bundler import Bundler, finish_live, journal_path, live_zip_path, video_cut
from traycap.bundle.livezip import LiveZip
from traycap.bundle.raw import SessionFiles
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.media.capture.null import NullScreen
from traycap.media.images import encode_png
from traycap.media.mp4 import boxes_in
from traycap.media.video import VideoEncoder
from traycap.models import SessionMeta


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


@pytest.fixture
def zip_cls() -> Any:
    return LiveZip


# --- where a segment ends ---------------------------------------------------------------------

def test_video_cut_rules() -> None:
    data = (_box(b"ftyp", b"x") + _box(b"moov", b"m") + _box(b"moof", b"1") + _box(b"mdat", b"11")
            + _box(b"moof", b"2"))
    boxes = boxes_in(data)
    moov_end = boxes[1].end
    assert video_cut(boxes, 0, 0, len(data), closed=False) == moov_end
    rest = boxes_in(data, start=moov_end)
    assert video_cut(rest, 1, moov_end, len(data), closed=False) == boxes[3].end  # the lone moof waits
    assert video_cut(rest, 1, moov_end, len(data), closed=True) == len(data)
    assert video_cut(boxes_in(data[:15]), 0, 0, 15, closed=False) is None  # no moov yet
    assert video_cut([], 3, len(data), len(data), closed=True) is None


# --- the bundler on session files ----------------------------------------------------------------

class Sink:
    """The bundle's commit subscriber: what a live upload lane would be told."""

    def __init__(self) -> None:
        self.committed: list[int] = []

    def committed_(self, size: int) -> None:
        self.committed.append(size)


class Session:
    """A session's raw files, written as the recorder writes them, a few seconds at a time."""

    def __init__(self, ctx: Context, sid: str) -> None:
        self.sid = sid
        self.files = SessionFiles(ctx.paths.session_dir(sid))
        self.files.video_dir.mkdir(parents=True)
        self.files.shots_dir.mkdir()
        self.screen = NullScreen(64, 48)
        self.encoder = VideoEncoder(self.files.video, 64, 48, 10)
        self.t_ms = 0
        self.n = 0
        recorder = {"status": "recording", "fps": 10, "video": {"codec": "h264", "width": 64, "height": 48}}
        ctx.sessions.save_meta(SessionMeta(sessionId=sid, createdAt=1_700_000_000_000,
                                           videoRef="video/screen.mp4", extra={"recorder": recorder}))

    def _line(self, path: Path, record: dict[str, Any]) -> None:
        with open(path, "ab") as fh:
            fh.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")

    def record(self, seconds: float, *, shot: bool = True) -> None:
        end = self.t_ms + seconds * 1000
        while self.t_ms < end:
            image = self.screen.grab()
            self._line(self.files.frames, {"i": self.n, "t": float(self.t_ms), "wallMs": self.t_ms, "pts": self.t_ms})
            self.encoder.write(image, self.t_ms)
            if self.n % 7 == 0:
                self._line(self.files.actions, {"t": float(self.t_ms), "type": "mouse_move", "x": 1, "y": 2})
            if shot and self.n % 25 == 0:
                name = f"{self.t_ms:09d}-periodic.png"
                (self.files.shots_dir / name).write_bytes(encode_png(image))
                self._line(self.files.shots_index, {"t": float(self.t_ms), "file": name, "reason": "periodic",
                                                    "pts": self.t_ms})
            self.n += 1
            self.t_ms += 100

    def kill(self) -> None:
        """What a SIGKILL leaves of the video: the bytes written so far, the file closed (the OS closes a
        killed process's files; on Windows an open file cannot be replaced, as recovery's salvage does)."""
        written = self.files.video.stat().st_size
        self.encoder.abandon()  # closing writes what was buffered and a trailer: cut off again
        os.truncate(self.files.video, written)

    def stop(self, ctx: Context) -> None:
        self.encoder.close()
        meta = ctx.sessions.read_meta(self.sid)
        rec = {**meta.extra["recorder"], "status": "stopped", "stoppedAtMs": float(self.t_ms)}
        ctx.sessions.save_meta(meta.with_(endedAt=meta.createdAt + self.t_ms, extra={**meta.extra, "recorder": rec}))


def _bundler(ctx: Context, s: Session, zip_cls: Any, sink: Sink, clock: FakeClock) -> Bundler:
    zf = zip_cls.create(live_zip_path(s.files.dir, s.sid), journal_path(s.files.dir), on_commit=sink.committed_)
    return Bundler(s.files, zf, clock)


def _members(path: Path, prefix: str) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return sorted(n for n in z.namelist() if n.startswith(prefix))


def _concat(path: Path, prefix: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return b"".join(z.read(n) for n in sorted(n for n in z.namelist() if n.startswith(prefix)))


def test_bundler_cuts_as_the_session_grows_and_finishes_a_valid_format_2_zip(ctx: Context, clock: FakeClock,
                                                                              zip_cls: Any) -> None:
    s, sink = Session(ctx, "20260101-000000-live"), Sink()
    b = _bundler(ctx, s, zip_cls, sink, clock)
    s.record(0.3)
    assert b.tick() >= 1  # a screenshot at 0, maybe not the moov yet
    s.record(4.0)
    clock.advance(5)
    b.tick()
    names = b.zf.names
    assert layout.video_segment(0) in names and layout.video_segment(1) in names
    assert not [n for n in names if n.endswith(".jsonl")]  # chunks only every 30 s
    video_so_far = b.cursor["video"]
    assert s.files.video.read_bytes()[:video_so_far]  # the prefix the zip holds...
    s.record(30.0)
    clock.advance(30)
    b.tick()
    assert {layout.chunk(layout.ACTIONS_CHUNKS, 0), layout.chunk(layout.FRAMES_CHUNKS, 0),
            layout.chunk(layout.SHOTS_INDEX_CHUNKS, 0)} <= set(b.zf.names)
    assert sink.committed and sink.committed == sorted(sink.committed)
    s.record(2.0)
    s.stop(ctx)
    raw_video = s.files.video.read_bytes()
    raw = {p: p.read_bytes() for p in (s.files.actions, s.files.frames, s.files.shots_index)}
    shots = {p.name: p.read_bytes() for p in s.files.shots_dir.glob("*.png")}
    done = finish_live(ctx, s.sid, b)
    meta = done.meta

    zip_path = live_zip_path(s.files.dir, s.sid)
    assert zip_test_errors(zip_path) is None, zip_test_errors(zip_path)
    assert _concat(zip_path, layout.VIDEO_SEGMENTS) == raw_video  # byte for byte, mfra included
    assert _concat(zip_path, layout.ACTIONS_CHUNKS) == raw[s.files.actions]
    assert _concat(zip_path, layout.FRAMES_CHUNKS) == raw[s.files.frames]
    assert _concat(zip_path, layout.SHOTS_INDEX_CHUNKS) == raw[s.files.shots_index]
    with zipfile.ZipFile(zip_path) as z:
        for name, data in shots.items():
            assert z.read(f"screenshots/{name}") == data
        info = json.loads(z.read("session.json"))
        assert z.namelist()[-1] == "session.json"
        assert z.getinfo("video/screen/00000.mp4").compress_type == zipfile.ZIP_STORED
        assert "preview.jpg" in z.namelist()
    assert info["formatVersion"] == 2 and info["video"]["segments"] == "video/screen/"
    assert info["counts"]["frames"] == s.n and info["counts"]["screenshots"] == len(shots)
    assert meta.zipPath == zip_path.name and meta.fileSizeBytes == zip_path.stat().st_size
    assert (done.final.size, done.final.sha256) == (meta.fileSizeBytes, meta.sha256)  # for the upload's last part
    assert ctx.sessions.is_exported(s.sid)
    assert meta.extra["recorder"]["status"] == "exported"
    assert b.stats.cuts >= 3
    # The raw files are still there until the caller passed the zip on; then they go, as the bundle took them.
    assert done.taken.sizes["video"] == len(raw_video) and done.taken.shots == {n: len(b) for n, b in shots.items()}
    assert done.remove_raw_files() == len(raw_video) + sum(len(v) for v in raw.values()) + sum(
        len(v) for v in shots.values())
    assert not s.files.video.exists() and not s.files.shots_dir.exists() and not s.files.actions.exists()


def test_bundler_resumes_from_the_journal_cursor(ctx: Context, clock: FakeClock, zip_cls: Any) -> None:
    s, sink = Session(ctx, "20260101-000000-resum"), Sink()
    b = _bundler(ctx, s, zip_cls, sink, clock)
    s.record(3.0)
    clock.advance(31)
    b.tick()
    prefix = live_zip_path(s.files.dir, s.sid).read_bytes()[:b.zf.committed]
    cursor = b.cursor
    b.zf.close()  # "killed"
    s.record(3.0)
    s.stop(ctx)
    zf = zip_cls.reopen(live_zip_path(s.files.dir, s.sid), journal_path(s.files.dir))
    assert zf.cursor == cursor
    b2 = Bundler(s.files, zf, clock)
    finish_live(ctx, s.sid, b2)
    zip_path = live_zip_path(s.files.dir, s.sid)
    assert zip_path.read_bytes()[:len(prefix)] == prefix
    assert zip_test_errors(zip_path) is None, zip_test_errors(zip_path)
    with zipfile.ZipFile(zip_path) as z:
        frames = b"".join(z.read(n) for n in sorted(z.namelist()) if n.startswith("video/frames/"))
    assert frames.count(b"\n") == s.n


# --- recovery of live sessions -----------------------------------------------------------------

def test_recovery_with_a_corrupt_journal_drops_the_live_zip_and_exports_format_1(ctx: Context,
                                                                                 clock: FakeClock) -> None:
    from traycap.recorder.recover import recover_unfinished

    s, sink = Session(ctx, "20260101-000000-corru"), Sink()
    b = _bundler(ctx, s, LiveZip, sink, clock)
    s.record(3.0)
    clock.advance(31)
    b.tick()
    b.zf.close()
    s.kill()
    journal = journal_path(s.files.dir)
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b'{"not": "an entry"}\n' + b"".join(lines[1:]))  # garbage in the middle: CorruptFile
    report = recover_unfinished(ctx)
    assert report.live_dropped == [s.sid] and report.exported == [s.sid] and report.live == []
    meta = ctx.sessions.read_meta(s.sid)
    with zipfile.ZipFile(ctx.sessions.zip_path(meta)) as z:
        assert "video/screen.mp4" in z.namelist() and json.loads(z.read("session.json"))["formatVersion"] == 1
    assert not journal.exists() and ctx.sessions.is_exported(s.sid)


def test_recovery_of_a_finished_live_zip_only_writes_its_meta_and_marker(ctx: Context, clock: FakeClock,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from traycap.bundle import bundler as bundler_mod
    from traycap.recorder.recover import recover_unfinished

    s, sink = Session(ctx, "20260101-000000-final"), Sink()
    b = _bundler(ctx, s, LiveZip, sink, clock)
    s.record(2.0)
    s.stop(ctx)

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt("killed after the central directory")

    monkeypatch.setattr(bundler_mod, "record_export", killed)
    with pytest.raises(KeyboardInterrupt):
        finish_live(ctx, s.sid, b)
    monkeypatch.undo()
    zip_path = live_zip_path(s.files.dir, s.sid)
    final = LiveZip.read_final(journal_path(s.files.dir))
    assert final is not None and not ctx.sessions.is_exported(s.sid)
    before = zip_path.read_bytes()
    report = recover_unfinished(ctx)
    assert report.live == [s.sid]
    meta = ctx.sessions.read_meta(s.sid)
    assert zip_path.read_bytes() == before  # not touched
    assert (meta.sha256, meta.fileSizeBytes, meta.zipPath) == (final.sha256, final.size, zip_path.name)
    assert ctx.sessions.is_exported(s.sid) and meta.extra["frameCount"] == s.n


def test_recovery_of_a_live_session_killed_during_its_stop_finishes_everything(ctx: Context,
                                                                               clock: FakeClock) -> None:
    from traycap.recorder.recover import recover_unfinished

    s, sink = Session(ctx, "20260101-000000-stopd"), Sink()
    b = _bundler(ctx, s, LiveZip, sink, clock)
    s.record(2.0)
    b.tick()
    b.zf.close()
    s.record(1.0)
    s.stop(ctx)  # status "stopped": the files were closed, the export had not finished
    raw_video = s.files.video.read_bytes()
    report = recover_unfinished(ctx)
    assert report.live == [s.sid]
    zip_path = live_zip_path(s.files.dir, s.sid)
    assert _concat(zip_path, layout.VIDEO_SEGMENTS) == raw_video
    with zipfile.ZipFile(zip_path) as z:
        assert json.loads(z.read("session.json"))["counts"]["frames"] == s.n


def test_thumbnails_stay_few_and_evenly_spread() -> None:
    from traycap.bundle.preview import Thumbnails

    keep = Thumbnails(limit=24)
    for n in range(1, 721):  # an hour of 5-s segments
        if keep.wants(n):
            keep.add(n, n * 5000, f"img{n}")
    segs = [n for n, _ms, _img in keep.items]
    assert 12 <= len(segs) <= 24
    gaps = {b - a for a, b in itertools.pairwise(segs)}
    assert gaps == {keep.stride} and segs[-1] > 720 - keep.stride * 2
    times = keep.with_times([{"pts": 0, "t": 100.0}, {"pts": 5000 * segs[0], "t": 7.0}])
    assert times[0] == (7.0, f"img{segs[0]}")


def test_a_live_bundle_s_preview_comes_from_frames_kept_while_recording(ctx: Context, clock: FakeClock,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from traycap.bundle import bundler as bundler_mod

    s = Session(ctx, "20260101-000000-thumb")
    zf = LiveZip.create(live_zip_path(s.files.dir, s.sid), journal_path(s.files.dir))
    b = Bundler(s.files, zf, clock, thumbnails=True)
    for _ in range(4):
        s.record(5.0, shot=False)
        clock.advance(5)
        b.tick()
    assert b.thumbs is not None and len(b.thumbs.items) >= 2
    s.stop(ctx)

    def no_decoding(*args: Any) -> None:
        raise AssertionError("the preview was decoded at Stop")

    monkeypatch.setattr(bundler_mod, "preview_or_none", no_decoding)
    finish_live(ctx, s.sid, b)
    with zipfile.ZipFile(live_zip_path(s.files.dir, s.sid)) as z:
        assert z.read("preview.jpg")[:2] == b"\xff\xd8"
