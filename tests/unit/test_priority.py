"""Queue priority for live sessions (traycap/upload/priority.py) in one process, the tray's case:
the lane marks itself in the data dir, the queue's attempt hands the engine a pacing that reads
the marks, and the multipart driver keeps to it. Across processes (a `traycap record` beside the
queue, a lane SIGKILLed): tests/integration/test_priority_s3.py."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.fake_engine import FakeEngine
from tests.support.fake_s3 import FakeS3
from tests.support.sessions import TEST_CONFIG, make_exported_session, write_config
from traycap.cancel import CancelToken
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.models import SessionMeta
from traycap.upload.live import LiveUpload
from traycap.upload.priority import FINISH_HOLD_S, LaneMarker, LivePriority, remove_stale
from traycap.upload.queue import UploadQueue
from traycap.upload.s3 import UploadService
from traycap.upload.s3.job import UploadJob
from traycap.upload.s3.multipart import MultipartDriver
from traycap.upload.s3.sources import FileSource

T = TypeVar("T")
P = 1024
LIVE = "20261202-120000-live"


class InlineExecutor(Executor):
    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


class Pacing:
    def __init__(self, allowed: int | None) -> None:
        self.allowed = allowed
        self.asked = 0

    def parts_allowed(self) -> int | None:
        self.asked += 1
        return self.allowed


def test_marks_say_one_part_while_recording_none_from_stop_to_verified(ctx: Context, clock: FakeClock) -> None:
    priority = LivePriority(ctx.paths, clock)
    assert priority.parts_allowed() is None  # no lane has ever run here
    marker = LaneMarker(ctx.paths, LIVE, clock)
    assert marker.hold()
    assert priority.parts_allowed() == 1
    marker.stopped()
    assert priority.parts_allowed() == 0
    clock.advance(FINISH_HOLD_S)  # not verified after that long (an outage): it holds the queue no longer
    assert priority.parts_allowed() == 1
    marker.release()
    assert priority.parts_allowed() is None and not list((ctx.paths.root / "live-lanes").iterdir())


def test_the_marks_of_a_lane_that_died_hold_nothing_and_recovery_removes_them(ctx: Context, clock: FakeClock) -> None:
    lanes = ctx.paths.root / "live-lanes"
    lanes.mkdir(parents=True)
    (lanes / f"{LIVE}.lock").write_text("12345\n")  # what a SIGKILLed process leaves: no lock held
    (lanes / f"{LIVE}.stopped").write_text(f'{{"stoppedAt": {clock.now_ms()}}}')
    assert LivePriority(ctx.paths, clock).parts_allowed() is None
    remove_stale(ctx.paths, LIVE)
    assert not list(lanes.iterdir())


def driver_for(tmp_path: Path, pacing: Pacing, *, parts: int = 4) -> tuple[MultipartDriver, FakeS3, FileSource]:
    data = random.Random(3).randbytes(parts * P)
    path = tmp_path / "z.zip"
    path.write_bytes(data)
    clock = FakeClock()
    s3 = FakeS3(clock)
    job = UploadJob(path, "q.zip", sha256=hashlib.sha256(data).hexdigest(), on_progress=lambda d, t: None,
                    on_checkpoint=lambda p: None, cancel=CancelToken())
    job.size = len(data)
    source = FileSource(job, P)
    service = UploadService(TEST_CONFIG, clock=clock, calls=s3, part_attempts=1)
    driver = service.multipart(source, "q.zip", sink=job, token=job.cancel, pacing=pacing, concurrency=4,
                               executor=InlineExecutor())
    driver.begin(None)
    return driver, s3, source


def test_the_driver_keeps_to_one_part_in_flight_when_paced_so(tmp_path: Path) -> None:
    pacing = Pacing(1)
    driver, s3, source = driver_for(tmp_path, pacing)
    most = 0
    while not driver.all_sent:
        driver.step()
        most = max(most, driver.in_flight)
    assert most == 1 and s3.parts_sent() == [1, 2, 3, 4]  # four allowed by the concurrency, one by the pacing
    driver.complete()
    source.close()


def test_the_driver_starts_no_part_while_paced_to_none_and_goes_on_after(tmp_path: Path) -> None:
    pacing = Pacing(0)
    driver, s3, source = driver_for(tmp_path, pacing)
    for _ in range(5):
        driver.step()
    assert s3.parts_sent() == [] and pacing.asked == 5  # asked each round while a part waits
    pacing.allowed = None
    driver.step()
    assert s3.parts_sent() == [1, 2, 3, 4]  # the inline executor: all four in one round
    driver.step()
    assert driver.all_sent
    source.close()


def test_the_queue_is_paced_by_a_lane_of_its_own_process(ctx: Context, clock: FakeClock, engine: FakeEngine) -> None:
    """The tray: the lane and the queue in one process. The pacing the queue hands its engine
    answers from the lane's marks at the moment it is asked (before every part)."""
    write_config(ctx)
    make_exported_session(ctx, "s1", 4 * 1024)
    ctx.paths.session_dir(LIVE).mkdir(parents=True)
    ctx.sessions.save_meta(SessionMeta(sessionId=LIVE, createdAt=clock.now_ms()))
    zip_path = ctx.paths.session_dir(LIVE) / f"{LIVE}.zip"
    zip_path.write_bytes(b"")
    s3 = FakeS3(clock)
    lane = LiveUpload(ctx, LIVE, zip_path, engine=UploadService(TEST_CONFIG, clock=clock, calls=s3),
                      clock=clock, part_size=P, executor=InlineExecutor(), start=False)

    def stop() -> None:
        zip_path.write_bytes(b"z" * (P + 10))
        lane.finished(P + 10, hashlib.sha256(zip_path.read_bytes()).hexdigest())

    def verified() -> None:
        for _ in range(20):
            if lane.wait(0):
                break
            lane.step()

    seen: list[int | None] = []
    moments: list[Callable[[], object]] = [lambda: None, stop, verified]

    def before_part(key: str, number: int) -> None:
        pacing = engine.pacings[-1]
        assert pacing is not None
        if number <= len(moments):
            moments[number - 1]()
        seen.append(pacing.parts_allowed())

    engine.before_part = before_part
    queue = UploadQueue(ctx, engine.factory, clock=clock)
    queue.enqueue("s1")
    assert queue.process_one()
    # recording: one part at a time; from Stop until verified: none; then no limit
    assert seen == [1, 0, None, None]
    assert lane.outcome is not None and lane.outcome.status.value == "done"


@pytest.mark.parametrize("cancel", [True, False], ids=["cancel", "handover"])
def test_a_lane_that_ends_otherwise_gives_the_queue_back(ctx: Context, clock: FakeClock, cancel: bool) -> None:
    write_config(ctx)
    ctx.paths.session_dir(LIVE).mkdir(parents=True)
    ctx.sessions.save_meta(SessionMeta(sessionId=LIVE, createdAt=clock.now_ms()))
    zip_path = ctx.paths.session_dir(LIVE) / f"{LIVE}.zip"
    zip_path.write_bytes(b"")
    lane = LiveUpload(ctx, LIVE, zip_path, engine=UploadService(TEST_CONFIG, clock=clock, calls=FakeS3(clock)),
                      clock=clock, part_size=P, executor=InlineExecutor(), start=False)
    priority = LivePriority(ctx.paths, clock)
    assert priority.parts_allowed() == 1
    if cancel:
        lane.cancel()
        lane.step()
    else:
        lane.handover()
    assert lane.wait(0) and priority.parts_allowed() is None
