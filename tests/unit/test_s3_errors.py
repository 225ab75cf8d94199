"""Error classification at the boto3 boundary: botocore exceptions -> the traycap error tree.

The exceptions are built the way botocore builds them (ClientError from a
parsed error response, EndpointConnectionError(endpoint_url=...)), so no
network and no patching is involved.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ProfileNotFound,
    ReadTimeoutError,
)

from traycap.errors import (
    AccessDenied,
    BadRequest,
    BucketNotFound,
    CredentialsRejected,
    EncryptionKeyRejected,
    NetworkError,
    ServerError,
    Throttled,
    UploadError,
    UploadGone,
)
from traycap.upload.s3 import classify_error

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def client_error(code: str, status: int, message: str = "", op: str = "UploadPart") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
        },
        op,
    )


@pytest.mark.parametrize(
    ("code", "status", "kind", "transient"),
    [
        ("InvalidAccessKeyId", 403, CredentialsRejected, False),
        ("SignatureDoesNotMatch", 403, CredentialsRejected, False),
        ("ExpiredToken", 400, CredentialsRejected, False),
        ("AccessDenied", 403, AccessDenied, False),
        ("403", 403, AccessDenied, False),  # HEAD answers have no body: only the status
        ("NoSuchBucket", 404, BucketNotFound, False),
        ("404", 404, BucketNotFound, False),  # HeadBucket on a missing bucket
        ("InvalidArgument", 400, BadRequest, False),
        ("EntityTooSmall", 400, BadRequest, False),
        ("MethodNotAllowed", 405, BadRequest, False),
        ("InternalError", 500, ServerError, True),
        ("500", 500, ServerError, True),
        ("BadGateway", 502, ServerError, True),
        ("SlowDown", 503, Throttled, True),
        ("503", 503, Throttled, True),
        ("ServiceUnavailable", 503, Throttled, True),
        ("Throttling", 400, Throttled, True),
        ("TooManyRequests", 429, Throttled, True),
        ("RequestTimeout", 400, NetworkError, True),
        ("BadDigest", 400, NetworkError, True),
        ("NoSuchUpload", 404, UploadGone, True),  # a ServerError: retried, starting afresh
        ("KMS.NotFoundException", 400, EncryptionKeyRejected, False),
        ("KMS.DisabledException", 400, EncryptionKeyRejected, False),
    ],
)
def test_client_errors(code: str, status: int, kind: type[UploadError], transient: bool) -> None:
    err = classify_error(client_error(code, status, "raw server text"), bucket="b")
    assert type(err) is kind
    assert err.transient is transient
    assert "botocore" not in err.user_text()
    assert "An error occurred" not in err.user_text()  # botocore's own wording
    assert (err.code, err.status) == (code, status)  # the facts, as fields


def test_no_such_upload_is_a_retryable_server_error() -> None:
    err = classify_error(client_error("NoSuchUpload", 404), bucket="b")
    assert isinstance(err, ServerError) and err.transient
    assert "no longer in the bucket" in err.message


def test_a_bare_head_answer_has_no_code() -> None:
    err = classify_error(client_error("", 404, op="HeadObject"), bucket="b")
    assert isinstance(err, BucketNotFound) and err.code is None and err.status == 404


def test_access_denied_to_the_kms_key_reads_as_a_key_problem() -> None:
    text = "User: arn:aws:iam::1:user/u is not authorized to perform: kms:GenerateDataKey on resource: arn:k"
    err = classify_error(client_error("AccessDenied", 403, text), bucket="b")
    assert isinstance(err, EncryptionKeyRejected) and not err.transient
    assert "KMS key" in err.message and "sseKmsKeyId" in err.hint
    plain = classify_error(client_error("AccessDenied", 403, "Access Denied"), bucket="b")
    assert type(plain) is AccessDenied


def test_transport_errors_have_no_code_or_status() -> None:
    err = classify_error(ReadTimeoutError(endpoint_url="http://h:1/x"), endpoint="http://h:1")
    assert err.code is None and err.status is None


def test_rejected_key_reads_as_the_issue_asks() -> None:
    err = classify_error(client_error("InvalidAccessKeyId", 403), bucket="b")
    assert err.user_text().startswith("S3 rejected the access key")
    assert "check Upload settings" in err.user_text()
    wrong_secret = classify_error(client_error("SignatureDoesNotMatch", 403), bucket="b")
    assert "secret key does not match" in wrong_secret.user_text()


def test_missing_bucket_names_the_bucket() -> None:
    err = classify_error(client_error("NoSuchBucket", 404, "The specified bucket does not exist"), bucket="my-bkt")
    assert "'my-bkt' does not exist" in err.message
    assert "bucket name" in err.hint


def test_bad_request_keeps_a_short_server_message_only() -> None:
    err = classify_error(client_error("InvalidArgument", 400, "x" * 5000), bucket="b")
    assert len(err.message) < 300


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
        ConnectTimeoutError(endpoint_url="http://127.0.0.1:9"),
        ReadTimeoutError(endpoint_url="http://127.0.0.1:9"),
        ConnectionClosedError(endpoint_url="http://127.0.0.1:9"),
        ConnectionResetError(104, "Connection reset by peer"),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
    ],
)
def test_network_failures_are_retryable(exc: Exception) -> None:
    err = classify_error(exc, bucket="b", endpoint="http://127.0.0.1:9")
    assert isinstance(err, NetworkError)
    assert err.transient
    assert "127.0.0.1:9" in err.message or "connection" in err.message.lower()


def test_read_timeout_message() -> None:
    err = classify_error(ReadTimeoutError(endpoint_url="http://h:1/x"), endpoint="http://h:1")
    assert err.message == "http://h:1 did not answer in time"


def test_missing_credentials_and_profile_are_permanent() -> None:
    assert isinstance(classify_error(NoCredentialsError()), CredentialsRejected)
    err = classify_error(ProfileNotFound(profile="work"))
    assert isinstance(err, CredentialsRejected)
    assert "'work'" in err.message
    assert not err.transient


def test_invalid_parameters_are_a_bad_request() -> None:
    err = classify_error(ParamValidationError(report="Invalid bucket name"))
    assert isinstance(err, BadRequest)
    assert not err.transient


def test_already_classified_errors_pass_through() -> None:
    original = Throttled("slow")
    assert classify_error(original) is original


def test_unknown_exceptions_become_a_retryable_upload_error_without_their_text() -> None:
    err = classify_error(RuntimeError(f"boom {SECRET}"))
    assert isinstance(err, UploadError)
    assert err.transient
    assert SECRET not in err.user_text()
    assert "RuntimeError" in err.message


def test_config_and_service_reprs_hide_the_secret() -> None:
    from traycap.models import UploadConfig
    from traycap.upload.s3 import UploadService

    config = UploadConfig(bucket="b", accessKeyId="AKIAEXAMPLE", secretAccessKey=SECRET, sessionToken="tok-" + SECRET)
    assert SECRET not in repr(config)
    assert SECRET not in repr(UploadService(config))
