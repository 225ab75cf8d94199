"""Edge cases of UploadService found in review, against a real S3 server (rclone serve s3) on 127.0.0.1."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import S3Server, random_file
from traycap.cancel import CancelToken
from traycap.clock import FakeClock
from traycap.errors import ServerError, UploadError, ZipChanged
from traycap.models import MIB
from traycap.upload.engine import ResumePoint
from traycap.upload.s3 import UploadService

pytestmark = pytest.mark.s3


def test_upload_gone_before_complete_is_retryable_not_a_verification_failure(
    rclone: S3Server, tmp_path: Path
) -> None:
    """The multipart upload vanishes (lifecycle rule, abort elsewhere) after the last part:
    CompleteMultipartUpload answers NoSuchUpload. That is "start again later", not a
    permanent "the object does not match" failure."""
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


def test_resume_does_not_trust_parts_whose_bytes_are_no_longer_the_files(rclone: S3Server, tmp_path: Path) -> None:
    """A session without a SHA-256 in its meta (copied in from elsewhere) whose zip changed between
    two attempts: the parts already in the bucket hold the old bytes. Completing the upload with
    them would put a corrupt bundle in the bucket; the resume must notice before Complete."""
    path = tmp_path / "z.zip"
    random_file(path, 16 * MIB, seed=32)
    key = "sessions/changed-between-attempts.zip"
    checkpoints: list[ResumePoint | None] = []
    with FaultProxy(rclone.host, rclone.port) as proxy:
        proxy.fail_next(1, "500", op="UploadPart", match=lambda req: req.part_number == 3)
        svc = UploadService(rclone.config(endpointUrl=proxy.url, maxConcurrency=1), clock=FakeClock(), part_attempts=1)
        with pytest.raises(ServerError):
            svc.upload_file(path, key, sha256=None, resume=None, on_progress=lambda _d, _t: None,
                            on_checkpoint=checkpoints.append, cancel=CancelToken())
        point = checkpoints[-1]
        assert point is not None and [p.partNumber for p in point.parts] == [1, 2]
        with path.open("r+b") as f:  # same size, other bytes in part 1
            f.write(b"changed")
        with pytest.raises(ZipChanged):
            svc.upload_file(path, key, sha256=None, resume=point, on_progress=lambda _d, _t: None,
                            on_checkpoint=checkpoints.append, cancel=CancelToken())
        assert proxy.count("CompleteMultipartUpload") == 0
    assert checkpoints[-1] is None and rclone.list_multipart_uploads() == []
    listed = rclone.client().list_objects_v2(Bucket=rclone.bucket, Prefix=key)
    assert listed.get("KeyCount", 0) == 0  # no corrupt bundle in the bucket


@pytest.mark.parametrize("first_compat", [False, True], ids=["sha256-then-md5", "md5-then-sha256"])
def test_switching_compatibility_between_attempts_starts_afresh(
    rclone: S3Server, tmp_path: Path, first_compat: bool
) -> None:
    """Parts sent with the other kind of checksum cannot be checked or completed: a new upload,
    the right bytes in the bucket (not a false "zip changed")."""
    path = tmp_path / "z.zip"
    sha = random_file(path, 11 * MIB, seed=33)
    key = f"sessions/compat-switch-{first_compat}.zip"
    checkpoints: list[ResumePoint | None] = []
    with FaultProxy(rclone.host, rclone.port) as proxy:
        proxy.fail_next(1, "500", op="UploadPart", match=lambda req: req.part_number == 2)
        first = UploadService(rclone.config(endpointUrl=proxy.url, maxConcurrency=1, compatibility=first_compat),
                              clock=FakeClock(), part_attempts=1)
        with pytest.raises(ServerError):
            first.upload_file(path, key, sha256=sha, resume=None, on_progress=lambda _d, _t: None,
                              on_checkpoint=checkpoints.append, cancel=CancelToken())
        point = checkpoints[-1]
        assert point is not None and len(point.parts) == 1
        second = UploadService(rclone.config(compatibility=not first_compat), clock=FakeClock())
        result = second.upload_file(path, key, sha256=sha, resume=point, on_progress=lambda _d, _t: None,
                                    on_checkpoint=checkpoints.append, cancel=CancelToken())
    assert result.bytesSent == 11 * MIB
    assert hashlib.sha256(rclone.object_bytes(key)).hexdigest() == sha
    assert rclone.list_multipart_uploads() == []
