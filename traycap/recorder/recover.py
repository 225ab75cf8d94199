"""Sessions left mid-recording by a crash or SIGKILL: make them whole and export them.

Called at start-up (tray, `traycap record`). A session is unfinished when
its meta says the recorder was still recording (or had stopped but not
exported) and no live process holds its .recording.lock. The video keeps
every complete fragment (packets are copied, not re-encoded), frames.jsonl
is cut to the frames the video really holds, a torn last line of
actions.jsonl is dropped, then the session is exported like any other. Whether
it is then queued for upload is the caller's decision (traycap/sharing/).
Last, exported sessions that still hold raw files (older versions kept both, or a
crash mid-removal) keep only their zip, once its SHA-256 matches the meta
(one_copy.dedup_exported).

A session recorded with upload while recording has a live bundle (`live-zip.jsonl` next to its
zip, bundle/bundler.py). Its screen.mp4 is not salvaged (the zip's committed segments are its
bytes): the zip is reopened at its last committed entry and the bundler appends what the raw
files hold after its cursor (complete MP4 boxes, complete lines, frame lines up to the frames the
video holds), then finishes it as at Stop, `recovered: true`. Those sessions are reported in
`live` (their upload goes on where it was: the caller hands them to the queue). A live journal
that cannot be read: the live zip is dropped and the session exported as format 1 (`live_dropped`:
the caller aborts its multipart upload). A live zip already finished only gets its meta and marker.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from traycap.bundle.bundler import Bundler, discard_live_zip, finish_final, finish_live, journal_path, live_zip_path
from traycap.bundle.export import drop_raw_files, export_session, mark_exported
from traycap.bundle.livezip import LiveZip
from traycap.bundle.one_copy import DedupReport, dedup_exported, remove_raw_files, zip_verified
from traycap.bundle.raw import RecordingLock, SessionFiles, read_jsonl, truncate_jsonl
from traycap.context import Context
from traycap.errors import CorruptFile, TraycapError
from traycap.media.video import salvage_video
from traycap.models import SessionMeta
from traycap.osutil import files as files_os

log = logging.getLogger(__name__)

# "exported" without the .exported marker: killed between saving the meta and writing the marker.
UNFINISHED = frozenset({"recording", "stopped", "exported"})


@dataclass(frozen=True)
class RecoveryReport:
    exported: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # session id -> readable reason
    dedup: DedupReport = field(default_factory=DedupReport)  # raw files of exported sessions removed
    live: list[str] = field(default_factory=list)  # live bundles finished: their upload goes on (not in exported)
    live_dropped: list[str] = field(default_factory=list)  # unreadable live journal: exported as format 1
    #                                                         (also in exported); abort their multipart upload


LIVE = "live"
LIVE_DROPPED = "live-dropped"
CLASSIC = "classic"


def recover_unfinished(ctx: Context) -> RecoveryReport:
    report = RecoveryReport()
    for session_id in sorted(ctx.sessions.session_ids()):
        try:
            if not _needs_recovery(ctx, session_id):
                continue
            # Held while repairing: another process starting now (tray + `traycap record`) skips it.
            lock = RecordingLock(SessionFiles(ctx.paths.session_dir(session_id)).lock)
            if not lock.acquire():
                continue
            try:
                if not _needs_recovery(ctx, session_id, locked=True):
                    continue  # finished by its recorder (or another recovery) while we looked
                outcome = recover_session(ctx, session_id)
            finally:
                lock.release(remove=True)
            if outcome == LIVE:
                report.live.append(session_id)
            else:
                report.exported.append(session_id)
                if outcome == LIVE_DROPPED:
                    report.live_dropped.append(session_id)
        except TraycapError as exc:
            log.error("could not recover session %s: %s", session_id, exc.user_text())
            report.failed[session_id] = exc.user_text()
        except OSError as exc:
            log.error("could not recover session %s: %s", session_id, exc)
            report.failed[session_id] = str(exc.strerror or exc)
    # After the recoveries: one copy on disk for every exported session, old ones included.
    return RecoveryReport(report.exported, report.failed, dedup_exported(ctx), report.live, report.live_dropped)


def _needs_recovery(ctx: Context, session_id: str, *, locked: bool = False) -> bool:
    if not ctx.sessions.exists(session_id) or ctx.sessions.is_exported(session_id):
        return False
    meta = ctx.sessions.read_meta(session_id)
    recorder = meta.extra.get("recorder")
    if not isinstance(recorder, dict) or recorder.get("status") not in UNFINISHED:
        return False  # not made by this recorder, or already handled
    files = SessionFiles(ctx.paths.session_dir(session_id))
    return locked or not RecordingLock.is_held(files.lock)


def recover_session(ctx: Context, session_id: str) -> str:
    """Make the session whole and export it; CLASSIC, LIVE or LIVE_DROPPED (see the module doc)."""
    files = SessionFiles(ctx.paths.session_dir(session_id))
    outcome = CLASSIC
    if journal_path(files.dir).exists() and LiveZip.exists(journal_path(files.dir)):
        try:
            _recover_live(ctx, session_id, files)
        except CorruptFile as exc:
            log.warning("session %s: its live bundle cannot be resumed (%s): exported from its files instead",
                        session_id, exc.user_text())
            discard_live_zip(files.dir, session_id)
            outcome = LIVE_DROPPED
        else:
            with contextlib.suppress(OSError):
                files.lock.unlink()
            return LIVE
    _recover_classic(ctx, session_id, files)
    return outcome


def _recover_live(ctx: Context, session_id: str, files: SessionFiles) -> None:
    """CorruptFile only while the journal is read (then nothing was changed)."""
    journal = journal_path(files.dir)
    final = LiveZip.read_final(journal)
    meta = ctx.sessions.read_meta(session_id)
    if final is not None:
        if meta.zipPath and meta.sha256 == final.sha256 and zip_verified(ctx, meta):
            mark_exported(ctx, meta)  # killed between the meta and the marker
            remove_raw_files(ctx.sessions.zip_path(meta), files)
        else:
            done = finish_final(ctx, session_id, final)
            drop_raw_files(done, ctx.sessions.zip_path(done), files)
        return
    zf = LiveZip.reopen(live_zip_path(files.dir, session_id), journal)
    try:
        bundler = Bundler(files, zf, ctx.clock)
        recorder = dict(meta.extra.get("recorder") or {})
        interrupted = recorder.get("status") == "recording"
        if interrupted:
            bundler.cut(chunks=False, closed=False)  # complete boxes only: a torn fragment stays out
            _note_interrupted(ctx, meta, files, bundler.frames_in_zip)
        # status "stopped": killed during Stop's export, the files were closed: everything goes in
        finish_live(ctx, session_id, bundler, closed=not interrupted).remove_raw_files()
    except BaseException:
        with contextlib.suppress(Exception):
            zf.close()
        raise


def _interrupted(meta: SessionMeta, recorder: dict[str, Any], last_ms: float, frames: int) -> SessionMeta:
    """The meta of a recording a crash interrupted, as recovery found it."""
    recorder = {**recorder, "status": "stopped", "recovered": True, "stoppedAtMs": last_ms, "framesEncoded": frames,
                "endReason": "the recorder was interrupted (crash or kill); everything on disk was kept"}
    return meta.with_(endedAt=meta.createdAt + round(last_ms), extra={**meta.extra, "recorder": recorder})


def _note_interrupted(ctx: Context, meta: SessionMeta, files: SessionFiles, frames: int) -> None:
    recorder = dict(meta.extra.get("recorder") or {})
    actions = read_jsonl(files.actions)
    times = [float(r["t"]) for r in read_jsonl(files.frames)[:frames] + actions if "t" in r]
    last_ms = max(times) if times else 0.0
    ctx.sessions.save_meta(_interrupted(meta, recorder, last_ms, frames))
    log.warning("session %s was interrupted while recording and uploading: kept %d frames and %d actions",
                meta.sessionId, frames, len(actions))


def _recover_classic(ctx: Context, session_id: str, files: SessionFiles) -> None:
    meta = ctx.sessions.read_meta(session_id)
    recorder = dict(meta.extra.get("recorder") or {})
    if recorder.get("status") == "recording":
        kept = 0
        if files.video.exists():
            tmp = files.video.with_name(".salvage-" + files.video.name)
            kept = salvage_video(files.video, tmp)
            if tmp.exists():
                files_os.replace(tmp, files.video)  # Windows: retried while a reader holds it
        frames = truncate_jsonl(files.frames, kept)
        actions = read_jsonl(files.actions)
        truncate_jsonl(files.actions, len(actions))  # drop a torn last line, if any
        truncate_jsonl(files.shots_index, len(read_jsonl(files.shots_index)))
        truncate_jsonl(files.levels, len(read_jsonl(files.levels)))
        times = [float(r["t"]) for r in read_jsonl(files.frames) + actions if "t" in r]
        last_ms = max(times) if times else 0.0
        meta = _interrupted(meta, recorder, last_ms, frames)
        ctx.sessions.save_meta(meta)
        log.warning("session %s was interrupted while recording: kept %d frames and %d actions",
                    session_id, frames, len(actions))
    if recorder.get("status") == "exported" and zip_verified(ctx, meta):
        mark_exported(ctx, meta)  # the zip and its meta are complete: only the marker is missing
        remove_raw_files(ctx.sessions.zip_path(meta), files)
    else:
        export_session(ctx, session_id)
    with contextlib.suppress(OSError):  # Windows: open (held by our caller), removed on its release
        files.lock.unlink()

