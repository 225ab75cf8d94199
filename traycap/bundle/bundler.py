"""The format-2 writer: a recording's bundle (layout.py), written while it is being recorded.

One thread per live recording. Every CUT_EVERY_S it appends to the LiveZip what became complete
in the session's raw files since its cursor:

    video/screen.mp4           complete top-level MP4 boxes (ftyp+moov first, then moof+mdat runs)
    screenshots/index.jsonl    each new complete line names a PNG (written before its line): stored
    *.jsonl                    every CHUNK_EVERY_S, the complete new lines as one deflated chunk
                               (actions, frames, screenshot index, sound levels)

Every entry carries the cursor (bytes consumed of each source, next segment and chunk numbers),
so after a crash `LiveZip.reopen(...).cursor` says where to go on (recorder/recover.py). The raw
files are only read (ordinary buffered reads, a few times a minute), never changed: the recording
does not wait for the bundler. At Stop, `finish_live` cuts everything that is left (the MP4 is
closed by then, its trailing mfra included), adds preview.jpg and session.json (formatVersion 2),
writes the central directory and then the session's meta and `.exported` marker like export.py,
and returns a `LiveFinished`: the zip's size and SHA-256 (for the upload's last part) and what
the bundle took of each raw file, so removing them next (`remove_raw_files`) reads nothing again.

The thread tells its owner what happens through the two subscribers it is given when started:
`on_commit(size)` after each entry is durable, `on_failure(exc)` if it stops. The MP4 boxes come
from media/mp4.py; `video_cut` (where a segment ends) is pure and unit-tested on its own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traycap.bundle import layout
from traycap.bundle.export import bundle_meta, drop_raw_files, record_export
from traycap.bundle.livezip import CommitFn, Final, LiveZip
from traycap.bundle.one_copy import Taken
from traycap.bundle.preview import Thumbnails, preview_from_thumbnails, preview_or_none
from traycap.bundle.raw import SessionFiles
from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import RecorderError
from traycap.media import mp4
from traycap.media.mp4 import Box
from traycap.media.video import keyframe_thumbnail
from traycap.models import SessionMeta
from traycap.osutil import files as files_os

log = logging.getLogger(__name__)

CUT_EVERY_S = 5.0  # video segments and screenshots
CHUNK_EVERY_S = 30.0  # JSON-lines chunks
JOURNAL_NAME = "live-zip.jsonl"
THUMB_WIDTH = 400  # frames kept for preview.jpg (a tile is at most 390 px wide)
MIN_THUMBS = 2  # fewer (a recording of seconds): preview.jpg is decoded from the video at Stop
_READ = 1024 * 1024

# cursor keys (the journal keeps them with every entry)
K_VIDEO = "video"  # bytes of screen.mp4 in the zip
K_SEGMENT = "segment"  # next video segment number
K_SHOTS = "shots"  # bytes of screenshots/index.jsonl whose PNGs are in the zip
K_FRAME_LINES = "frameLines"  # lines of frames.jsonl in the zip
K_VIDEO_FRAMES = "videoFrames"  # frames (samples) of the video segments in the zip
SOURCES = {  # cursor key -> (chunk prefix in the zip)
    "actions": layout.ACTIONS_CHUNKS,
    "frames": layout.FRAMES_CHUNKS,
    "shotsIndex": layout.SHOTS_INDEX_CHUNKS,
    "levels": layout.LEVELS_CHUNKS,
}


def journal_path(session_dir: Path) -> Path:
    return session_dir / JOURNAL_NAME


def live_zip_path(session_dir: Path, session_id: str) -> Path:
    return session_dir / f"{session_id}.zip"


def discard_live_zip(session_dir: Path, session_id: str) -> None:
    """A broken live bundle goes (the recording is then exported as format 1 from its raw files).

    Windows: retried while the abandoned upload lane may still be reading a part of the zip."""
    for path in (live_zip_path(session_dir, session_id), journal_path(session_dir)):
        files_os.remove(path)


# --- where a video segment ends (pure) ------------------------------------------------------

def video_cut(boxes: list[Box], segment: int, start: int, end: int, *, closed: bool) -> int | None:
    """Where the next video segment ends (from `start`), or None: nothing to cut yet.

    Segment 0 is ftyp+moov (everything up to the end of moov). Later segments end after the
    last complete box that is not a moof (a moof waits for its mdat). A `closed` file is cut
    to its very end, so the segments always concatenate to the whole file.
    """
    if segment == 0:
        for box in boxes:
            if box.type == "moov":
                return box.end
        return end if closed and end > start else None
    if closed:
        return end if end > start else None
    cut = None
    for box in boxes:
        if box.type != "moof":
            cut = box.end
    return cut


def complete_lines(data: bytes) -> int:
    """Length of the prefix of `data` made of whole lines."""
    return data.rfind(b"\n") + 1


# --- the bundler ----------------------------------------------------------------------------------

def _read_from(path: Path, offset: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read()
    except FileNotFoundError:
        return b""


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@dataclass
class CutStats:
    cuts: int = 0
    entries: int = 0
    bytes: int = 0
    seconds: float = 0.0  # wall time spent in cuts
    cpu_seconds: float = 0.0  # thread CPU time spent in cuts
    longest_s: float = 0.0


class Bundler:
    """Appends a session's new raw bytes to its LiveZip. One thread at a time calls its methods."""

    def __init__(self, files: SessionFiles, zf: LiveZip, clock: Clock, *,
                 cut_every_s: float = CUT_EVERY_S, chunk_every_s: float = CHUNK_EVERY_S,
                 thumbnails: bool = False) -> None:
        self.files = files
        self.zf = zf
        self._clock = clock
        self.cut_every_s = cut_every_s
        self.chunk_every_s = chunk_every_s
        cur = dict(zf.cursor or {})
        chunks = dict(cur.get("chunks") or {})
        self._cur: dict[str, Any] = {
            K_VIDEO: int(cur.get(K_VIDEO, 0)),
            K_SEGMENT: int(cur.get(K_SEGMENT, 0)),
            K_SHOTS: int(cur.get(K_SHOTS, 0)),
            K_FRAME_LINES: int(cur.get(K_FRAME_LINES, 0)),
            K_VIDEO_FRAMES: int(cur.get(K_VIDEO_FRAMES, 0)),
            **{key: int(cur.get(key, 0)) for key in SOURCES},
            "chunks": {key: int(chunks.get(key, 0)) for key in SOURCES},
        }
        self._names = set(zf.names)
        self._next_chunk = clock.monotonic() + chunk_every_s
        self.stats = CutStats()
        # preview.jpg's frames, kept while recording (a resumed bundle decodes its preview at the end)
        self.thumbs: Thumbnails | None = Thumbnails() if thumbnails else None
        self._init: bytes | None = None  # ftyp+moov, to decode a segment's keyframe on its own
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None
        self._on_failure: Callable[[BaseException], None] | None = None

    @property
    def cursor(self) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(self._cur))  # deep: the journal keeps each as it was
        return copy

    # --- one pass ---------------------------------------------------------
    def tick(self) -> int:
        """One periodic cut: video and screenshots, and the chunks when CHUNK_EVERY_S has passed."""
        now = self._clock.monotonic()
        chunks = now >= self._next_chunk
        if chunks:
            self._next_chunk = now + self.chunk_every_s
        return self.cut(chunks=chunks)

    def cut(self, *, chunks: bool, closed: bool = False) -> int:
        """Append what is complete now; returns the number of entries added.

        `closed`: the recording has stopped (the MP4 is cut to its end, every line goes in). Until
        then frames.jsonl's lines go in only as far as the zip's video holds their frames (a line is
        written before its frame is encoded, and a fragment is flushed about once a second), so a
        crash never leaves the bundle with frame times for frames it does not have."""
        t0, c0 = time.perf_counter(), time.thread_time()
        committed0 = self.zf.committed
        added = self._cut_video(closed)
        added += self._cut_shots()
        if chunks:
            added += self._cut_chunks(None if closed else self._cur[K_VIDEO_FRAMES])
        dt, dc = time.perf_counter() - t0, time.thread_time() - c0
        s = self.stats
        s.cuts += 1
        s.entries += added
        s.bytes += self.zf.committed - committed0
        s.seconds += dt
        s.cpu_seconds += dc
        s.longest_s = max(s.longest_s, dt)
        return added

    def _cut_video(self, closed: bool) -> int:
        path = self.files.video
        added = 0
        with contextlib.suppress(FileNotFoundError), open(path, "rb") as fh:
            def read_at(off: int, n: int) -> bytes:
                fh.seek(off)
                return fh.read(n)

            while True:
                start = self._cur[K_VIDEO]
                end = _file_size(path)
                boxes = mp4.boxes(read_at, start, end, closed=closed)
                cut = video_cut(boxes, self._cur[K_SEGMENT], start, end, closed=closed)
                if cut is None or cut <= start:
                    return added
                segment = self._cur[K_SEGMENT]
                name = layout.video_segment(segment)
                cur = self.cursor
                cur[K_VIDEO] = cut
                cur[K_VIDEO_FRAMES] += mp4.fragment_samples(read_at, [b for b in boxes if b.end <= cut])
                cur[K_SEGMENT] = segment + 1
                self.zf.add_file(name, path, start, cut, cursor=cur)
                self._cur = cur  # only once the entry is in: the cursor always describes the zip
                if self.thumbs is not None and not closed:
                    try:
                        self._thumbnail(segment, read_at, start, cut)
                    except Exception as exc:  # the preview is decoded at Stop instead
                        log.warning("%s: no more preview frames kept: %s", self.files.dir.name, exc)
                        self.thumbs = None
                added += 1  # after segment 0, the next pass takes the fragments that followed the moov
        return added

    def _cut_shots(self) -> int:
        data = _read_from(self.files.shots_index, self._cur[K_SHOTS])
        data = data[:complete_lines(data)]
        added = 0
        pos = self._cur[K_SHOTS]
        for line in data.splitlines(keepends=True):
            pos += len(line)
            name = _shot_name(line)
            png = self.files.shots_dir / name if name else None
            member = f"{layout.SHOTS_PREFIX}{name}"
            if name is None or png is None or not png.is_file():
                log.warning("%s: screenshot %r is not on disk: not in the bundle", self.files.dir.name, name)
                self._cur[K_SHOTS] = pos  # goes into the cursor with the next entry
                continue
            if member in self._names:
                self._cur[K_SHOTS] = pos
                continue
            cur = self.cursor
            cur[K_SHOTS] = pos
            self.zf.add_file(member, png, 0, png.stat().st_size, cursor=cur)
            self._cur = cur
            self._names.add(member)
            added += 1
        return added

    def _cut_chunks(self, frame_limit: int | None) -> int:
        paths = {"actions": self.files.actions, "frames": self.files.frames, "shotsIndex": self.files.shots_index,
                 "levels": self.files.levels}
        added = 0
        for key, prefix in SOURCES.items():
            offset = self._cur[key]
            size = _file_size(paths[key])
            if size < offset:
                # frames.jsonl cut at Stop (lines the video does not hold): those lines are already in
                log.warning("%s: %s shrank below what the bundle holds", self.files.dir.name, paths[key].name)
                continue
            data = _read_from(paths[key], offset)
            data = data[:complete_lines(data)]
            if key == "frames" and frame_limit is not None:
                keep = max(0, frame_limit - self._cur[K_FRAME_LINES])
                lines = data.splitlines(keepends=True)[:keep]
                data = b"".join(lines)
            if not data:
                continue
            cur = self.cursor
            n = cur["chunks"][key]
            cur[key] = offset + len(data)
            cur["chunks"][key] = n + 1
            if key == "frames":
                cur[K_FRAME_LINES] += data.count(b"\n")
            self.zf.add(layout.chunk(prefix, n), data, compress=True, cursor=cur)
            self._cur = cur
            added += 1
        return added

    def _thumbnail(self, segment: int, read_at: Callable[[int, int], bytes], start: int, end: int) -> None:
        assert self.thumbs is not None
        if segment == 0:
            self._init = read_at(start, end - start)
            return
        if self._init is None or not self.thumbs.wants(segment):
            return
        got = keyframe_thumbnail(self._init, read_at(start, end - start), THUMB_WIDTH)
        if got is not None:
            self.thumbs.add(segment, got[0], got[1])

    def trim_sources(self) -> None:
        """Recovery, once the zip is final: cut each raw file to the prefix the zip holds (a torn
        fragment, frame lines past the video's frames, a torn last line), so the raw files are
        the zip's content again and one_copy removes them, as after a format-1 recovery."""
        paths = {K_VIDEO: self.files.video, "actions": self.files.actions, "frames": self.files.frames,
                 "shotsIndex": self.files.shots_index, "levels": self.files.levels}
        for key, path in paths.items():
            keep = int(self._cur[key])
            if _file_size(path) > keep:
                log.info("%s: %s cut to the %d bytes its bundle holds", self.files.dir.name, path.name, keep)
                os.truncate(path, keep)

    @property
    def frames_in_zip(self) -> int:
        """Frames (video samples) of the video segments in the zip so far."""
        return int(self._cur[K_VIDEO_FRAMES])

    def taken(self) -> Taken:
        """What the zip holds of each raw file: the bytes consumed from its start, the screenshots whole."""
        cur = self._cur
        sizes = {"video": cur[K_VIDEO], "actions": cur["actions"], "frames": cur["frames"],
                 "shots_index": cur["shotsIndex"], "levels": cur["levels"]}
        shots = {n[len(layout.SHOTS_PREFIX):]: size for n, size in self.zf.sizes().items()
                 if n.startswith(layout.SHOTS_PREFIX) and "/" not in n[len(layout.SHOTS_PREFIX):]}
        return Taken({k: int(v) for k, v in sizes.items()}, shots)

    # --- the thread ---------------------------------------------------------
    def start(self, *, on_failure: Callable[[BaseException], None] | None = None) -> None:
        """Cut every `cut_every_s` on a thread of its own; `on_failure(exc)` if it has to stop."""
        self._on_failure = on_failure
        self._thread = threading.Thread(target=self._run, name="recorder-bundler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._clock.sleep(self.cut_every_s, self._stop):
                self.tick()
        except Exception as exc:  # disk full, a bug: the recording goes on, exported as format 1
            self.failure = exc
            log.exception("session %s: the live bundle stopped (the recording goes on): %s", self.files.dir.name, exc)
            with contextlib.suppress(Exception):
                self.zf.close()
            if self._on_failure is not None:
                self._on_failure(exc)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the thread at once (a cut in progress finishes first)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                raise RecorderError("The live bundler did not stop within 60 s")

    @property
    def failed(self) -> bool:
        return self.failure is not None


def _shot_name(line: bytes) -> str | None:
    try:
        record = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    name = record.get("file") if isinstance(record, dict) else None
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    return name


# --- starting and finishing a live bundle -----------------------------------------------------

@dataclass(frozen=True)
class LiveFinished:
    """A live bundle finished and its export recorded (meta + `.exported`); its raw files still there."""

    meta: SessionMeta
    final: Final  # the zip's size and SHA-256 (the upload's last part and its check)
    zip_path: Path
    files: SessionFiles
    taken: Taken

    def remove_raw_files(self) -> int:
        """One copy on disk: the raw files the bundle took go, without reading them again."""
        return drop_raw_files(self.meta, self.zip_path, self.files, taken=self.taken)


def start_live(ctx: Context, session_id: str, clock: Clock, *, on_commit: CommitFn,
               on_failure: Callable[[BaseException], None]) -> Bundler:
    """A new live bundle for a session being recorded, its bundler thread running. `on_commit(size)`:
    the first `size` bytes of the zip are final; `on_failure(exc)`: the bundler stopped."""
    directory = ctx.paths.session_dir(session_id)
    zf = LiveZip.create(live_zip_path(directory, session_id), journal_path(directory), on_commit=on_commit)
    bundler = Bundler(SessionFiles(directory), zf, clock, cut_every_s=CUT_EVERY_S, chunk_every_s=CHUNK_EVERY_S,
                      thumbnails=True)
    bundler.start(on_failure=on_failure)
    return bundler


def finish_live(ctx: Context, session_id: str, bundler: Bundler, *, closed: bool = True) -> LiveFinished:
    """Stop (and recovery): the last cut, preview.jpg, session.json, central directory, then the
    meta and `.exported` (export.py's steps). The raw files are removed next, by the caller
    (`LiveFinished.remove_raw_files`), once it has passed the zip on.

    `closed=False` (recovery of a killed recording): complete boxes and lines only, and only the
    frame lines of the frames the video holds."""
    files = bundler.files
    zf = bundler.zf
    bundler.cut(chunks=True, closed=closed)
    meta = ctx.sessions.read_meta(session_id)
    limit = None if closed else bundler.frames_in_zip
    info, _actions, frames, shots = bundle_meta(meta, files, max_frames=limit)
    info = live_info(info)
    cursor = bundler.cursor
    if layout.PREVIEW_JPG not in zf.names:
        preview = _preview(bundler, frames, info)
        if preview is not None:
            zf.add(layout.PREVIEW_JPG, preview, compress=False, cursor=cursor)
    body = (json.dumps(info, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    zf.add(layout.SESSION_JSON, body, compress=True, cursor=cursor)
    final = zf.finish(cursor=cursor)
    if not closed:
        bundler.trim_sources()
    done = record_export(ctx, meta, info, zf.path, final.sha256, final.size, crc32=final.crc32, frames=len(frames),
                         shots=len(shots),
                         video_ref=layout.VIDEO_SEGMENTS)
    return LiveFinished(done, final, zf.path, files, bundler.taken())


def _preview(bundler: Bundler, frames: list[dict[str, Any]], info: dict[str, Any]) -> bytes | None:
    """From the frames kept while recording (no decoding at Stop), else decoded from the video."""
    thumbs = bundler.thumbs.with_times(frames) if bundler.thumbs is not None else []
    if len(thumbs) >= MIN_THUMBS:
        try:
            return preview_from_thumbnails(thumbs, info)
        except (RecorderError, ValueError) as exc:
            log.warning("no preview from the kept frames of %s: %s", info.get("sessionId"), exc)
    return preview_or_none(bundler.files.video, frames, info)


def live_info(info: dict[str, Any]) -> dict[str, Any]:
    """export.py's session.json content, as format 2 says it."""
    video = {k: v for k, v in dict(info.get("video") or {}).items() if k != "file"}
    video.update({"segments": layout.VIDEO_SEGMENTS, "frameTimes": layout.FRAMES_CHUNKS})
    return {**info, "formatVersion": layout.FORMAT_LIVE, "video": video,
            "chunks": {"actions": layout.ACTIONS_CHUNKS, "frames": layout.FRAMES_CHUNKS,
                       "screenshotIndex": layout.SHOTS_INDEX_CHUNKS, "levels": layout.LEVELS_CHUNKS}}


def finish_final(ctx: Context, session_id: str, final: Final) -> SessionMeta:
    """A live zip already finished (a crash after its central directory): the meta and marker
    from its own session.json, as export.py would have written them (the raw files stay: the
    caller removes them, comparing each with the zip)."""
    directory = ctx.paths.session_dir(session_id)
    zip_path = live_zip_path(directory, session_id)
    with zipfile.ZipFile(zip_path) as z:
        info = json.loads(z.read(layout.SESSION_JSON))
    counts = info.get("counts") or {}
    meta = ctx.sessions.read_meta(session_id)
    return record_export(ctx, meta, info, zip_path, final.sha256, final.size, crc32=final.crc32,
                         frames=int(counts.get("frames", 0)), shots=int(counts.get("screenshots", 0)),
                         video_ref=layout.VIDEO_SEGMENTS)

