"""The sharing rules, in one place: a recording is uploaded while it records (a live lane, decided
at Start) when autoUpload and uploadWhileRecording are on; any other exported session is queued at
export when autoUpload is on. The recorder only records and exports; it never decides this.

`queue_exported` never raises: the export is already safe on disk, and a missing or broken upload
setup must not turn a good recording into a failure; it becomes a note for the user.
"""

from __future__ import annotations

import logging
from typing import Protocol

from traycap.context import Context
from traycap.errors import TraycapError
from traycap.models import UploadConfig, UploadState, UploadStatus

log = logging.getLogger(__name__)

QUEUED = "Queued for upload"
NOT_QUEUED = "Not uploaded automatically"
UPLOADING_LIVE = "Uploaded while recording: the link is ready once the last bytes are in"
CANCELLED_LIVE = "Not uploaded: its upload was cancelled during the recording"


class Enqueue(Protocol):
    def upload(self, session_id: str) -> UploadState: ...


def live_at_start(config: UploadConfig | None) -> bool:
    """Upload this new recording while it records?"""
    return config is not None and config.autoUpload and config.uploadWhileRecording


def queue_exported(ctx: Context, requests: Enqueue, session_id: str) -> str | None:
    """Queue an exported session (not uploaded while it recorded) when autoUpload is on; a note for
    the user, or None when autoUpload is off."""
    try:
        config = ctx.load_config()
    except TraycapError as exc:
        log.warning("auto-upload skipped: %s", exc.user_text())
        return f"{NOT_QUEUED}: {exc.user_text()}"
    if config is None or not config.autoUpload:
        return None
    try:
        requests.upload(session_id)
    except TraycapError as exc:
        log.warning("auto-upload of %s not queued: %s", session_id, exc.user_text())
        return f"{NOT_QUEUED}: {exc.user_text()}"
    log.info("auto-upload: session %s queued", session_id)
    return QUEUED


def live_note(outcome: UploadState | None) -> str | None:
    """What to tell the user at export about a recording uploaded while it recorded, from how its
    lane stands: None once it is done (the Upload-done notice says it)."""
    if outcome is None:
        return UPLOADING_LIVE
    if outcome.status is UploadStatus.NOT_UPLOADED:
        return CANCELLED_LIVE
    return None
