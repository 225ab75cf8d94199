"""The queue in-process against a real S3 server (moto / rclone) behind the fault proxy.

The queue's clock is a FakeClock (backoffs cost nothing); the S3 engine, the
server and the proxy are real.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest

from tests.support.faultproxy import FaultProxy, Request
from tests.support.s3servers import S3Server, rclone_server
from tests.support.sessions import make_exported_session, write_config, zip_bytes
from traycap.clock import FakeClock, SystemClock
from traycap.context import Context
from traycap.models import MIB, UploadConfig, UploadStatus
from traycap.upload.queue import UploadQueue
from traycap.upload.requests import request_cancel
from traycap.upload.s3 import UploadService

pytestmark = pytest.mark.s3
S = UploadStatus


def drain(queue: UploadQueue, clock: FakeClock, limit: int = 100) -> None:
    for _ in range(limit):
        if queue.process_one():
            continue
        if queue.pending_count() == 0:
            return
        clock.advance(300)
    raise AssertionError("the queue did not drain")


def setup(ctx: Context, config: UploadConfig) -> tuple[UploadQueue, FakeClock]:
    write_config(ctx, config)
    clock = ctx.clock
    assert isinstance(clock, FakeClock)
    return UploadQueue(ctx, UploadService), clock


def test_three_sessions_one_failing_n_times(ctx: Context, moto: S3Server, proxy: FaultProxy) -> None:
    prefix = "fifo/"
    queue, clock = setup(ctx, moto.config(endpointUrl=proxy.url, keyPrefix=prefix, maxConcurrency=2))
    sizes = {"s1": 6 * MIB, "s2": 7 * MIB, "s3": 6 * MIB + 5}
    for sid, size in sizes.items():
        make_exported_session(ctx, sid, size)
    n = 3
    proxy.fail_next(n, "500", op="CreateMultipartUpload", match=lambda r: r.key == f"{prefix}s2.zip")
    for sid in sizes:
        queue.enqueue(sid)
    drain(queue, clock)
    for sid in sizes:
        state = ctx.states.read(sid)
        assert state is not None and state.status is S.DONE, state
        assert state.retryCount == (n if sid == "s2" else 0)
        key = f"{prefix}{sid}.zip"
        stored = moto.object_bytes(key)
        assert hashlib.sha256(stored).hexdigest() == ctx.sessions.read_meta(sid).sha256
        assert stored == zip_bytes(ctx, sid)
        assert proxy.count("CreateMultipartUpload", key) == (n + 1 if sid == "s2" else 1)
    # FIFO: s1 finished before s3 started; s2's retries came after its backoffs.
    creates = [e.key for e in proxy.requests if e.op == "CreateMultipartUpload" and e.status == 200]
    assert creates.index(f"{prefix}s1.zip") < creates.index(f"{prefix}s3.zip")
    assert moto.list_multipart_uploads() == []


def test_offline_backs_off_then_finishes(ctx: Context, moto: S3Server, proxy: FaultProxy) -> None:
    prefix = "offline/"
    queue, clock = setup(ctx, moto.config(endpointUrl=proxy.url, keyPrefix=prefix))
    make_exported_session(ctx, "s1", 6 * MIB)
    queue.enqueue("s1")
    proxy.set_offline(True)
    for expected_count, delay_ms in ((1, 1000), (2, 2000), (3, 4000), (4, 8000)):
        assert queue.process_one()
        state = ctx.states.read("s1")
        assert state is not None
        assert (state.status, state.retryCount) == (S.PENDING, expected_count)
        assert state.nextAttemptAt == clock.now_ms() + delay_ms
        error = (state.lastError or "").lower()
        assert "reach" in error or "connection" in error, error
        # Nothing more happens until the backoff is over: no retry is burnt early.
        clock.advance(delay_ms / 1000 - 0.01)
        assert queue.process_one() is False
        clock.advance(0.01)
    proxy.set_offline(False)
    assert queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and (state.status, state.retryCount) == (S.DONE, 4)
    assert moto.object_bytes(f"{prefix}s1.zip") == zip_bytes(ctx, "s1")


def test_resume_after_a_reset_mid_upload_sends_only_missing_parts(ctx: Context, moto: S3Server,
                                                                   proxy: FaultProxy) -> None:
    prefix = "resume/"
    queue, clock = setup(ctx, moto.config(endpointUrl=proxy.url, keyPrefix=prefix, maxConcurrency=1))
    make_exported_session(ctx, "s1", 16 * MIB)  # 4 parts of 5 MiB (last one 1 MiB)
    key = f"{prefix}s1.zip"

    def third_part(r: Request) -> bool:
        return r.key == key and r.part_number == 3

    proxy.fail_next(3, "reset", op="UploadPart", match=third_part)  # the engine's own 3 attempts
    queue.enqueue("s1")
    assert queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.PENDING and state.retryCount == 1
    assert state.uploadId is not None and [p.partNumber for p in state.parts] == [1, 2]
    assert state.bytesUploaded == 10 * MIB
    drain(queue, clock)
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.DONE
    assert proxy.count("CreateMultipartUpload", key) == 1
    assert proxy.count("UploadPart", key, status=200) == 4  # parts 1 and 2 were not sent again
    assert moto.object_bytes(key) == zip_bytes(ctx, "s1")


def test_cancel_mid_upload_aborts_the_multipart_upload(ctx: Context, moto: S3Server, proxy: FaultProxy) -> None:
    prefix = "cancel/"
    write_config(ctx, moto.config(endpointUrl=proxy.url, keyPrefix=prefix, maxConcurrency=1))
    queue = UploadQueue(ctx, UploadService, clock=SystemClock())
    make_exported_session(ctx, "s1", 16 * MIB)
    key = f"{prefix}s1.zip"
    proxy.limit_rate(8 * MIB)  # about 2 s for the whole file: time to cancel in the middle
    queue.enqueue("s1")
    worker = threading.Thread(target=queue.process_one)
    worker.start()
    assert proxy.wait_until(lambda p: p.count("UploadPart", key, status=200) >= 1, timeout=20)
    assert queue.cancel("s1").status is S.NOT_UPLOADED
    worker.join(20)
    assert not worker.is_alive()
    state = ctx.states.read("s1")
    assert state is not None and (state.status, state.uploadId, state.bytesUploaded) == (S.NOT_UPLOADED, None, 0)
    # The proxy logs an exchange just after the client has its answer: wait for it.
    assert proxy.wait_until(lambda p: p.count("AbortMultipartUpload", key) >= 1, timeout=5), [
        (e.op, e.status, e.query.get("partNumber")) for e in proxy.requests]
    assert proxy.count("CompleteMultipartUpload", key) == 0
    assert moto.list_multipart_uploads() == []


def test_wrong_secret_fails_after_one_attempt_then_retry_uploads(ctx: Context, tmp_path: Path) -> None:
    with rclone_server(tmp_path / "rclone") as server:
        good = server.config(keyPrefix="creds/")
        queue, clock = setup(ctx, good.with_(secretAccessKey="wrong-secret-0000"))
        make_exported_session(ctx, "s1", 1 * MIB)
        queue.enqueue("s1")
        drain(queue, clock)
        state = ctx.states.read("s1")
        assert state is not None and (state.status, state.retryCount) == (S.FAILED, 0)
        # rclone answers the first request (HeadObject, no body) with a bare 403; the
        # engine reports it as a permanent, readable credentials/permissions problem.
        assert state.lastError is not None and "S3" in state.lastError and "access key" in state.lastError
        assert "wrong-secret-0000" not in state.lastError
        write_config(ctx, good)
        queue.retry("s1")
        drain(queue, clock)
        state = ctx.states.read("s1")
        assert state is not None and (state.status, state.retryCount) == (S.DONE, 0)
        assert server.object_bytes("creds/s1.zip") == zip_bytes(ctx, "s1")


def test_cancel_from_another_process_stops_a_single_part_upload(ctx: Context, rclone: S3Server) -> None:
    """Found in review (fix: 411c9d7). A zip smaller than one part goes up in one PutObject. `traycap cancel`
    (another process, so only the state on disk changes) must stop it like a multipart upload, within 2 s: not
    let it finish and leave the bundle the user cancelled in the bucket."""
    with FaultProxy(rclone.host, rclone.port) as proxy:
        write_config(ctx, rclone.config(endpointUrl=proxy.url, keyPrefix="single-cancel/", partSizeBytes=10 * MIB))
        queue = UploadQueue(ctx, UploadService, clock=SystemClock())
        make_exported_session(ctx, "s1", 9 * MIB)  # default part size 10 MiB: one PutObject
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
    """Found in review (with 411c9d7): an empty zip goes through the queue to done."""
    write_config(ctx, rclone.config(keyPrefix="zero/"))
    queue = UploadQueue(ctx, UploadService, clock=SystemClock())
    make_exported_session(ctx, "s1", data=b"")
    queue.enqueue("s1")
    assert queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and (state.status, state.totalBytes, state.progress) == (S.DONE, 0, 100)
    assert rclone.object_bytes("zero/s1.zip") == b""
