"""MultipartDriver (traycap/upload/s3/multipart.py) on a finished file (FileSource, the queue's
source), driven with an in-memory S3 (tests/support/fake_s3.py).

As s3transfer tests its tasks: the algorithm (create or resume, parts in flight,
checkpoints, retries, cancel, complete) against a fake of the calls, with a
FakeClock, so no test waits and no network is involved. The live lane's source is
driven through the lane (test_live_upload.py); pacing in test_priority.py.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from tests.support.fake_s3 import FakeS3
from traycap.cancel import CancelToken, StopKind
from traycap.clock import FakeClock
from traycap.errors import AccessDenied, NetworkError, UploadCancelled, UploadGone, UploadStalled, ZipChanged
from traycap.upload.engine import ResumePoint
from traycap.upload.s3.job import UploadJob
from traycap.upload.s3.multipart import MultipartDriver
from traycap.upload.s3.retry import Retry
from traycap.upload.s3.sources import FileSource
from traycap.upload.s3.stall import StallWatch

PART = 1024
SIZE = 3 * PART + 500  # four parts, the last one short


class Harness:
    def __init__(self, tmp_path: Path, *, concurrency: int = 1, attempts: int = 3) -> None:
        self.data = random.Random(7).randbytes(SIZE)
        self.path = tmp_path / "z.zip"
        self.path.write_bytes(self.data)
        self.sha = hashlib.sha256(self.data).hexdigest()
        self.clock = FakeClock()
        self.s3 = FakeS3(self.clock)
        self.cancel = CancelToken()
        self.checkpoints: list[ResumePoint | None] = []
        self.progress: list[int] = []
        self.concurrency = concurrency
        self.retry = Retry(self.clock, attempts)

    def run(self, resume: ResumePoint | None = None) -> list[int]:
        job = UploadJob(
            self.path, "sessions/z.zip", sha256=self.sha, on_progress=lambda done, _t: self.progress.append(done),
            on_checkpoint=self.checkpoints.append, cancel=self.cancel,
        )
        job.size = job.stat()
        source = FileSource(job, PART)
        driver = MultipartDriver(
            self.s3, source, "sessions/z.zip", sink=job, token=self.cancel, md5=False, retry=self.retry,
            clock=self.clock, watch=StallWatch(self.clock), concurrency=self.concurrency,
        )
        try:
            driver.begin(resume)
            return sorted(p.partNumber for p in driver.run())
        finally:
            source.close()

    @property
    def last(self) -> ResumePoint | None:
        return self.checkpoints[-1] if self.checkpoints else None

    def stored(self) -> bytes:
        return self.s3.objects["sessions/z.zip"][0]


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_fresh_upload_checkpoints_every_part_and_completes(tmp_path: Path, concurrency: int) -> None:
    h = Harness(tmp_path, concurrency=concurrency)
    assert h.run() == [1, 2, 3, 4]
    assert h.stored() == h.data
    assert h.s3.count("create_multipart_upload") == 1 and h.s3.count("complete_multipart_upload") == 1
    first = h.checkpoints[0]
    assert first is not None and first.parts == () and first.partSize == PART
    assert [len(p.parts) for p in h.checkpoints[1:-1] if p is not None] == [1, 2, 3, 4]
    assert h.last is None  # completed: nothing to resume
    assert h.progress == sorted(h.progress) and h.progress[-1] == SIZE


def test_a_resume_sends_only_the_parts_s3_does_not_have(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.s3.fail("upload_part", AccessDenied("no"), part=3)
    with pytest.raises(AccessDenied):
        h.run()
    point = h.last
    assert point is not None and [p.partNumber for p in point.parts] == [1, 2]
    h.s3.calls.clear()
    assert h.run(point) == [1, 2, 3, 4]
    assert h.s3.count("list_parts") == 1 and h.s3.count("create_multipart_upload") == 0
    assert h.s3.parts_sent() == [3, 4]
    assert h.stored() == h.data


def test_a_checkpointed_part_s3_lost_is_sent_again(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.s3.fail("upload_part", AccessDenied("no"), part=3)
    with pytest.raises(AccessDenied):
        h.run()
    point = h.last
    assert point is not None
    del h.s3.uploads[point.uploadId].parts[1]  # the store dropped part 1
    h.s3.calls.clear()
    h.run(point)
    assert sorted(h.s3.parts_sent()) == [1, 3, 4]
    assert h.checkpoints[len(h.checkpoints) - 5] is not None  # the reconciled point came first
    assert h.stored() == h.data


def test_an_upload_gone_on_resume_starts_a_new_one(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    stale = ResumePoint("upload-that-expired", PART, ())
    assert h.run(stale) == [1, 2, 3, 4]
    assert h.checkpoints[0] is None  # the dead upload id is forgotten first
    assert h.s3.count("create_multipart_upload") == 1
    assert h.stored() == h.data


def test_a_transient_part_failure_is_retried_on_the_injected_clock(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.s3.fail("upload_part", NetworkError("reset"), part=2, times=2)
    h.run()
    assert h.s3.parts_sent().count(2) == 3
    assert h.clock.sleeps == [0.25, 0.5]
    assert h.stored() == h.data


def test_a_part_that_keeps_failing_fails_the_upload_and_keeps_it_for_resume(tmp_path: Path) -> None:
    h = Harness(tmp_path, attempts=2)
    h.s3.fail("upload_part", NetworkError("reset"), part=2, times=2)
    with pytest.raises(NetworkError):
        h.run()
    point = h.last
    assert point is not None and [p.partNumber for p in point.parts] == [1]
    assert point.uploadId in h.s3.uploads and h.s3.aborted == []


def test_a_permanent_failure_stops_the_other_parts(tmp_path: Path) -> None:
    h = Harness(tmp_path, concurrency=1)
    h.s3.fail("upload_part", AccessDenied("denied"), part=1)
    with pytest.raises(AccessDenied):
        h.run()
    assert h.s3.parts_sent() == [1]
    assert h.s3.count("complete_multipart_upload") == 0


def test_cancel_mid_part_aborts_and_forgets_the_upload(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    def cancel_in_part_2(number: int, _read: int) -> None:
        if number == 2:
            h.cancel.cancel(StopKind.CANCEL)

    h.s3.on_part_read = cancel_in_part_2
    with pytest.raises(UploadCancelled):
        h.run()
    assert h.last is None
    assert len(h.s3.aborted) == 1 and h.s3.uploads == {}


def test_shutdown_keeps_the_upload_for_resume(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    def stop_after_part_2(number: int, read: int) -> None:
        if number == 2 and read >= PART:
            h.cancel.cancel(StopKind.SHUTDOWN)

    h.s3.on_part_read = stop_after_part_2
    with pytest.raises(UploadCancelled) as info:
        h.run()
    assert "quitting" in info.value.message
    point = h.last
    assert point is not None and [p.partNumber for p in point.parts] == [1, 2]
    assert h.s3.aborted == []


def test_a_lost_complete_answer_is_recovered(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.s3.fail("complete_multipart_upload", NetworkError("the answer was lost"), after=True)
    assert h.run() == [1, 2, 3, 4]
    assert h.s3.count("complete_multipart_upload") == 2  # the second one answers NoSuchUpload
    assert h.stored() == h.data and h.last is None


def test_an_upload_gone_before_complete_is_retryable_and_forgotten(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.s3.fail("complete_multipart_upload", UploadGone("gone", code="NoSuchUpload", status=404))
    with pytest.raises(UploadGone) as info:
        h.run()
    assert info.value.transient
    assert h.last is None


def test_a_file_changed_while_sending_is_not_completed(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    def change_the_file(number: int, read: int) -> None:
        if number == 1 and read >= PART:
            with h.path.open("ab") as f:  # the reader may hold the bytes already: a size it cannot miss
                f.write(b"more")

    h.s3.on_part_read = change_the_file
    with pytest.raises(ZipChanged):
        h.run()
    assert h.s3.count("complete_multipart_upload") == 0
    assert h.last is None and len(h.s3.aborted) == 1


def test_a_part_silent_for_the_stall_time_while_the_server_answers_is_a_stall(tmp_path: Path) -> None:
    """Issue 18: judged by the part's silence (s3/stall.py), not by "no part accepted in this call"."""
    h = Harness(tmp_path, attempts=3)
    h.s3.fail("upload_part", AccessDenied("no"), part=2)  # a first call gets part 1 in
    with pytest.raises(AccessDenied):
        h.run()
    point = h.last
    # The body taken, then no answer for a 30 s read timeout, twice: 60 s of silence >= STALL_S.
    h.s3.fail("upload_part", NetworkError("no answer in time"), part=2, times=2, silent_s=30)
    with pytest.raises(UploadStalled) as info:
        h.run(point)
    assert (info.value.part, info.value.endpoint) == (2, FakeS3.endpoint)
    assert isinstance(info.value.__cause__, NetworkError)
    assert info.value.transient
    assert point is not None and h.last == point and point.uploadId in h.s3.uploads  # kept: the queue decides
    assert h.s3.parts_sent().count(2) == 3  # no third try once the part counts as stalled


def test_a_reset_while_bytes_flow_is_not_a_stall(tmp_path: Path) -> None:
    h = Harness(tmp_path, attempts=1)
    h.s3.fail("upload_part", NetworkError("reset"), part=3)
    with pytest.raises(NetworkError) as info:
        h.run()
    assert not isinstance(info.value, UploadStalled)


def test_no_answer_at_all_is_an_outage_not_a_stall(tmp_path: Path) -> None:
    h = Harness(tmp_path, attempts=1)
    h.s3.fail("upload_part", NetworkError("no answer in time"), part=1, silent_s=60)
    h.s3.fail("list_parts", NetworkError("Cannot reach the endpoint"))
    with pytest.raises(NetworkError) as info:
        h.run()
    assert not isinstance(info.value, UploadStalled)
    assert h.s3.count("list_parts") == 1  # the probe was made
