"""traycap/sharing/sidecars.py: a verified upload gets its sidecar before it is marked done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.fake_bucket import FakeBucket
from tests.support.fake_engine import FakeEngine
from tests.support.sessions import make_exported_session, write_config
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.errors import AccessDenied, NetworkError
from traycap.models import UploadConfig, UploadStatus
from traycap.sharing.sidecars import LiveSidecar, with_sidecars
from traycap.upload.queue import UploadQueue
from traycap.upload.requests import request_upload


def _queue(ctx: Context, engine: FakeEngine, bucket: FakeBucket) -> UploadQueue:
    return UploadQueue(ctx, with_sidecars(engine.factory, ctx.clock, bucket_for=lambda config: bucket))


def test_the_queue_writes_the_sidecar_before_done(ctx: Context) -> None:
    write_config(ctx)
    meta = make_exported_session(ctx, "s1")
    bucket, engine = FakeBucket(), FakeEngine()
    queue = _queue(ctx, engine, bucket)
    request_upload(ctx, "s1")
    assert queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and state.status is UploadStatus.DONE
    found = json.loads(bucket.objects["sessions/s1.json"].data)
    assert (found["zipKey"], found["size"], found["sha256"]) == ("sessions/s1.zip", meta.fileSizeBytes, meta.sha256)


def test_a_sidecar_that_fails_for_a_passing_reason_is_tried_again_before_done(ctx: Context, clock: FakeClock) -> None:
    write_config(ctx)
    make_exported_session(ctx, "s1")
    bucket, engine = FakeBucket(fail={"put": NetworkError("reset")}), FakeEngine()
    queue = _queue(ctx, engine, bucket)
    request_upload(ctx, "s1")
    queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and state.status is UploadStatus.PENDING and "sessions/s1.json" not in bucket.objects
    clock.advance(300)
    queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and state.status is UploadStatus.DONE and "sessions/s1.json" in bucket.objects


def test_a_sidecar_the_bucket_refuses_for_good_does_not_fail_the_verified_upload(
        ctx: Context, caplog: pytest.LogCaptureFixture) -> None:
    write_config(ctx)
    make_exported_session(ctx, "s1")
    queue = _queue(ctx, FakeEngine(), FakeBucket(fail={"put": AccessDenied("not .json")}))
    request_upload(ctx, "s1")
    queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and state.status is UploadStatus.DONE
    assert "sidecar could not be written" in caplog.text


class _Live:
    """The few calls of a live lane's engine this test makes."""

    def __init__(self) -> None:
        self.config = UploadConfig(bucket="b")
        self.bandwidth = None
        self.verified: list[str] = []

    def verify(self, key: str, *, size: int, sha256: str, parts: object, single_checksum: object = None) -> None:
        self.verified.append(key)


def test_a_live_lane_writes_the_sidecar_once_its_upload_is_verified(tmp_path: Path) -> None:
    bucket, live = FakeBucket(), _Live()
    zip_path = tmp_path / "s1.zip"
    zip_path.write_bytes(b"not a bundle")
    engine = LiveSidecar(live, zip_path, FakeClock(), bucket_for=lambda config: bucket)  # type: ignore[arg-type]
    engine.verify("team/s1.zip", size=12, sha256="a" * 64, parts=[])
    assert live.verified == ["team/s1.zip"]
    assert json.loads(bucket.objects["team/s1.json"].data)["size"] == 12
