"""What every long-running process does first (the tray, `traycap record`, `traycap worker`), as one
function: recover the recordings a crash interrupted, settle the live uploads it left, and apply the
auto-upload rule to what recovery exported.

    report = settle_at_start(ctx, requests)   # before the queue is restored: requests go to disk

- Recovery (recorder/recover.py) exports what a killed recording left; a live bundle is finished
  from its journal (report.live), an unreadable one is exported as format 1 (report.live_dropped).
- A finished live bundle's upload goes to the queue as it is: live -> pending, the same multipart
  upload (upload/live.py hand_over). A dropped one's partial upload is aborted and forgotten.
- Every other recovered session gets the rule a normal Stop applies (policy.queue_exported).

So a lone `traycap worker` finishes the upload of a live recording whose `traycap record` was killed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from traycap.context import Context
from traycap.errors import CorruptFile, TraycapError
from traycap.recorder.recover import RecoveryReport, recover_unfinished
from traycap.sharing.policy import queue_exported
from traycap.sharing.recordings import Abort, drop_live_upload
from traycap.sharing.requests import UploadRequests
from traycap.upload.live import hand_over

log = logging.getLogger(__name__)

Recover = Callable[[Context], RecoveryReport]


@dataclass(frozen=True)
class StartReport:
    recovery: RecoveryReport
    handed_over: list[str] = field(default_factory=list)  # live uploads the queue finishes now
    notes: dict[str, str] = field(default_factory=dict)  # session id -> what the auto-upload rule did

    @property
    def recovered(self) -> list[str]:
        """Every session recovery made whole, in the order it found them."""
        return [*self.recovery.exported, *(s for s in self.recovery.live if s not in self.recovery.exported)]


def settle_at_start(ctx: Context, requests: UploadRequests, *, recover: Recover = recover_unfinished,
                    abort: Abort | None = None) -> StartReport:
    """Recover -> settle live sessions -> auto-upload. Never raises for one session: each problem is
    logged and the others go on. `abort(key, upload_id)` aborts a dropped live bundle's upload."""
    report = recover(ctx)
    if report.exported:
        log.info("recovered and exported %d unfinished recording(s): %s", len(report.exported), report.exported)
    classic = list(report.exported)
    handed: list[str] = []
    for session_id in report.live:
        try:
            meta = ctx.sessions.read_meta(session_id)
            if hand_over(ctx, session_id, total=meta.fileSizeBytes or 0) is not None:
                handed.append(session_id)
            elif ctx.states.read(session_id) is None:
                classic.append(session_id)  # nothing was ever sent of it: uploaded like any exported session
        except (TraycapError, CorruptFile) as exc:
            log.warning("session %s: its upload could not be handed to the queue: %s", session_id, exc.user_text())
    for session_id in report.live_dropped:
        drop_live_upload(ctx, session_id, abort=abort)
    notes: dict[str, str] = {}
    for session_id in classic:
        note = queue_exported(ctx, requests, session_id)
        if note is not None:
            notes[session_id] = note
    return StartReport(report, handed, notes)
