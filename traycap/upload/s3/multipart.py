"""The multipart driver: one multipart upload of a part source, the one the queue and the live
lane both drive (as s3transfer runs every upload through one task and varies only its input).

    driver = MultipartDriver(calls, source, key, sink=..., token=..., ...)
    driver.begin(resume)   resume (ListParts keeps the checkpointed parts S3 still has, byte for
                           byte) or CreateMultipartUpload; either is checkpointed
    driver.step()          harvest finished parts (each checkpointed), then send the parts the
                           source has ready: up to `concurrency` in flight, fewer when the pacing
                           says so (the queue while a live session records or finishes)
    driver.run()           the queue's loop: step on the caller's thread until every part is in
    driver.complete()      CompleteMultipartUpload (an answer lost after it completed is recovered)
    driver.drop()          abort it and forget it (a fresh upload starts from part 1)

The rules, in one place for both:
- Parts are numbered 1..N as upload/parts.py part_ranges(size, P) does; the lowest missing
  ready part goes first, so a FileSource is read once, in order.
- Checkpoint (`sink.checkpoint`): after the upload is created or reconciled, after every
  accepted part, and with None once it is completed (unless it still needs its SHA-256 stamp)
  or dropped. The owner persists it (upload-state.json) and stops the upload when the session
  is no longer its own.
- The first failure of a part stops new parts; parts in flight finish (and are checkpointed),
  then `step()` raises it. A permanent failure also stops the parts in flight at once. A
  failed part is sent again by the next `step()` after that (the live lane retries; the queue's
  attempt ends). NoSuchUpload: the upload is forgotten and UploadGone raised.
- Stalls (stall.py): a part that failed without an answer and has been silent STALL_S in all,
  while the endpoint answers ListParts for the upload, raises UploadStalled: its owner decides
  between a fresh upload and giving up (transitions.FRESH_STARTS).
- Stops (`token`): CANCEL stops request bodies within 256 KiB, waits at most CANCEL_GRACE_S for
  parts in flight, aborts and raises UploadCancelled; SHUTDOWN and PAUSE send no new part, let
  the parts in flight finish (checkpointed) and raise UploadCancelled, the upload kept.

Callbacks run on the thread that steps the driver, never on the part pool: workers post their
results, which `step()` harvests.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from traycap.cancel import CancelToken, StopKind
from traycap.clock import Clock
from traycap.errors import (
    NetworkError,
    UploadError,
    UploadGone,
    UploadRetryable,
    UploadStalled,
    ZipChanged,
    ZipMissing,
)
from traycap.models import MAX_PARTS, MIN_PART_SIZE, CompletedPart
from traycap.upload.bandwidth import TokenBucket
from traycap.upload.engine import PartPacing, ResumePoint
from traycap.upload.s3.body import Stopped
from traycap.upload.s3.calls import S3Calls
from traycap.upload.s3.integrity import CRC32_BYTES, MD5_BYTES, digest_size, norm_etag, unstamped
from traycap.upload.s3.job import cancelled_error
from traycap.upload.s3.part import PartRequest, send_part
from traycap.upload.s3.retry import Retry
from traycap.upload.s3.sources import PartSource, part_count
from traycap.upload.s3.stall import StallWatch

log = logging.getLogger(__name__)

CANCEL_GRACE_S = 1.0  # how long a CANCEL waits for in-flight parts before aborting anyway
PUMP_S = 0.1  # how long run() waits for a part's result before stepping again


class DriverSink(Protocol):
    """Where the driver reports; called on the thread that steps it."""

    def checkpoint(self, point: ResumePoint | None) -> None:
        """The upload to resume from now (None: nothing to resume any more)."""
        ...

    def progress(self, done: int) -> None:
        """Bytes accepted plus the bytes of the parts in flight; never backwards is the sink's job."""
        ...


@dataclass(frozen=True)
class _Sent:
    upload_id: str
    part: int
    sent: int  # bytes of this part's current try on the wire (0: the try failed)


@dataclass(frozen=True)
class _Done:
    upload_id: str
    part: CompletedPart


@dataclass(frozen=True)
class _Failed:
    upload_id: str
    part: int
    error: UploadError | Stopped


_Result = _Sent | _Done | _Failed


def complete_upload(
    calls: S3Calls,
    key: str,
    upload_id: str,
    parts: list[CompletedPart],
    *,
    retry: Retry,
    wake: threading.Event | None,
) -> None:
    """CompleteMultipartUpload, retried. NoSuchUpload on a later try means an earlier try completed
    it but its answer was lost (verification decides); on the first try it is gone (expired or
    aborted elsewhere): UploadGone is raised."""
    tries = 0

    def complete() -> None:
        nonlocal tries
        tries += 1
        try:
            calls.complete_multipart_upload(key, upload_id, parts)
        except UploadGone:
            if tries > 1:
                return
            raise

    retry.call(complete, what="complete", wake=wake)


def resume_fits(resume: ResumePoint, size: int, *, md5: bool) -> bool:
    """A checkpoint can go on only with parts S3 accepts, a file that fits in them, and parts
    checksummed the way this upload checksums (switching compatibility mode changes MD5 <-> CRC32, and
    parts of an older version's SHA-256 uploads are another kind: they can neither be checked against
    the file nor completed)."""
    fits = resume.partSize >= MIN_PART_SIZE and (size + resume.partSize - 1) // resume.partSize <= MAX_PARTS
    want = MD5_BYTES if md5 else CRC32_BYTES
    same_kind = all(p.checksum is None or digest_size(p.checksum) == want for p in resume.parts)
    return fits and same_kind and size > 0


class MultipartDriver:
    def __init__(
        self,
        calls: S3Calls,
        source: PartSource,
        key: str,
        *,
        sink: DriverSink,
        token: CancelToken,
        md5: bool,
        retry: Retry,
        clock: Clock,
        watch: StallWatch,
        concurrency: int,
        limiter: TokenBucket | None = None,
        pacing: PartPacing | None = None,
        executor: Executor | None = None,
        wake: threading.Event | None = None,
    ) -> None:
        """`executor`: where parts are sent (tests pass an inline one); by default `concurrency`
        threads, shut down by close(). `wake` is set whenever a part's result comes in."""
        self.calls = calls
        self.source = source
        self.key = key
        self.sink = sink
        self.token = token
        self.md5 = md5
        self.retry = retry
        self.clock = clock
        self.watch = watch
        self.concurrency = max(1, concurrency)
        self.limiter = limiter
        self.pacing = pacing
        self.wake = wake if wake is not None else threading.Event()
        self._executor = executor or ThreadPoolExecutor(self.concurrency, thread_name_prefix="traycap-part")
        self._owns_executor = executor is None
        self._lock = threading.Lock()
        self._results: list[_Result] = []
        self._sent = 0
        self._stop_bodies = threading.Event()  # a permanent failure: the other parts stop now too
        self._cancel_deadline: float | None = None
        # The upload (owned by the stepping thread)
        self.upload_id: str | None = None
        self.done: dict[int, CompletedPart] = {}
        # Created without x-amz-meta-sha256 (the SHA-256 was not known yet, while recording):
        # the owner stamps it after verification, and the resume point stays until then.
        self.stamp_after_complete = False
        self.completed = False
        self._complete_tried = False
        self._in_flight: dict[int, int] = {}  # part -> bytes of its current try on the wire
        self._data: dict[int, memoryview] = {}  # part -> its bytes, given back to the source when it ends
        self._cursor = 1  # parts below it were sent or kept once
        self._again: set[int] = set()  # parts that failed, to be sent again
        self._error: UploadError | None = None  # the failure step() raises once nothing is in flight
        self._failed: set[int] = set()  # parts that failed without an answer since the last raise

    # --- what the owner reads -------------------------------------------------------
    @property
    def bytes_sent(self) -> int:
        """Request-body bytes put on the wire (a part tried twice counts twice)."""
        with self._lock:
            return self._sent

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def all_sent(self) -> bool:
        """Every part of a source of known size is accepted, and none is in flight."""
        size = self.source.size
        if size is None or self.upload_id is None or self._in_flight:
            return False
        count = part_count(size, self.source.part_size)
        return len(self.done) == count and all(n in self.done for n in range(1, count + 1))

    def parts(self) -> list[CompletedPart]:
        return [self.done[n] for n in sorted(self.done)]

    def done_bytes(self) -> int:
        return sum(p.size for p in self.done.values())

    # --- start ------------------------------------------------------------------------
    def begin(self, resume: ResumePoint | None) -> None:
        """Resume `resume` (ListParts keeps the checkpointed parts S3 still has, byte for byte the
        same number, size and ETag) or, without one or when it is gone, create a new upload."""
        if resume is None or not self._reconcile(resume):
            self.create()
        self.sink.progress(self.done_bytes())

    def create(self) -> None:
        """CreateMultipartUpload, with x-amz-meta-sha256 when the source knows it already."""
        sha256 = self.source.sha256
        upload_id = self.calls.create_multipart_upload(self.key, sha256=sha256)
        self._start(upload_id, {}, stamp_after_complete=sha256 is None)
        log.info("multipart upload %s of %s started", upload_id, self.key)
        self.sink.checkpoint(self._point())

    def _reconcile(self, resume: ResumePoint) -> bool:
        try:
            listed = self.calls.list_parts(self.key, resume.uploadId)
        except UploadGone:
            log.info("upload %s of %s is gone (expired or aborted); starting again", resume.uploadId, self.key)
            self.sink.checkpoint(None)
            return False
        kept: dict[int, CompletedPart] = {}
        for part in resume.parts:
            got = listed.get(part.partNumber)
            if (
                got is not None
                and self.source.length(part.partNumber) == part.size == got.size
                and got.etag == norm_etag(part.etag)
            ):
                kept[part.partNumber] = part
        self._start(resume.uploadId, kept, stamp_after_complete=resume.stampAfterComplete)
        log.info("resuming %s: %d part(s) already in the bucket", self.key, len(kept))
        if len(kept) != len(resume.parts):
            self.sink.checkpoint(self._point())
        return True

    def _start(self, upload_id: str, done: dict[int, CompletedPart], *, stamp_after_complete: bool) -> None:
        self._reset()
        self.upload_id = upload_id
        self.done = dict(done)
        self.stamp_after_complete = stamp_after_complete

    def _point(self) -> ResumePoint | None:
        if self.upload_id is None:
            return None
        parts = tuple(self.done[n] for n in sorted(self.done))
        return ResumePoint(self.upload_id, self.source.part_size, parts, self.stamp_after_complete)

    # --- one round ------------------------------------------------------------------------
    def step(self) -> bool:
        """Harvest the parts that finished, then send what is ready and allowed. Raises the first
        failure once no part is in flight (UploadStalled, UploadGone, ...), and UploadCancelled
        when the token stopped the upload. True if something happened."""
        did = self._harvest()
        if self.token.cancelled:
            self._stopping()
            return did
        if self._error is not None:
            if not self._in_flight:
                self._raise_failure()
            return did
        return self._send_ready() or did

    def run(self) -> list[CompletedPart]:
        """The queue's way: step on this thread until every part is in, then complete. A file
        that is not the exported zip any more (ZipChanged, ZipMissing) makes what was sent
        worthless: the upload is dropped."""
        try:
            try:
                while True:
                    self.wake.clear()
                    self.step()
                    if self.all_sent:
                        break
                    self.wake.wait(PUMP_S)
            finally:
                self.close(wait=not self.token.cancelled)
            return self.complete()
        except (ZipChanged, ZipMissing):
            self.drop()
            raise

    def _stopping(self) -> None:
        """The token says stop: no new part; raise UploadCancelled once the parts in flight end
        (CANCEL: within CANCEL_GRACE_S, then abort anyway; a worker stuck in a read fails alone)."""
        kind = self.token.kind
        if self._in_flight:
            if kind is not StopKind.CANCEL:
                return
            now = self.clock.monotonic()
            if self._cancel_deadline is None:
                self._cancel_deadline = now + CANCEL_GRACE_S
            if now < self._cancel_deadline:
                return
        if kind is StopKind.CANCEL:
            self.drop()
        raise cancelled_error(kind)

    def _raise_failure(self) -> None:
        error, failed = self._error, self._failed
        self._error, self._failed = None, set()
        assert error is not None
        if isinstance(error, UploadGone):
            self._forget()
            raise error
        if isinstance(error, NetworkError) and self.upload_id is not None:
            stalled = sorted(n for n in failed if self.watch.stalled(self.upload_id, n))
            if stalled:
                raise self._stall_or_outage(stalled[0], error) from error
        raise error

    def _stall_or_outage(self, part: int, error: NetworkError) -> UploadError:
        """The endpoint answers ListParts for this upload: the part stalls (UploadStalled). It
        does not answer: an outage (the error as it is)."""
        assert self.upload_id is not None
        try:
            self.calls.list_parts(self.key, self.upload_id)
        except UploadGone as gone:
            self._forget()
            return gone
        except UploadError:
            return error
        endpoint = self.calls.endpoint
        log.warning("part %d of %s: silent for %.0f s while %s answers other requests", part, self.key,
                    self.watch.silence(self.upload_id, part), endpoint)
        return UploadStalled(
            f"Part {part} was not accepted by {endpoint}, which answers other requests ({error.message})",
            part=part, endpoint=endpoint,
        )

    def _harvest(self) -> bool:
        with self._lock:
            results, self._results = self._results, []
        if not results:
            return False
        for result in results:
            if result.upload_id != self.upload_id:
                continue  # a part of an upload given up on (gone, dropped)
            if isinstance(result, _Sent):
                if result.part in self._in_flight:
                    self._in_flight[result.part] = result.sent
            elif isinstance(result, _Done):
                number = result.part.partNumber
                self._in_flight.pop(number, None)
                self._release(number)
                self.done[number] = result.part
                self.sink.checkpoint(self._point())
            else:
                self._in_flight.pop(result.part, None)
                self._release(result.part)
                self._again.add(result.part)
                if isinstance(result.error, UploadError):
                    self._failed_part(result.part, result.error)
        self.sink.progress(self.done_bytes() + sum(self._in_flight.values()))
        return True

    def _release(self, number: int) -> None:
        data = self._data.pop(number, None)
        if data is not None:
            self.source.release(data)

    def _failed_part(self, number: int, error: UploadError) -> None:
        if isinstance(error, NetworkError):
            self._failed.add(number)
        if self._error is None or (self._error.transient and not error.transient):
            self._error = error
        if not error.transient:
            self._stop_bodies.set()

    def _send_ready(self) -> bool:
        did = False
        while self.upload_id is not None and not self.token.cancelled:
            number = self._next_part()
            if number is None:
                break
            if len(self._in_flight) >= self.concurrency or not self._paced_ok():
                self._again.add(number)  # not now: it stays first in line
                break
            self._submit(number, self.source.read(number))
            did = True
        return did

    def _paced_ok(self) -> bool:
        """Asked before every new part (the pacing may look at the disk)."""
        allowed = self.pacing.parts_allowed() if self.pacing is not None else None
        return allowed is None or len(self._in_flight) < allowed

    def _next_part(self) -> int | None:
        """The lowest part that is ready and neither accepted nor in flight; parts kept from a
        resume are passed to the source on the way, in order."""
        ready = self.source.ready()
        again = sorted(n for n in self._again if n <= ready and n not in self.done and n not in self._in_flight)
        if again:
            self._again.discard(again[0])
            return again[0]
        while self._cursor <= ready:
            number = self._cursor
            self._cursor += 1
            if number in self.done:
                self.source.kept(number, self.done[number], md5=self.md5)
            elif number not in self._in_flight:
                return number
        return None

    def _submit(self, number: int, data: memoryview) -> None:
        upload_id = self.upload_id
        assert upload_id is not None
        self._in_flight[number] = 0
        self._data[number] = data
        limiter = self.limiter
        throttle = None if limiter is None else (
            lambda n: limiter.take(n, wake=self.token.event, stop=self._cancelled_now)
        )
        request = PartRequest(
            self.calls, self.key, upload_id, self.md5, self.retry, self.watch, stop=self._stop_now,
            wake=self.token.event, count=self._count, throttle=throttle,
        )

        def work() -> None:
            try:
                part = send_part(request, number, data, lambda sent: self._post(_Sent(upload_id, number, sent)))
                self._post(_Done(upload_id, part))
            except (Stopped, UploadError) as exc:
                self._post(_Failed(upload_id, number, exc))
            except Exception as exc:  # a bug here must not hang the driver
                log.exception("part %d failed unexpectedly", number)
                error = UploadRetryable(f"Sending part {number} failed unexpectedly ({type(exc).__name__})")
                self._post(_Failed(upload_id, number, error))

        try:
            self._executor.submit(work)
        except RuntimeError:  # the executor is shut down: the owner has ended
            self._in_flight.pop(number, None)
            self._data.pop(number, None)
            self._again.add(number)

    def _post(self, result: _Result) -> None:
        with self._lock:
            self._results.append(result)
        self.wake.set()

    def _count(self, n: int) -> None:
        with self._lock:
            self._sent += n

    def _cancelled_now(self) -> bool:
        return self.token.kind is StopKind.CANCEL

    def _stop_now(self) -> bool:
        return self._stop_bodies.is_set() or self._cancelled_now()

    # --- the end ------------------------------------------------------------------------
    def complete(self) -> list[CompletedPart]:
        """CompleteMultipartUpload of every part; the source first checks they are the whole zip.
        NoSuchUpload on an earlier call's retry (its answer was lost) is a completed upload when
        the object has the zip's size; otherwise the upload is forgotten and UploadGone raised."""
        assert self.upload_id is not None and self.all_sent
        parts = self.parts()
        self.source.check_complete(parts)
        tried_before, self._complete_tried = self._complete_tried, True
        try:
            complete_upload(self.calls, self.key, self.upload_id, parts, retry=self.retry, wake=self.token.event)
        except UploadGone:
            size = self.source.size
            if not tried_before or size is None or not unstamped(self.calls.head_object(self.key), size):
                self._forget()
                raise
        self.completed = True
        self.watch.forget(self.upload_id)
        if not self.stamp_after_complete:  # else the resume point stays until the stamp is on
            self.sink.checkpoint(None)
        return parts

    def drop(self) -> None:
        """Abort the upload (best effort; lifecycle rules clean up the rest) and forget it."""
        if self.upload_id is not None:
            try:
                self.calls.abort_multipart_upload(self.key, self.upload_id)
            except UploadGone:
                pass
            except UploadError as exc:
                log.warning("could not abort upload %s of %s: %s", self.upload_id, self.key, exc.user_text())
        self._forget()

    def _forget(self) -> None:
        if self.upload_id is not None:
            self.watch.forget(self.upload_id)
        self.upload_id = None
        self._reset()
        self.sink.checkpoint(None)

    def _reset(self) -> None:
        self.done = {}
        self.stamp_after_complete = False
        self.completed = False
        self._complete_tried = False
        self._in_flight = {}
        self._data = {}  # parts of an upload given up on: their buffers are left to the collector
        self._cursor = 1
        self._again = set()
        self._error = None
        self._failed = set()
        self._stop_bodies.clear()
        self._cancel_deadline = None
        self.source.rewind()

    def close(self, *, wait: bool = False) -> None:
        """Shut the part pool down (if the driver made it)."""
        if self._owns_executor:
            self._executor.shutdown(wait=wait, cancel_futures=True)

