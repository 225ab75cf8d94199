"""Upload while recording, wired (traycap/live_share.py) and the auto-upload rule for live sessions:
which recordings get a lane, what start-up recovery does with live sessions, what Stop queues.

A test with a running lane uses `live_ctx` (the real clock), as tests/conftest.py asks of tests whose
threads really run: on a FakeClock the lane thread's idle waits take no time, so it reads
upload-state.json in a tight loop, and on Windows a file open for reading cannot be replaced:
the test's own state writes then fail even after traycap's retries (osutil/files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fake_s3 import FakeS3
from tests.support.sessions import make_session_dir
from traycap.auto_upload import CANCELLED_LIVE, QUEUED, UPLOADING_LIVE, auto_upload
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.live_share import LiveLanes, SharedRate, settle_recovered
from traycap.models import UploadConfig, UploadStatus
from traycap.storage.config_store import save_config
from traycap.upload.live import LiveEngine
from traycap.upload.requests import request_cancel, request_upload
from traycap.upload.s3 import UploadService

T0 = 1_700_000_000_000
S = UploadStatus
CONFIG = UploadConfig(bucket="bucket-a", region="us-east-1", accessKeyId="AKIA", secretAccessKey="s3cr3t-key",
                      autoUpload=True)


class Engines:
    def __init__(self, clock: FakeClock) -> None:
        self.s3 = FakeS3()
        self.clock = clock
        self.made = 0

    def __call__(self, config: UploadConfig) -> LiveEngine:
        self.made += 1
        return UploadService(config, clock=self.clock, calls=self.s3, part_attempts=1)


def lanes(ctx: Context, clock: FakeClock) -> tuple[LiveLanes, Engines]:
    engines = Engines(clock)
    return LiveLanes(ctx, engine_factory=engines), engines


@pytest.mark.parametrize("config", [None, CONFIG.with_(autoUpload=False), CONFIG.with_(uploadWhileRecording=False)])
def test_no_lane_without_auto_upload_and_upload_while_recording(ctx: Context, clock: FakeClock,
                                                                config: UploadConfig | None) -> None:
    if config is not None:
        save_config(ctx.paths.config, config)
    live, engines = lanes(ctx, clock)
    make_session_dir(ctx.paths, "s1", created_ms=T0)
    assert live.factory("s1") is None
    assert engines.made == 0 and ctx.states.read("s1") is None  # nothing is sent, nothing is written


def test_a_lane_per_recording_when_both_are_on(live_ctx: Context, clock: FakeClock) -> None:
    save_config(live_ctx.paths.config, CONFIG)
    live, _engines = lanes(live_ctx, clock)
    make_session_dir(live_ctx.paths, "s1", created_ms=T0)
    lane = live.factory("s1")
    try:
        assert lane is not None and live.lane("s1") is lane
        state = live_ctx.states.read("s1")
        assert state is not None and state.status is S.LIVE
        # Stop: the recorder's export event; the auto-upload rule leaves a live session to its lane.
        assert auto_upload(live_ctx, "s1", lambda sid: request_upload(live_ctx, sid)) == UPLOADING_LIVE
    finally:
        live.hand_over_all()


def test_a_cancel_during_the_recording_is_not_undone_at_stop(live_ctx: Context, clock: FakeClock) -> None:
    save_config(live_ctx.paths.config, CONFIG)
    live, _engines = lanes(live_ctx, clock)
    make_session_dir(live_ctx.paths, "s1", created_ms=T0)
    assert live.factory("s1") is not None
    request_cancel(live_ctx, "s1")
    live.hand_over_all()
    make_session_dir(live_ctx.paths, "s1", created_ms=T0, exported=True)
    asked: list[str] = []
    assert auto_upload(live_ctx, "s1", asked.append) == CANCELLED_LIVE and asked == []


def test_an_abandoned_lane_is_aborted_and_the_classic_export_queued(live_ctx: Context, clock: FakeClock) -> None:
    save_config(live_ctx.paths.config, CONFIG)
    live, engines = lanes(live_ctx, clock)
    make_session_dir(live_ctx.paths, "s1", created_ms=T0)
    lane = live.factory("s1")
    assert lane is not None
    upload_id = engines.s3.create_multipart_upload("sessions/s1.zip", sha256=None)
    state = live_ctx.states.read("s1")
    assert state is not None
    live_ctx.states.write(state.with_(uploadId=upload_id, s3Key="sessions/s1.zip"))
    lane.abandon()
    lane.wait(5)
    make_session_dir(live_ctx.paths, "s1", created_ms=T0, exported=True)  # exported in format 1 instead
    live.settle_export("s1")
    assert upload_id not in engines.s3.uploads  # the parts of the broken live bundle are aborted
    assert live_ctx.states.read("s1") is None
    assert auto_upload(live_ctx, "s1", lambda sid: request_upload(live_ctx, sid)) == QUEUED


def test_recovery_hands_a_finished_live_bundle_to_the_queue(live_ctx: Context, clock: FakeClock) -> None:
    save_config(live_ctx.paths.config, CONFIG)
    live, _engines = lanes(live_ctx, clock)
    make_session_dir(live_ctx.paths, "s1", created_ms=T0)
    assert live.factory("s1") is not None
    state = live_ctx.states.read("s1")
    assert state is not None
    live_ctx.states.write(state.with_(uploadId="u-1", s3Key="sessions/s1.zip"))
    live.hand_over_all()  # the zip is not finished: the session stays live for recovery
    assert live_ctx.states.read("s1").status is S.LIVE  # type: ignore[union-attr]
    make_session_dir(live_ctx.paths, "s1", created_ms=T0, exported=True)  # recovery finished the zip
    make_session_dir(live_ctx.paths, "s2", created_ms=T0 + 1, exported=True)  # finished, no upload state yet
    classic = settle_recovered(live_ctx, ["s1", "s2"], [])
    after = live_ctx.states.read("s1")
    assert after is not None and after.status is S.PENDING and after.uploadId == "u-1" and after.stampAfterComplete
    assert classic == ["s2"]  # the auto-upload rule applies to it as to any exported session


def test_one_rate_cap_per_process(clock: FakeClock, tmp_path: Path) -> None:
    rate = SharedRate(clock)
    capped = CONFIG.with_(maxUploadMBps=4.0)
    assert rate.bucket(capped) is rate.bucket(capped) is not None
    assert rate.bucket(CONFIG.with_(maxUploadMBps=0.0)) is None
