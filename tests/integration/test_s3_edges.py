"""Edge cases of UploadService found in review, against a real S3 server (rclone serve s3) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.s3servers import S3Server, random_file, rclone_server
from traycap.cancel import CancelToken
from traycap.clock import FakeClock
from traycap.errors import ServerError, UploadError
from traycap.models import MIB
from traycap.upload.engine import ResumePoint
from traycap.upload.s3 import UploadService

pytestmark = pytest.mark.s3


@pytest.fixture(scope="module")
def rclone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with rclone_server(tmp_path_factory.mktemp("rclone-root")) as server:
        yield server


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
