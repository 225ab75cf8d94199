"""The S3 adapter: resumable, verified multipart uploads on boto3's low-level calls.

This is the only module in traycap that imports boto3/botocore. Library errors
are translated here, at the boundary, into the traycap error tree
(`classify_error`), so nothing above this module sees a botocore exception.

Why not boto3's managed `upload_file`: it aborts the multipart upload on any
failure and keeps no state, so an interrupted upload starts again from byte 0.
Here every finished part is handed to `on_checkpoint` (the queue persists it
in upload-state.json), and a later call given that ResumePoint sends only the
parts S3 does not have (ListParts decides).

One upload, step by step (`_Run.run`):
  1. stat the zip (ZipMissing); SHA-256 from export, or computed now
  2. HeadObject: same size and x-amz-meta-sha256 already there -> done, nothing sent
  3. a file of one part -> a single PutObject; otherwise multipart:
     resume (ListParts, paginated) or CreateMultipartUpload
  4. read the file once, in part order; hash it whole on the way (ZipChanged);
     up to maxConcurrency parts in flight on a thread pool, each carrying a
     checksum the store verifies (x-amz-checksum-sha256; compatibility mode:
     Content-MD5); a reset/timeout/5xx on a part is retried a few times here
  5. CompleteMultipartUpload, then HeadObject: size, sha256 metadata and the
     composite checksum where the store returns them (VerificationFailed)

Callbacks (`on_progress`, `on_checkpoint`) are always called on the thread
that called `upload_file`, never from the pool.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions as bex
from botocore.config import Config

from traycap.cancel import CancelToken, StopKind
from traycap.clock import Clock, SystemClock
from traycap.errors import (
    AccessDenied,
    BadRequest,
    BucketNotFound,
    CredentialsRejected,
    NetworkError,
    ServerError,
    Throttled,
    UploadCancelled,
    UploadError,
    UploadRetryable,
    VerificationFailed,
    ZipChanged,
    ZipMissing,
)
from traycap.logs import register_secret
from traycap.models import MAX_PARTS, MIN_PART_SIZE, CompletedPart, UploadConfig
from traycap.upload.engine import CheckpointFn, CredentialCheck, ProgressFn, ResumePoint, UploadResult
from traycap.upload.parts import part_ranges, part_size_for

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
# Per socket read, not per request: a part's body may take minutes on a slow link.
READ_TIMEOUT_S = 30.0
# Attempts per part (and per Complete) inside one upload_file call. The queue
# retries whole uploads with backoff; this only absorbs a single reset or 5xx
# so one bad connection does not cost a whole queue round.
PART_ATTEMPTS = 3
PART_RETRY_BASE_S = 0.25
CANCEL_GRACE_S = 1.0  # how long a CANCEL waits for in-flight parts before aborting anyway
PROGRESS_STEP = 1024 * 1024  # on_progress at least this often while a part is sent
_HASH_CHUNK = 1024 * 1024
META_SHA256 = "sha256"  # x-amz-meta-sha256

CREDENTIAL_CODES = {
    "InvalidAccessKeyId": "S3 does not know this access key",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "InvalidToken": "the session token is not valid",
    "ExpiredToken": "the session token has expired",
    "TokenRefreshRequired": "the session token has expired",
    "InvalidClientTokenId": "S3 does not know this access key",
    "AuthorizationHeaderMalformed": "the region or access key is malformed",
}
THROTTLE_CODES = {
    "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequests", "TooManyRequestsException", "RequestThrottled", "RequestThrottledException",
    "ProvisionedThroughputExceededException", "BandwidthLimitExceeded", "EC2ThrottledException",
}
# 4xx codes that mean "the bytes or the connection went wrong", not "the request is wrong".
_NET_HINT = "check the network and the endpoint URL"
TRANSIENT_4XX = {"RequestTimeout", "BadDigest", "XAmzContentSHA256Mismatch", "IncompleteBody", "RequestTimeTooSkewed"}


# --- error classification (pure) -------------------------------------------------
def _client_error_parts(exc: bex.ClientError) -> tuple[str, int | None, str]:
    response: dict[str, Any] = exc.response or {}
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if not isinstance(status, int):
        status = int(code) if code.isdigit() else None
    message = str(error.get("Message") or "").strip()
    return code, status, message[:200]


def classify_error(exc: BaseException, *, bucket: str = "", endpoint: str | None = None) -> UploadError:
    """Translate a botocore/network exception into the traycap error tree.

    Pure: no I/O. The message says what happened in words a person can act on;
    the S3 error code is kept in parentheses for whoever reads the logs.
    """
    where = endpoint or "S3"
    if isinstance(exc, UploadError):
        return exc
    if isinstance(exc, bex.ClientError):
        code, status, text = _client_error_parts(exc)
        tag = f" ({code})" if code and not code.isdigit() else (f" (HTTP {status})" if status else "")
        if code in CREDENTIAL_CODES:
            return CredentialsRejected(
                f"S3 rejected the access key: {CREDENTIAL_CODES[code]}{tag}", "check Upload settings"
            )
        if code == "RequestTimeTooSkewed":
            return NetworkError(
                f"S3 refused the request because this computer's clock is wrong{tag}",
                "set the system clock (enable NTP); traycap will retry",
            )
        if code in THROTTLE_CODES or status == 429:
            return Throttled(f"S3 asked traycap to slow down{tag}")
        # A HEAD answer has no body: HeadBucket on a missing bucket is a bare 404.
        if code == "NoSuchBucket" or (status == 404 and code in ("404", "NotFound", "")):
            return BucketNotFound(
                f"The bucket {bucket!r} does not exist{tag}", "check the bucket name and region in Upload settings"
            )
        if code == "NoSuchUpload":
            return ServerError(
                f"The multipart upload is no longer in the bucket (expired or aborted){tag}",
                "traycap will start this upload again",
            )
        if code in ("AccessDenied", "AllAccessDisabled", "AccountProblem") or (
            status == 403 and code in ("403", "Forbidden", "")
        ):
            return AccessDenied(
                f"S3 denied access to bucket {bucket!r}{tag}",
                "check the access key, secret and the bucket's permissions in Upload settings",
            )
        if code in TRANSIENT_4XX:
            return NetworkError(f"The upload was interrupted or damaged in transit{tag}")
        if status is not None and status >= 500:
            if status == 503 and code in ("", "503", "ServiceUnavailable"):
                return Throttled(f"The S3 server is busy{tag}")
            return ServerError(f"The S3 server had an internal error{tag}")
        detail = f": {text}" if text else ""
        return BadRequest(f"S3 refused the request{detail}{tag}", "check Upload settings (endpoint, region, bucket)")
    if isinstance(exc, bex.ConnectTimeoutError):
        return NetworkError(f"Timed out connecting to {where}", _NET_HINT)
    if isinstance(exc, bex.ReadTimeoutError):
        return NetworkError(f"{where} did not answer in time")
    if isinstance(exc, bex.EndpointConnectionError | bex.ProxyConnectionError):
        return NetworkError(f"Cannot reach {where}", _NET_HINT)
    if isinstance(exc, bex.SSLError):
        return NetworkError(
            f"The TLS connection to {where} failed", "check the endpoint URL and the system's certificates"
        )
    if isinstance(exc, bex.ConnectionClosedError | bex.ResponseStreamingError | bex.IncompleteReadError):
        return NetworkError(f"The connection to {where} was closed mid-request")
    if isinstance(exc, bex.HTTPClientError | ConnectionError | TimeoutError):
        return NetworkError(f"The connection to {where} failed")
    if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
        return CredentialsRejected("No S3 credentials were found", "enter an access key and secret in Upload settings")
    if isinstance(exc, bex.ProfileNotFound):
        return CredentialsRejected(
            f"The AWS profile {getattr(exc, 'kwargs', {}).get('profile', '')!r} was not found",
            "check the profile name in Upload settings (~/.aws/config)",
        )
    if isinstance(exc, bex.CredentialRetrievalError | bex.NoAuthTokenError):
        return CredentialsRejected("The AWS credentials could not be loaded", "check the profile in Upload settings")
    if isinstance(exc, bex.ParamValidationError | bex.InvalidRegionError | bex.NoRegionError):
        return BadRequest(
            "The upload settings produce an invalid S3 request", "check the bucket, region and key prefix"
        )
    if isinstance(exc, bex.BotoCoreError | OSError):
        return NetworkError(f"The request to {where} failed ({type(exc).__name__})")
    return UploadRetryable(f"Unexpected error talking to {where} ({type(exc).__name__})")


def _code(exc: BaseException) -> str:
    if isinstance(exc, bex.ClientError):
        return _client_error_parts(exc)[0]
    return ""


def _norm_etag(etag: str) -> str:
    return etag.strip().strip('"')


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def composite_sha256(parts: list[CompletedPart]) -> str | None:
    """S3's checksum of a multipart object: SHA-256 of the parts' SHA-256 digests (base64)."""
    digests = []
    for part in sorted(parts, key=lambda p: p.partNumber):
        if not part.checksum:
            return None
        digests.append(base64.b64decode(part.checksum))
    return _b64(hashlib.sha256(b"".join(digests)).digest())


# --- streaming part bodies -------------------------------------------------------
class _Stopped(Exception):
    """Raised from inside a request body to abandon the part (cancel)."""


SEND_CHUNK = 256 * 1024


class _PartBody:
    """A part's bytes as a seekable stream that checks for cancel between reads.

    The sender (urllib3) pulls the body in 16 KiB reads and makes one send()
    per read; `read` hands out at least SEND_CHUNK bytes instead, which cuts the
    syscalls 16-fold and still checks for a cancel every 256 KiB, i.e. within
    milliseconds. Only urllib3 reads this body: the
    checksum is computed here and payload signing is off, so botocore never
    reads it to hash it. `readinto` keeps the exact size contract.
    """

    def __init__(self, data: memoryview, stop: Callable[[], bool], on_read: Callable[[int], None]) -> None:
        self._data = data
        self._pos = 0
        self._stop = stop
        self._on_read = on_read

    def __len__(self) -> int:
        return len(self._data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: len(self._data)}[whence]
        self._pos = max(0, min(len(self._data), base + offset))
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and 0 <= size < SEND_CHUNK:
            size = SEND_CHUNK
        return self._take(size)

    def readinto(self, buffer: Any) -> int:
        chunk = self._take(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def _take(self, size: int | None) -> bytes:
        if self._stop():
            raise _Stopped()
        end = len(self._data) if size is None or size < 0 else min(len(self._data), self._pos + size)
        chunk = bytes(self._data[self._pos : end])
        self._pos = end
        if chunk:
            self._on_read(len(chunk))
        return chunk


# --- the service -----------------------------------------------------------------
class UploadService:
    """UploadEngine on S3 (or any S3-compatible store)."""

    def __init__(
        self,
        config: UploadConfig,
        *,
        clock: Clock | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
        part_attempts: int = PART_ATTEMPTS,
    ) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.part_attempts = max(1, part_attempts)
        self.concurrency = max(1, config.maxConcurrency)
        register_secret(config.secretAccessKey)
        register_secret(config.sessionToken)
        self._client_obj: Any = None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:  # never shows a secret
        return f"UploadService(bucket={self.config.bucket!r}, endpoint={self.config.endpointUrl!r})"

    # boto3 ----------------------------------------------------------------------
    @property
    def _where(self) -> str:
        return self.config.endpointUrl or "S3"

    def _client(self) -> Any:
        with self._client_lock:
            if self._client_obj is None:
                self._client_obj = self._make_client()
            return self._client_obj

    def _make_client(self) -> Any:
        cfg = self.config
        compat = "when_required" if cfg.compatibility else "when_supported"
        botocfg = Config(
            region_name=cfg.region or None,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            # Retries belong to this module (per part) and to the queue (per upload).
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=self.concurrency + 4,
            tcp_keepalive=True,
            s3={
                "addressing_style": "path" if cfg.pathStyle else "auto",
                # Each part already carries a checksum the store verifies; signing the
                # payload too would hash every byte a second time (botocore does so
                # on plain http unless told not to).
                "payload_signing_enabled": False,
            },
            request_checksum_calculation=compat,
            response_checksum_validation=compat,
            user_agent_extra="traycap",
            # Presigned links otherwise fall back to SigV2, which newer regions refuse.
            signature_version="s3v4",
        )
        try:
            if cfg.profile and not cfg.accessKeyId:
                session = boto3.Session(profile_name=cfg.profile)
            else:
                session = boto3.Session()
            kwargs: dict[str, Any] = {"config": botocfg}
            if cfg.endpointUrl:
                kwargs["endpoint_url"] = cfg.endpointUrl
            if cfg.accessKeyId and not cfg.useDefaultCredentials:
                kwargs["aws_access_key_id"] = cfg.accessKeyId
                kwargs["aws_secret_access_key"] = cfg.secretAccessKey
                if cfg.sessionToken:
                    kwargs["aws_session_token"] = cfg.sessionToken
            client = session.client("s3", **kwargs)
        except Exception as exc:
            raise classify_error(exc, bucket=cfg.bucket, endpoint=self._where) from exc
        return client

    def _call(self, op: str, **params: Any) -> Any:
        try:
            return getattr(self._client(), op)(Bucket=self.config.bucket, **params)
        except UploadError:
            raise
        except Exception as exc:
            raise classify_error(exc, bucket=self.config.bucket, endpoint=self._where) from exc

    # small operations -------------------------------------------------------------
    def validate_credentials(self) -> CredentialCheck:
        """HeadBucket. A HEAD answer has no body, so a 403 is asked again with a
        one-key listing whose XML error says which of key, secret or permission is wrong."""
        try:
            self._call("head_bucket")
        except UploadError as err:
            cause = err.__cause__
            if isinstance(err, AccessDenied) and _code(cause or err) in ("403", "Forbidden", ""):
                try:
                    self._call("list_objects_v2", MaxKeys=1)
                except UploadError as precise:
                    err = precise
                else:
                    return CredentialCheck(True)
            return CredentialCheck(False, err.user_text())
        return CredentialCheck(True)

    def share_link(self, key: str, expires_s: int) -> str:
        if not 1 <= expires_s <= 7 * 24 * 3600:
            raise BadRequest(f"A share link can last 1 s to 7 days, not {expires_s} s")
        try:
            url: str = self._client().generate_presigned_url(
                "get_object", Params={"Bucket": self.config.bucket, "Key": key}, ExpiresIn=expires_s
            )
        except UploadError:
            raise
        except Exception as exc:
            raise classify_error(exc, bucket=self.config.bucket, endpoint=self._where) from exc
        return url

    def abort(self, key: str, upload_id: str) -> None:
        """AbortMultipartUpload; an upload that is already gone counts as aborted."""
        try:
            self._call("abort_multipart_upload", Key=key, UploadId=upload_id)
        except UploadError as err:
            if _code(err.__cause__ or err) != "NoSuchUpload":
                raise

    def head(self, key: str, *, forbidden_is_missing: bool = False) -> dict[str, Any] | None:
        """HeadObject, or None when there is no such object.

        `forbidden_is_missing`: S3 answers a bare 403 (a HEAD has no error body)
        for a missing key when the credentials lack s3:ListBucket, and also for a
        wrong key or secret; before an upload both mean "go on", and the upload's
        own first request then says precisely what is wrong."""
        params: dict[str, Any] = {"Key": key}
        if not self.config.compatibility:
            params["ChecksumMode"] = "ENABLED"
        try:
            result: dict[str, Any] = self._call("head_object", **params)
        except UploadError as err:
            cause = err.__cause__
            if isinstance(cause, bex.ClientError):
                code, status, _ = _client_error_parts(cause)
                if status == 404 and code != "NoSuchBucket":
                    return None
                if status == 403 and forbidden_is_missing and code in ("403", "Forbidden", ""):
                    return None
            raise
        return result

    def list_parts(self, key: str, upload_id: str) -> dict[int, dict[str, Any]]:
        """Every part S3 holds for an upload (ListParts pages through > 1,000 parts)."""
        parts: dict[int, dict[str, Any]] = {}
        marker = 0
        while True:
            page = self._call("list_parts", Key=key, UploadId=upload_id, MaxParts=1000, PartNumberMarker=marker)
            for part in page.get("Parts", []):
                parts[int(part["PartNumber"])] = part
            next_marker = int(page.get("NextPartNumberMarker") or 0)
            if not page.get("IsTruncated") or next_marker <= marker:
                return parts
            marker = next_marker

    # the upload ---------------------------------------------------------------------
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
        run = _Run(self, Path(zip_path), key, sha256, resume, on_progress, on_checkpoint, cancel)
        return run.run()


@dataclass
class _Event:
    kind: str  # "sent" | "done" | "failed"
    part: int
    value: Any = None


class _Run:
    """One upload_file call: its state lives here, not on the (shared) service."""

    def __init__(
        self,
        service: UploadService,
        path: Path,
        key: str,
        sha256: str | None,
        resume: ResumePoint | None,
        on_progress: ProgressFn,
        on_checkpoint: CheckpointFn,
        cancel: CancelToken,
    ) -> None:
        self.s = service
        self.cfg = service.config
        self.path = path
        self.key = key
        self.expected_sha = sha256.lower() if sha256 else None
        self.resume = resume
        self.on_progress = on_progress
        self.on_checkpoint = on_checkpoint
        self.cancel = cancel
        self.size = 0
        self.bytes_sent = 0
        self._sent_lock = threading.Lock()
        self._reported = -1
        self._events: queue.Queue[_Event] = queue.Queue()
        self._stop_sending = threading.Event()  # set on CANCEL or a permanent error

    # helpers ----------------------------------------------------------------------
    def _progress(self, done: int) -> None:
        done = min(self.size, done)
        if done > self._reported:
            self._reported = done
            self.on_progress(done, self.size)

    def _count_sent(self, n: int) -> None:
        with self._sent_lock:
            self.bytes_sent += n

    def _cancelled(self) -> UploadCancelled:
        if self.cancel.kind is StopKind.SHUTDOWN:
            return UploadCancelled("Upload paused because traycap is quitting", "it continues at the next start")
        return UploadCancelled("Upload cancelled", "")

    def _stat(self) -> int:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise ZipMissing(f"The session zip {self.path} is missing") from None
        except OSError as exc:
            raise ZipMissing(f"The session zip {self.path} cannot be read: {exc.strerror}") from exc
        return st.st_size

    def _open(self) -> io.BufferedReader:
        try:
            return self.path.open("rb")
        except FileNotFoundError:
            raise ZipMissing(f"The session zip {self.path} is missing") from None
        except OSError as exc:
            raise ZipMissing(f"The session zip {self.path} cannot be read: {exc.strerror}") from exc

    def _file_sha256(self) -> str:
        digest = hashlib.sha256()
        with self._open() as f:
            while chunk := f.read(_HASH_CHUNK):
                if self.cancel.cancelled:
                    raise self._cancelled()
                digest.update(chunk)
        return digest.hexdigest()

    def _part_checksum(self, data: memoryview) -> str:
        if self.cfg.compatibility:
            return _b64(hashlib.md5(data).digest())  # noqa: S324  # Content-MD5 is what the store verifies
        return _b64(hashlib.sha256(data).digest())

    def _checksum_param(self, checksum: str) -> dict[str, str]:
        return {"ContentMD5": checksum} if self.cfg.compatibility else {"ChecksumSHA256": checksum}

    def _stop_now(self) -> bool:
        return self._stop_sending.is_set() or self.cancel.kind is StopKind.CANCEL

    def _drop_resume(self, upload_id: str | None) -> None:
        if upload_id:
            with contextlib.suppress(UploadError):
                self.s.abort(self.key, upload_id)
        self.on_checkpoint(None)

    # the steps --------------------------------------------------------------------
    def run(self) -> UploadResult:
        self.size = self._stat()
        if self.cancel.cancelled:
            if self.resume is not None and self.cancel.kind is StopKind.CANCEL:
                self._drop_resume(self.resume.uploadId)
            raise self._cancelled()
        if self.expected_sha is None:
            self.expected_sha = self._file_sha256()
        present = self.s.head(self.key, forbidden_is_missing=True)
        if present is not None and self._matches(present):
            if self.resume is not None:
                self._drop_resume(self.resume.uploadId)
            self._progress(self.size)
            log.info("%s is already in the bucket with the same SHA-256; not sent again", self.key)
            return UploadResult(self.key, self.size, self.expected_sha, 0, alreadyPresent=True)

        part_size = part_size_for(self.size, self.cfg.partSizeBytes)
        resume = self._usable_resume()
        if resume is None and self.size <= part_size:
            return self._put_single()
        return self._multipart(resume.partSize if resume else part_size, resume)

    def _matches(self, head: dict[str, Any]) -> bool:
        meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        return int(head.get("ContentLength", -1)) == self.size and meta.get(META_SHA256) == self.expected_sha

    def _usable_resume(self) -> ResumePoint | None:
        r = self.resume
        if r is None:
            return None
        fits = r.partSize >= MIN_PART_SIZE and (self.size + r.partSize - 1) // r.partSize <= MAX_PARTS
        # Parts sent before the compatibility setting was switched carry the other kind of
        # checksum (MD5 vs SHA-256): they can neither be checked against the file nor completed.
        digest_size = 16 if self.cfg.compatibility else 32
        same_kind = all(p.checksum is None or _digest_size(p.checksum) == digest_size for p in r.parts)
        if not fits or not same_kind or self.size <= 0:
            log.info("resume point for %s does not fit the file; starting again", self.key)
            self._drop_resume(r.uploadId)
            return None
        return r

    def _put_single(self) -> UploadResult:
        with self._open() as f:
            data = memoryview(f.read(self.size + 1))
        if len(data) != self.size or hashlib.sha256(data).hexdigest() != self.expected_sha:
            raise self._changed()
        checksum = self._part_checksum(data)
        params = {
            "Key": self.key,
            "ContentLength": self.size,
            "ContentType": "application/zip",
            "Metadata": {META_SHA256: self.expected_sha},
            **self._checksum_param(checksum),
        }
        try:
            self._with_retries(0, lambda: self._send("put_object", 0, data, params, direct=True))
        except _Stopped:
            raise self._cancelled() from None
        assert self.expected_sha is not None
        self._progress(self.size)
        self._verify(single_checksum=None if self.cfg.compatibility else checksum, parts=None)
        return UploadResult(self.key, self.size, self.expected_sha, self.bytes_sent)

    def _changed(self) -> ZipChanged:
        return ZipChanged(f"The session zip {self.path} changed after it was exported")

    def _send(
        self, op: str, part: int, data: memoryview, params: dict[str, Any], *, direct: bool = False
    ) -> dict[str, Any]:
        """One request with a streamed body; progress events flow to the caller's thread.

        `direct`: this runs on the caller's thread (a single PutObject), so progress is
        reported at once; the caller's on_progress is also where a cancel written by
        another process is noticed, which must not wait until the whole file is sent.
        """
        sent = [0]
        pending = [0]

        def on_read(n: int) -> None:
            sent[0] += n
            pending[0] += n
            self._count_sent(n)
            if pending[0] >= PROGRESS_STEP:
                pending[0] = 0
                if direct:
                    self._progress(sent[0])
                else:
                    self._events.put(_Event("sent", part, sent[0]))

        body = _PartBody(data, self._stop_now, on_read)
        try:
            result: dict[str, Any] = getattr(self.s._client(), op)(Bucket=self.cfg.bucket, Body=body, **params)
        except _Stopped:
            raise
        except Exception as exc:
            # botocore wraps what the body raised in HTTPClientError(error=...).
            if self._stop_now() or isinstance(getattr(exc, "kwargs", {}).get("error"), _Stopped):
                raise _Stopped() from exc
            self._events.put(_Event("sent", part, 0))  # this attempt's bytes do not count
            raise classify_error(exc, bucket=self.cfg.bucket, endpoint=self.s._where) from exc
        return result

    def _with_retries(self, part: int, attempt_fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        for attempt in range(1, self.s.part_attempts + 1):
            try:
                return attempt_fn()
            except UploadError as err:
                last = attempt >= self.s.part_attempts
                gone = _code(err.__cause__ or err) == "NoSuchUpload"
                if not err.transient or last or gone or self._stop_now():
                    raise
                log.info("part %d: %s; retrying (%d/%d)", part, err.message, attempt, self.s.part_attempts)
                woken = self.s.clock.sleep(PART_RETRY_BASE_S * 2 ** (attempt - 1), wake=self.cancel.event)
                if woken and self._stop_now():
                    raise _Stopped() from None
        raise AssertionError("unreachable")

    def _multipart(self, part_size: int, resume: ResumePoint | None) -> UploadResult:
        assert self.expected_sha is not None
        ranges = part_ranges(self.size, part_size)
        done: dict[int, CompletedPart] = {}
        upload_id: str | None = None
        if resume is not None:
            upload_id, done = self._reconcile(resume, ranges)
        if upload_id is None:
            params: dict[str, Any] = {
                "Key": self.key,
                "ContentType": "application/zip",
                "Metadata": {META_SHA256: self.expected_sha},
            }
            if not self.cfg.compatibility:
                params["ChecksumAlgorithm"] = "SHA256"
            upload_id = str(self.s._call("create_multipart_upload", **params)["UploadId"])
            done = {}
            self.on_checkpoint(ResumePoint(upload_id, part_size, ()))

        self._progress(sum(p.size for p in done.values()))
        try:
            self._send_parts(upload_id, part_size, ranges, done)
        except UploadCancelled:
            raise
        except (ZipChanged, ZipMissing):
            self._drop_resume(upload_id)
            raise
        except UploadError as err:
            if _code(err.__cause__ or err) == "NoSuchUpload":
                self.on_checkpoint(None)
            raise
        self._complete(upload_id, done)
        self._verify(single_checksum=None, parts=list(done.values()))
        return UploadResult(self.key, self.size, self.expected_sha, self.bytes_sent)

    def _reconcile(
        self, resume: ResumePoint, ranges: list[tuple[int, int, int]]
    ) -> tuple[str | None, dict[int, CompletedPart]]:
        """Keep the checkpointed parts S3 still has, byte for byte the same size and ETag."""
        try:
            listed = self.s.list_parts(self.key, resume.uploadId)
        except UploadError as err:
            if _code(err.__cause__ or err) == "NoSuchUpload":
                log.info("upload %s of %s is gone (expired or aborted); starting again", resume.uploadId, self.key)
                self.on_checkpoint(None)
                return None, {}
            raise
        lengths = {n: length for n, _, length in ranges}
        done: dict[int, CompletedPart] = {}
        for part in resume.parts:
            got = listed.get(part.partNumber)
            if (
                got is not None
                and lengths.get(part.partNumber) == part.size == int(got.get("Size", -1))
                and _norm_etag(str(got.get("ETag", ""))) == _norm_etag(part.etag)
            ):
                done[part.partNumber] = part
        log.info("resuming %s: %d of %d parts already in the bucket", self.key, len(done), len(ranges))
        if len(done) != len(resume.parts):
            self.on_checkpoint(ResumePoint(resume.uploadId, resume.partSize, tuple(sorted(done.values(), key=_num))))
        return resume.uploadId, done

    def _send_parts(
        self, upload_id: str, part_size: int, ranges: list[tuple[int, int, int]], done: dict[int, CompletedPart]
    ) -> None:
        """Read the file once in part order; send missing parts, up to `concurrency` at a time."""
        whole = hashlib.sha256()
        in_flight: dict[int, int] = {}  # part -> bytes sent so far (progress)
        failures: list[UploadError] = []
        concurrency = self.s.concurrency
        done_bytes = sum(p.size for p in done.values())

        def handle(event: _Event) -> None:
            nonlocal done_bytes
            if event.kind == "sent":
                if event.part in in_flight:
                    in_flight[event.part] = int(event.value)
            elif event.kind == "done":
                in_flight.pop(event.part, None)
                part: CompletedPart = event.value
                done[part.partNumber] = part
                done_bytes += part.size
                self.on_checkpoint(ResumePoint(upload_id, part_size, tuple(sorted(done.values(), key=_num))))
            elif event.kind == "failed":
                in_flight.pop(event.part, None)
                if not isinstance(event.value, _Stopped):
                    failures.append(event.value)
                    if not event.value.transient:
                        self._stop_sending.set()
            self._progress(done_bytes + sum(in_flight.values()))

        def pump(timeout: float) -> None:
            try:
                handle(self._events.get(timeout=timeout))
                while True:
                    handle(self._events.get_nowait())
            except queue.Empty:
                pass

        def should_stop() -> bool:
            return bool(failures) or self.cancel.cancelled

        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="traycap-part")
        try:
            with self._open() as f:
                for number, offset, length in ranges:
                    while len(in_flight) >= concurrency and not should_stop():
                        pump(0.1)
                    pump(0)
                    if should_stop():
                        break
                    buf = bytearray(length)
                    f.seek(offset)
                    if f.readinto(buf) != length:
                        raise self._changed()
                    view = memoryview(buf)
                    whole.update(view)
                    if number in done:
                        # A resumed part holds the bytes of an earlier attempt: if the file
                        # changed since, completing would put a corrupt bundle in the bucket.
                        kept = done[number].checksum
                        if kept and self._part_checksum(view) != kept:
                            raise self._changed()
                        continue
                    in_flight[number] = 0
                    pool.submit(self._part_worker, upload_id, number, view)
            deadline = None
            while in_flight:
                if self.cancel.kind is StopKind.CANCEL:
                    deadline = deadline or self.s.clock.monotonic() + CANCEL_GRACE_S
                    if self.s.clock.monotonic() >= deadline:
                        break  # a worker stuck in a read: abort anyway, it will fail on its own
                pump(0.1)
        finally:
            pool.shutdown(wait=not self.cancel.cancelled, cancel_futures=True)

        if self.cancel.cancelled:
            if self.cancel.kind is StopKind.CANCEL:
                self._drop_resume(upload_id)
            raise self._cancelled()
        if failures:
            permanent = [f for f in failures if not f.transient]
            raise (permanent or failures)[0]
        if self._stat() != self.size or whole.hexdigest() != self.expected_sha:
            raise self._changed()

    def _part_worker(self, upload_id: str, number: int, data: memoryview) -> None:
        try:
            checksum = self._part_checksum(data)
            params = {
                "Key": self.key,
                "UploadId": upload_id,
                "PartNumber": number,
                "ContentLength": len(data),
                **self._checksum_param(checksum),
            }
            result = self._with_retries(number, lambda: self._send("upload_part", number, data, params))
            part = CompletedPart(number, _norm_etag(str(result["ETag"])), len(data), checksum)
            self._events.put(_Event("done", number, part))
        except (_Stopped, UploadError) as exc:
            self._events.put(_Event("failed", number, exc))
        except Exception as exc:  # a bug here must not hang the reader
            self._events.put(_Event("failed", number, classify_error(exc, bucket=self.cfg.bucket)))

    def _complete(self, upload_id: str, done: dict[int, CompletedPart]) -> None:
        parts = []
        for part in sorted(done.values(), key=_num):
            entry: dict[str, Any] = {"PartNumber": part.partNumber, "ETag": f'"{part.etag}"'}
            if part.checksum and not self.cfg.compatibility:
                entry["ChecksumSHA256"] = part.checksum
            parts.append(entry)
        maybe_completed = False  # an earlier attempt may have reached the store (its answer was lost)
        for attempt in range(1, self.s.part_attempts + 1):
            try:
                self.s._call(
                    "complete_multipart_upload", Key=self.key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
                break
            except UploadError as err:
                gone = _code(err.__cause__ or err) == "NoSuchUpload"
                if gone and maybe_completed:
                    # An earlier attempt completed it but its answer was lost: _verify decides.
                    break
                if gone or not err.transient or attempt >= self.s.part_attempts:
                    # Gone without an earlier attempt: expired or aborted elsewhere, so the
                    # next attempt starts afresh (a retryable error, not a failed verification).
                    if gone:
                        self.on_checkpoint(None)
                    raise
                maybe_completed = True
                self.s.clock.sleep(PART_RETRY_BASE_S * 2 ** (attempt - 1), wake=self.cancel.event)
        self.on_checkpoint(None)

    def _verify(self, *, single_checksum: str | None, parts: list[CompletedPart] | None) -> None:
        head = self.s.head(self.key)
        if head is None:
            raise VerificationFailed(f"{self.key} is not in the bucket after the upload completed")
        stored = int(head.get("ContentLength", -1))
        if stored != self.size:
            raise VerificationFailed(f"{self.key} has {stored} bytes in the bucket, the zip has {self.size}")
        meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
        if META_SHA256 in meta and meta[META_SHA256] != self.expected_sha:
            raise VerificationFailed(f"{self.key} in the bucket has another SHA-256 than the zip")
        reported = head.get("ChecksumSHA256")
        if reported and not self.cfg.compatibility:
            value, _, count = str(reported).partition("-")
            expected = {single_checksum} if single_checksum else set()
            if parts:
                composite = composite_sha256(parts)
                if composite:
                    expected.add(composite)
            if expected and value not in expected:
                raise VerificationFailed(f"{self.key} in the bucket has another checksum than the zip")
            if parts and count and int(count) != len(parts):
                raise VerificationFailed(f"{self.key} was assembled from {count} parts, not {len(parts)}")


def _digest_size(checksum: str) -> int:
    try:
        return len(base64.b64decode(checksum, validate=True))
    except ValueError:  # binascii.Error: not base64 (a hand-edited state file)
        return -1


def _num(part: CompletedPart) -> int:
    return part.partNumber


__all__ = ["UploadService", "classify_error", "composite_sha256"]
