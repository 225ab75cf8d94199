"""The sharing rules, in one place: a recording is uploaded while it records (a live lane, decided
at Start) when autoUpload and uploadWhileRecording are on; any other exported session is queued at
export when autoUpload is on. The recorder only records and exports; it never decides this.

`queue_exported` never raises: the export is already safe on disk, and a missing or broken upload
setup must not turn a good recording into a failure; it becomes a note for the user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol, TypeVar

from traycap.context import Context
from traycap.errors import SecretUnreachable, TraycapError
from traycap.models import UploadConfig, UploadState, UploadStatus

log = logging.getLogger(__name__)

QUEUED = "Queued for upload"
NOT_QUEUED = "Not uploaded automatically"
UPLOADING_LIVE = "Uploaded while recording: the link is ready once the last bytes are in"
CANCELLED_LIVE = "Not uploaded: its upload was cancelled during the recording"
# How long a decision waits for a keyring still being asked at start-up: at Start, after the first frame,
# a moment (then the recording goes without a lane and is queued at Stop); at export, as long as opening
# the keyring and asking it can take (each is given up after 5 s).
LANE_SETTLE_WAIT_S = 1.0
EXPORT_SETTLE_WAIT_S = 12.0

T = TypeVar("T")


class Enqueue(Protocol):
    def upload(self, session_id: str) -> UploadState: ...


def live_at_start(config: UploadConfig | None) -> bool:
    """Upload this new recording while it records?"""
    return config is not None and config.autoUpload and config.uploadWhileRecording


def queue_exported(ctx: Context, requests: Enqueue, session_id: str) -> str | None:
    """Queue an exported session (not uploaded while it recorded) when autoUpload is on; a note for
    the user, or None when autoUpload is off."""
    try:
        # From the file alone: whether to upload never waits for the keyring; the upload itself does.
        config = ctx.load_config_choices()
    except TraycapError as exc:
        log.warning("auto-upload skipped: %s", exc.user_text())
        return f"{NOT_QUEUED}: {exc.user_text()}"
    if config is None or not config.autoUpload:
        return None
    try:
        # The request checks the whole settings, the secret too.
        with_settled_secrets(ctx, EXPORT_SETTLE_WAIT_S, lambda: requests.upload(session_id))
    except TraycapError as exc:
        log.warning("auto-upload of %s not queued: %s", session_id, exc.user_text())
        return f"{NOT_QUEUED}: {exc.user_text()}"
    log.info("auto-upload: session %s queued", session_id)
    return QUEUED


def with_settled_secrets(ctx: Context, wait_s: float, fn: Callable[[], T]) -> T:
    """`fn()`; when it could not read the secret because this process, only just started, is still asking
    the keyring in the background (storage/secrets.py SettlingStore), once more after waiting up to
    `wait_s` for the answer. A secret in the file never waits."""
    try:
        return fn()
    except SecretUnreachable:
        if ctx.secrets.settled(0) or not ctx.secrets.settled(wait_s):
            raise
        return fn()


def live_note(outcome: UploadState | None) -> str | None:
    """What to tell the user at export about a recording uploaded while it recorded, from how its
    lane stands: None once it is done (the Upload-done notice says it)."""
    if outcome is None:
        return UPLOADING_LIVE
    if outcome.status is UploadStatus.NOT_UPLOADED:
        return CANCELLED_LIVE
    return None
