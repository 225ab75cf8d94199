"""The upload state machine as a table: every legal move works, every other one raises."""

from __future__ import annotations

import itertools

import pytest

from traycap.errors import IllegalTransition
from traycap.models import CompletedPart, UploadState, UploadStatus
from traycap.upload import transitions as t
from traycap.upload.backoff import backoff_ms
from traycap.upload.engine import ResumePoint, UploadResult

S = UploadStatus
NOW = 1_700_000_000_000
LEGAL = {
    (S.NOT_UPLOADED, S.PENDING),
    (S.PENDING, S.UPLOADING),
    (S.UPLOADING, S.DONE),
    (S.UPLOADING, S.PENDING),
    (S.UPLOADING, S.FAILED),
    (S.FAILED, S.PENDING),
    (S.PENDING, S.NOT_UPLOADED),
    (S.UPLOADING, S.NOT_UPLOADED),
    # the live lane (uploaded while recording)
    (S.NOT_UPLOADED, S.LIVE),
    (S.LIVE, S.NOT_UPLOADED),
    (S.LIVE, S.DONE),
    (S.LIVE, S.PENDING),
    (S.LIVE, S.FAILED),
}


def state(status: UploadStatus, **kw: object) -> UploadState:
    base = UploadState(sessionId="s1", status=status, createdAt=NOW - 10, updatedAt=NOW - 10, s3Key="sessions/s1.zip",
                       totalBytes=100)
    return base.with_(**kw)


@pytest.mark.parametrize(("old", "new"), list(itertools.product(S, S)))
def test_table_matches_design(old: UploadStatus, new: UploadStatus) -> None:
    assert t.is_allowed(old, new) == ((old, new) in LEGAL)
    if (old, new) in LEGAL:
        t.check("s1", old, new)
    else:
        with pytest.raises(IllegalTransition, match=f"from {old.value} to {new.value}"):
            t.check("s1", old, new)


def test_enqueue_only_from_not_uploaded() -> None:
    new = t.enqueued(state(S.NOT_UPLOADED, retryCount=3, lastError="x"), key="k", total=5, max_retries=7, now_ms=NOW)
    assert (new.status, new.retryCount, new.maxRetries, new.lastError, new.createdAt, new.s3Key) == (
        S.PENDING, 0, 7, None, NOW, "k")
    for other in (S.PENDING, S.UPLOADING, S.DONE, S.FAILED):
        with pytest.raises(IllegalTransition):
            t.enqueued(state(other), key="k", total=5, max_retries=7, now_ms=NOW)


def test_attempt_failed_backs_off_then_fails_at_max() -> None:
    s = state(S.UPLOADING, maxRetries=3)
    delays = []
    for expected_count in (1, 2, 3):
        s = t.attempt_failed(s, "net down", transient=True, now_ms=NOW)
        assert (s.status, s.retryCount, s.lastError) == (S.PENDING, expected_count, "net down")
        assert s.nextAttemptAt is not None
        delays.append(s.nextAttemptAt - NOW)
        s = t.attempt_started(s, NOW)
    assert delays == [1000, 2000, 4000]
    s = t.attempt_failed(s, "still down", transient=True, now_ms=NOW)
    assert (s.status, s.retryCount, s.nextAttemptAt) == (S.FAILED, 3, None)


def test_permanent_error_fails_at_once() -> None:
    s = t.attempt_failed(state(S.UPLOADING), "The access key was rejected", transient=False, now_ms=NOW)
    assert (s.status, s.retryCount, s.lastError) == (S.FAILED, 0, "The access key was rejected")


def test_backoff_sequence_caps_at_five_minutes() -> None:
    assert [backoff_ms(n) for n in range(12)] == [
        1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000, 300000]


def test_checkpoint_and_success() -> None:
    parts = (CompletedPart(1, "e1", 40), CompletedPart(2, "e2", 40))
    s = t.checkpointed(state(S.UPLOADING), ResumePoint("u1", 40, parts), NOW)
    assert (s.uploadId, s.partSize, s.parts, s.bytesUploaded, s.status) == ("u1", 40, parts, 80, S.UPLOADING)
    assert t.resume_point(s) == ResumePoint("u1", 40, parts)
    with pytest.raises(IllegalTransition):
        t.checkpointed(state(S.PENDING), None, NOW)
    done = t.succeeded(s, UploadResult("sessions/s1.zip", 100, "ab", 100), NOW)
    assert (done.status, done.bytesUploaded, done.completedAt, done.uploadId, done.parts) == (
        S.DONE, 100, NOW, None, ())
    assert done.progress == 100


def test_retry_resets_count_and_keeps_parts_for_the_same_key() -> None:
    parts = (CompletedPart(1, "e1", 40),)
    failed = state(S.FAILED, retryCount=10, lastError="x", uploadId="u1", partSize=40, parts=parts, bytesUploaded=40)
    same = t.retried(failed, key="sessions/s1.zip", total=100, max_retries=10, now_ms=NOW)
    assert (same.status, same.retryCount, same.lastError, same.uploadId, same.parts) == (
        S.PENDING, 0, None, "u1", parts)
    moved = t.retried(failed, key="other/s1.zip", total=100, max_retries=10, now_ms=NOW)
    assert (moved.uploadId, moved.parts, moved.s3Key) == (None, (), "other/s1.zip")
    for other in (S.NOT_UPLOADED, S.PENDING, S.UPLOADING, S.DONE):
        with pytest.raises(IllegalTransition):
            t.retried(state(other), key="k", total=1, max_retries=1, now_ms=NOW)


@pytest.mark.parametrize("status", list(S))
def test_cancel_from_each_state(status: UploadStatus) -> None:
    s = state(status, uploadId="u1", partSize=40, parts=(CompletedPart(1, "e", 40),), retryCount=2)
    if status in (S.PENDING, S.UPLOADING, S.LIVE):
        c = t.cancelled(s, NOW)
        assert (c.status, c.uploadId, c.parts, c.bytesUploaded, c.retryCount) == (S.NOT_UPLOADED, None, (), 0, 0)
    else:
        with pytest.raises(IllegalTransition):
            t.cancelled(s, NOW)


def test_restore_rules_for_every_status() -> None:
    assert t.restored(state(S.NOT_UPLOADED), NOW) is None
    assert t.restored(state(S.PENDING, nextAttemptAt=NOW + 5), NOW) is None
    up = t.restored(state(S.UPLOADING, uploadId="u1", partSize=40, retryCount=2), NOW)
    assert up is not None and (up.status, up.uploadId, up.retryCount) == (S.PENDING, "u1", 2)
    assert t.restored(state(S.DONE), NOW) is None
    left = t.restored(state(S.FAILED, retryCount=4, maxRetries=10, nextAttemptAt=NOW + 16000), NOW)
    assert left is not None and (left.status, left.retryCount, left.nextAttemptAt) == (S.PENDING, 4, NOW + 16000)
    assert t.restored(state(S.FAILED, retryCount=10, maxRetries=10), NOW) is None


def test_eligibility_respects_backoff() -> None:
    assert t.eligible(state(S.PENDING), NOW)
    assert not t.eligible(state(S.PENDING, nextAttemptAt=NOW + 1), NOW)
    assert t.eligible(state(S.PENDING, nextAttemptAt=NOW), NOW)
    assert not t.eligible(state(S.FAILED), NOW)


# --- the live lane -------------------------------------------------------------------
PART = CompletedPart(1, "etag1", 8, "c1")


def test_went_live_only_from_not_uploaded() -> None:
    new = t.went_live(state(S.NOT_UPLOADED, lastError="old", retryCount=2), key="k", max_retries=4, now_ms=NOW)
    assert (new.status, new.s3Key, new.totalBytes, new.retryCount, new.maxRetries, new.lastError) == (
        S.LIVE, "k", 0, 0, 4, None)
    for other in (S.PENDING, S.UPLOADING, S.DONE, S.FAILED, S.LIVE):
        with pytest.raises(IllegalTransition):
            t.went_live(state(other), key="k", max_retries=4, now_ms=NOW)


def test_live_checkpoints_keep_it_live_and_stamped_later() -> None:
    live = t.went_live(state(S.NOT_UPLOADED), key="k", max_retries=4, now_ms=NOW)
    live = t.live_progress(live, committed=20, error=None, now_ms=NOW)
    point = ResumePoint("up-1", 8, (PART,), stampAfterComplete=True)
    saved = t.checkpointed(live, point, NOW + 1)
    assert (saved.status, saved.uploadId, saved.parts, saved.bytesUploaded, saved.stampAfterComplete) == (
        S.LIVE, "up-1", (PART,), 8, True)
    assert t.resume_point(saved) == point
    assert t.live_progress(saved, committed=10, error="offline", now_ms=NOW).totalBytes == 20  # never backwards
    # the queue never picks a live session, and start-up leaves it alone
    assert not t.eligible(saved, NOW + 10**9) and t.restored(saved, NOW) is None


def test_handed_over_keeps_the_upload_for_the_queue_with_the_stamp() -> None:
    live = state(S.LIVE, uploadId="up-1", partSize=8, parts=(PART,), retryCount=0, totalBytes=8)
    pending = t.handed_over(live, total=13, now_ms=NOW)
    assert (pending.status, pending.totalBytes, pending.uploadId, pending.stampAfterComplete) == (
        S.PENDING, 13, "up-1", True)
    assert t.eligible(pending, NOW)
    point = t.resume_point(pending)
    assert point is not None and point.stampAfterComplete and point.parts == (PART,)
    # no multipart upload yet (nothing sent while recording): a plain queued upload
    assert not t.handed_over(state(S.LIVE), total=13, now_ms=NOW).stampAfterComplete
    for other in (S.NOT_UPLOADED, S.PENDING, S.UPLOADING, S.DONE, S.FAILED):
        with pytest.raises(IllegalTransition):
            t.handed_over(state(other), total=13, now_ms=NOW)


def test_live_done_failed_and_cancelled() -> None:
    live = state(S.LIVE, uploadId="up-1", partSize=8, parts=(PART,), stampAfterComplete=True)
    done = t.succeeded(live, UploadResult("k", 13, "ab" * 32, 13), NOW)
    assert (done.status, done.completedAt, done.uploadId, done.stampAfterComplete) == (S.DONE, NOW, None, False)
    failed = t.live_failed(live, "Access denied", NOW)
    assert (failed.status, failed.lastError, failed.uploadId) == (S.FAILED, "Access denied", "up-1")
    assert t.restored(failed, NOW) is None  # not retried behind the user's back: the fix comes first
    retried = t.retried(failed, key=live.s3Key or "", total=13, max_retries=3, now_ms=NOW)
    assert (retried.status, retried.uploadId, retried.stampAfterComplete) == (S.PENDING, "up-1", True)
    assert not t.retried(failed, key="other", total=13, max_retries=3, now_ms=NOW).stampAfterComplete
    cancelled = t.cancelled(live, NOW)
    assert (cancelled.status, cancelled.uploadId, cancelled.stampAfterComplete) == (S.NOT_UPLOADED, None, False)
    for other in (S.NOT_UPLOADED, S.PENDING, S.UPLOADING, S.DONE, S.FAILED):
        with pytest.raises(IllegalTransition):
            t.live_failed(state(other), "x", NOW)
        with pytest.raises(IllegalTransition):
            t.live_progress(state(other), committed=1, error=None, now_ms=NOW)


def test_queueing_a_live_session_says_it_uploads_already() -> None:
    with pytest.raises(IllegalTransition, match="already uploading while it is recorded"):
        t.refuse_while_live(state(S.LIVE))
    t.refuse_while_live(state(S.NOT_UPLOADED))


def test_state_file_round_trip_keeps_the_stamp_flag() -> None:
    s = state(S.PENDING, uploadId="up-1", partSize=8, parts=(PART,), stampAfterComplete=True)
    assert UploadState.from_json(s.to_json()) == s
    assert "stampAfterComplete" not in state(S.PENDING).to_json()
