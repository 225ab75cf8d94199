"""One multipart upload of a zip: resume or create, send the missing parts, complete.

Like an s3transfer task it takes its collaborators as arguments (the S3 calls,
the job, the retry policy, the clock), so tests drive it with an in-memory
fake of the S3 calls.

  1. resume (ListParts keeps the checkpointed parts S3 still has, byte for byte)
     or CreateMultipartUpload; every finished part is handed to on_checkpoint
  2. read the file once, in part order, hashing it whole on the way (ZipChanged);
     up to `concurrency` parts in flight on a thread pool, each carrying a
     checksum the store verifies; one request's failure is retried by Retry
  3. CompleteMultipartUpload (an answer lost after it completed is recovered)

A *stall*: no part finished in this call, a part failed without an answer
(timeout, reset), yet the endpoint answers a ListParts for the same upload.
Then the store is not down, it refuses that part (rclone serve s3 was seen
never answering UploadPart again for a part number whose earlier attempt was
cut off mid-body): the call raises UploadStalled, and the queue decides how
long to insist on this multipart upload (docs/queue.md).

Callbacks run on the caller's thread, never on the pool: workers send events
through a queue that the caller's thread drains.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from traycap.cancel import StopKind
from traycap.clock import Clock
from traycap.errors import (
    NetworkError,
    UploadCancelled,
    UploadError,
    UploadGone,
    UploadRetryable,
    UploadStalled,
    ZipChanged,
    ZipMissing,
)
from traycap.models import MAX_PARTS, MIN_PART_SIZE, CompletedPart
from traycap.upload.engine import ResumePoint
from traycap.upload.parts import part_ranges
from traycap.upload.s3.body import Stopped, metered_body
from traycap.upload.s3.calls import S3Calls
from traycap.upload.s3.integrity import Checksum, digest_size, norm_etag
from traycap.upload.s3.job import UploadJob
from traycap.upload.s3.retry import Retry

log = logging.getLogger(__name__)

CANCEL_GRACE_S = 1.0  # how long a CANCEL waits for in-flight parts before aborting anyway
PUMP_S = 0.1  # how long the reader waits for a worker's event before checking again


@dataclass(frozen=True)
class _Sent:
    part: int
    sent: int  # bytes of this part on the wire so far (0: its attempt failed)


@dataclass(frozen=True)
class _Done:
    part: CompletedPart


@dataclass(frozen=True)
class _Failed:
    part: int
    error: UploadError | Stopped


_Event = _Sent | _Done | _Failed


def abandon(calls: S3Calls, job: UploadJob, upload_id: str | None) -> None:
    """Forget a multipart upload: abort it (best effort; lifecycle rules clean up the rest), no resume point."""
    if upload_id:
        with contextlib.suppress(UploadError):
            calls.abort_multipart_upload(job.key, upload_id)
    job.on_checkpoint(None)


def send_part(
    calls: S3Calls,
    key: str,
    upload_id: str,
    number: int,
    data: memoryview,
    *,
    md5: bool,
    retry: Retry,
    stop: Callable[[], bool],
    wake: threading.Event | None,
    count: Callable[[int], None],
    report: Callable[[int], None],
    throttle: Callable[[int], None] | None,
) -> CompletedPart:
    """UploadPart of one part's bytes with the checksum the store verifies (x-amz-checksum-sha256,
    or Content-MD5 in compatibility mode), a few quick tries (Retry). `report(sent)` gets the bytes
    of the current try on the wire (0 when a try failed). Raises UploadError or Stopped."""
    checksum = Checksum.of(data, md5=md5)

    def once() -> str:
        body = metered_body(data, stop=stop, count=count, report=report, throttle=throttle)
        try:
            return calls.upload_part(key, upload_id, number, body, checksum)
        except UploadError:
            report(0)  # this try's bytes do not count
            raise

    etag = retry.call(once, what=f"part {number}", stop=stop, wake=wake)
    return CompletedPart(number, etag, len(data), checksum.value)


def complete_upload(
    calls: S3Calls,
    key: str,
    upload_id: str,
    parts: list[CompletedPart],
    *,
    retry: Retry,
    wake: threading.Event | None,
    on_gone: Callable[[], None],
) -> None:
    """CompleteMultipartUpload, retried. NoSuchUpload on a later try means an earlier try completed
    it but its answer was lost (verification decides); on the first try it is gone (expired or
    aborted elsewhere): `on_gone()`, then UploadGone is raised."""
    tries = 0

    def complete() -> None:
        nonlocal tries
        tries += 1
        try:
            calls.complete_multipart_upload(key, upload_id, parts)
        except UploadGone:
            if tries > 1:
                return
            on_gone()
            raise

    retry.call(complete, what="complete", wake=wake)


def resume_fits(resume: ResumePoint, size: int, *, md5: bool) -> bool:
    """A checkpoint can go on only with parts S3 accepts, a file that fits in them, and parts
    checksummed the way this upload checksums (switching compatibility mode changes MD5 <-> SHA-256:
    parts of the other kind can neither be checked against the file nor completed)."""
    fits = resume.partSize >= MIN_PART_SIZE and (size + resume.partSize - 1) // resume.partSize <= MAX_PARTS
    want = 16 if md5 else 32
    same_kind = all(p.checksum is None or digest_size(p.checksum) == want for p in resume.parts)
    return fits and same_kind and size > 0


class MultipartUpload:
    def __init__(
        self,
        calls: S3Calls,
        job: UploadJob,
        *,
        part_size: int,
        concurrency: int,
        md5: bool,
        retry: Retry,
        clock: Clock,
    ) -> None:
        self.calls = calls
        self.job = job
        self.part_size = part_size
        self.concurrency = max(1, concurrency)
        self.md5 = md5
        self.retry = retry
        self.clock = clock
        self._events: queue.Queue[_Event] = queue.Queue()
        self._stop_sending = threading.Event()  # set on a permanent error: stop the other parts too
        self._finished = 0  # parts finished by this call
        self._failed_part: int | None = None  # the first part that failed in this call
        # The upload was created without x-amz-meta-sha256 (by the live lane): the caller stamps
        # it after verification. A fresh upload created here carries the metadata.
        self.stamp_after_complete = False

    def _point(self, upload_id: str, done: dict[int, CompletedPart]) -> ResumePoint:
        return ResumePoint(upload_id, self.part_size, _sorted(done), self.stamp_after_complete)

    def run(self, resume: ResumePoint | None) -> list[CompletedPart]:
        """Upload the job's file; returns the parts it is made of (for verification)."""
        job = self.job
        assert job.sha256 is not None
        ranges = part_ranges(job.size, self.part_size)
        done: dict[int, CompletedPart] = {}
        upload_id: str | None = None
        if resume is not None:
            self.stamp_after_complete = resume.stampAfterComplete
            upload_id, done = self._reconcile(resume, ranges)
        if upload_id is None:
            self.stamp_after_complete = False
            upload_id = self.calls.create_multipart_upload(job.key, sha256=job.sha256)
            done = {}
            job.on_checkpoint(self._point(upload_id, done))
        job.progress(sum(p.size for p in done.values()))
        try:
            self._send_parts(upload_id, ranges, done)
        except UploadCancelled:
            raise
        except (ZipChanged, ZipMissing):
            abandon(self.calls, job, upload_id)
            raise
        except UploadGone:
            job.on_checkpoint(None)
            raise
        except NetworkError as err:
            stalled = self._stalled(upload_id, err)
            if stalled is None:
                raise
            raise stalled from err
        self._complete(upload_id, done)
        return list(done.values())

    def _stalled(self, upload_id: str, err: NetworkError) -> UploadStalled | None:
        """The stall this failure is, or None (progress was made, or nothing answers: an outage)."""
        part = self._failed_part
        if self._finished or part is None:
            return None
        try:
            self.calls.list_parts(self.job.key, upload_id)
        except UploadError:
            return None
        log.warning("part %d of %s: no answer, while %s answers other requests", part, self.job.key,
                    self.calls.endpoint)
        return UploadStalled(
            f"Part {part} was not accepted by {self.calls.endpoint}, which answers other requests ({err.message})",
            part=part, endpoint=self.calls.endpoint,
        )

    # --- the steps ------------------------------------------------------------
    def _reconcile(
        self, resume: ResumePoint, ranges: list[tuple[int, int, int]]
    ) -> tuple[str | None, dict[int, CompletedPart]]:
        """Keep the checkpointed parts S3 still has, byte for byte the same size and ETag."""
        job = self.job
        try:
            listed = self.calls.list_parts(job.key, resume.uploadId)
        except UploadGone:
            log.info("upload %s of %s is gone (expired or aborted); starting again", resume.uploadId, job.key)
            job.on_checkpoint(None)
            return None, {}
        lengths = {n: length for n, _, length in ranges}
        done: dict[int, CompletedPart] = {}
        for part in resume.parts:
            got = listed.get(part.partNumber)
            if (
                got is not None
                and lengths.get(part.partNumber) == part.size == got.size
                and got.etag == norm_etag(part.etag)
            ):
                done[part.partNumber] = part
        log.info("resuming %s: %d of %d parts already in the bucket", job.key, len(done), len(ranges))
        if len(done) != len(resume.parts):
            job.on_checkpoint(self._point(resume.uploadId, done))
        return resume.uploadId, done

    def _send_parts(
        self, upload_id: str, ranges: list[tuple[int, int, int]], done: dict[int, CompletedPart]
    ) -> None:
        """Read the file once in part order; send missing parts, up to `concurrency` at a time."""
        job = self.job
        whole = hashlib.sha256()
        in_flight: dict[int, int] = {}  # part -> bytes sent so far (progress)
        failures: list[UploadError] = []
        done_bytes = sum(p.size for p in done.values())

        def handle(event: _Event) -> None:
            nonlocal done_bytes
            if isinstance(event, _Sent):
                if event.part in in_flight:
                    in_flight[event.part] = event.sent
            elif isinstance(event, _Done):
                in_flight.pop(event.part.partNumber, None)
                done[event.part.partNumber] = event.part
                done_bytes += event.part.size
                self._finished += 1
                job.on_checkpoint(self._point(upload_id, done))
            else:
                in_flight.pop(event.part, None)
                if self._failed_part is None and isinstance(event.error, UploadError):
                    self._failed_part = event.part
                if isinstance(event.error, UploadError):
                    failures.append(event.error)
                    if not event.error.transient:
                        self._stop_sending.set()
            job.progress(done_bytes + sum(in_flight.values()))

        def pump(timeout: float) -> None:
            try:
                handle(self._events.get(timeout=timeout))
                while True:
                    handle(self._events.get_nowait())
            except queue.Empty:
                pass

        def should_stop() -> bool:
            return bool(failures) or job.cancel.cancelled

        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="traycap-part")
        try:
            with job.open() as f:
                for number, offset, length in ranges:
                    while len(in_flight) >= self.concurrency and not should_stop():
                        pump(PUMP_S)
                    pump(0)
                    if should_stop():
                        break
                    buf = bytearray(length)
                    f.seek(offset)
                    if f.readinto(buf) != length:
                        raise job.changed()
                    view = memoryview(buf)
                    whole.update(view)
                    if number in done:
                        # A resumed part holds the bytes of an earlier attempt: if the file
                        # changed since, completing would put a corrupt bundle in the bucket.
                        kept = done[number].checksum
                        if kept and Checksum.of(view, md5=self.md5).value != kept:
                            raise job.changed()
                        continue
                    in_flight[number] = 0
                    pool.submit(self._part_worker, upload_id, number, view)
            deadline = None
            while in_flight:
                if job.cancel.kind is StopKind.CANCEL:
                    deadline = deadline or self.clock.monotonic() + CANCEL_GRACE_S
                    if self.clock.monotonic() >= deadline:
                        break  # a worker stuck in a read: abort anyway, it will fail on its own
                pump(PUMP_S)
        finally:
            pool.shutdown(wait=not job.cancel.cancelled, cancel_futures=True)

        if job.cancel.cancelled:
            if job.cancel.kind is StopKind.CANCEL:
                abandon(self.calls, job, upload_id)
            raise job.cancelled()
        if failures:
            permanent = [f for f in failures if not f.transient]
            raise (permanent or failures)[0]
        if job.stat() != job.size or whole.hexdigest() != job.sha256:
            raise job.changed()

    def _stop_now(self) -> bool:
        return self._stop_sending.is_set() or self.job.cancelled_now

    def _part_worker(self, upload_id: str, number: int, data: memoryview) -> None:
        """On the pool: send one part (with retries) and tell the reader how it went."""
        try:
            part = send_part(
                self.calls, self.job.key, upload_id, number, data, md5=self.md5, retry=self.retry,
                stop=self._stop_now, wake=self.job.cancel.event, count=self.job.count_sent,
                report=lambda sent: self._events.put(_Sent(number, sent)), throttle=self.job.throttle,
            )
            self._events.put(_Done(part))
        except (Stopped, UploadError) as exc:
            self._events.put(_Failed(number, exc))
        except Exception as exc:  # a bug here must not hang the reader
            log.exception("part %d failed unexpectedly", number)
            error = UploadRetryable(f"Sending part {number} failed unexpectedly ({type(exc).__name__})")
            self._events.put(_Failed(number, error))

    def _complete(self, upload_id: str, done: dict[int, CompletedPart]) -> None:
        job = self.job
        # Gone without an earlier try: expired or aborted elsewhere, so the next attempt
        # starts afresh (a retryable error, not a failed verification).
        complete_upload(
            self.calls, job.key, upload_id, list(done.values()), retry=self.retry, wake=job.cancel.event,
            on_gone=lambda: job.on_checkpoint(None),
        )
        if not self.stamp_after_complete:  # else the resume point stays until the stamp is on
            job.on_checkpoint(None)


def _sorted(done: dict[int, CompletedPart]) -> tuple[CompletedPart, ...]:
    return tuple(sorted(done.values(), key=lambda p: p.partNumber))
