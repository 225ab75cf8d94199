"""The queue's side of the stall rule: an attempt that stalls (UploadStalled: a part silent for the
stall time while the server answers, judged by the engine, tests/unit/test_s3_stall.py) is not an
outage and spends no retry: its multipart upload is aborted and a fresh one starts at once; a
fresh one that stalls too fails the session naming the part and the server. On the FakeClock,
with the in-memory engine (tests/support/fake_engine.py); the real rclone case is in
tests/integration/test_queue_stalls_s3.py. Issue 18 replaced "three stalled attempts per upload"
by the silence rule, so one stall now decides."""

from __future__ import annotations

from tests.support.fake_engine import FakeEngine
from tests.support.sessions import make_exported_session, write_config, zip_bytes
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.errors import NetworkError, UploadStalled
from traycap.models import CompletedPart, UploadState, UploadStatus
from traycap.upload import transitions as t
from traycap.upload.queue import UploadQueue

S = UploadStatus
KEY = "sessions/s1.zip"
SERVER = "http://127.0.0.1:9000"


def stall(part: int = 2) -> UploadStalled:
    return UploadStalled(f"Part {part} was not accepted by {SERVER}, which answers other requests",
                         part=part, endpoint=SERVER)


def uploading(**changes: object) -> UploadState:
    base = UploadState("s1", S.UPLOADING, createdAt=1, updatedAt=1, uploadId="u1", partSize=5, s3Key=KEY,
                       parts=(CompletedPart(1, "e", 5),), bytesUploaded=5, totalBytes=20)
    return base.with_(**changes)


def test_a_stall_drops_the_upload_at_once_without_spending_a_retry() -> None:
    fresh = t.stalled(uploading(), "stalled", now_ms=1000, gave_up="x")
    assert (fresh.status, fresh.retryCount, fresh.nextAttemptAt) == (S.PENDING, 0, None)
    assert fresh.uploadId is None and fresh.parts == () and fresh.bytesUploaded == 0 and fresh.freshStarts == 1
    assert "fresh multipart upload" in (fresh.lastError or "")


def test_a_fresh_upload_that_stalls_too_fails() -> None:
    failed = t.stalled(uploading(uploadId="u2", freshStarts=1), "stalled", now_ms=1000, gave_up="gave up")
    assert failed.status is S.FAILED and failed.lastError == "gave up" and failed.uploadId is None
    assert t.gives_up_stalling(failed.freshStarts) and not t.gives_up_stalling(0)


def test_retry_and_enqueue_start_the_stall_budget_afresh() -> None:
    failed = uploading(status=S.FAILED, stalls=3, freshStarts=1)
    again = t.retried(failed, key=KEY, total=20, max_retries=10, now_ms=5)
    assert (again.stalls, again.freshStarts) == (0, 0)


def drive(queue: UploadQueue, ctx: Context, clock: FakeClock, rounds: int) -> UploadState:
    state = None
    for _ in range(rounds):
        assert queue.process_one()
        state = ctx.states.read("s1")
        assert state is not None
        if state.status is not S.PENDING:
            break
        clock.advance(((state.nextAttemptAt or clock.now_ms()) - clock.now_ms()) / 1000)
    assert state is not None
    return state


def stuck_upload(ctx: Context, clock: FakeClock, engine: FakeEngine, uploads: int) -> UploadQueue:
    """s1 queued; on each of `uploads` multipart uploads part 1 gets in, part 2 is cut off and then stalls."""
    write_config(ctx)
    make_exported_session(ctx, "s1", 4 * 1024)
    queue = UploadQueue(ctx, engine.factory, clock=clock)
    queue.enqueue("s1")
    for _ in range(uploads):
        engine.fail(KEY, NetworkError("reset mid-part"), after_parts=1)
        engine.fail(KEY, stall())
    return queue


def test_a_stalled_upload_is_aborted_and_a_fresh_one_completes(
    ctx: Context, clock: FakeClock, engine: FakeEngine
) -> None:
    queue = stuck_upload(ctx, clock, engine, uploads=1)
    state = drive(queue, ctx, clock, 8)
    assert state.status is S.DONE
    assert engine.objects[KEY] == zip_bytes(ctx, "s1")
    resumed = [c.resume.uploadId if c.resume else None for c in engine.calls]
    assert resumed == [None, "upload-1", None]  # the stall: a fresh multipart upload at once
    assert ("sessions/s1.zip", "upload-1") in engine.aborted
    assert state.retryCount == 1  # the reset spent a retry; the stall did not


def test_a_fresh_upload_that_stalls_too_fails_naming_the_part_and_the_server(
    ctx: Context, clock: FakeClock, engine: FakeEngine
) -> None:
    queue = stuck_upload(ctx, clock, engine, uploads=2)
    state = drive(queue, ctx, clock, 12)
    assert state.status is S.FAILED
    assert state.lastError == f"Part 2 was never accepted by {SERVER}; the server may be faulty"
    assert engine.attempts(KEY) == 4
    while queue.process_one():  # the queued abort runs in the next step
        pass
    assert {u for _, u in engine.aborted} == {"upload-1", "upload-2"}


def test_stalls_do_not_hold_the_queue(ctx: Context, clock: FakeClock, engine: FakeEngine) -> None:
    write_config(ctx)
    make_exported_session(ctx, "s1", 4 * 1024, created_at=1)
    make_exported_session(ctx, "s2", 4 * 1024, created_at=2)
    queue = UploadQueue(ctx, engine.factory, clock=clock)
    queue.enqueue("s1")
    clock.advance(0.001)
    queue.enqueue("s2")
    engine.fail(KEY, stall())
    started = clock.now_ms()
    # s1 stalls and goes again fresh, then s2: no hold, no backoff (an outage would hold the
    # whole queue for its backoff), so the steps need no time to pass.
    for _ in range(3):
        assert queue.process_one()
    assert clock.now_ms() == started and [c.key for c in engine.calls] == [KEY, KEY, "sessions/s2.zip"]
    states = [ctx.states.read(sid) for sid in ("s1", "s2")]
    assert [s.status if s else None for s in states] == [S.DONE, S.DONE]
