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

The live lane (upload/live.py) uses the same steps one at a time: `start_live`,
`send_part`, `complete_live` (Complete + verify) and `stamp`.

Callbacks (`on_progress`, `on_checkpoint`) are always called on the thread
that called `upload_file`, never from the part pool.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from traycap.cancel import CancelToken, StopKind
from traycap.clock import Clock, SystemClock
from traycap.errors import AccessDenied, BadRequest, UploadError, UploadGone
from traycap.logs import register_secret
from traycap.models import CompletedPart, UploadConfig
from traycap.upload.bandwidth import TokenBucket
from traycap.upload.engine import CheckpointFn, CredentialCheck, ProgressFn, ResumePoint, UploadResult
from traycap.upload.parts import part_size_for
from traycap.upload.s3.body import Stopped, metered_body
from traycap.upload.s3.calls import S3Calls
from traycap.upload.s3.client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, S3Client
from traycap.upload.s3.integrity import Checksum, Encryption, already_there, unstamped, verify_stamped, verify_stored
from traycap.upload.s3.job import UploadJob
from traycap.upload.s3.multipart import MultipartUpload, abandon, complete_upload, resume_fits, send_part
from traycap.upload.s3.retry import ATTEMPTS, Retry

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
        calls: S3Calls | None = None,
        bandwidth: TokenBucket | None = None,
    ) -> None:
        """`calls`: the S3 calls to use (tests pass a fake); by default a boto3 S3Client.
        `bandwidth`: a rate cap shared with other engines (the tray's queue and a live lane);
        by default one of this engine's own for maxUploadMBps."""
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.concurrency = max(1, config.maxConcurrency)
        self.retry = Retry(self.clock, part_attempts)
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
    ) -> UploadResult:
        job = UploadJob(
            Path(zip_path), key, sha256=sha256, on_progress=on_progress, on_checkpoint=on_checkpoint, cancel=cancel,
            bandwidth=self.bandwidth,
        )
        job.size = job.stat()
        if cancel.cancelled:
            if resume is not None and cancel.kind is StopKind.CANCEL:
                abandon(self.calls, job, resume.uploadId)
            raise job.cancelled()
        if job.sha256 is None:
            job.sha256 = job.file_sha256()
        present = self.calls.head_object(key, forbidden_is_missing=True)
        if present is not None and already_there(present, job.size, job.sha256):
            if resume is not None:
                abandon(self.calls, job, resume.uploadId)
            job.progress(job.size)
            log.info("%s is already in the bucket with the same SHA-256; not sent again", key)
            return UploadResult(key, job.size, job.sha256, 0, alreadyPresent=True)

        if resume is not None and resume.stampAfterComplete and unstamped(present, job.size) \
                and self._completed_already(job, resume):
            # Completed (by the live lane, or an attempt that stopped after Complete), not stamped yet.
            log.info("%s is complete in the bucket but not stamped yet; stamping it", key)
            parts = list(resume.parts)
            self._verify(job, single_checksum=None, parts=parts)
            self._stamp(job.key, size=job.size, sha256=job.sha256, parts=parts, wake=cancel.event)
            job.on_checkpoint(None)
            job.progress(job.size)
            return UploadResult(key, job.size, job.sha256, 0)

        md5 = self.config.compatibility
        if resume is not None and not resume_fits(resume, job.size, md5=md5):
            log.info("resume point for %s does not fit the file; starting again", key)
            abandon(self.calls, job, resume.uploadId)
            resume = None
        part_size = part_size_for(job.size, self.config.partSizeBytes)
        if resume is None and job.size <= part_size:
            return self._put_single(job)
        multipart = MultipartUpload(
            self.calls, job, part_size=resume.partSize if resume else part_size, concurrency=self.concurrency,
            md5=md5, retry=self.retry, clock=self.clock,
        )
        parts = multipart.run(resume)
        self._verify(job, single_checksum=None, parts=parts)
        if multipart.stamp_after_complete:
            self._stamp(job.key, size=job.size, sha256=job.sha256, parts=parts, wake=cancel.event)
            job.on_checkpoint(None)
        return UploadResult(key, job.size, job.sha256, job.bytes_sent)

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

    # --- the live lane (upload/live.py) ------------------------------------------------
    def start_live(self, key: str) -> str:
        """CreateMultipartUpload without x-amz-meta-sha256 (the zip's SHA-256 is known only at Stop)."""
        return self.calls.create_multipart_upload(key, sha256=None)

    def send_part(
        self,
        key: str,
        upload_id: str,
        number: int,
        data: memoryview,
        *,
        stop: Callable[[], bool],
        wake: threading.Event | None,
        count: Callable[[int], None],
        report: Callable[[int], None],
        limiter: TokenBucket | None,
    ) -> CompletedPart:
        """UploadPart of one part (its checksum, a few quick tries); `limiter` caps the rate."""
        throttle = None if limiter is None else (lambda n: limiter.take(n, wake=wake, stop=stop))
        return send_part(
            self.calls, key, upload_id, number, data, md5=self.config.compatibility, retry=self.retry,
            stop=stop, wake=wake, count=count, report=report, throttle=throttle,
        )

    def answers(self, key: str, upload_id: str) -> bool:
        """Does the endpoint answer a ListParts for this upload (a stall, not an outage)?"""
        try:
            self.calls.list_parts(key, upload_id)
        except UploadGone:
            return True
        except UploadError:
            return False
        return True

    def complete_live(
        self, key: str, upload_id: str, parts: list[CompletedPart], *, size: int, sha256: str,
        wake: threading.Event | None = None, maybe_done: bool = False,
    ) -> None:
        """CompleteMultipartUpload, then HeadObject: size and S3's checksum of the parts (the
        SHA-256 metadata is not there yet). UploadGone: the upload is gone (aborted, expired),
        unless `maybe_done` (an earlier call may have completed it, its answer lost): then the
        HeadObject decides."""
        try:
            complete_upload(self.calls, key, upload_id, parts, retry=self.retry, wake=wake, on_gone=lambda: None)
        except UploadGone:
            if not maybe_done or not unstamped(self.calls.head_object(key), size):
                raise
        verify_stored(
            self.calls.head_object(key), key, size=size, sha256=sha256, single_checksum=None, parts=parts,
            check_checksum=not self.config.compatibility, encryption=self._encryption(),
        )

    def stamp(
        self, key: str, *, size: int, sha256: str, parts: list[CompletedPart], wake: threading.Event | None = None,
    ) -> None:
        """Set x-amz-meta-sha256 (self CopyObject, REPLACE) and check it with HeadObject."""
        self._stamp(key, size=size, sha256=sha256, parts=parts, wake=wake)

    def _stamp(
        self, key: str, *, size: int, sha256: str | None, parts: list[CompletedPart],
        wake: threading.Event | None,
    ) -> None:
        assert sha256 is not None
        self.retry.call(lambda: self.calls.stamp_sha256(key, sha256=sha256), what="the SHA-256 stamp", wake=wake)
        verify_stamped(
            self.calls.head_object(key), key, size=size, sha256=sha256, parts=parts,
            check_checksum=not self.config.compatibility, encryption=self._encryption(),
        )

    def _encryption(self) -> Encryption | None:
        return Encryption(self.config.sse, self.config.sseKmsKeyId) if self.config.sse != "none" else None

    def _put_single(self, job: UploadJob) -> UploadResult:
        with job.open() as f:
            data = memoryview(f.read(job.size + 1))
        if len(data) != job.size or hashlib.sha256(data).hexdigest() != job.sha256:
            raise job.changed()
        assert job.sha256 is not None
        checksum = Checksum.of(data, md5=self.config.compatibility)

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
        self._verify(job, single_checksum=None if checksum.md5 else checksum.value, parts=None)
        return UploadResult(job.key, job.size, job.sha256, job.bytes_sent)

    def _verify(self, job: UploadJob, *, single_checksum: str | None, parts: list[CompletedPart] | None) -> None:
        assert job.sha256 is not None
        head = self.calls.head_object(job.key)
        encryption = self._encryption()
        verify_stored(
            head, job.key, size=job.size, sha256=job.sha256, single_checksum=single_checksum, parts=parts,
            check_checksum=not self.config.compatibility, encryption=encryption,
        )
        if encryption is not None and head is not None and not head.get("ServerSideEncryption"):
            log.warning(
                "%s: %s does not say whether it encrypted the object (%s was asked for)",
                job.key, self.calls.endpoint, encryption.mode,
            )
