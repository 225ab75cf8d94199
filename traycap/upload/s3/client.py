"""The S3 calls traycap makes, on one boto3 client: the only module that imports boto3/botocore.

Library errors are translated here, at the boundary (`classify_error`): an
answer from S3 through the table in classify.py, a failure without an answer
(timeout, reset, no credentials) through `TRANSPORT_ERRORS` below. Nothing
above this module sees a botocore exception or a boto3 response shape it did
not ask for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
import botocore.exceptions as bex
from botocore.config import Config

from traycap.errors import (
    BadRequest,
    CredentialsRejected,
    NetworkError,
    UploadError,
    UploadRetryable,
)
from traycap.models import CompletedPart, UploadConfig
from traycap.upload.s3.body import PartBody, Stopped
from traycap.upload.s3.calls import ListedPart
from traycap.upload.s3.classify import NET_HINT, Answer, classify_answer
from traycap.upload.s3.integrity import META_SHA256, Checksum, norm_etag

CONNECT_TIMEOUT_S = 5.0
# Per socket read, not per request: a part's body may take minutes on a slow link.
READ_TIMEOUT_S = 30.0
CONTENT_TYPE = "application/zip"

# Failures without an answer from S3, by exception type: the first row that matches wins.
Translate = Callable[[BaseException, str], UploadError]
TRANSPORT_ERRORS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], Translate], ...] = (
    (bex.ConnectTimeoutError, lambda e, where: NetworkError(f"Timed out connecting to {where}", NET_HINT)),
    (bex.ReadTimeoutError, lambda e, where: NetworkError(f"{where} did not answer in time")),
    ((bex.EndpointConnectionError, bex.ProxyConnectionError),
     lambda e, where: NetworkError(f"Cannot reach {where}", NET_HINT)),
    (bex.SSLError, lambda e, where: NetworkError(
        f"The TLS connection to {where} failed", "check the endpoint URL and the system's certificates")),
    ((bex.ConnectionClosedError, bex.ResponseStreamingError, bex.IncompleteReadError),
     lambda e, where: NetworkError(f"The connection to {where} was closed mid-request")),
    ((bex.HTTPClientError, ConnectionError, TimeoutError),
     lambda e, where: NetworkError(f"The connection to {where} failed")),
    ((bex.NoCredentialsError, bex.PartialCredentialsError), lambda e, where: CredentialsRejected(
        "No S3 credentials were found", "enter an access key and secret in Upload settings")),
    (bex.ProfileNotFound, lambda e, where: CredentialsRejected(
        f"The AWS profile {getattr(e, 'kwargs', {}).get('profile', '')!r} was not found",
        "check the profile name in Upload settings (~/.aws/config)")),
    ((bex.CredentialRetrievalError, bex.NoAuthTokenError), lambda e, where: CredentialsRejected(
        "The AWS credentials could not be loaded", "check the profile in Upload settings")),
    ((bex.ParamValidationError, bex.InvalidRegionError, bex.NoRegionError), lambda e, where: BadRequest(
        "The upload settings produce an invalid S3 request", "check the bucket, region and key prefix")),
    ((bex.BotoCoreError, OSError),
     lambda e, where: NetworkError(f"The request to {where} failed ({type(e).__name__})")),
)


def answer_of(exc: bex.ClientError) -> Answer:
    response: dict[str, Any] = exc.response or {}
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if not isinstance(status, int):
        status = int(code) if code.isdigit() else None
    return Answer(code, status, str(error.get("Message") or "").strip()[:200])


def classify_error(exc: BaseException, *, bucket: str = "", endpoint: str | None = None) -> UploadError:
    """Translate a botocore/network exception into the traycap error tree. Pure: no I/O."""
    if isinstance(exc, UploadError):
        return exc
    if isinstance(exc, bex.ClientError):
        return classify_answer(answer_of(exc), bucket=bucket, endpoint=endpoint)
    where = endpoint or "S3"
    for kinds, translate in TRANSPORT_ERRORS:
        if isinstance(exc, kinds):
            return translate(exc, where)
    return UploadRetryable(f"Unexpected error talking to {where} ({type(exc).__name__})")


class S3Client:
    """One bucket's S3 calls. Every failure is a traycap UploadError; a request body that was
    told to stop raises Stopped. Thread-safe: parts are sent from a pool."""

    def __init__(
        self,
        config: UploadConfig,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
        pool_size: int = 8,
    ) -> None:
        self.config = config
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._pool_size = pool_size
        self._boto_client: Any = None
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        """The endpoint URL for messages ("S3" for AWS itself)."""
        return self.config.endpointUrl or "S3"

    @property
    def bucket(self) -> str:
        return self.config.bucket

    # --- bucket ---------------------------------------------------------------
    def head_bucket(self) -> None:
        self._call("head_bucket")

    def list_one_key(self) -> None:
        """A one-key listing: unlike a HEAD, its error answer says which of key, secret or permission is wrong."""
        self._call("list_objects_v2", MaxKeys=1)

    def presign_get(self, key: str, expires_s: int) -> str:
        def presign() -> Any:
            return self._client().generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s
            )

        return str(self._translated(presign))

    # --- objects --------------------------------------------------------------
    def head_object(self, key: str, *, forbidden_is_missing: bool = False) -> dict[str, Any] | None:
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
            if err.status == 404 and err.code != "NoSuchBucket":
                return None
            if err.status == 403 and forbidden_is_missing and err.code in (None, "403", "Forbidden"):
                return None
            raise
        return result

    def put_object(self, key: str, body: PartBody, *, sha256: str, checksum: Checksum) -> None:
        self._send(
            "put_object", body, Key=key, ContentLength=len(body), ContentType=CONTENT_TYPE,
            Metadata={META_SHA256: sha256}, **self._checksum(checksum), **self._encryption(),
        )

    def put_bytes(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]) -> None:
        """PutObject of a small object held in memory (the player page, a sidecar), with a checksum
        the store verifies (as a part's) and the encryption asked for."""
        checksum = Checksum.of(data, md5=self.config.compatibility)
        self._call(
            "put_object", Key=key, Body=data, ContentLength=len(data), ContentType=content_type,
            Metadata=metadata, **self._checksum(checksum), **self._encryption(),
        )

    def get_bytes(self, key: str, *, limit: int) -> bytes | None:
        """GetObject of a small object (at most `limit` bytes read), or None when there is none."""
        try:
            result = self._call("get_object", Key=key, Range=f"bytes=0-{limit - 1}")
        except UploadError as err:
            if err.status == 404 and err.code != "NoSuchBucket":
                return None
            if err.status == 416:  # an empty object: no byte 0 to start the range at
                return b""
            raise
        body = result["Body"]
        try:
            return bytes(self._translated(lambda: body.read(limit)))
        finally:
            body.close()

    def list_page(self, prefix: str, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ListObjectsV2 under `prefix` (up to 1,000 keys): (objects, next page's token)."""
        params: dict[str, Any] = {"Prefix": prefix, "MaxKeys": 1000}
        if token:
            params["ContinuationToken"] = token
        page = self._call("list_objects_v2", **params)
        objects = [{"key": str(o["Key"]), "size": int(o.get("Size", 0)),
                    "modified": o.get("LastModified")} for o in page.get("Contents", [])]
        following = page.get("NextContinuationToken") if page.get("IsTruncated") else None
        return objects, str(following) if following else None

    # --- multipart ------------------------------------------------------------
    def create_multipart_upload(self, key: str, *, sha256: str | None) -> str:
        params: dict[str, Any] = {"Key": key, "ContentType": CONTENT_TYPE, **self._encryption()}
        if sha256 is not None:
            params["Metadata"] = {META_SHA256: sha256}
        if not self.config.compatibility:
            params["ChecksumAlgorithm"] = "CRC32"
        return str(self._call("create_multipart_upload", **params)["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, body: PartBody, checksum: Checksum) -> str:
        """UploadPart; returns the part's ETag (without quotes)."""
        result = self._send(
            "upload_part", body, Key=key, UploadId=upload_id, PartNumber=number, ContentLength=len(body),
            **self._checksum(checksum),
        )
        return norm_etag(str(result["ETag"]))

    def list_parts(self, key: str, upload_id: str) -> dict[int, ListedPart]:
        """Every part S3 holds for an upload (ListParts pages through > 1,000 parts)."""
        parts: dict[int, ListedPart] = {}
        marker = 0
        while True:
            page = self._call("list_parts", Key=key, UploadId=upload_id, MaxParts=1000, PartNumberMarker=marker)
            for part in page.get("Parts", []):
                number = int(part["PartNumber"])
                parts[number] = ListedPart(number, norm_etag(str(part.get("ETag", ""))), int(part.get("Size", -1)))
            next_marker = int(page.get("NextPartNumberMarker") or 0)
            if not page.get("IsTruncated") or next_marker <= marker:
                return parts
            marker = next_marker

    def complete_multipart_upload(self, key: str, upload_id: str, parts: list[CompletedPart]) -> None:
        entries = []
        for part in sorted(parts, key=lambda p: p.partNumber):
            entry: dict[str, Any] = {"PartNumber": part.partNumber, "ETag": f'"{part.etag}"'}
            if part.checksum and not self.config.compatibility:
                entry["ChecksumCRC32"] = part.checksum
            entries.append(entry)
        self._call("complete_multipart_upload", Key=key, UploadId=upload_id, MultipartUpload={"Parts": entries})

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        self._call("abort_multipart_upload", Key=key, UploadId=upload_id)

    def stamp_sha256(self, key: str, *, sha256: str) -> None:
        # CopySource as a dict: botocore quotes the key. The metadata is exactly what PutObject
        # and CreateMultipartUpload set on the classic path (Content-Type, sha256, encryption).
        self._call(
            "copy_object", Key=key, CopySource={"Bucket": self.bucket, "Key": key}, MetadataDirective="REPLACE",
            ContentType=CONTENT_TYPE, Metadata={META_SHA256: sha256}, **self._encryption(),
        )

    def close(self) -> None:
        """Close the pooled connections (a paused queue holds none open); the next call reconnects."""
        with self._lock:
            client, self._boto_client = self._boto_client, None
        if client is not None:
            client.close()

    # --- boto3 ----------------------------------------------------------------
    def _encryption(self) -> dict[str, str]:
        """The server-side encryption asked for (on the requests that create an object)."""
        if self.config.sse == "none":
            return {}
        params = {"ServerSideEncryption": self.config.sse}
        if self.config.sse == "aws:kms" and self.config.sseKmsKeyId:
            params["SSEKMSKeyId"] = self.config.sseKmsKeyId
        return params

    @staticmethod
    def _checksum(checksum: Checksum) -> dict[str, str]:
        return {"ContentMD5": checksum.value} if checksum.md5 else {"ChecksumCRC32": checksum.value}

    def _send(self, op: str, body: PartBody, **params: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self._client(), op)(Bucket=self.bucket, Body=body, **params)
        except Stopped:
            raise
        except Exception as exc:
            # botocore wraps what the body raised in HTTPClientError(error=...).
            if isinstance(getattr(exc, "kwargs", {}).get("error"), Stopped):
                raise Stopped() from exc
            raise classify_error(exc, bucket=self.bucket, endpoint=self.endpoint) from exc
        return result

    def _call(self, op: str, **params: Any) -> Any:
        return self._translated(lambda: getattr(self._client(), op)(Bucket=self.bucket, **params))

    def _translated(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except UploadError:
            raise
        except Exception as exc:
            raise classify_error(exc, bucket=self.bucket, endpoint=self.endpoint) from exc

    def _client(self) -> Any:
        with self._lock:
            if self._boto_client is None:
                self._boto_client = self._make_client()
            return self._boto_client

    def _make_client(self) -> Any:
        cfg = self.config
        compat = "when_required" if cfg.compatibility else "when_supported"
        botocfg = Config(
            region_name=cfg.region or None,
            connect_timeout=self._connect_timeout,
            read_timeout=self._read_timeout,
            # Retries belong to the engine (per request) and to the queue (per upload).
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=self._pool_size,
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
            return session.client("s3", **kwargs)
        except Exception as exc:
            raise classify_error(exc, bucket=cfg.bucket, endpoint=self.endpoint) from exc
