"""UploadService: the UploadEngine on S3 (or any S3-compatible store).

Why not boto3's managed `upload_file`: it aborts the multipart upload on any
failure and keeps no state, so an interrupted upload starts again from byte 0.
Here every finished part is handed to `on_checkpoint` (the queue persists it
in upload-state.json), and a later call given that ResumePoint sends only the
parts S3 does not have.

One upload, step by step (`upload_file`):
  1. stat the zip (ZipMissing); SHA-256 from export, or computed now
  2. HeadObject: same size and x-amz-meta-sha256 already there -> done, nothing sent
  3. a file of one part -> a single PutObject; otherwise a MultipartUpload (multipart.py)
  4. HeadObject again: size, SHA-256 metadata and S3's checksum where the store
     returns one (integrity.py; VerificationFailed)
  5. a multipart upload started while recording (ResumePoint.stampAfterComplete: created
     without x-amz-meta-sha256): a self CopyObject stamps the metadata, HeadObject checks
     size and SHA-256 again; the resume point is dropped only then

Both the queue (here, a FileSource) and the live lane (upload/live.py, a GrowingSource) send
their parts through the one multipart driver (`multipart()`, s3/multipart.py), then `verify`
and, for an upload created without x-amz-meta-sha256, `stamp`.

Callbacks (`on_progress`, `on_checkpoint`) are always called on the thread
that called `upload_file`, never from the part pool.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from concurrent.futures import Executor
from pathlib import Path

from traycap.cancel import CancelToken, StopKind
from traycap.clock import Clock, SystemClock
from traycap.errors import AccessDenied, BadRequest, UploadError, UploadGone
from traycap.logs import register_secret
from traycap.models import CompletedPart, UploadConfig
from traycap.upload.bandwidth import TokenBucket
from traycap.upload.engine import CheckpointFn, CredentialCheck, PartPacing, ProgressFn, ResumePoint, UploadResult
from traycap.upload.parts import part_size_for
from traycap.upload.s3.body import Stopped, metered_body
from traycap.upload.s3.calls import S3Calls
from traycap.upload.s3.client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, S3Client
from traycap.upload.s3.integrity import Checksum, Encryption, already_there, unstamped, verify_stamped, verify_stored
from traycap.upload.s3.job import UploadJob
from traycap.upload.s3.multipart import PUMP_S, DriverSink, MultipartDriver, resume_fits
from traycap.upload.s3.retry import ATTEMPTS, Retry
from traycap.upload.s3.sources import FileSource, PartSource
from traycap.upload.s3.stall import STALL_S, StallWatch

log = logging.getLogger(__name__)

MAX_LINK_S = 7 * 24 * 3600  # SigV4 presigned URLs last at most 7 days


class UploadService:
    def __init__(
        self,
        config: UploadConfig,
        *,
        clock: Clock | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
        part_attempts: int = ATTEMPTS,
        stall_s: float = STALL_S,
        calls: S3Calls | None = None,
        bandwidth: TokenBucket | None = None,
    ) -> None:
        """`calls`: the S3 calls to use (tests pass a fake); by default a boto3 S3Client.
        `bandwidth`: a rate cap shared with other engines (the tray's queue and a live lane);
        by default one of this engine's own for maxUploadMBps. `stall_s`: the stall rule's
        silence (s3/stall.py), to go with a shorter `read_timeout`."""
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.concurrency = max(1, config.maxConcurrency)
        self.retry = Retry(self.clock, part_attempts)
        self.watch = StallWatch(self.clock, stall_s)  # outlives a call: silence adds up across attempts
        # One bucket for every upload of this engine: the queue runs one upload at a time,
        # and all its parts in flight share the cap.
        self.bandwidth = bandwidth if bandwidth is not None else TokenBucket.for_mbps(config.maxUploadMBps, self.clock)
        register_secret(config.secretAccessKey)
        register_secret(config.sessionToken)
        self._client = S3Client(
            config, connect_timeout=connect_timeout, read_timeout=read_timeout, pool_size=self.concurrency + 4
        )
        self.calls: S3Calls = calls or self._client

    def __repr__(self) -> str:  # never shows a secret
        return f"UploadService(bucket={self.config.bucket!r}, endpoint={self.config.endpointUrl!r})"

    # --- small operations -----------------------------------------------------
    def validate_credentials(self) -> CredentialCheck:
        """HeadBucket. A HEAD answer has no body, so a 403 is asked again with a
        one-key listing whose XML error says which of key, secret or permission is wrong."""
        try:
            self._client.head_bucket()
        except UploadError as err:
            if isinstance(err, AccessDenied) and err.code in (None, "403", "Forbidden"):
                try:
                    self._client.list_one_key()
                except UploadError as precise:
                    err = precise
                else:
                    return CredentialCheck(True)
            return CredentialCheck(False, err.user_text())
        return CredentialCheck(True)

    def share_link(self, key: str, expires_s: int) -> str:
        if not 1 <= expires_s <= MAX_LINK_S:
            raise BadRequest(f"A share link can last 1 s to 7 days, not {expires_s} s")
        return self._client.presign_get(key, expires_s)

    def abort(self, key: str, upload_id: str) -> None:
        """AbortMultipartUpload; an upload that is already gone counts as aborted."""
        with contextlib.suppress(UploadGone):
            self.calls.abort_multipart_upload(key, upload_id)

    def close(self) -> None:
        """Close idle connections; the next request opens new ones."""
        self._client.close()

    # --- the upload -------------------------------------------------------------
    def upload_file(
        self,
        zip_path: Path,
        key: str,
        *,
        sha256: str | None,
        resume: ResumePoint | None,
        on_progress: ProgressFn,
        on_checkpoint: CheckpointFn,
        cancel: CancelToken,
        pacing: PartPacing | None = None,
        crc32: str | None = None,
    ) -> UploadResult:
        job = UploadJob(
            Path(zip_path), key, sha256=sha256, on_progress=on_progress, on_checkpoint=on_checkpoint, cancel=cancel,
            bandwidth=self.bandwidth, crc32=crc32,
        )
        job.size = job.stat()
        if cancel.cancelled:
            if resume is not None and cancel.kind is StopKind.CANCEL:
                self._abandon(job, resume.uploadId)
            raise job.cancelled()
        if job.sha256 is None:
            job.sha256 = job.file_sha256()
        present = self.calls.head_object(key, forbidden_is_missing=True)
        if present is not None and already_there(present, job.size, job.sha256):
            if resume is not None:
                self._abandon(job, resume.uploadId)
            job.progress(job.size)
            log.info("%s is already in the bucket with the same SHA-256; not sent again", key)
            return UploadResult(key, job.size, job.sha256, 0, alreadyPresent=True)

        if resume is not None and resume.stampAfterComplete and unstamped(present, job.size) \
                and self._completed_already(job, resume):
            # Completed (by the live lane, or an attempt that stopped after Complete), not stamped yet.
            log.info("%s is complete in the bucket but not stamped yet; stamping it", key)
            parts = list(resume.parts)
            self.verify(key, size=job.size, sha256=job.sha256, parts=parts)
            self.stamp(key, size=job.size, sha256=job.sha256, parts=parts, wake=cancel.event)
            job.checkpoint(None)
            job.progress(job.size)
            return UploadResult(key, job.size, job.sha256, 0)

        md5 = self.config.compatibility
        if resume is not None and not resume_fits(resume, job.size, md5=md5):
            log.info("resume point for %s does not fit the file; starting again", key)
            self._abandon(job, resume.uploadId)
            resume = None
        part_size = part_size_for(job.size, self.config.partSizeBytes)
        if resume is None and job.size <= part_size:
            return self._put_single(job, pacing)
        source = FileSource(job, resume.partSize if resume else part_size, md5=md5)
        driver = self.multipart(source, key, sink=job, token=cancel, pacing=pacing)
        try:
            driver.begin(resume)
            parts = driver.run()
        finally:
            driver.close()
            source.close()
        self.verify(key, size=job.size, sha256=job.sha256, parts=parts)
        if driver.stamp_after_complete:
            self.stamp(key, size=job.size, sha256=job.sha256, parts=parts, wake=cancel.event)
            job.checkpoint(None)
        return UploadResult(key, job.size, job.sha256, driver.bytes_sent)

    def multipart(
        self,
        source: PartSource,
        key: str,
        *,
        sink: DriverSink,
        token: CancelToken,
        pacing: PartPacing | None = None,
        limiter: TokenBucket | None = None,
        concurrency: int | None = None,
        executor: Executor | None = None,
        wake: threading.Event | None = None,
    ) -> MultipartDriver:
        """The multipart driver of `source` on this engine's calls, retries, stall watch and rate
        cap (`limiter`: a cap shared with other engines instead of this engine's own)."""
        return MultipartDriver(
            self.calls, source, key, sink=sink, token=token, md5=self.config.compatibility, retry=self.retry,
            clock=self.clock, watch=self.watch, concurrency=concurrency or self.concurrency,
            limiter=limiter if limiter is not None else self.bandwidth, pacing=pacing, executor=executor, wake=wake,
        )

    def verify(
        self, key: str, *, size: int, sha256: str, parts: list[CompletedPart] | None,
        single_checksum: str | None = None,
    ) -> None:
        """HeadObject after Complete or PutObject: size, SHA-256 metadata where set, S3's checksum
        where the store reports one (VerificationFailed)."""
        head = self.calls.head_object(key)
        encryption = self._encryption()
        verify_stored(
            head, key, size=size, sha256=sha256, single_checksum=single_checksum, parts=parts,
            check_checksum=not self.config.compatibility, encryption=encryption,
        )
        if encryption is not None and head is not None and not head.get("ServerSideEncryption"):
            log.warning(
                "%s: %s does not say whether it encrypted the object (%s was asked for)",
                key, self.calls.endpoint, encryption.mode,
            )

    def stamp(
        self, key: str, *, size: int, sha256: str, parts: list[CompletedPart], wake: threading.Event | None = None,
    ) -> None:
        """Set x-amz-meta-sha256 on an upload created without it (self CopyObject, REPLACE) and
        check it with HeadObject."""
        self.retry.call(lambda: self.calls.stamp_sha256(key, sha256=sha256), what="the SHA-256 stamp", wake=wake)
        verify_stamped(
            self.calls.head_object(key), key, size=size, sha256=sha256, parts=parts,
            check_checksum=not self.config.compatibility, encryption=self._encryption(),
        )

    def _abandon(self, job: UploadJob, upload_id: str) -> None:
        """Forget a multipart upload: abort it (best effort; lifecycle rules clean up the rest)."""
        with contextlib.suppress(UploadError):
            self.calls.abort_multipart_upload(job.key, upload_id)
        job.checkpoint(None)

    def _completed_already(self, job: UploadJob, resume: ResumePoint) -> bool:
        """Every part of the file is in the resume point and the upload is gone (completed)."""
        numbers = [p.partNumber for p in resume.parts]
        if numbers != list(range(1, len(numbers) + 1)) or sum(p.size for p in resume.parts) != job.size:
            return False
        try:
            self.calls.list_parts(job.key, resume.uploadId)
        except UploadGone:
            return True
        return False

    def _encryption(self) -> Encryption | None:
        return Encryption(self.config.sse, self.config.sseKmsKeyId) if self.config.sse != "none" else None

    def _put_single(self, job: UploadJob, pacing: PartPacing | None) -> UploadResult:
        with job.open() as f:
            data = memoryview(f.read(job.size + 1))
        if len(data) != job.size or hashlib.sha256(data).hexdigest() != job.sha256:
            raise job.changed()
        assert job.sha256 is not None
        checksum = Checksum.of(data, md5=self.config.compatibility)
        while pacing is not None and pacing.parts_allowed() == 0:  # one request is one part
            if job.cancel.wait(PUMP_S):
                raise job.cancelled()

        def once() -> None:
            # This runs on the caller's thread, so progress is reported at once; the caller's
            # on_progress is also where a cancel written by another process is noticed, which
            # must not wait until the whole file is sent.
            body = metered_body(
                data, stop=lambda: job.cancelled_now, count=job.count_sent, report=job.progress, throttle=job.throttle
            )
            assert job.sha256 is not None
            self.calls.put_object(job.key, body, sha256=job.sha256, checksum=checksum)

        try:
            self.retry.call(once, what="the upload", stop=lambda: job.cancelled_now, wake=job.cancel.event)
        except Stopped:
            raise job.cancelled() from None
        job.progress(job.size)
        self.verify(job.key, size=job.size, sha256=job.sha256, parts=None,
                    single_checksum=None if checksum.md5 else checksum.value)
        return UploadResult(job.key, job.size, job.sha256, job.bytes_sent)
