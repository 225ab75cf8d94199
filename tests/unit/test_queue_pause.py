"""Paused uploads (traycap/upload/pause.py and the queue): a flag on disk the queue obeys every step."""

from __future__ import annotations

from tests.support.fake_engine import FakeEngine
from tests.support.sessions import make_exported_session, write_config, zip_bytes
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.models import UploadStatus
from traycap.upload.pause import paused_since, set_uploads_paused, uploads_paused
from traycap.upload.queue import UploadQueue

S = UploadStatus
KEY = "sessions/s1.zip"


def test_the_flag_is_a_file_that_outlives_the_process(ctx: Context, clock: FakeClock) -> None:
    assert not uploads_paused(ctx.paths)
    assert set_uploads_paused(ctx.paths, True, now_ms=clock.now_ms())
    assert not set_uploads_paused(ctx.paths, True, now_ms=clock.now_ms())  # already paused
    assert uploads_paused(ctx.paths) and paused_since(ctx.paths) == clock.now_ms()
    assert set_uploads_paused(ctx.paths, False, now_ms=clock.now_ms())
    assert not uploads_paused(ctx.paths) and paused_since(ctx.paths) is None


def test_a_paused_queue_starts_nothing_aborts_nothing_and_closes_its_connections(
    ctx: Context, clock: FakeClock, engine: FakeEngine
) -> None:
    write_config(ctx)
    make_exported_session(ctx, "s1", 3000)
    make_exported_session(ctx, "s2", 3000)
    queue = UploadQueue(ctx, engine.factory)
    queue.enqueue("s1")
    queue.enqueue("s2")
    engine.fail(KEY, ConnectionError("cut"), after_parts=1)  # s1 has a multipart upload to abort later
    assert queue.process_one()
    queue.cancel("s1")
    engine.closed = 0
    set_uploads_paused(ctx.paths, True, now_ms=clock.now_ms())
    for _ in range(3):
        assert queue.process_one() is False
        clock.advance(1)
    assert engine.closed == 1  # once, when the pause was noticed
    assert engine.aborted == []  # an abort is a request too
    s2 = ctx.states.read("s2")
    assert s2 is not None and s2.status is S.PENDING
    set_uploads_paused(ctx.paths, False, now_ms=clock.now_ms())
    while queue.process_one():
        pass
    assert engine.aborted == [(KEY, "upload-1")]
    s2 = ctx.states.read("s2")
    assert s2 is not None and s2.status is S.DONE


def test_a_pause_mid_upload_stops_at_a_part_boundary_and_keeps_it_pending(
    ctx: Context, clock: FakeClock, engine: FakeEngine
) -> None:
    write_config(ctx)
    make_exported_session(ctx, "s1", 4000)  # four 1 KiB parts
    queue = UploadQueue(ctx, engine.factory)
    queue.enqueue("s1")

    def pause_before_part_3(_key: str, number: int) -> None:
        if number == 2:
            set_uploads_paused(ctx.paths, True, now_ms=clock.now_ms())  # e.g. `traycap pause-uploads`
            clock.advance(1)  # the running upload looks at the disk every 0.5 s

    engine.before_part = pause_before_part_3
    assert queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.PENDING
    assert [p.partNumber for p in state.parts] == [1, 2] and state.uploadId == "upload-1"
    assert state.retryCount == 0 and state.nextAttemptAt is None  # a pause is not a failure
    engine.before_part = None
    restarted = UploadQueue(ctx, engine.factory)  # the flag outlives the process
    assert restarted.process_one() is False
    set_uploads_paused(ctx.paths, False, now_ms=clock.now_ms())
    assert restarted.process_one()
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.DONE
    assert engine.calls[-1].resume is not None and engine.calls[-1].resume.uploadId == "upload-1"
    assert engine.objects[KEY] == zip_bytes(ctx, "s1")
