"""Scheduler (traycap/upload/scheduler.py): which pending session is next, the outage hold, idle polling."""

from __future__ import annotations

from tests.support.sessions import make_exported_session
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.models import UploadState, UploadStatus
from traycap.upload.scheduler import POLL_S, Problems, Scheduler
from traycap.upload.transitions import while_uploading


def pending(ctx: Context, sid: str, created: int, next_at: int | None = None) -> None:
    if not ctx.paths.session_dir(sid).exists():
        make_exported_session(ctx, sid, 100)
    ctx.states.write(UploadState(sid, UploadStatus.PENDING, createdAt=created, updatedAt=created,
                                 nextAttemptAt=next_at))


def test_fifo_by_enqueue_time_and_backoff_skips(ctx: Context, clock: FakeClock) -> None:
    now = clock.now_ms()
    pending(ctx, "b", now - 10)
    pending(ctx, "a", now - 20, next_at=now + 5_000)  # older, but waiting out its backoff
    pending(ctx, "c", now - 5)
    scheduler = Scheduler(ctx.states, clock, Problems())
    assert scheduler.next_eligible(now) == "b"
    assert scheduler.next_eligible(now + 5_000) == "a"


def test_a_hold_stops_everyone_until_it_ends_or_is_released(ctx: Context, clock: FakeClock) -> None:
    now = clock.now_ms()
    scheduler = Scheduler(ctx.states, clock, Problems())
    scheduler.hold(now + 2_000, "a")
    assert scheduler.held(now)
    assert scheduler.idle_delay() == POLL_S  # never longer than the poll interval
    scheduler.release("other")  # only the session that set it can release it
    assert scheduler.held(now)
    scheduler.release("a")
    assert not scheduler.held(now)


def test_an_idle_scheduler_sleeps_until_the_next_backoff_ends(ctx: Context, clock: FakeClock) -> None:
    now = clock.now_ms()
    pending(ctx, "a", now, next_at=now + 300)
    scheduler = Scheduler(ctx.states, clock, Problems())
    assert scheduler.next_eligible(now) is None
    assert abs(scheduler.idle_delay() - 0.3) < 1e-9


def test_unreadable_states_are_problems_until_they_read_again(ctx: Context, clock: FakeClock) -> None:
    pending(ctx, "a", clock.now_ms())
    ctx.states.path("a").write_text("{not json")
    problems = Problems()
    scheduler = Scheduler(ctx.states, clock, problems)
    assert scheduler.next_eligible(clock.now_ms()) is None
    assert "a" in problems.snapshot()
    pending(ctx, "a", clock.now_ms())
    assert scheduler.next_eligible(clock.now_ms()) == "a"
    assert problems.snapshot() == {}


def test_while_uploading_leaves_any_other_state_alone() -> None:
    uploading = UploadState("a", UploadStatus.UPLOADING, createdAt=1, updatedAt=1)
    change = while_uploading(lambda s: s.with_(bytesUploaded=5))
    assert change(None) is None
    assert change(uploading.with_(status=UploadStatus.NOT_UPLOADED)) is None
    moved = change(uploading)
    assert moved is not None and moved.bytesUploaded == 5
