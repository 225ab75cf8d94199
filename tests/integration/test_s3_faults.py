"""Network faults between UploadService and a real S3 server, injected by tests/support/faultproxy.py.

Retry sleeps use a FakeClock, so no test waits for a backoff. A stalled
response costs one (short) read timeout, the only real wait here.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.faultproxy import FaultProxy, Request
from tests.support.s3servers import S3Server, random_file
from traycap.cancel import CancelToken, StopKind
from traycap.clock import FakeClock
from traycap.errors import (
    CredentialsRejected,
    NetworkError,
    ServerError,
    Throttled,
    UploadCancelled,
    UploadError,
    UploadRetryable,
    VerificationFailed,
)
from traycap.models import MIB
from traycap.upload.engine import ResumePoint, UploadResult
from traycap.upload.s3 import UploadService

pytestmark = pytest.mark.s3

READ_TIMEOUT_S = 2.0  # short, so a stall test is quick; long enough for a loaded 2-core CI box


@pytest.fixture
def proxy(rclone: S3Server) -> Iterator[FaultProxy]:
    with FaultProxy(rclone.host, rclone.port, stall_s=3 * READ_TIMEOUT_S + 5) as p:
        yield p


class Run:
    """An upload_file call, optionally on a thread, recording its callbacks."""

    def __init__(self, service: UploadService, path: Path, key: str, sha: str, resume: ResumePoint | None = None):
        self.service, self.path, self.key, self.sha, self.resume = service, path, key, sha, resume
        self.cancel = CancelToken()
        self.checkpoints: list[ResumePoint | None] = []
        self.progress: list[int] = []
        self.result: UploadResult | None = None
        self.error: BaseException | None = None
        self.ended = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def last_checkpoint(self) -> ResumePoint | None:
        return self.checkpoints[-1] if self.checkpoints else None

    def __call__(self) -> UploadResult:
        try:
            self.result = self.service.upload_file(
                self.path, self.key, sha256=self.sha, resume=self.resume,
                on_progress=lambda done, _total: self.progress.append(done),
                on_checkpoint=self.checkpoints.append, cancel=self.cancel,
            )
            return self.result
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.ended.set()

    def start(self) -> Run:
        def body() -> None:
            try:
                self()
            except BaseException:  # kept in self.error for the test to assert on
                return

        self._thread = threading.Thread(target=body, daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        assert self._thread is not None
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "upload_file did not return"


def service(s3: S3Server, proxy: FaultProxy, **overrides: object) -> UploadService:
    attempts = int(overrides.pop("part_attempts", 3))  # type: ignore[call-overload]
    return UploadService(
        s3.config(endpointUrl=proxy.url, **overrides),
        clock=FakeClock(),
        read_timeout=READ_TIMEOUT_S,
        connect_timeout=2.0,
        part_attempts=attempts,
    )


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_part(n: int) -> object:
    return lambda req: isinstance(req, Request) and req.part_number == n


FAULTS = [
    ("reset", NetworkError),
    ("stall", NetworkError),
    ("500", ServerError),
    ("503slowdown", Throttled),
]


@pytest.mark.parametrize(("kind", "error"), FAULTS)
def test_fault_on_a_part_is_retryable_and_the_next_attempt_resumes(
    rclone: S3Server, proxy: FaultProxy, tmp_path: Path, kind: str, error: type[UploadError]
) -> None:
    path = tmp_path / "z.zip"
    sha = random_file(path, 16 * MIB, seed=10)
    key = f"sessions/fault-{kind}.zip"
    proxy.fail_next(1, kind, op="UploadPart", match=lambda req: req.part_number == 2)
    first = Run(service(rclone, proxy, part_attempts=1, maxConcurrency=1), path, key, sha)
    with pytest.raises(error) as info:
        first()
    assert info.value.transient and isinstance(info.value, UploadRetryable)
    assert "botocore" not in info.value.user_text() and "An error occurred" not in info.value.user_text()
    assert proxy.faults_pending() == 0
    point = first.last_checkpoint
    assert point is not None and [p.partNumber for p in point.parts] == [1]  # the upload is kept for resume

    proxy.reset_stats()
    second = Run(service(rclone, proxy, maxConcurrency=1), path, key, sha, resume=point)
    result = second()
    assert proxy.count("CreateMultipartUpload") == 0 and proxy.count("ListParts") == 1
    assert proxy.count("UploadPart") == 3  # parts 2, 3, 4: part 1 is not sent again
    assert result.bytesSent == 16 * MIB - 5 * MIB
    assert digest(rclone.object_bytes(key)) == sha


@pytest.mark.parametrize(("kind", "_error"), FAULTS)
def test_one_fault_is_absorbed_inside_the_upload(
    rclone: S3Server, proxy: FaultProxy, tmp_path: Path, kind: str, _error: type
) -> None:
    path = tmp_path / "z.zip"
    sha = random_file(path, 12 * MIB, seed=11)
    key = f"sessions/absorbed-{kind}.zip"
    proxy.fail_next(1, kind, op="UploadPart")
    result = Run(service(rclone, proxy, maxConcurrency=2), path, key, sha)()
    assert proxy.faults_pending() == 0
    faulty = [e for e in proxy.requests if e.fault == kind]
    assert len(faulty) == 1 and faulty[0].op == "UploadPart"
    assert proxy.count("UploadPart", status=200) == 3
    assert result.size == 12 * MIB
    assert digest(rclone.object_bytes(key)) == sha


def test_a_lost_complete_answer_is_recovered(rclone: S3Server, proxy: FaultProxy, tmp_path: Path) -> None:
    path = tmp_path / "z.zip"
    sha = random_file(path, 11 * MIB, seed=12)
    proxy.fail_next(1, "stall", op="CompleteMultipartUpload")  # completed upstream, answer never arrives
    result = Run(service(rclone, proxy), path, "sessions/lost-complete.zip", sha)()
    assert result.size == 11 * MIB
    assert digest(rclone.object_bytes("sessions/lost-complete.zip")) == sha
    assert rclone.list_multipart_uploads() == []


def test_offline_endpoint_is_a_network_error(rclone: S3Server, proxy: FaultProxy, tmp_path: Path) -> None:
    path = tmp_path / "z.zip"
    sha = random_file(path, 6 * MIB, seed=13)
    proxy.set_offline(True)
    svc = service(rclone, proxy)
    with pytest.raises(NetworkError) as info:
        Run(svc, path, "sessions/offline.zip", sha)()
    assert info.value.transient
    assert proxy.url in info.value.message
    check = svc.validate_credentials()
    assert not check.valid and check.error is not None and proxy.url in check.error
    proxy.set_offline(False)
    assert Run(svc, path, "sessions/offline.zip", sha)().size == 6 * MIB


@pytest.mark.parametrize("field", ["secretAccessKey", "accessKeyId"])
def test_wrong_credentials_are_permanent_and_readable(rclone: S3Server, tmp_path: Path, field: str) -> None:
    # rclone checks SigV4 signatures (moto accepts any key)
    wrong = "wrong-secret-value-1234" if field == "secretAccessKey" else "NOSUCHKEY"
    svc = UploadService(rclone.config(**{field: wrong}), clock=FakeClock())
    path = tmp_path / "z.zip"
    sha = random_file(path, 6 * MIB, seed=14)
    with pytest.raises(CredentialsRejected) as info:
        Run(svc, path, "sessions/creds.zip", sha)()
    text = info.value.user_text()
    assert text.startswith("S3 rejected the access key") and "check Upload settings" in text
    assert not info.value.transient
    check = svc.validate_credentials()
    assert not check.valid and check.error is not None and check.error.startswith("S3 rejected the access key")
    for secret in (wrong, rclone.secret_key):
        assert secret not in text and secret not in check.error and secret not in repr(svc)


@pytest.mark.parametrize("size", [40 * MIB, 9 * MIB], ids=["multipart", "single-put"])
def test_cancel_mid_upload_aborts_within_two_seconds(s3: S3Server, tmp_path: Path, size: int) -> None:
    path = tmp_path / "z.zip"
    sha = random_file(path, size, seed=15)
    with FaultProxy(s3.host, s3.port) as proxy:
        proxy.limit_rate(4 * MIB)  # the upload would take over 2 s
        run = Run(service(s3, proxy, partSizeBytes=10 * MIB, maxConcurrency=2), path, "sessions/cancel.zip", sha)
        run.start()
        assert proxy.wait_until(lambda p: p.body_bytes >= 2 * MIB, timeout=30)
        asked = time.monotonic()
        run.cancel.cancel(StopKind.CANCEL)
        assert run.ended.wait(10)
        took = time.monotonic() - asked
        run.join(5)
    assert isinstance(run.error, UploadCancelled)
    print(f"cancel took {took:.3f} s")
    assert took < 2.0, f"cancel took {took:.2f} s"
    assert run.last_checkpoint is None  # nothing left to resume
    assert s3.list_multipart_uploads() == []
    assert s3.client().list_objects_v2(Bucket=s3.bucket, Prefix="sessions/cancel.zip").get("KeyCount", 0) == 0


def test_shutdown_stops_at_a_part_boundary_and_keeps_the_upload(
    rclone: S3Server, proxy: FaultProxy, tmp_path: Path
) -> None:
    path = tmp_path / "z.zip"
    sha = random_file(path, 30 * MIB, seed=16)
    key = "sessions/shutdown.zip"
    proxy.limit_rate(10 * MIB)
    run = Run(service(rclone, proxy, maxConcurrency=2), path, key, sha).start()
    assert proxy.wait_until(lambda p: p.count("UploadPart", status=200) >= 1, timeout=30)
    run.cancel.cancel(StopKind.SHUTDOWN)
    run.join(30)
    assert isinstance(run.error, UploadCancelled)
    point = run.last_checkpoint
    assert point is not None and len(point.parts) >= 1
    assert point.uploadId in [u["UploadId"] for u in rclone.list_multipart_uploads()]
    # every part that was sent finished: the parts in the checkpoint are all there is
    assert proxy.count("UploadPart", status=200) == len(point.parts)
    proxy.limit_rate(None)
    proxy.reset_stats()
    result = Run(service(rclone, proxy), path, key, sha, resume=point)()
    assert result.bytesSent == 30 * MIB - sum(p.size for p in point.parts)
    assert proxy.body_bytes_of("UploadPart") == result.bytesSent
    assert digest(rclone.object_bytes(key)) == sha


def test_upload_gone_on_resume_starts_fresh(s3: S3Server, tmp_path: Path) -> None:
    path = tmp_path / "z.zip"
    sha = random_file(path, 16 * MIB, seed=17)
    key = "sessions/gone-upload.zip"
    with FaultProxy(s3.host, s3.port) as proxy:
        proxy.fail_next(1, "500", op="UploadPart", match=lambda req: req.part_number == 3)
        first = Run(service(s3, proxy, part_attempts=1, maxConcurrency=1), path, key, sha)
        with pytest.raises(ServerError):
            first()
        point = first.last_checkpoint
        assert point is not None and len(point.parts) == 2
        s3.client().abort_multipart_upload(Bucket=s3.bucket, Key=key, UploadId=point.uploadId)  # behind its back
        proxy.reset_stats()
        second = Run(service(s3, proxy, maxConcurrency=1), path, key, sha, resume=point)
        result = second()
        assert second.checkpoints[0] is None  # the dead upload id is forgotten first
        assert proxy.count("CreateMultipartUpload") == 1
        assert proxy.count("UploadPart") == 4
    assert result.bytesSent == 16 * MIB
    assert digest(s3.object_bytes(key)) == sha
    assert s3.list_multipart_uploads() == []


def test_cancel_of_a_paused_upload_aborts_it(rclone: S3Server, proxy: FaultProxy, tmp_path: Path) -> None:
    """The user cancels a session whose upload was interrupted earlier (only a checkpoint is left)."""
    path = tmp_path / "z.zip"
    sha = random_file(path, 12 * MIB, seed=18)
    key = "sessions/paused-cancel.zip"
    proxy.fail_next(1, "500", op="UploadPart", match=lambda req: req.part_number == 2)
    first = Run(service(rclone, proxy, part_attempts=1, maxConcurrency=1), path, key, sha)
    with pytest.raises(ServerError):
        first()
    point = first.last_checkpoint
    assert point is not None and point.uploadId in [u["UploadId"] for u in rclone.list_multipart_uploads()]
    again = Run(service(rclone, proxy), path, key, sha, resume=point)
    again.cancel.cancel(StopKind.CANCEL)
    with pytest.raises(UploadCancelled):
        again()
    assert again.checkpoints == [None]
    assert proxy.count("AbortMultipartUpload") == 1
    assert rclone.list_multipart_uploads() == []


def test_profile_and_default_chain_credentials(
    rclone: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = tmp_path / "credentials"
    creds.write_text(
        f"[work]\naws_access_key_id = {rclone.access_key}\naws_secret_access_key = {rclone.secret_key}\n"
        f"[default]\naws_access_key_id = {rclone.access_key}\naws_secret_access_key = {rclone.secret_key}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # the chain would ask 169.254.169.254
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    base = rclone.config(accessKeyId="", secretAccessKey="")
    assert UploadService(base.with_(profile="work")).validate_credentials().valid
    assert UploadService(base.with_(useDefaultCredentials=True)).validate_credentials().valid
    missing = UploadService(base.with_(profile="nope")).validate_credentials()
    assert not missing.valid and missing.error is not None
    assert missing.error.startswith("The AWS profile 'nope' was not found")
    creds.write_text("")
    none = UploadService(base.with_(useDefaultCredentials=True)).validate_credentials()
    assert not none.valid and none.error is not None and none.error.startswith("No S3 credentials were found")


@pytest.mark.parametrize(
    ("header", "value", "says"),
    [
        ("content-length", "12345", "has 12345 bytes in the bucket"),
        ("x-amz-meta-sha256", "0" * 64, "another SHA-256"),
    ],
)
def test_a_stored_object_that_does_not_match_fails_verification(
    rclone: S3Server, proxy: FaultProxy, tmp_path: Path, header: str, value: str, says: str
) -> None:
    path = tmp_path / "z.zip"
    sha = random_file(path, 11 * MIB, seed=19)
    key = f"sessions/verify-{header}.zip"

    def lie(req: Request, status: int, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        if req.op != "HeadObject" or status != 200:
            return headers
        return [(k, value if k.lower() == header else v) for k, v in headers]

    proxy.rewrite_head_responses(lie)
    with pytest.raises(VerificationFailed) as info:
        Run(service(rclone, proxy), path, key, sha)()
    assert says in info.value.message and not info.value.transient
    assert proxy.count("CompleteMultipartUpload") == 1  # it was completed, then checked


def test_upload_gone_before_complete_is_retryable_not_a_verification_failure(
    rclone: S3Server, tmp_path: Path
) -> None:
    """Found in review (fix: 0b50adf). The multipart upload vanishes (lifecycle rule, abort elsewhere) after
    the last part: CompleteMultipartUpload answers NoSuchUpload. That is "start again later", not a permanent
    "the object does not match" failure."""
    path = tmp_path / "z.zip"
    sha = random_file(path, 11 * MIB, seed=31)
    key = "sessions/gone-before-complete.zip"
    checkpoints: list[ResumePoint | None] = []

    def on_checkpoint(point: ResumePoint | None) -> None:
        checkpoints.append(point)
        if point is not None and len(point.parts) == 3:  # every part is in: abort behind its back
            rclone.client().abort_multipart_upload(Bucket=rclone.bucket, Key=key, UploadId=point.uploadId)

    svc = UploadService(rclone.config(maxConcurrency=1), clock=FakeClock())
    with pytest.raises(UploadError) as info:
        svc.upload_file(path, key, sha256=sha, resume=None, on_progress=lambda _d, _t: None,
                        on_checkpoint=on_checkpoint, cancel=CancelToken())
    assert isinstance(info.value, ServerError) and info.value.transient, info.value.user_text()
    assert "no longer in the bucket" in info.value.message
    assert checkpoints[-1] is None  # the dead upload id is forgotten: the next attempt starts afresh
