"""An outage never fails a session: connection-level errors keep retrying at the backoff cap after
maxRetries, and the upload finishes once the endpoint answers again (issue 4, "Offline")."""

from __future__ import annotations

from tests.support.fake_engine import FakeEngine
from tests.support.sessions import make_exported_session, write_config, zip_bytes
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.errors import NetworkError, ServerError
from traycap.models import UploadStatus
from traycap.upload.queue import UploadQueue

S = UploadStatus
KEY = "sessions/s1.zip"


def _drive_until_retries_spent(ctx: Context, queue: UploadQueue, clock: FakeClock) -> list[float]:
    delays = []
    for _ in range(14):  # 10 retries + 4 attempts past them
        assert queue.process_one()
        state = ctx.states.read("s1")
        assert state is not None and state.status is S.PENDING and state.nextAttemptAt is not None
        delays.append((state.nextAttemptAt - clock.now_ms()) / 1000)
        clock.advance(delays[-1] - 0.001)
        assert queue.process_one() is False  # never before the backoff is over
        clock.advance(0.001)
    return delays


def test_an_outage_longer_than_all_retries_keeps_the_session_pending_then_uploads(
    ctx: Context, clock: FakeClock, engine: FakeEngine
) -> None:
    write_config(ctx)
    make_exported_session(ctx, "s1")
    queue = UploadQueue(ctx, engine.factory, clock=clock)
    queue.enqueue("s1")
    engine.always_fail(KEY, NetworkError("Cannot reach http://127.0.0.1:9"))
    delays = _drive_until_retries_spent(ctx, queue, clock)
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300, 300, 300]
    state = ctx.states.read("s1")
    assert state is not None and (state.status, state.retryCount, state.maxRetries) == (S.PENDING, 10, 10)
    assert "Cannot reach" in (state.lastError or "") and "every 5 minutes" in (state.lastError or "")
    engine.always_fail(KEY, None)  # the endpoint is back
    assert queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.DONE
    assert engine.objects[KEY] == zip_bytes(ctx, "s1")


def test_a_server_that_keeps_failing_still_fails_the_session_at_max_retries(
    ctx: Context, clock: FakeClock, engine: FakeEngine
) -> None:
    write_config(ctx)
    make_exported_session(ctx, "s1")
    queue = UploadQueue(ctx, engine.factory, clock=clock)
    queue.enqueue("s1")
    engine.always_fail(KEY, ServerError("The S3 server had an internal error"))
    for _ in range(11):
        assert queue.process_one()
        state = ctx.states.read("s1")
        assert state is not None
        if state.status is S.FAILED:
            break
        clock.advance(300)
    assert state.status is S.FAILED and state.retryCount == 10


def test_cancelling_the_session_whose_outage_holds_the_queue_releases_the_others(
    ctx: Context, clock: FakeClock, engine: FakeEngine
) -> None:
    write_config(ctx)
    make_exported_session(ctx, "s1", created_at=1_700_000_000_000)
    make_exported_session(ctx, "s2", created_at=1_700_000_000_001)
    queue = UploadQueue(ctx, engine.factory, clock=clock)
    queue.enqueue("s1")
    queue.enqueue("s2")
    engine.always_fail(KEY, NetworkError("Cannot reach http://127.0.0.1:9"))
    assert queue.process_one()  # s1 fails: the whole queue waits out its backoff
    assert queue.process_one() is False
    queue.cancel("s1")
    while queue.process_one():  # the abort bookkeeping, then s2
        pass
    state = ctx.states.read("s2")
    assert state is not None and state.status is S.DONE
