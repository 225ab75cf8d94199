"""UploadQueue driven step by step with a FakeClock and the FakeEngine (no threads unless named)."""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest

from tests.support.fake_engine import FakeEngine
from tests.support.sessions import TEST_CONFIG, make_exported_session, write_config, zip_bytes
from traycap.cancel import StopKind
from traycap.clock import FakeClock, SystemClock
from traycap.context import Context
from traycap.errors import (
    ConfigInvalid,
    ConfigMissing,
    CredentialsRejected,
    DiskFull,
    IllegalTransition,
    InvalidSessionId,
    NetworkError,
    ServerError,
    SessionNotExported,
    SessionNotFound,
    ZipMissing,
)
from traycap.models import UploadProgress, UploadState, UploadStatus
from traycap.upload.queue import UploadQueue
from traycap.upload.requests import request_cancel, request_upload

S = UploadStatus
DAY_S = 24 * 3600


def key(sid: str) -> str:
    return f"sessions/{sid}.zip"


def status(ctx: Context, sid: str) -> UploadStatus:
    state = ctx.states.read(sid)
    assert state is not None
    return state.status


def drain(queue: UploadQueue, clock: FakeClock, limit: int = 200) -> None:
    """Run steps, jumping the fake clock over backoffs, until nothing is left to do."""
    for _ in range(limit):
        if queue.process_one():
            continue
        if queue.pending_count() == 0:
            return
        clock.advance(300)
    raise AssertionError("the queue did not drain")


# --- enqueue validation ---------------------------------------------------------
def test_enqueue_validation_errors_change_nothing(ctx: Context, engine: FakeEngine) -> None:
    queue = UploadQueue(ctx, engine.factory)
    make_exported_session(ctx, "s1")
    with pytest.raises(ConfigMissing):
        queue.enqueue("s1")
    ctx.paths.config.write_text(json.dumps(TEST_CONFIG.with_(bucket="").to_json()))
    with pytest.raises(ConfigInvalid, match="bucket"):
        queue.enqueue("s1")
    write_config(ctx)
    with pytest.raises(SessionNotFound):
        queue.enqueue("nope")
    with pytest.raises(InvalidSessionId):
        queue.enqueue("../etc")
    make_exported_session(ctx, "s2", exported=False)
    with pytest.raises(SessionNotExported):
        queue.enqueue("s2")
    make_exported_session(ctx, "s3")
    (ctx.paths.session_dir("s3") / "s3.zip").unlink()
    with pytest.raises(ZipMissing, match="missing"):
        queue.enqueue("s3")
    for sid in ("s1", "s2", "s3"):
        assert ctx.states.read(sid) is None
    assert queue.pending_count() == 0


def test_enqueue_writes_pending_with_key_size_and_config_retries(ctx: Context, queue: UploadQueue) -> None:
    meta = make_exported_session(ctx, "s1", 5000)
    state = queue.enqueue("s1")
    assert state == ctx.states.read("s1")
    assert (state.status, state.s3Key, state.totalBytes, state.maxRetries) == (S.PENDING, key("s1"), 5000, 10)
    assert meta.fileSizeBytes == 5000
    assert queue.enqueue("s1") == state  # already queued: unchanged
    assert queue.pending_count() == 1


def test_enqueue_of_done_or_failed_is_refused(ctx: Context, queue: UploadQueue, clock: FakeClock,
                                              engine: FakeEngine) -> None:
    make_exported_session(ctx, "s1")
    make_exported_session(ctx, "s2")
    engine.fail(key("s2"), CredentialsRejected("The access key was rejected by S3"))
    queue.enqueue("s1")
    queue.enqueue("s2")
    drain(queue, clock)
    with pytest.raises(IllegalTransition, match="done"):
        queue.enqueue("s1")
    with pytest.raises(IllegalTransition, match="retry"):
        queue.enqueue("s2")


# --- the happy path, ordering, events ---------------------------------------------
def test_upload_writes_each_transition_before_announcing_it(ctx: Context, queue: UploadQueue,
                                                             engine: FakeEngine) -> None:
    make_exported_session(ctx, "s1", 5000)
    seen: list[tuple[UploadStatus, UploadStatus]] = []

    def on_event(event: UploadProgress) -> None:
        if event.status is not S.UPLOADING or event.bytesUploaded == 0:
            seen.append((event.status, status(ctx, "s1")))

    queue.subscribe(on_event)
    queue.enqueue("s1")
    assert queue.process_one() is True
    assert queue.process_one() is False
    assert seen == [(S.PENDING, S.PENDING), (S.UPLOADING, S.UPLOADING), (S.DONE, S.DONE)]
    state = ctx.states.read("s1")
    assert state is not None
    assert (state.status, state.bytesUploaded, state.progress, state.retryCount, state.uploadId) == (
        S.DONE, 5000, 100, 0, None)
    assert engine.objects[key("s1")] == zip_bytes(ctx, "s1")
    assert engine.calls[0].sha256 == make_sha(ctx, "s1")


def make_sha(ctx: Context, sid: str) -> str | None:
    return ctx.sessions.read_meta(sid).sha256


def test_fifo_one_at_a_time(ctx: Context, queue: UploadQueue, engine: FakeEngine) -> None:
    for sid in ("c", "a", "b"):
        make_exported_session(ctx, sid, 3000)
        queue.enqueue(sid)  # all at the same fake millisecond: order of enqueue decides
    uploading_seen: list[int] = []

    def count_uploading(_key: str, _part: int) -> None:
        uploading_seen.append(sum(1 for s in ("a", "b", "c") if status(ctx, s) is S.UPLOADING))

    engine.before_part = count_uploading
    for expected_done in (1, 2, 3):
        assert queue.process_one()
        assert sum(1 for s in ("a", "b", "c") if status(ctx, s) is S.DONE) == expected_done
    assert [c.key for c in engine.calls] == [key("c"), key("a"), key("b")]
    assert set(uploading_seen) == {1}


def test_progress_events_are_throttled(ctx: Context, engine: FakeEngine) -> None:
    write_config(ctx)
    clock = FakeClock()
    queue = UploadQueue(ctx, engine.factory, clock=clock, progress_interval_s=0.25)
    make_exported_session(ctx, "s1", 100 * 1024)  # 100 parts, 200 engine progress callbacks
    events: list[UploadProgress] = []
    queue.subscribe(events.append)
    engine.before_part = lambda _k, n: clock.advance(0.1)  # 0.1 s per part
    queue.enqueue("s1")
    queue.process_one()
    uploading = [e for e in events if e.status is S.UPLOADING]
    # 10 s of uploading at >= 0.25 s apart: about 40 events, never one per callback.
    assert 30 <= len(uploading) <= 45, len(uploading)
    assert [e.status for e in events][-1] is S.DONE
    assert uploading[-1].progress == 100
    assert all(b.bytesUploaded >= a.bytesUploaded for a, b in itertools.pairwise(uploading))


# --- failures, backoff, poison pill -------------------------------------------------
def test_backoff_sequence_then_failed_at_max_retries(ctx: Context, queue: UploadQueue, clock: FakeClock,
                                                     engine: FakeEngine) -> None:
    make_exported_session(ctx, "s1")
    engine.always_fail(key("s1"), ServerError("S3 answered 500 Internal Error"))
    queue.enqueue("s1")
    delays = []
    while True:
        assert queue.process_one()
        state = ctx.states.read("s1")
        assert state is not None
        if state.status is S.FAILED:
            break
        assert state.status is S.PENDING and state.nextAttemptAt is not None
        delays.append((state.nextAttemptAt - clock.now_ms()) / 1000)
        assert queue.process_one() is False  # not before the backoff is over
        clock.advance(delays[-1] - 0.001)
        assert queue.process_one() is False
        clock.advance(0.001)
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert (state.retryCount, state.maxRetries) == (10, 10)
    assert state.lastError is not None and "500" in state.lastError
    assert engine.attempts(key("s1")) == 11


def test_poison_pill_does_not_block_the_queue(ctx: Context, queue: UploadQueue, clock: FakeClock,
                                              engine: FakeEngine) -> None:
    write_config(ctx, TEST_CONFIG.with_(maxRetries=2))
    for sid in ("bad", "good"):
        make_exported_session(ctx, sid)
        queue.enqueue(sid)
    engine.always_fail(key("bad"), ServerError("S3 answered 500"))
    assert queue.process_one()  # bad fails, backs off 1 s
    assert queue.process_one()  # good goes meanwhile
    assert status(ctx, "good") is S.DONE
    drain(queue, clock)
    state = ctx.states.read("bad")
    assert state is not None and (state.status, state.retryCount) == (S.FAILED, 2)
    assert engine.attempts(key("bad")) == 3


def test_permanent_error_fails_after_one_attempt_and_retry_resets(ctx: Context, queue: UploadQueue,
                                                                  clock: FakeClock, engine: FakeEngine) -> None:
    make_exported_session(ctx, "s1")
    engine.fail(key("s1"), CredentialsRejected("The access key was rejected by S3"))
    events: list[UploadProgress] = []
    queue.subscribe(events.append)
    queue.enqueue("s1")
    drain(queue, clock)
    state = ctx.states.read("s1")
    assert state is not None
    assert (state.status, state.retryCount) == (S.FAILED, 0)
    assert state.lastError == "The access key was rejected by S3 (check Upload settings, then Retry)"
    assert events[-1].error == state.lastError
    assert engine.attempts(key("s1")) == 1
    retried = queue.retry("s1")
    assert (retried.status, retried.retryCount, retried.lastError) == (S.PENDING, 0, None)
    drain(queue, clock)
    assert status(ctx, "s1") is S.DONE
    with pytest.raises(IllegalTransition):
        queue.retry("s1")


def test_retry_after_max_retries_resets_the_count(ctx: Context, queue: UploadQueue, clock: FakeClock,
                                                  engine: FakeEngine) -> None:
    write_config(ctx, TEST_CONFIG.with_(maxRetries=1))
    make_exported_session(ctx, "s1")
    engine.fail(key("s1"), ServerError("500"), ServerError("500"))
    queue.enqueue("s1")
    drain(queue, clock)
    state = ctx.states.read("s1")
    assert state is not None and (state.status, state.retryCount) == (S.FAILED, 1)
    assert queue.retry("s1").retryCount == 0
    drain(queue, clock)
    state = ctx.states.read("s1")
    assert state is not None and (state.status, state.retryCount) == (S.DONE, 0)


def test_offline_holds_the_whole_queue_for_the_backoff(ctx: Context, queue: UploadQueue, clock: FakeClock,
                                                       engine: FakeEngine) -> None:
    for sid in ("a", "b"):
        make_exported_session(ctx, sid)
        queue.enqueue(sid)
    engine.fail(key("a"), *[NetworkError("Cannot reach the S3 endpoint")] * 3)
    for expected_delay in (1000, 2000, 4000):
        assert queue.process_one()
        state = ctx.states.read("a")
        assert state is not None and state.nextAttemptAt == clock.now_ms() + expected_delay
        assert queue.process_one() is False  # b does not burn its retries meanwhile
        clock.advance(expected_delay / 1000)
    b = ctx.states.read("b")
    assert b is not None and (b.status, b.retryCount) == (S.PENDING, 0)
    drain(queue, clock)
    a = ctx.states.read("a")
    assert a is not None and (a.status, a.retryCount) == (S.DONE, 3)
    assert status(ctx, "b") is S.DONE


def test_resume_continues_from_the_checkpointed_parts(ctx: Context, queue: UploadQueue, clock: FakeClock,
                                                      engine: FakeEngine) -> None:
    make_exported_session(ctx, "s1", 5 * 1024)
    engine.fail(key("s1"), NetworkError("connection reset"), after_parts=2)
    queue.enqueue("s1")
    queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None
    assert (state.status, state.uploadId, len(state.parts), state.bytesUploaded) == (S.PENDING, "upload-1", 2, 2048)
    drain(queue, clock)
    resume = engine.calls[1].resume
    assert resume is not None and (resume.uploadId, [p.partNumber for p in resume.parts]) == ("upload-1", [1, 2])
    assert engine.objects[key("s1")] == zip_bytes(ctx, "s1")


def test_changed_zip_fails_permanently_and_drops_its_parts(ctx: Context, queue: UploadQueue, clock: FakeClock,
                                                           engine: FakeEngine) -> None:
    make_exported_session(ctx, "s1", 5 * 1024)
    engine.fail(key("s1"), NetworkError("reset"), after_parts=2)
    queue.enqueue("s1")
    queue.process_one()
    (ctx.paths.session_dir("s1") / "s1.zip").write_bytes(b"x" * 100)
    drain(queue, clock)
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.FAILED
    assert state.lastError is not None and "100 bytes" in state.lastError
    assert (state.uploadId, state.parts) == (None, ())
    assert engine.aborted == [(key("s1"), "upload-1")]


# --- cancel ---------------------------------------------------------------------------
def test_cancel_pending_aborts_its_multipart_upload(ctx: Context, queue: UploadQueue, engine: FakeEngine) -> None:
    make_exported_session(ctx, "s1", 5 * 1024)
    engine.fail(key("s1"), NetworkError("reset"), after_parts=1)
    queue.enqueue("s1")
    queue.process_one()
    assert status(ctx, "s1") is S.PENDING
    state = queue.cancel("s1")
    assert (state.status, state.uploadId, state.bytesUploaded) == (S.NOT_UPLOADED, None, 0)
    assert queue.process_one() is True  # the abort
    assert engine.aborted == [(key("s1"), "upload-1")]
    assert queue.process_one() is False
    assert key("s1") not in engine.objects


def test_cancel_while_uploading_stops_and_aborts(ctx: Context, queue: UploadQueue, engine: FakeEngine) -> None:
    make_exported_session(ctx, "s1", 5 * 1024)
    make_exported_session(ctx, "s2", 1024)
    queue.enqueue("s1")
    queue.enqueue("s2")
    engine.before_part = lambda k, n: queue.cancel("s1") if (k, n) == (key("s1"), 3) else None
    assert queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and (state.status, state.uploadId) == (S.NOT_UPLOADED, None)
    assert set(engine.aborted) == {(key("s1"), "upload-1")}  # by the engine, and again by the queue
    assert queue.process_one()  # the queue moves on
    assert status(ctx, "s2") is S.DONE


def test_cancel_written_by_another_process_stops_the_running_upload(ctx: Context, queue: UploadQueue,
                                                                     engine: FakeEngine) -> None:
    make_exported_session(ctx, "s1", 5 * 1024)
    queue.enqueue("s1")

    def other_process_cancels(k: str, n: int) -> None:
        if n == 2:
            before, after = request_cancel(ctx, "s1")  # disk only, like `traycap cancel` elsewhere
            assert (before.status, after.status) == (S.UPLOADING, S.NOT_UPLOADED)

    engine.before_part = other_process_cancels
    queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and (state.status, state.uploadId, state.parts) == (S.NOT_UPLOADED, None, ())
    assert set(engine.aborted) == {(key("s1"), "upload-1")}
    assert key("s1") not in engine.objects


@pytest.mark.parametrize("final", [S.NOT_UPLOADED, S.DONE, S.FAILED])
def test_cancel_is_refused_when_nothing_is_queued(ctx: Context, queue: UploadQueue, clock: FakeClock,
                                                  engine: FakeEngine, final: UploadStatus) -> None:
    make_exported_session(ctx, "s1")
    if final is not S.NOT_UPLOADED:
        if final is S.FAILED:
            engine.fail(key("s1"), CredentialsRejected("rejected"))
        queue.enqueue("s1")
        drain(queue, clock)
    assert (ctx.states.read("s1") or None) is None or status(ctx, "s1") is final
    before = ctx.paths.state("s1").read_bytes() if ctx.paths.state("s1").exists() else None
    with pytest.raises(IllegalTransition):
        queue.cancel("s1")
    after = ctx.paths.state("s1").read_bytes() if ctx.paths.state("s1").exists() else None
    assert before == after


# --- restore, corrupt files, other processes ------------------------------------------
def test_restore_rules_for_every_status(ctx: Context, queue: UploadQueue, clock: FakeClock,
                                        engine: FakeEngine) -> None:
    now = clock.now_ms()
    base = {"createdAt": now - 1000, "updatedAt": now - 1000, "totalBytes": 1000}
    rows = {
        "n": {"status": "not_uploaded"},
        "p": {"status": "pending"},
        "u": {"status": "uploading", "uploadId": "up-9", "partSize": 1024, "retryCount": 1},
        "d": {"status": "done"},
        "f1": {"status": "failed", "retryCount": 3, "nextAttemptAt": now + 8000},
        "f2": {"status": "failed", "retryCount": 10},
    }
    for sid, fields in rows.items():
        make_exported_session(ctx, sid, 1000)
        ctx.paths.state(sid).write_text(json.dumps({"sessionId": sid, "s3Key": key(sid), **base, **fields}))
    queue.restore()
    got = {sid: status(ctx, sid) for sid in rows}
    assert got == {"n": S.NOT_UPLOADED, "p": S.PENDING, "u": S.PENDING, "d": S.DONE, "f1": S.PENDING,
                   "f2": S.FAILED}
    u = ctx.states.read("u")
    assert u is not None and (u.uploadId, u.retryCount) == ("up-9", 1)
    f1 = ctx.states.read("f1")
    assert f1 is not None and (f1.retryCount, f1.nextAttemptAt) == (3, now + 8000)
    assert queue.pending_count() == 3
    # p and u now; f1 only after its backoff.
    assert queue.process_one() and queue.process_one()
    assert queue.process_one() is False
    clock.advance(8)
    assert queue.process_one()
    assert {sid: status(ctx, sid) for sid in ("p", "u", "f1")} == {"p": S.DONE, "u": S.DONE, "f1": S.DONE}
    assert engine.calls[1].resume is not None and engine.calls[1].resume.uploadId == "up-9"


def test_corrupt_state_of_one_session_does_not_block_the_others(ctx: Context, queue: UploadQueue,
                                                                clock: FakeClock) -> None:
    for sid in ("a", "b", "c"):
        make_exported_session(ctx, sid)
    queue.enqueue("a")
    queue.enqueue("c")
    ctx.paths.state("b").write_text('{"sessionId": "b", "status": "pend')
    queue.restore()
    drain(queue, clock)
    assert status(ctx, "a") is S.DONE and status(ctx, "c") is S.DONE
    assert "invalid JSON" in queue.problems["b"]
    assert ctx.paths.state("b").read_text() == '{"sessionId": "b", "status": "pend'  # left for the user


def test_enqueue_after_a_corrupt_state_starts_afresh(ctx: Context, queue: UploadQueue, clock: FakeClock) -> None:
    make_exported_session(ctx, "b")
    ctx.paths.state("b").write_text("not json")
    assert queue.enqueue("b").status is S.PENDING
    assert list(ctx.paths.session_dir("b").glob("upload-state.json.corrupt-*"))
    drain(queue, clock)
    assert status(ctx, "b") is S.DONE


def test_sessions_queued_on_disk_by_another_process_are_picked_up(ctx: Context, queue: UploadQueue) -> None:
    make_exported_session(ctx, "s1")
    request_upload(ctx, "s1")  # what `traycap upload` does while the tray runs the queue
    assert queue.process_one()
    assert status(ctx, "s1") is S.DONE


# --- the worker thread (real clock, fake engine) -------------------------------------------
def test_worker_thread_picks_up_disk_requests_within_two_seconds(ctx: Context, engine: FakeEngine) -> None:
    write_config(ctx)
    queue = UploadQueue(ctx, engine.factory, clock=SystemClock())
    queue.start()
    try:
        make_exported_session(ctx, "s1")
        request_upload(ctx, "s1")
        t0 = time.monotonic()
        while status(ctx, "s1") is not S.DONE:
            assert time.monotonic() - t0 < 2.0, "not picked up within 2 s"
            time.sleep(0.02)
    finally:
        queue.stop(timeout=5)
    assert not queue.running


def test_stop_mid_upload_keeps_the_parts_and_next_start_resumes(ctx: Context, engine: FakeEngine) -> None:
    write_config(ctx)
    make_exported_session(ctx, "s1", 6 * 1024)
    reached = threading.Event()
    proceed = threading.Event()

    def pause_at_part_4(k: str, n: int) -> None:
        if n == 4 and not reached.is_set():
            reached.set()
            proceed.wait(5)

    engine.before_part = pause_at_part_4
    queue = UploadQueue(ctx, engine.factory, clock=SystemClock())
    queue.enqueue("s1")
    queue.start()
    assert reached.wait(5)
    stopper = threading.Thread(target=queue.stop)
    stopper.start()
    deadline = time.monotonic() + 5
    while engine.tokens[-1].kind is not StopKind.SHUTDOWN:  # stop() has asked the running upload to stop
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proceed.set()
    stopper.join(5)
    assert not queue.running
    state = ctx.states.read("s1")
    assert state is not None
    assert (state.status, state.retryCount, state.uploadId, len(state.parts)) == (S.PENDING, 0, "upload-1", 3)
    assert engine.aborted == []
    second = UploadQueue(ctx, engine.factory, clock=FakeClock())
    second.restore()
    assert second.process_one()
    assert status(ctx, "s1") is S.DONE
    resume = engine.calls[-1].resume
    assert resume is not None and len(resume.parts) == 3
    assert engine.objects[key("s1")] == zip_bytes(ctx, "s1")


def test_unsubscribe_and_a_failing_subscriber(ctx: Context, queue: UploadQueue) -> None:
    make_exported_session(ctx, "s1")
    got: list[UploadStatus] = []

    def broken(_event: UploadProgress) -> None:
        raise RuntimeError("subscriber bug")

    queue.subscribe(broken)
    unsubscribe = queue.subscribe(lambda e: got.append(e.status))
    queue.enqueue("s1")
    unsubscribe()
    queue.process_one()
    assert got == [S.PENDING]
    assert status(ctx, "s1") is S.DONE


# --- the wall clock moving, a full disk, the last retry, idle re-reads -----------
def test_wall_clock_set_back_does_not_park_the_queue_for_the_skew(
    ctx: Context, queue: UploadQueue, clock: FakeClock, engine: FakeEngine
) -> None:
    """Found in review (fix: bfbd80d). S3 refuses a computer whose clock is a day ahead (RequestTimeTooSkewed,
    a NetworkError that says "set the system clock; traycap will retry"). Once the user sets the clock back,
    the retry must come within the backoff cap, not a day later, in this process and after a restart."""
    make_exported_session(ctx, "s1")
    queue.enqueue("s1")
    engine.fail(key("s1"), NetworkError("S3 refused the request because this computer's clock is wrong"))
    assert queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.PENDING and state.nextAttemptAt == clock.now_ms() + 1000
    clock.advance(-DAY_S)  # NTP fixes the clock
    clock.advance(301)  # longer than any backoff (5 min cap)
    assert queue.process_one(), "the queue still waits for a time that is a day away"
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.DONE
    assert engine.objects[key("s1")] == zip_bytes(ctx, "s1")


def test_wall_clock_set_back_before_a_restart(ctx: Context, clock: FakeClock, engine: FakeEngine) -> None:
    """Found in review (fix: bfbd80d): the same after a restart, with only upload-state.json left."""
    write_config(ctx)
    make_exported_session(ctx, "s1")
    first = UploadQueue(ctx, engine.factory)
    first.enqueue("s1")
    engine.fail(key("s1"), NetworkError("S3 refused the request because this computer's clock is wrong"))
    assert first.process_one()
    clock.advance(-DAY_S)
    clock.advance(301)
    second = UploadQueue(ctx, engine.factory)  # a new process: only upload-state.json is left
    second.restore()
    assert second.process_one()
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.DONE


def test_a_state_that_cannot_be_written_is_reported_and_the_step_does_no_work(
    ctx: Context, queue: UploadQueue, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review (fix: 1e7a5a7). A full disk when the queue starts an attempt: the step must say it did
    nothing, or the worker thread (which loops at once after a step that did work) spins at 100 % CPU."""
    make_exported_session(ctx, "s1")
    queue.enqueue("s1")
    real_write = ctx.states.write

    def full(_state: object) -> None:
        raise DiskFull("The disk is full: could not write upload-state.json")

    monkeypatch.setattr(ctx.states, "write", full)
    assert queue.process_one() is False
    assert "disk is full" in queue.problems["s1"]
    assert engine.calls == []
    monkeypatch.setattr(ctx.states, "write", real_write)
    assert queue.process_one() is True
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.DONE


def test_an_outcome_that_cannot_be_written_is_retried_once_the_disk_takes_writes(
    ctx: Context, queue: UploadQueue, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review (fix: 2645f30). The disk fills up while the last part is sent: "done" cannot be
    written. The step must not raise (the worker would log a traceback and report a crash on stop), and the
    session must not stay "uploading" until the next restart: once writes work again it is uploaded."""
    make_exported_session(ctx, "s1", 3 * 1024)
    queue.enqueue("s1")
    real_write = ctx.states.write
    full = [False]

    def write(state: UploadState) -> None:
        if full[0]:
            raise DiskFull("The disk is full: could not write upload-state.json")
        real_write(state)

    def fill_disk_at_the_last_part(_key: str, number: int) -> None:
        full[0] = number == 3

    monkeypatch.setattr(ctx.states, "write", write)
    engine.before_part = fill_disk_at_the_last_part
    queue.process_one()  # must not raise
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.UPLOADING  # what the disk still says
    assert "disk is full" in queue.problems["s1"]
    engine.before_part = None
    full[0] = False
    for _ in range(3):
        queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.DONE
    assert engine.objects[key("s1")] == zip_bytes(ctx, "s1")


@pytest.mark.parametrize("max_retries", [0, 2])
def test_a_session_that_ran_out_of_retries_does_not_say_it_will_be_retried(
    ctx: Context, clock: FakeClock, engine: FakeEngine, max_retries: int
) -> None:
    """Found in review (fix: 43864ed). The last transient failure ends in `failed`: its message must not carry
    the retryable errors' hint "traycap will retry automatically", which is no longer true."""
    write_config(ctx, TEST_CONFIG.with_(maxRetries=max_retries))
    queue = UploadQueue(ctx, engine.factory)
    make_exported_session(ctx, "s1")
    queue.enqueue("s1")
    engine.always_fail(key("s1"), ServerError("The S3 server had an internal error (InternalError)"))
    for _ in range(max_retries + 1):
        clock.advance(300)
        assert queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and (state.status, state.retryCount) == (S.FAILED, max_retries)
    assert state.lastError is not None and state.lastError.startswith("The S3 server had an internal error")
    assert "will retry automatically" not in state.lastError
    assert "retry" in state.lastError.lower()  # and it says how to try again


def test_an_idle_worker_rereads_the_state_files_only_when_they_change(
    ctx: Context, queue: UploadQueue, clock: FakeClock, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 1,000 sessions a full scan reads 1,000 JSON files (~30 ms); an idle step each second
    compares one stat per session instead, and still sees a request written by another process."""
    from traycap.upload.requests import request_upload

    make_exported_session(ctx, "s1")
    queue.enqueue("s1")
    assert queue.process_one()  # s1 uploaded
    scans = 0
    real_scan = ctx.states.scan

    def counting_scan() -> list:  # type: ignore[type-arg]
        nonlocal scans
        scans += 1
        return real_scan()

    monkeypatch.setattr(ctx.states, "scan", counting_scan)
    assert queue.process_one() is False
    assert queue.process_one() is False
    assert scans == 1  # the second idle step saw nothing change
    make_exported_session(ctx, "s2")
    request_upload(ctx, "s2")  # as `traycap upload` in another process would
    assert queue.process_one()
    state = ctx.states.read("s2")
    assert state is not None and state.status is S.DONE
    assert queue.process_one() is False
    before = scans
    clock.advance(31)  # past FULL_SCAN_S: read everything again even though nothing changed
    assert queue.process_one() is False
    assert scans == before + 1
