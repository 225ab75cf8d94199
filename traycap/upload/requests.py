"""Upload requests written to disk: upload, retry, cancel.

The disk is the truth: a session is queued when its upload-state.json says
`pending`. These functions change that file (under `state_lock`) and nothing
else, so any process may call them: the tray, `traycap record` (auto-upload),
`traycap upload` / `retry` / `cancel` while another process runs the queue.
The process holding the QueueLock notices the change within its poll interval.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from traycap import object_keys as keys
from traycap.context import Context
from traycap.errors import CorruptFile, IllegalTransition, SessionNotExported, ZipChanged, ZipMissing
from traycap.models import SessionMeta, UploadConfig, UploadState, UploadStatus
from traycap.paths import check_session_id
from traycap.storage.atomic import quarantine
from traycap.upload import transitions
from traycap.upload.lock import state_lock

log = logging.getLogger(__name__)

DISK_CHECK_S = 0.5  # how often a running upload (the queue's, a live lane) reads its state: a cancel elsewhere


@dataclass(frozen=True)
class UploadSource:
    """A session checked for upload: its meta, its zip on disk, the settings to use."""

    meta: SessionMeta
    zip_path: Path
    size: int
    config: UploadConfig


def s3_key(config: UploadConfig, meta: SessionMeta, *, stored: str | None = None) -> str:
    """keyPrefix (its placeholders expanded for this session, upload/keys.py) + sessionId + ".zip".
    `stored`: the key the session already has; kept while it fits the keyPrefix setting."""
    if stored and keys.key_fits(config.keyPrefix, stored, meta.sessionId):
        return stored
    return keys.zip_key(config.keyPrefix, meta.sessionId, keys.this_machine(meta.createdAt))


def check_uploadable(ctx: Context, session_id: str) -> UploadSource:
    """The session exists, is exported, its zip is there, the settings are usable; else a readable error."""
    check_session_id(session_id)
    meta = ctx.sessions.read_meta(session_id)  # SessionNotFound / CorruptFile
    if not ctx.sessions.is_exported(session_id):
        raise SessionNotExported(f"Session {session_id} has not been exported yet")
    zip_path = ctx.sessions.zip_path(meta)
    try:
        size = zip_path.stat().st_size
    except OSError:
        raise ZipMissing(f"Session {session_id}'s zip {zip_path} is missing") from None
    if not zip_path.is_file():
        raise ZipMissing(f"Session {session_id}'s zip {zip_path} is not a file")
    if meta.fileSizeBytes is not None and size != meta.fileSizeBytes:
        raise ZipChanged(f"Session {session_id}'s zip is {size} bytes, but {meta.fileSizeBytes} were exported")
    config = ctx.require_config()  # ConfigMissing / ConfigInvalid / CorruptFile / SecretUnreachable
    return UploadSource(meta=meta, zip_path=zip_path, size=size, config=config)


def update_state(
    ctx: Context, session_id: str, change: Callable[[UploadState | None], UploadState | None]
) -> tuple[UploadState | None, UploadState | None]:
    """One atomic read-modify-write of a session's upload-state.json; returns (before, after).

    `change` gets the state on disk (None if there is none) and returns the new
    one, or None to leave the file alone. It may raise (IllegalTransition, ...)
    and then nothing is written.
    """
    with state_lock(ctx.paths):
        before = ctx.states.read(session_id)
        after = change(before)
        if after is None or after == before:
            return before, before
        ctx.states.write(after)
        return before, after


def request_upload(ctx: Context, session_id: str) -> UploadState:
    """Queue a session: not_uploaded -> pending (already pending/uploading: unchanged; uploading
    while recording (live): IllegalTransition saying so)."""
    with contextlib.suppress(CorruptFile):
        done = ctx.states.read(check_session_id(session_id))
        if done is not None and done.status is UploadStatus.DONE:
            # Before the zip check: retention may have removed the local zip of an uploaded session.
            transitions.check(session_id, done.status, UploadStatus.PENDING)
        if done is not None:
            transitions.refuse_while_live(done)  # before the export check too: it is not exported yet
    source = check_uploadable(ctx, session_id)
    now = ctx.clock.now_ms()
    with state_lock(ctx.paths):
        try:
            current = ctx.states.read(session_id)
        except CorruptFile as exc:
            # The user asked for an upload; a fresh state is the safe reading (at
            # worst the same bytes are uploaded again). The bad file is kept aside.
            moved = quarantine(ctx.states.path(session_id), now)
            log.warning("%s; moved it to %s and queued the session afresh", exc.message, moved)
            current = None
        state = current or transitions.new_state(session_id, now)
        if state.status in (UploadStatus.PENDING, UploadStatus.UPLOADING):
            return state
        transitions.refuse_while_live(state)
        if state.status is UploadStatus.FAILED:
            raise IllegalTransition(
                f"Session {session_id}'s upload failed: {state.lastError or 'unknown error'}",
                f"`traycap retry {session_id}` tries again",
            )
        new = transitions.enqueued(
            state, key=s3_key(source.config, source.meta, stored=state.s3Key), total=source.size,
            max_retries=source.config.maxRetries, now_ms=now,
        )
        ctx.states.write(new)
        return new


def request_retry(ctx: Context, session_id: str) -> UploadState:
    """failed -> pending with retryCount 0 (checked like an upload first)."""
    source = check_uploadable(ctx, session_id)
    now = ctx.clock.now_ms()

    def change(state: UploadState | None) -> UploadState:
        current = state or transitions.new_state(session_id, now)
        return transitions.retried(
            current, key=s3_key(source.config, source.meta, stored=current.s3Key), total=source.size,
            max_retries=source.config.maxRetries, now_ms=now,
        )

    _, after = update_state(ctx, session_id, change)
    assert after is not None
    return after


def request_cancel(ctx: Context, session_id: str) -> tuple[UploadState, UploadState]:
    """pending/uploading/live -> not_uploaded; returns (before, after).

    The caller aborts `before.uploadId` unless the session was uploading in the
    process that runs the queue: that process notices the change and aborts. A live
    session's lane notices too (before its next part) and aborts; aborting here as
    well is harmless (and needed when the recording process is gone).
    """
    check_session_id(session_id)
    if not ctx.sessions.exists(session_id):
        ctx.sessions.read_meta(session_id)  # raises SessionNotFound with the usual text
    now = ctx.clock.now_ms()

    def change(state: UploadState | None) -> UploadState:
        return transitions.cancelled(state or transitions.new_state(session_id, now), now)

    before, after = update_state(ctx, session_id, change)
    assert before is not None and after is not None  # a missing state cannot be cancelled
    return before, after
