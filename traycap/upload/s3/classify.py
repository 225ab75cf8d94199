"""What an S3 error answer means, as a table: (code, HTTP status) -> the traycap error.

Pure: no botocore, no I/O. The boto3 adapter (client.py) turns a botocore
ClientError into an `Answer` and asks `classify_answer`; transport failures
(no answer at all) are mapped there, by exception type. Every error keeps the
S3 code and status as fields; the message says what happened in words a
person can act on, with the code in parentheses for whoever reads the logs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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

NET_HINT = "check the network and the endpoint URL"

CREDENTIAL_CODES = {
    "InvalidAccessKeyId": "S3 does not know this access key",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "InvalidToken": "the session token is not valid",
    "ExpiredToken": "the session token has expired",
    "TokenRefreshRequired": "the session token has expired",
    "InvalidClientTokenId": "S3 does not know this access key",
    "AuthorizationHeaderMalformed": "the region or access key is malformed",
}
THROTTLE_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequests", "TooManyRequestsException", "RequestThrottled", "RequestThrottledException",
    "ProvisionedThroughputExceededException", "BandwidthLimitExceeded", "EC2ThrottledException",
})
# 4xx codes that mean "the bytes or the connection went wrong", not "the request is wrong".
TRANSIENT_4XX = frozenset({"RequestTimeout", "BadDigest", "XAmzContentSHA256Mismatch", "IncompleteBody"})
DENIED_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "AccountProblem"})
# S3 names the KMS failures it passes on "KMS.NotFoundException", "KMS.DisabledException", ...
KMS_PREFIX = "KMS."


@dataclass(frozen=True)
class Answer:
    """An S3 error answer: its code ("" when a HEAD answer had no body), HTTP status, short text."""

    code: str
    status: int | None
    text: str = ""

    @property
    def bare(self) -> bool:
        """A HEAD answer has no body: only the status says what went wrong."""
        return self.code in ("", str(self.status), "NotFound", "Forbidden")

    @property
    def tag(self) -> str:
        if self.code and not self.code.isdigit():
            return f" ({self.code})"
        return f" (HTTP {self.status})" if self.status else ""


@dataclass(frozen=True)
class Where:
    bucket: str
    endpoint: str  # the endpoint URL, or "S3"


Make = Callable[[Answer, Where], UploadError]


@dataclass(frozen=True)
class Rule:
    """One row: the answer matches if its code is in `codes`, starts with `prefix`, its status is in
    `statuses`, it is a bodiless answer with status `bare`, or `when` says so; the first row wins."""

    make: Make
    codes: frozenset[str] = frozenset()
    prefix: str | None = None
    statuses: frozenset[int] = frozenset()
    bare: int | None = None
    when: Callable[[Answer], bool] | None = None

    def matches(self, a: Answer) -> bool:
        return (
            a.code in self.codes
            or (self.prefix is not None and a.code.startswith(self.prefix))
            or a.status in self.statuses
            or (self.bare is not None and a.status == self.bare and a.bare)
            or (self.when is not None and self.when(a))
        )


def _credentials(a: Answer, w: Where) -> UploadError:
    why = CREDENTIAL_CODES[a.code]
    return CredentialsRejected(
        f"S3 rejected the access key: {why}{a.tag}", "check Upload settings", code=a.code, status=a.status
    )


def _skewed(a: Answer, w: Where) -> UploadError:
    return NetworkError(
        f"S3 refused the request because this computer's clock is wrong{a.tag}",
        "set the system clock (enable NTP); traycap will retry", code=a.code, status=a.status,
    )


def _throttled(a: Answer, w: Where) -> UploadError:
    return Throttled(f"S3 asked traycap to slow down{a.tag}", code=a.code, status=a.status)


def _no_bucket(a: Answer, w: Where) -> UploadError:
    return BucketNotFound(
        f"The bucket {w.bucket!r} does not exist{a.tag}", "check the bucket name and region in Upload settings",
        code=a.code, status=a.status,
    )


def _gone(a: Answer, w: Where) -> UploadError:
    return UploadGone(
        f"The multipart upload is no longer in the bucket (expired or aborted){a.tag}",
        "traycap will start this upload again", code=a.code, status=a.status,
    )


def _kms(a: Answer, w: Where) -> UploadError:
    detail = f": {a.text}" if a.text else ""
    return EncryptionKeyRejected(
        f"S3 could not use the KMS key to encrypt the upload{detail}{a.tag}", code=a.code, status=a.status
    )


def _denied(a: Answer, w: Where) -> UploadError:
    return AccessDenied(
        f"S3 denied access to bucket {w.bucket!r}{a.tag}",
        "check the access key, secret and the bucket's permissions in Upload settings", code=a.code, status=a.status,
    )


def _damaged(a: Answer, w: Where) -> UploadError:
    return NetworkError(f"The upload was interrupted or damaged in transit{a.tag}", code=a.code, status=a.status)


def _busy(a: Answer, w: Where) -> UploadError:
    return Throttled(f"The S3 server is busy{a.tag}", code=a.code, status=a.status)


def _server(a: Answer, w: Where) -> UploadError:
    return ServerError(f"The S3 server had an internal error{a.tag}", code=a.code, status=a.status)


def _refused(a: Answer, w: Where) -> UploadError:
    detail = f": {a.text}" if a.text else ""
    return BadRequest(
        f"S3 refused the request{detail}{a.tag}", "check Upload settings (endpoint, region, bucket)",
        code=a.code, status=a.status,
    )


def _mentions_kms(a: Answer) -> bool:
    """AccessDenied/InvalidArgument whose text is about the key ("not authorized to perform: kms:...")."""
    return a.code in DENIED_CODES | {"InvalidArgument", "KMSKeyNotFound"} and "kms" in a.text.lower()


RULES: tuple[Rule, ...] = (
    Rule(_credentials, codes=frozenset(CREDENTIAL_CODES)),
    Rule(_skewed, codes=frozenset({"RequestTimeTooSkewed"})),
    Rule(_throttled, codes=THROTTLE_CODES, statuses=frozenset({429})),
    Rule(_no_bucket, codes=frozenset({"NoSuchBucket"}), bare=404),
    Rule(_gone, codes=frozenset({"NoSuchUpload"})),
    Rule(_kms, prefix=KMS_PREFIX, when=_mentions_kms),
    Rule(_denied, codes=DENIED_CODES, bare=403),
    Rule(_damaged, codes=TRANSIENT_4XX),
    Rule(_busy, bare=503, when=lambda a: a.status == 503 and a.code == "ServiceUnavailable"),
    Rule(_server, when=lambda a: a.status is not None and a.status >= 500),
)


def classify_answer(answer: Answer, *, bucket: str = "", endpoint: str | None = None) -> UploadError:
    """The traycap error for an S3 error answer; a request S3 refused for another reason is a BadRequest."""
    where = Where(bucket, endpoint or "S3")
    for rule in RULES:
        if rule.matches(answer):
            return rule.make(answer, where)
    return _refused(answer, where)
