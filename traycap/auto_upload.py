"""The one auto-upload rule, applied by whoever exported a session (the tray, `traycap record`,
start-up recovery): when autoUpload is on, an exported session is queued.

The recorder only exports; this policy lives above it so the recorder never
imports the upload package. The caller passes how to queue: the tray holding
the queue lock enqueues in-process, anyone else writes the request to disk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from traycap.context import Context
from traycap.errors import TraycapError
from traycap.models import UploadStatus

log = logging.getLogger(__name__)

QUEUED = "Queued for upload"
NOT_QUEUED = "Not uploaded automatically"
UPLOADING_LIVE = "Uploaded while recording: the link is ready once the last bytes are in"
CANCELLED_LIVE = "Not uploaded: its upload was cancelled during the recording"


def auto_upload(ctx: Context, session_id: str, enqueue: Callable[[str], object]) -> str | None:
    """Queue an exported session when autoUpload is on; a note for the user, or None (autoUpload off).

    Never raises: the export is already safe on disk, and a missing or broken
    upload setup must not turn a good recording into a failure.
    """
    try:
        config = ctx.load_config()
    except TraycapError as exc:
        log.warning("auto-upload skipped: %s", exc.user_text())
        return f"{NOT_QUEUED}: {exc.user_text()}"
    if config is None or not config.autoUpload:
        return None
    note = _already_handled(ctx, session_id)
    if note is not None:
        return note or None
    try:
        enqueue(session_id)
    except TraycapError as exc:
        log.warning("auto-upload of %s not queued: %s", session_id, exc.user_text())
        return f"{NOT_QUEUED}: {exc.user_text()}"
    log.info("auto-upload: session %s queued", session_id)
    return QUEUED


def _already_handled(ctx: Context, session_id: str) -> str | None:
    """A note when the session's upload is already taken care of, or was refused by the user while
    it was recorded (a cancelled live upload); "" for nothing to say; None: queue it."""
    try:
        state = ctx.states.read(session_id)
    except TraycapError:
        return None  # an unreadable state: request_upload sets it aside and queues afresh
    if state is None:
        return None
    if state.status is UploadStatus.LIVE:
        return UPLOADING_LIVE
    if state.status is UploadStatus.DONE:
        return ""  # the live lane finished before this export event was handled
    if state.status is UploadStatus.NOT_UPLOADED:
        return CANCELLED_LIVE  # only a cancel during the recording leaves a state before its export
    return None


def auto_upload_all(ctx: Context, session_ids: Iterable[str], enqueue: Callable[[str], object]) -> None:
    """The rule for each session recovered at start-up, as after a normal stop."""
    for session_id in session_ids:
        auto_upload(ctx, session_id, enqueue)
