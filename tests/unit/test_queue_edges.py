"""Queue edge cases found in review: the wall clock moving, restarts, zero-byte zips (FakeClock + FakeEngine)."""

from __future__ import annotations

import argparse

import pytest

from tests.support.fake_engine import FakeEngine
from tests.support.sessions import TEST_CONFIG, make_session, write_config, zip_bytes
from traycap.clock import FakeClock
from traycap.commands.upload_cmd import run_upload
from traycap.context import Context
from traycap.errors import DiskFull, NetworkError, ServerError
from traycap.models import UploadState, UploadStatus
from traycap.upload.queue import UploadQueue

S = UploadStatus
DAY_S = 24 * 3600


def key(sid: str) -> str:
    return f"sessions/{sid}.zip"


def test_wall_clock_set_back_does_not_park_the_queue_for_the_skew(
    ctx: Context, queue: UploadQueue, clock: FakeClock, engine: FakeEngine
) -> None:
    """S3 refuses a computer whose clock is a day ahead (RequestTimeTooSkewed, a NetworkError that
    says "set the system clock; traycap will retry"). Once the user sets the clock back, the retry
    must come within the backoff cap, not a day later, in this process and after a restart."""
    make_session(ctx, "s1")
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
    write_config(ctx)
    make_session(ctx, "s1")
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
    """A full disk when the queue starts an attempt: the step must say it did nothing, or the
    worker thread (which loops at once after a step that did work) spins at 100 % CPU."""
    make_session(ctx, "s1")
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
    """The disk fills up while the last part is sent: "done" cannot be written. The step must
    not raise (the worker would log a traceback and report a crash on stop), and the session
    must not stay "uploading" until the next restart: once writes work again it is uploaded."""
    make_session(ctx, "s1", 3 * 1024)
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


def test_cli_upload_of_a_session_with_a_corrupt_state_queues_it_afresh(
    ctx: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    """`traycap upload ID` does what the queue's enqueue does: the unreadable file is set aside
    (quarantined) and the session is queued, instead of refusing with "fix or delete that file"."""
    write_config(ctx)
    make_session(ctx, "s1")
    ctx.states.path("s1").write_text('{"sessionId": "s1", "status": "upl')
    assert run_upload(argparse.Namespace(session_id="s1", wait=False), ctx) == 0
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.PENDING
    kept = [p.name for p in ctx.paths.session_dir("s1").iterdir() if p.name.startswith("upload-state.json.corrupt-")]
    assert kept, "the unreadable file is kept aside for whoever wants to look at it"
    assert "Queued s1" in capsys.readouterr().out


@pytest.mark.parametrize("max_retries", [0, 2])
def test_a_session_that_ran_out_of_retries_does_not_say_it_will_be_retried(
    ctx: Context, clock: FakeClock, engine: FakeEngine, max_retries: int
) -> None:
    """The last transient failure ends in `failed`: its message must not carry the retryable
    errors' hint "traycap will retry automatically", which is no longer true."""
    write_config(ctx, TEST_CONFIG.with_(maxRetries=max_retries))
    queue = UploadQueue(ctx, engine.factory)
    make_session(ctx, "s1")
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

    make_session(ctx, "s1")
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
    make_session(ctx, "s2")
    request_upload(ctx, "s2")  # as `traycap upload` in another process would
    assert queue.process_one()
    state = ctx.states.read("s2")
    assert state is not None and state.status is S.DONE
    assert queue.process_one() is False
    before = scans
    clock.advance(31)  # past FULL_SCAN_S: read everything again even though nothing changed
    assert queue.process_one() is False
    assert scans == before + 1
