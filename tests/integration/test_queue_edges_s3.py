"""Queue edge cases found in review, against a real S3 server (rclone serve s3) behind the fault proxy."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import S3Server
from tests.support.sessions import make_session, write_config
from traycap.clock import SystemClock
from traycap.context import Context
from traycap.models import MIB, UploadStatus
from traycap.upload.queue import UploadQueue
from traycap.upload.requests import request_cancel
from traycap.upload.s3 import UploadService

pytestmark = pytest.mark.s3
S = UploadStatus


def test_cancel_from_another_process_stops_a_single_part_upload(ctx: Context, rclone: S3Server) -> None:
    """A zip smaller than one part goes up in one PutObject. `traycap cancel` (another process,
    so only the state on disk changes) must stop it like a multipart upload, within 2 s: not let
    it finish and leave the bundle the user cancelled in the bucket."""
    with FaultProxy(rclone.host, rclone.port) as proxy:
        write_config(ctx, rclone.config(endpointUrl=proxy.url, keyPrefix="single-cancel/", partSizeBytes=10 * MIB))
        queue = UploadQueue(ctx, UploadService, clock=SystemClock())
        make_session(ctx, "s1", 9 * MIB)  # default part size 10 MiB: one PutObject
        proxy.limit_rate(2 * MIB)  # about 4.5 s for the whole file
        queue.enqueue("s1")
        worker = threading.Thread(target=queue.process_one)
        worker.start()
        assert proxy.wait_until(lambda p: p.body_bytes >= 1 * MIB, timeout=20)
        asked = time.monotonic()
        request_cancel(ctx, "s1")  # what `traycap cancel s1` writes
        worker.join(10)
        took = time.monotonic() - asked
        assert not worker.is_alive()
        assert took < 2.0, f"the cancel took {took:.1f} s"
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.NOT_UPLOADED
    listed = rclone.client().list_objects_v2(Bucket=rclone.bucket, Prefix="single-cancel/")
    assert listed.get("KeyCount", 0) == 0


def test_zero_byte_zip_is_uploaded_and_done(ctx: Context, rclone: S3Server, tmp_path: Path) -> None:
    write_config(ctx, rclone.config(keyPrefix="zero/"))
    queue = UploadQueue(ctx, UploadService, clock=SystemClock())
    make_session(ctx, "s1", data=b"")
    queue.enqueue("s1")
    assert queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and (state.status, state.totalBytes, state.progress) == (S.DONE, 0, 100)
    assert rclone.object_bytes("zero/s1.zip") == b""
