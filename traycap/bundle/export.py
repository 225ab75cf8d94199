"""The format-1 writer: session directory -> zip bundle at Stop; and, for both writers, recording
the export (meta with size and SHA-256, then the `.exported` marker).

The bundle (docs/bundle-format.md):

    session.json            bundle meta: counts, duration, fps, time base, monitors, capture, tracks, platform, app
    actions.json            array of actions (actions.jsonl of the recording)
    video/screen.mp4        H.264, stored as is (not recompressed)
    video/frames.json       one entry per video frame: capture time and video time
    video/levels.json       with sound: its loudness, one entry a second
    screenshots/*.png       stored as is
    screenshots/index.json  one entry per screenshot
    preview.jpg             contact sheet of up to 12 frames (preview.py)

Order on disk, so a crash at any point is repaired by exporting again:
zip written to a temp name, fsynced, renamed -> session-meta.json (zipPath,
fileSizeBytes, sha256) -> `.exported` -> the raw files the zip holds are
removed (one_copy.py: one copy on disk; the zip is where they live from then on).
`record_export` writes the meta and the marker for either format (bundler.py finishes format 2);
removing the raw files is the step after it, never inside it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import zipfile
from pathlib import Path
from typing import Any

from traycap.bundle.layout import INPUT_TYPES, LEVELS_JSON
from traycap.bundle.one_copy import (
    Checkpoint,
    Taken,
    file_digests,
    has_raw_files,
    no_checkpoint,
    remove_raw_files,
    zip_verified,
)
from traycap.bundle.preview import add_preview
from traycap.bundle.raw import SHOTS_DIR, VIDEO_DIR, VIDEO_FILE, SessionFiles, read_jsonl
from traycap.context import Context
from traycap.errors import CorruptFile, DiskFull, StorageError
from traycap.models import SessionMeta
from traycap.osutil import files as files_os
from traycap.paths import EXPORTED_MARKER
from traycap.storage.atomic import write_bytes_atomic

log = logging.getLogger(__name__)

BUNDLE_FORMAT = 1
BUNDLE_META = "session.json"
VIDEO_REF = f"{VIDEO_DIR}/{VIDEO_FILE}"
_CHUNK = 1024 * 1024


def paused_ms(actions: list[dict[str, Any]], end_ms: float) -> float:
    """Total paused time from the pause/resume markers (an open pause lasts until `end_ms`)."""
    total = 0.0
    since: float | None = None
    for a in actions:
        if a.get("type") == "pause" and since is None:
            since = float(a["t"])
        elif a.get("type") == "resume" and since is not None:
            total += float(a["t"]) - since
            since = None
    if since is not None:
        total += max(0.0, end_ms - since)
    return total


def bundle_meta(meta: SessionMeta, files: SessionFiles, *, max_frames: int | None = None,
                ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """session.json contents, and the actions, frames and screenshot index it describes.

    `max_frames`: only the first lines of frames.jsonl (recovery of a live bundle: the frames the
    video holds; the file itself is not rewritten)."""
    actions = read_jsonl(files.actions)
    frames = read_jsonl(files.frames)
    if max_frames is not None:
        frames = frames[:max_frames]
    shots = [s for s in read_jsonl(files.shots_index) if (files.shots_dir / str(s.get("file", ""))).is_file()]
    rec: dict[str, Any] = dict(meta.extra.get("recorder") or {})
    times = [float(f["t"]) for f in frames if "t" in f] + [float(a["t"]) for a in actions if "t" in a]
    end_ms = float(rec.get("stoppedAtMs") or (max(times) if times else 0.0))
    paused = paused_ms(actions, end_ms)
    active_s = max(0.0, (end_ms - paused) / 1000.0)
    inputs = [a for a in actions if a.get("type") in INPUT_TYPES]
    unchanged = int(rec.get("unchangedFrames") or 0)
    out: dict[str, Any] = {
        "formatVersion": BUNDLE_FORMAT,
        "sessionId": meta.sessionId,
        "createdAt": meta.createdAt,
        "endedAt": meta.endedAt,
        "durationMs": round(end_ms),
        "pausedMs": round(paused),
        "timeBase": rec.get("timeBase"),
        "counts": {"actions": len(inputs), "markers": len(actions) - len(inputs),
                   "frames": len(frames), "screenshots": len(shots)},
        "fps": {
            "requested": rec.get("fps"),
            # Slots shown: a slot of a still screen is shown by the frame before it (not encoded again).
            "achieved": round((len(frames) + unchanged) / active_s, 2) if active_s > 0 else 0.0,
            "encoded": round(len(frames) / active_s, 2) if active_s > 0 else 0.0,
        },
        "droppedFrames": rec.get("droppedFrames"),
        "unchangedFrames": unchanged,
        "video": {**(rec.get("video") or {}), "file": VIDEO_REF, "frameTimes": f"{VIDEO_DIR}/frames.json"},
        "monitors": rec.get("screen"),
        "capture": rec.get("capture"),  # the backend: mss on X11, the ScreenCast portal on Wayland
        "tracks": rec.get("tracks"),  # what the recording holds besides the video, and why (recorder/tracks.py)
        "keystrokePrivacy": rec.get("keystrokePrivacy"),
        "platform": rec.get("platform"),
        "app": rec.get("app"),
        "endReason": rec.get("endReason"),
        **({"audio": rec["audio"]} if rec.get("audio") else {}),
        "recovered": bool(rec.get("recovered", False)),
    }
    return out, actions, frames, shots


def export_session(ctx: Context, session_id: str, *, checkpoint: Checkpoint = no_checkpoint) -> SessionMeta:
    """Write the zip, mark the session exported, remove the raw files it holds; returns the saved meta.

    Raises DiskFull / StorageError. `checkpoint` is called between the steps (tests kill the process there).
    """
    directory = ctx.paths.session_dir(session_id)
    files = SessionFiles(directory)
    meta = ctx.sessions.read_meta(session_id)
    if not has_raw_files(files) and zip_verified(ctx, meta):
        # Exported before and its raw files already removed: the verified zip is the recording.
        mark_exported(ctx, meta)
        return meta
    info, actions, frames, shots = bundle_meta(meta, files)
    zip_path = directory / f"{session_id}.zip"
    tmp = directory / f".tmp-{session_id}.zip"
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            _put_json(zf, BUNDLE_META, info)
            _put_json(zf, "actions.json", actions)
            if files.video.is_file():
                zf.write(files.video, VIDEO_REF, compress_type=zipfile.ZIP_STORED)
            _put_json(zf, f"{VIDEO_DIR}/frames.json", frames)
            if files.levels.is_file():
                _put_json(zf, LEVELS_JSON, read_jsonl(files.levels))
            for name in dict.fromkeys(str(shot["file"]) for shot in shots):  # an unchanged shot names an earlier file
                zf.write(files.shots_dir / name, f"{SHOTS_DIR}/{name}", compress_type=zipfile.ZIP_STORED)
            _put_json(zf, f"{SHOTS_DIR}/index.json", shots)
            add_preview(zf, files.video, frames, info)
        checkpoint("zip-written")
        sha, crc, size = _fsync_and_hash(tmp)
        checkpoint("zip-synced")
        files_os.replace(tmp, zip_path)  # Windows: retried while a reader (the viewer, a scanner) holds it
        checkpoint("zip-renamed")
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(f"The disk is full: could not export session {session_id}") from exc
        raise StorageError(f"Could not export session {session_id}: {exc.strerror or exc}") from exc
    done = record_export(ctx, meta, info, zip_path, sha, size, crc32=crc, frames=len(frames), shots=len(shots),
                         checkpoint=checkpoint)
    drop_raw_files(done, zip_path, files, checkpoint=checkpoint)
    return done


def record_export(ctx: Context, meta: SessionMeta, info: dict[str, Any], zip_path: Path, sha: str, size: int, *,
                  frames: int, shots: int, crc32: str | None = None, video_ref: str = VIDEO_REF,
                  checkpoint: Checkpoint = no_checkpoint) -> SessionMeta:
    """After the zip is final on disk (format 1 here, format 2 by bundler.py): the meta (zipPath,
    fileSizeBytes, sha256, crc32, counts), then `.exported`. Returns the saved meta. The raw files are still
    there: `drop_raw_files` (or the live bundle's own removal) is the next step."""
    rec = dict(meta.extra.get("recorder") or {})
    rec["status"] = "exported"
    extra = {**meta.extra, "recorder": rec, "durationMs": info["durationMs"], "fpsAchieved": info["fps"]["achieved"],
             "frameCount": frames}
    ended = meta.endedAt if meta.endedAt is not None else meta.createdAt + info["durationMs"]
    done = meta.with_(
        endedAt=ended,
        actionCount=info["counts"]["actions"],
        screenshotCount=shots,
        videoRef=video_ref,
        zipPath=zip_path.name,  # relative to the session dir: survives moving the data dir
        fileSizeBytes=size,
        sha256=sha,
        crc32=crc32,
        extra=extra,
    )
    ctx.sessions.save_meta(done)
    checkpoint("meta-saved")
    mark_exported(ctx, done)
    checkpoint("marked")
    log.info("exported session %s: %s (%d bytes)", meta.sessionId, zip_path, size)
    return done


def drop_raw_files(meta: SessionMeta, zip_path: Path, files: SessionFiles, *, taken: Taken | None = None,
                   checkpoint: Checkpoint = no_checkpoint) -> int:
    """One copy on disk, once the export is recorded: the raw files the zip holds go (one_copy.py);
    the bytes freed. A problem leaves them for the next start-up (dedup_exported), never fails the export."""
    try:
        freed = remove_raw_files(zip_path, files, taken=taken, checkpoint=checkpoint)
    except (OSError, CorruptFile) as exc:
        log.warning("session %s: the raw files stay for now: %s", meta.sessionId, exc)
        return 0
    log.info("session %s: %d bytes of raw files removed (its zip holds them)", meta.sessionId, freed)
    return freed


def mark_exported(ctx: Context, meta: SessionMeta) -> None:
    """The `.exported` marker: written last, once the zip and the meta describing it are on disk."""
    marker = {"sessionId": meta.sessionId, "zip": meta.zipPath, "sha256": meta.sha256,
              "fileSizeBytes": meta.fileSizeBytes, "exportedAt": ctx.clock.now_ms()}
    write_bytes_atomic(ctx.paths.session_dir(meta.sessionId) / EXPORTED_MARKER, json.dumps(marker).encode() + b"\n")


def _put_json(zf: zipfile.ZipFile, name: str, obj: Any) -> None:
    zf.writestr(name, json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def _fsync_and_hash(path: Path) -> tuple[str, str, int]:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
    return file_digests(path)

