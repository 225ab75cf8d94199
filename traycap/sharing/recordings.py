"""Sharing: the rules (policy.py) applied to the recordings of one process, from Start to export.

    sharing = Sharing(ctx, requests, lanes)
    RecordingController(ctx, settings, live=sharing.live_sink, on_event=...)   # at Start: a lane or not
    note = sharing.exported(session_id)                                         # at the EXPORTED event

At Start the decision is made once: a recording uploaded while it records gets a lane, the value
that carries the decision to its export; one without a lane is queued at export when autoUpload is
on. The recorder tells the lane what is final and, at Stop, the zip's size and SHA-256 (recorder/
live.py); at export this module only settles a lane the recorder gave up (its live bundle broke and
was exported as format 1: the partial upload is aborted, the new zip queued) and says what happens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from traycap.context import Context
from traycap.errors import TraycapError
from traycap.recorder.api import LiveSink
from traycap.sharing.lanes import LiveLanes
from traycap.sharing.policy import (
    LANE_SETTLE_WAIT_S,
    live_at_start,
    live_note,
    queue_exported,
    with_settled_secrets,
)
from traycap.sharing.requests import UploadRequests
from traycap.upload.live import LiveUpload
from traycap.upload.requests import request_cancel

log = logging.getLogger(__name__)

Abort = Callable[[str, str], None]  # (key, upload id): abort that multipart upload


class Sharing:
    def __init__(self, ctx: Context, requests: UploadRequests, lanes: LiveLanes | None) -> None:
        """`lanes` None: this process never uploads while recording (every recording is queued at export)."""
        self._ctx = ctx
        self.requests = requests
        self.lanes = lanes

    def live_sink(self, session_id: str) -> LiveSink | None:
        """The recorder's LiveFactory, asked at Start: the new recording's lane, or None (exported and
        queued at Stop)."""
        if self.lanes is None:
            return None
        try:
            if not live_at_start(self._ctx.load_config_choices()):
                return None
            # The lane needs the secret now; Start waits for a keyring still being asked a moment only (the
            # first frame is already recorded): without it the recording is queued at Stop (`exported`).
            config = with_settled_secrets(self._ctx, LANE_SETTLE_WAIT_S, self._ctx.load_config)
        except TraycapError as exc:
            log.warning("session %s: not uploading while recording (it is uploaded once it stops): %s",
                        session_id, exc.user_text())
            return None
        assert config is not None
        return self.lanes.open(session_id, config)

    def lane(self, session_id: str) -> LiveUpload | None:
        """The recording's lane, while this process holds it (`traycap record` waits on it at Stop)."""
        return self.lanes.lane(session_id) if self.lanes is not None else None

    def exported(self, session_id: str) -> str | None:
        """At the recorder's EXPORTED event: what happens to its upload, as a note for the user (None:
        nothing to say). Never raises: the recording is safe on disk whatever happens here."""
        lanes = self.lanes
        lane = lanes.lane(session_id) if lanes is not None else None
        if lanes is not None and lane is not None:
            if not lane.abandoned:
                return live_note(lane.outcome)
            log.info("session %s: its live bundle was replaced by a classic export; uploading that instead", session_id)
            lanes.forget(session_id)
            drop_live_upload(self._ctx, session_id, abort=lanes.abort)
        return queue_exported(self._ctx, self.requests, session_id)


def drop_live_upload(ctx: Context, session_id: str, *, abort: Abort | None) -> None:
    """A live bundle that was given up (broken while recording, or unreadable after a crash): the
    bytes sent are not the zip any more. Its multipart upload is aborted and its upload state removed,
    so the classic rule queues the zip that replaced it. Nothing to do for a session without a state."""
    try:
        before, _after = request_cancel(ctx, session_id)
    except TraycapError:
        return
    if abort is not None and before.s3Key and before.uploadId:
        try:
            abort(before.s3Key, before.uploadId)
        except TraycapError as exc:
            log.warning("session %s: the partial upload could not be aborted: %s", session_id, exc.user_text())
    # The reset state must not read as "cancelled by the user": it goes, and the session is as if never queued.
    ctx.paths.state(session_id).unlink(missing_ok=True)
