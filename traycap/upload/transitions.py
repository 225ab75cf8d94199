"""The upload state machine (pure): which moves are legal, and what each move writes.

    not_uploaded -> pending          enqueue (user clicks Upload, or auto-upload)
    pending      -> uploading        the queue picks it up
    uploading    -> done             success (object verified)
    uploading    -> pending          retryable failure with retries left (backoff), or quit mid-upload,
                                     or a stall (at once, with a fresh multipart upload)
    uploading    -> failed           retryable failure at maxRetries (not an outage), any permanent failure,
                                     or a stall of the fresh multipart upload too (FRESH_STARTS)
    failed       -> pending          retry (retryCount reset to 0); also restore of a failure with retries left
    pending/uploading -> not_uploaded  cancel

The live lane (upload/live.py: uploaded while recording, in the recording process, never by the queue):

    not_uploaded -> live             recording starts with its lane (autoUpload + uploadWhileRecording)
    live         -> live             a part accepted (checkpoint, as the queue's)
    live         -> done             Stop: last parts, Complete, verified, x-amz-meta-sha256 stamped
    live         -> pending          handed over after Stop (process exits, offline, paused): the
                                     queue completes the same multipart upload and stamps it
                                     (stampAfterComplete)
    live         -> failed           permanent error (credentials, bucket); the recording goes on
    live         -> not_uploaded     cancel: the lane aborts the multipart upload, sends nothing more

Every function here takes the current UploadState and the time and returns the
next one; none of them touches the disk, the clock or the network, so the
queue's rules are tested directly.
"""

from __future__ import annotations

from collections.abc import Callable

from traycap.errors import IllegalTransition
from traycap.models import UploadState, UploadStatus
from traycap.upload.backoff import CAP_MS, backoff_ms
from traycap.upload.engine import ResumePoint, UploadResult

S = UploadStatus

ALLOWED: dict[UploadStatus, frozenset[UploadStatus]] = {
    S.NOT_UPLOADED: frozenset({S.PENDING, S.LIVE}),
    S.PENDING: frozenset({S.UPLOADING, S.NOT_UPLOADED}),
    S.UPLOADING: frozenset({S.DONE, S.PENDING, S.FAILED, S.NOT_UPLOADED}),
    S.FAILED: frozenset({S.PENDING}),
    S.DONE: frozenset(),
    S.LIVE: frozenset({S.NOT_UPLOADED, S.DONE, S.PENDING, S.FAILED}),
}

LIVE_BUSY = "it is already uploading while it is recorded"


def refuse_while_live(state: UploadState) -> None:
    """A user's or auto-upload's request to queue a session its recording process uploads already
    (live -> pending is the lane's own hand-over, never a request)."""
    if state.status is S.LIVE:
        raise IllegalTransition(
            f"Session {state.sessionId}: {LIVE_BUSY}", "its link is ready moments after the recording stops"
        )

_HINTS: dict[tuple[UploadStatus, UploadStatus], str] = {
    (S.DONE, S.PENDING): "it is already in the bucket; `traycap link ID` prints its link",
    (S.FAILED, S.NOT_UPLOADED): "a failed upload has nothing to cancel; `traycap retry ID` tries again",
    (S.DONE, S.NOT_UPLOADED): "it is already uploaded; there is nothing to cancel",
    (S.NOT_UPLOADED, S.NOT_UPLOADED): "it is not queued; there is nothing to cancel",
}


def is_allowed(old: UploadStatus, new: UploadStatus) -> bool:
    return new in ALLOWED[old]


def check(session_id: str, old: UploadStatus, new: UploadStatus) -> None:
    if not is_allowed(old, new):
        hint = _HINTS.get((old, new), "run `traycap sessions` to see its status")
        if old is S.DONE:
            lead = f"Session {session_id} is already uploaded"
        elif new is S.NOT_UPLOADED:
            lead = f"Session {session_id} has no upload in progress to cancel"
        else:
            lead = f"Session {session_id} is {old.value.replace('_', ' ')}"
        raise IllegalTransition(
            f"{lead} (it cannot go from {old.value} to {new.value})", hint.replace("ID", session_id)
        )


def _require(state: UploadState, *allowed: UploadStatus, action: str) -> None:
    """Some moves share an edge of the table but not its cause (enqueue vs retry into pending)."""
    if state.status not in allowed:
        raise IllegalTransition(
            f"Session {state.sessionId} is {state.status.value}; only {' or '.join(a.value for a in allowed)} "
            f"sessions can be {action}",
            "run `traycap sessions` to see its status",
        )


def _move(state: UploadState, new: UploadStatus, now_ms: int, **changes: object) -> UploadState:
    check(state.sessionId, state.status, new)
    return _unstamped_without_upload(state.with_(status=new, updatedAt=now_ms, **changes))


def _unstamped_without_upload(state: UploadState) -> UploadState:
    """stampAfterComplete belongs to a multipart upload: a state without one has nothing to stamp."""
    if state.uploadId is None and state.stampAfterComplete:
        return state.with_(stampAfterComplete=False)
    return state


def new_state(session_id: str, now_ms: int) -> UploadState:
    """What a session without upload-state.json is: not uploaded."""
    return UploadState(sessionId=session_id, status=S.NOT_UPLOADED, createdAt=now_ms, updatedAt=now_ms)


def enqueued(state: UploadState, *, key: str, total: int, max_retries: int, now_ms: int) -> UploadState:
    """not_uploaded -> pending: a fresh upload (createdAt is its place in the FIFO)."""
    _require(state, S.NOT_UPLOADED, action="queued for upload")
    return _move(
        state, S.PENDING, now_ms,
        createdAt=now_ms, s3Key=key, totalBytes=total, bytesUploaded=0, retryCount=0, maxRetries=max_retries,
        lastError=None, lastAttemptAt=None, completedAt=None, nextAttemptAt=None,
        uploadId=None, partSize=None, parts=(), stalls=0, freshStarts=0,
    )


def attempt_started(state: UploadState, now_ms: int) -> UploadState:
    _require(state, S.PENDING, action="started")
    return _move(state, S.UPLOADING, now_ms, lastAttemptAt=now_ms, nextAttemptAt=None)


def checkpointed(state: UploadState, point: ResumePoint | None, now_ms: int) -> UploadState:
    """Still uploading (by the queue, or live); remember the multipart upload so a restart resumes it."""
    if state.status not in (S.UPLOADING, S.LIVE):
        raise IllegalTransition(f"Session {state.sessionId} is {state.status.value}, not uploading")
    if point is None:
        return state.with_(uploadId=None, partSize=None, parts=(), updatedAt=now_ms, stampAfterComplete=False)
    done = sum(p.size for p in point.parts)
    return state.with_(
        uploadId=point.uploadId, partSize=point.partSize, parts=point.parts,
        bytesUploaded=min(done, state.totalBytes) if state.totalBytes else done, updatedAt=now_ms,
        stampAfterComplete=point.stampAfterComplete,
    )


def succeeded(state: UploadState, result: UploadResult, now_ms: int) -> UploadState:
    return _move(
        state, S.DONE, now_ms,
        s3Key=result.key, bytesUploaded=result.size, totalBytes=result.size, completedAt=now_ms,
        lastError=None, nextAttemptAt=None, uploadId=None, partSize=None, parts=(), stalls=0, freshStarts=0,
        stampAfterComplete=False,
    )


OFFLINE_NOTE = "traycap keeps trying every 5 minutes"


def attempt_failed(
    state: UploadState, error: str, *, transient: bool, now_ms: int, offline: bool = False
) -> UploadState:
    """uploading -> pending after backoff (retries left) or -> failed (permanent, or the last retry).

    `offline`: the endpoint could not be reached or the connection was lost (no answer from S3).
    An outage is not the session's fault, so once its retries are spent it stays pending and is
    tried again at the backoff cap (5 minutes) until the endpoint answers; a server that keeps
    answering with errors still fails the session at maxRetries (poison pill).
    """
    _require(state, S.UPLOADING, action="marked failed")
    if transient and state.retryCount < state.maxRetries:
        return _move(
            state, S.PENDING, now_ms,
            retryCount=state.retryCount + 1, nextAttemptAt=now_ms + backoff_ms(state.retryCount), lastError=error,
        )
    if transient and offline:
        return _move(state, S.PENDING, now_ms, nextAttemptAt=now_ms + CAP_MS, lastError=f"{error}; {OFFLINE_NOTE}")
    return _move(state, S.FAILED, now_ms, lastError=error, nextAttemptAt=None)


FRESH_STARTS = 1  # multipart uploads given up for stalling before the session fails


def gives_up_stalling(fresh_starts: int) -> bool:
    """The stall rule's budget, the queue's and the live lane's: a multipart upload that stalls
    (UploadStalled: a part silent for s3/stall.py's STALL_S while the server answers) is replaced
    by a fresh one FRESH_STARTS times; one that stalls after that is given up on."""
    return fresh_starts >= FRESH_STARTS


def stalled(state: UploadState, error: str, *, now_ms: int, gave_up: str) -> UploadState:
    """uploading -> pending or failed after an attempt that stalled. Not an outage, and not a retry
    either: the multipart upload is dropped from the state (the caller aborts it) and the next
    attempt starts a fresh one at once; a fresh one that stalls too -> failed with `gave_up`
    (Retry starts afresh, with a new budget)."""
    _require(state, S.UPLOADING, action="marked stalled")
    dropped: dict[str, object] = {"uploadId": None, "partSize": None, "parts": (), "bytesUploaded": 0, "stalls": 0}
    if not gives_up_stalling(state.freshStarts):
        return _move(
            state, S.PENDING, now_ms, freshStarts=state.freshStarts + 1, nextAttemptAt=None,
            lastError=f"{error}; starting a fresh multipart upload", **dropped,
        )
    # Its parts sit in an upload the server would not finish: Retry starts afresh.
    return _move(state, S.FAILED, now_ms, lastError=gave_up, nextAttemptAt=None, **dropped)


def interrupted(state: UploadState, now_ms: int) -> UploadState:
    """uploading -> pending without spending a retry: the app quit or the process died mid-upload."""
    _require(state, S.UPLOADING, action="interrupted")
    return _move(state, S.PENDING, now_ms)


def retried(state: UploadState, *, key: str, total: int, max_retries: int, now_ms: int) -> UploadState:
    """failed -> pending with retryCount 0. The multipart upload is kept for resume unless the key changed."""
    _require(state, S.FAILED, action="retried")
    keep_resume = key == state.s3Key
    return _move(
        state, S.PENDING, now_ms,
        s3Key=key, totalBytes=total, retryCount=0, maxRetries=max_retries, lastError=None, nextAttemptAt=None,
        stalls=0, freshStarts=0,
        uploadId=state.uploadId if keep_resume else None,
        partSize=state.partSize if keep_resume else None,
        parts=state.parts if keep_resume else (),
        bytesUploaded=state.bytesUploaded if keep_resume else 0,
        stampAfterComplete=state.stampAfterComplete and keep_resume,
    )


def cancelled(state: UploadState, now_ms: int) -> UploadState:
    """pending/uploading/live -> not_uploaded; the caller aborts the multipart upload it held."""
    return _move(
        state, S.NOT_UPLOADED, now_ms,
        bytesUploaded=0, retryCount=0, lastError=None, nextAttemptAt=None, uploadId=None, partSize=None, parts=(),
        stalls=0, freshStarts=0, stampAfterComplete=False,
    )


# --- the live lane ------------------------------------------------------------------
def went_live(state: UploadState, *, key: str, max_retries: int, now_ms: int) -> UploadState:
    """not_uploaded -> live: the recording starts and its lane uploads it as it grows."""
    _require(state, S.NOT_UPLOADED, action="uploaded while recording")
    return _move(
        state, S.LIVE, now_ms,
        createdAt=now_ms, s3Key=key, totalBytes=0, bytesUploaded=0, retryCount=0, maxRetries=max_retries,
        lastError=None, lastAttemptAt=now_ms, completedAt=None, nextAttemptAt=None,
        uploadId=None, partSize=None, parts=(), stalls=0, freshStarts=0, stampAfterComplete=False,
    )


def live_progress(state: UploadState, *, committed: int, error: str | None, now_ms: int) -> UploadState:
    """Still live: how much of the zip is final (totalBytes, until Stop), and the lane's latest
    trouble (an outage: it keeps trying) or None once it sends again."""
    _require(state, S.LIVE, action="updated as live")
    return state.with_(totalBytes=max(state.totalBytes, committed), lastError=error, updatedAt=now_ms)


def live_failed(state: UploadState, error: str, now_ms: int) -> UploadState:
    """live -> failed: a permanent error (credentials, bucket). The multipart upload is kept:
    `traycap retry` after the fix lets the queue finish it (once the recording is exported)."""
    _require(state, S.LIVE, action="marked failed while recording")
    return _move(state, S.FAILED, now_ms, lastError=error, nextAttemptAt=None, retryCount=state.maxRetries)


def handed_over(state: UploadState, *, total: int, now_ms: int) -> UploadState:
    """live -> pending: the recording is exported but its lane did not finish (the process exits,
    offline, paused). The queue resumes the same multipart upload and stamps x-amz-meta-sha256."""
    _require(state, S.LIVE, action="handed to the queue")
    return _move(
        state, S.PENDING, now_ms,
        totalBytes=total, retryCount=0, nextAttemptAt=None, stalls=0, freshStarts=0,
        stampAfterComplete=state.uploadId is not None,
    )


def restored(state: UploadState, now_ms: int) -> UploadState | None:
    """Start-up rule for one session; None when it stays as it is.

    uploading -> pending (it was interrupted); failed with retries left -> pending
    (its nextAttemptAt backoff kept); pending stays pending; failed at maxRetries,
    done and not_uploaded stay. live stays: its recording process (or the recovery of its
    recording, which hands it over once the zip is finished) owns it, never the queue.
    """
    if state.status is S.UPLOADING:
        return interrupted(state, now_ms)
    if state.status is S.FAILED and state.retryCount < state.maxRetries:
        return _move(state, S.PENDING, now_ms)
    return None


def backoff_over(next_attempt_at: int | None, now_ms: int) -> bool:
    """True once a backoff ending at `next_attempt_at` is over.

    No backoff lasts longer than CAP_MS, so a time further away was computed by a
    wall clock that has since been set back (S3's RequestTimeTooSkewed asks the user
    to do exactly that): it is over now, not after the skew.
    """
    return next_attempt_at is None or next_attempt_at <= now_ms or next_attempt_at - now_ms > CAP_MS


def eligible(state: UploadState, now_ms: int) -> bool:
    return state.status is S.PENDING and backoff_over(state.nextAttemptAt, now_ms)


def resume_point(state: UploadState) -> ResumePoint | None:
    if state.uploadId is None or state.partSize is None:
        return None
    return ResumePoint(
        uploadId=state.uploadId, partSize=state.partSize, parts=state.parts,
        stampAfterComplete=state.stampAfterComplete,
    )


StateChange = Callable[[UploadState | None], UploadState | None]


def while_uploading(move: Callable[[UploadState], UploadState | None]) -> StateChange:
    """A change for `update_state` that applies `move` only to a session still uploading.

    Any other state (cancelled by another process, finished, gone) is left as it
    is: the attempt that wanted to write it has been overtaken.
    """

    def change(state: UploadState | None) -> UploadState | None:
        if state is None or state.status is not S.UPLOADING:
            return None
        return move(state)

    return change
