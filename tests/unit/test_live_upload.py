"""The live upload lane (traycap/upload/live.py) against the in-memory S3 (tests/support/fake_s3.py).

No thread and no waiting: parts are sent inline (an executor that runs them at submit), the
test drives `step()` and moves the FakeClock through the backoffs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

import pytest

from tests.support.fake_s3 import FakeS3
from tests.support.sessions import TEST_CONFIG, write_config
from traycap.cancel import CancelToken
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.errors import AccessDenied, IllegalTransition, NetworkError
from traycap.format import status_text
from traycap.models import MIB, SessionListItem, SessionMeta, UploadProgress, UploadStatus
from traycap.upload import transitions
from traycap.upload.bandwidth import TokenBucket
from traycap.upload.live import LiveUpload, hand_over
from traycap.upload.pause import set_uploads_paused
from traycap.upload.requests import request_cancel, request_upload
from traycap.upload.s3 import UploadService
from traycap.upload.s3.integrity import META_SHA256

T = TypeVar("T")
S = UploadStatus
SID = "20261202-110000-live"
KEY = f"sessions/{SID}.zip"
P = 1024


class InlineExecutor(Executor):
    """Runs each part at submit: the lane's rounds become deterministic."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class Harness:
    def __init__(self, ctx: Context, clock: FakeClock, *, part_size: int = P, compatibility: bool = False) -> None:
        write_config(ctx)
        ctx.paths.session_dir(SID).mkdir(parents=True)
        ctx.sessions.save_meta(SessionMeta(sessionId=SID, createdAt=clock.now_ms()))  # as while recording
        self.ctx = ctx
        self.clock = clock
        self.path = ctx.paths.session_dir(SID) / f"{SID}.zip"
        self.path.write_bytes(b"")
        self.rng = random.Random(14)
        self.s3 = FakeS3(clock)
        config = TEST_CONFIG.with_(compatibility=compatibility)
        self.engine = UploadService(config, clock=clock, calls=self.s3, part_attempts=1)
        self.events: list[UploadProgress] = []
        self.part_size = part_size
        self.lane = LiveUpload(
            ctx, SID, self.path, engine=self.engine, clock=clock, on_progress=self.events.append,
            part_size=part_size, executor=InlineExecutor(), start=False,
        )

    def grow(self, n: int) -> int:
        with self.path.open("ab") as f:
            f.write(self.rng.randbytes(n))
        size = self.path.stat().st_size
        self.lane.committed(size)
        return size

    def finish(self, tail: int = 0) -> str:
        if tail:
            with self.path.open("ab") as f:
                f.write(self.rng.randbytes(tail))
        sha = hashlib.sha256(self.path.read_bytes()).hexdigest()
        self.lane.finished(self.path.stat().st_size, sha)
        return sha

    def run(self, rounds: int = 50) -> None:
        for _ in range(rounds):
            if not self.lane.step():
                return

    def state(self) -> Any:
        return self.ctx.states.read(SID)


@pytest.fixture
def h(ctx: Context, clock: FakeClock) -> Harness:
    return Harness(ctx, clock)


def test_grows_then_finished_uploads_the_file_and_stamps_it(h: Harness) -> None:
    assert h.state().status is S.LIVE and h.state().s3Key == KEY
    h.grow(P - 1)
    h.run()
    assert h.s3.count("create_multipart_upload") == 0  # no whole part yet: nothing asked of S3
    h.grow(600)  # 1623 bytes: part 1 is whole
    h.run()
    state = h.state()
    assert (state.status, [p.partNumber for p in state.parts], state.stampAfterComplete) == (S.LIVE, [1], True)
    assert state.uploadId == h.lane.upload_id and state.bytesUploaded == P and state.totalBytes == 1623
    h.grow(P)  # 2647: part 2 whole
    h.run()
    assert h.s3.parts_sent() == [1, 2]
    sha = h.finish(tail=300)  # 2947: the short part 3 only now
    h.run()
    assert h.s3.parts_sent() == [1, 2, 3]
    data, meta = h.s3.objects[KEY]
    assert data == h.path.read_bytes() and meta == {META_SHA256: sha}
    state = h.state()
    assert (state.status, state.totalBytes, state.uploadId, state.completedAt) == (S.DONE, 2947, None, h.clock.now_ms())
    assert state.lastAttemptAt == h.clock.now_ms()  # Stop: the tray's "done in N s" counts from it
    assert h.events[-1].status is S.DONE and h.lane.wait(0) and h.lane.outcome == state
    assert {e.status for e in h.events[:-1]} == {S.LIVE}
    assert h.s3.count("stamp_sha256") == 1


def test_an_outage_holds_nothing_up_and_nothing_is_lost(h: Harness) -> None:
    h.grow(P)
    h.run()
    h.s3.fail("upload_part", NetworkError("Cannot reach S3"), times=6)
    h.grow(3 * P)  # parts 2-4 are whole, the endpoint is down
    h.run()
    state = h.state()
    assert state.status is S.LIVE and state.lastError and "Cannot reach S3" in state.lastError
    for _ in range(10):  # the backoff passes; each round tries again while the outage lasts
        h.clock.advance(30)
        h.run()
    assert h.state().lastError is None and [p.partNumber for p in h.state().parts] == [1, 2, 3, 4]
    sha = h.finish(tail=10)
    h.run()
    assert h.s3.objects[KEY] == (h.path.read_bytes(), {META_SHA256: sha}) and h.state().status is S.DONE


def test_a_complete_lost_in_an_outage_is_tried_again(h: Harness) -> None:
    h.grow(2 * P)
    h.finish()
    h.s3.fail("complete_multipart_upload", NetworkError("lost"), after=True)  # done, the answer lost
    h.run()
    assert h.state().status is S.LIVE
    h.clock.advance(30)
    h.run()
    assert h.state().status is S.DONE and h.s3.objects[KEY][0] == h.path.read_bytes()


def test_cancel_aborts_and_sends_nothing_more(h: Harness) -> None:
    h.grow(2 * P)
    h.run()
    upload_id = h.lane.upload_id
    h.lane.cancel()
    h.run()
    assert upload_id in h.s3.aborted and not h.s3.uploads
    state = h.state()
    assert (state.status, state.uploadId) == (S.NOT_UPLOADED, None) and h.events[-1].status is S.NOT_UPLOADED
    h.grow(3 * P)
    h.finish()
    h.run()
    assert h.s3.parts_sent() == [1, 2] and KEY not in h.s3.objects and h.lane.wait(0)


def test_cancel_written_by_another_process_is_noticed_before_the_next_part(h: Harness) -> None:
    h.grow(P)
    h.run()
    before, after = request_cancel(h.ctx, SID)  # `traycap cancel ID`
    assert (before.status, after.status) == (S.LIVE, S.NOT_UPLOADED)
    h.grow(P)
    h.run()
    assert h.s3.parts_sent() == [1] and h.s3.aborted == [before.uploadId] and h.lane.wait(0)


def test_a_permanent_error_fails_the_session_and_keeps_the_upload(h: Harness) -> None:
    h.grow(P)
    h.run()
    h.s3.fail("upload_part", AccessDenied("Access denied"))
    h.grow(P)
    h.run()
    state = h.state()
    assert state.status is S.FAILED and "Access denied" in (state.lastError or "")
    assert state.uploadId == h.lane.upload_id and state.stampAfterComplete and h.lane.wait(0)
    assert not h.s3.aborted


def test_paused_uploads_send_no_part_until_resumed(h: Harness) -> None:
    set_uploads_paused(h.ctx.paths, True, now_ms=h.clock.now_ms())
    h.grow(3 * P)
    h.run()
    assert h.s3.parts_sent() == []
    set_uploads_paused(h.ctx.paths, False, now_ms=h.clock.now_ms())
    h.run()
    assert h.s3.parts_sent() == [1, 2, 3]


def test_queueing_a_live_session_says_it_is_uploading_while_recording(h: Harness) -> None:
    with pytest.raises(IllegalTransition, match="already uploading while it is recorded"):
        request_upload(h.ctx, SID)


def test_abandon_keeps_the_live_state_for_recovery(h: Harness) -> None:
    h.grow(2 * P)
    h.run()
    h.lane.abandon()
    h.run()
    state = h.state()
    assert state.status is S.LIVE and len(state.parts) == 2 and h.lane.wait(0) and not h.s3.aborted
    assert h.lane.handover() == state  # not finished: it stays live


def _handed_over(ctx: Context, clock: FakeClock, *, complete: bool) -> tuple[Harness, str]:
    """A 12.5 MiB live zip: two 5 MiB parts sent, then handed over after Stop."""
    h = Harness(ctx, clock, part_size=5 * MIB)
    h.grow(10 * MIB + 100)
    h.run()
    assert h.s3.parts_sent() == [1, 2]
    if complete:  # Complete went through, then the process died before the stamp
        h.s3.fail("stamp_sha256", NetworkError("gone"))
    else:  # the endpoint went away at Stop
        h.s3.fail("upload_part", NetworkError("down"))  # then handed over during the backoff
    sha = h.finish(tail=2 * MIB)
    h.run()
    assert h.state().status is S.LIVE
    state = h.lane.handover()
    assert state is not None and (state.status, state.stampAfterComplete) == (S.PENDING, True)
    assert state.totalBytes == h.path.stat().st_size and h.events[-1].status is S.PENDING
    return h, sha


@pytest.mark.parametrize("complete", [False, True], ids=["parts-left", "stamp-left"])
def test_handover_then_the_queue_engine_finishes_the_same_upload_and_stamps_it(
    ctx: Context, clock: FakeClock, complete: bool
) -> None:
    h, sha = _handed_over(ctx, clock, complete=complete)
    state = h.state()
    point = transitions.resume_point(state)
    assert point is not None and point.stampAfterComplete
    checkpoints: list[Any] = []
    result = h.engine.upload_file(
        h.path, KEY, sha256=sha, resume=point, on_progress=lambda d, t: None,
        on_checkpoint=checkpoints.append, cancel=CancelToken(),
    )
    assert h.s3.objects[KEY] == (h.path.read_bytes(), {META_SHA256: sha})
    assert h.s3.count("create_multipart_upload") == 1  # the same multipart upload
    # the lane sent 1, 2 and 3 (which failed in the outage, or went through before the Complete):
    # the queue's engine sends part 3 again only if it was not accepted
    assert h.s3.parts_sent() == ([1, 2, 3] if complete else [1, 2, 3, 3])
    assert result.bytesSent == (0 if complete else 2 * MIB + 100)
    assert checkpoints[-1] is None and h.s3.count("stamp_sha256") == (2 if complete else 1)


def test_hand_over_leaves_other_states_alone(ctx: Context) -> None:
    write_config(ctx)
    assert hand_over(ctx, SID, total=5) is None


def test_a_shared_rate_limiter_paces_the_parts(ctx: Context, clock: FakeClock) -> None:
    h = Harness(ctx, clock)
    shared = TokenBucket(1000.0, clock, burst=256)  # 1 kB/s, the queue's own bucket in the tray
    ctx.sessions.save_meta(SessionMeta(sessionId="20261202-110001-rate", createdAt=clock.now_ms()))  # as at Start
    h.lane = LiveUpload(
        ctx, "20261202-110001-rate", h.path, engine=h.engine, clock=clock, limiter=shared, part_size=P,
        executor=InlineExecutor(), start=False,
    )
    start = clock.monotonic()
    h.grow(4 * P)
    h.run()
    assert h.s3.parts_sent() == [1, 2, 3, 4]
    assert clock.monotonic() - start == pytest.approx((4 * P - 256) / 1000, abs=0.01)


def test_sessions_row_of_a_live_session() -> None:
    item = SessionListItem(sessionId=SID, createdAt=1, actionCount=0, isExported=False, uploadStatus=S.LIVE,
                           uploadedBytes=120 * MIB)
    assert status_text(item) == "uploading while recording: 120.0 MB sent"
    assert item.to_json()["uploadedBytes"] == 120 * MIB
    assert "uploadedBytes" not in dataclasses.replace(item, uploadStatus=S.DONE).to_json()


def test_a_part_silent_for_the_stall_time_gets_a_fresh_upload(h: Harness) -> None:
    """Issue 18: a stall is judged by silence (s3/stall.py), no longer by 3 stalled rounds."""
    h.grow(P)
    h.run()
    first = h.lane.upload_id
    # The body taken, then no answer for a read timeout, twice: 60 s >= STALL_S; ListParts answers.
    h.s3.fail("upload_part", NetworkError("timed out"), part=2, times=2, silent_s=30)
    h.grow(P)
    for _ in range(2):
        h.run()
        h.clock.advance(30)
    assert first in h.s3.aborted and h.lane.upload_id not in (None, first)
    h.run()
    state = h.state()
    assert state.uploadId == h.lane.upload_id and [p.partNumber for p in state.parts] == [1, 2]
    sha = h.finish(tail=5)
    h.run()
    assert h.s3.objects[KEY] == (h.path.read_bytes(), {META_SHA256: sha})


def test_an_outage_is_not_a_stall(h: Harness) -> None:
    h.grow(P)
    h.run()
    first = h.lane.upload_id
    h.s3.fail("upload_part", NetworkError("down"), times=5, silent_s=30)  # silent long enough to be a stall,
    h.s3.fail("list_parts", NetworkError("down"), times=5)  # but nothing answers
    h.grow(P)
    for _ in range(5):
        h.run()
        h.clock.advance(30)
    h.run()
    assert h.lane.upload_id == first and not h.s3.aborted and len(h.state().parts) == 2
    assert h.s3.count("list_parts") == 4  # asked at every silent failure past the stall time


def test_compatibility_mode_sends_content_md5(ctx: Context, clock: FakeClock) -> None:
    h = Harness(ctx, clock, compatibility=True)
    seen: list[bool] = []
    upload_part = h.s3.upload_part

    def spy(key: str, upload_id: str, number: int, body: Any, checksum: Any) -> str:
        seen.append(checksum.md5)
        return upload_part(key, upload_id, number, body, checksum)

    h.s3.upload_part = spy  # type: ignore[method-assign]
    h.grow(2 * P)
    sha = h.finish(tail=7)
    h.run()
    assert seen == [True, True, True] and h.s3.objects[KEY] == (h.path.read_bytes(), {META_SHA256: sha})


def test_a_new_lane_in_the_same_process_takes_over_the_live_upload(h: Harness) -> None:
    h.grow(2 * P)
    h.run()
    first = h.lane.upload_id
    h.lane.abandon()
    h.run()
    h.lane = LiveUpload(h.ctx, SID, h.path, engine=h.engine, clock=h.clock, part_size=P,
                        executor=InlineExecutor(), start=False)
    assert h.lane.upload_id == first
    sha = h.finish(tail=P + 3)
    h.run()
    assert h.s3.parts_sent() == [1, 2, 3, 4] and h.s3.count("create_multipart_upload") == 1
    assert h.s3.objects[KEY] == (h.path.read_bytes(), {META_SHA256: sha}) and h.state().status is S.DONE
