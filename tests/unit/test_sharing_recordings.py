"""Sharing (traycap/sharing/recordings.py): which recordings get a lane at Start, and what their
export event does: a live session is left to its lane, a cancel during the recording is not undone,
an abandoned lane's upload is aborted and the classic export queued.

A test with a running lane uses `live_ctx` (the real clock), as tests/conftest.py asks of tests whose
threads really run: on a FakeClock the lane thread's idle waits take no time, so it reads
upload-state.json in a tight loop, and on Windows a file open for reading cannot be replaced:
the test's own state writes then fail even after traycap's retries (osutil/files.py)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest

from tests.support.fake_s3 import FakeS3
from tests.support.secret_stores import AnsweringSecretStore, MemorySecretStore, WatchedSettling
from tests.support.sessions import make_session_dir
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.models import UploadConfig, UploadStatus
from traycap.sharing import recordings
from traycap.sharing.lanes import LiveLanes
from traycap.sharing.policy import CANCELLED_LIVE, LANE_SETTLE_WAIT_S, QUEUED, UPLOADING_LIVE
from traycap.sharing.recordings import Sharing
from traycap.sharing.requests import UploadRequests
from traycap.storage.config_store import save_config
from traycap.storage.secrets import SettlingStore
from traycap.upload.live import LiveEngine, LiveUpload
from traycap.upload.requests import request_cancel
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


class Made:
    def __init__(self, ctx: Context, clock: FakeClock) -> None:
        self.engines = Engines(clock)
        self.lanes = LiveLanes(ctx, engine_factory=self.engines)
        self.sharing = Sharing(ctx, UploadRequests(ctx), self.lanes)


@pytest.fixture
def made(live_ctx: Context, clock: FakeClock) -> Iterator[Made]:
    m = Made(live_ctx, clock)
    yield m
    m.lanes.hand_over_all()


def _start(ctx: Context, made: Made) -> LiveUpload:
    """A recording starts with both settings on: its lane."""
    save_config(ctx.paths.config, CONFIG)
    make_session_dir(ctx.paths, "s1", created_ms=T0)
    lane = made.sharing.live_sink("s1")
    assert isinstance(lane, LiveUpload) and made.sharing.lane("s1") is lane
    return lane


@pytest.mark.parametrize("config", [None, CONFIG.with_(autoUpload=False), CONFIG.with_(uploadWhileRecording=False)])
def test_no_lane_without_auto_upload_and_upload_while_recording(ctx: Context, clock: FakeClock,
                                                                config: UploadConfig | None) -> None:
    if config is not None:
        save_config(ctx.paths.config, config)
    m = Made(ctx, clock)
    make_session_dir(ctx.paths, "s1", created_ms=T0)
    assert m.sharing.live_sink("s1") is None
    assert m.engines.made == 0 and ctx.states.read("s1") is None  # nothing is sent, nothing is written


def test_no_lanes_at_all_records_every_session_classic(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG)
    sharing = Sharing(ctx, UploadRequests(ctx), None)
    make_session_dir(ctx.paths, "s1", created_ms=T0)
    assert sharing.live_sink("s1") is None and sharing.lane("s1") is None


def test_a_lane_per_recording_when_both_are_on(live_ctx: Context, made: Made) -> None:
    _start(live_ctx, made)
    state = live_ctx.states.read("s1")
    assert state is not None and state.status is S.LIVE
    # Stop: the recorder's export event; the lane made at Start carries the decision, nothing is queued.
    assert made.sharing.exported("s1") == UPLOADING_LIVE
    assert live_ctx.states.read("s1").status is S.LIVE  # type: ignore[union-attr]


def test_a_cancel_during_the_recording_is_not_undone_at_stop(live_ctx: Context, made: Made) -> None:
    lane = _start(live_ctx, made)
    request_cancel(live_ctx, "s1")  # `traycap cancel s1` in another terminal
    assert lane.wait(10)  # the lane sees it on disk and stops
    make_session_dir(live_ctx.paths, "s1", created_ms=T0, exported=True)
    assert made.sharing.exported("s1") == CANCELLED_LIVE
    assert live_ctx.states.read("s1").status is S.NOT_UPLOADED  # type: ignore[union-attr]


def test_an_abandoned_lane_is_aborted_and_the_classic_export_queued(live_ctx: Context, made: Made) -> None:
    lane = _start(live_ctx, made)
    upload_id = made.engines.s3.create_multipart_upload("sessions/s1.zip", sha256=None)
    state = live_ctx.states.read("s1")
    assert state is not None
    live_ctx.states.write(state.with_(uploadId=upload_id, s3Key="sessions/s1.zip"))
    lane.abandon()
    lane.wait(5)
    make_session_dir(live_ctx.paths, "s1", created_ms=T0, exported=True)  # exported in format 1 instead
    assert made.sharing.exported("s1") == QUEUED
    assert upload_id not in made.engines.s3.uploads  # the parts of the broken live bundle are aborted
    after = live_ctx.states.read("s1")
    assert after is not None and after.status is S.PENDING and after.uploadId is None  # the new zip, afresh
    assert made.sharing.lane("s1") is None


def test_a_recording_started_while_the_keyring_is_still_asked_waits_a_moment_for_it(live_ctx: Context,
                                                                                    clock: FakeClock) -> None:
    """Issue 24: the secret is in the keyring and the process has only just started: Start (after the first
    frame) waits a moment for the keyring's answer, then the recording gets its lane."""
    keyring = AnsweringSecretStore()
    save_config(live_ctx.paths.config, CONFIG, keyring)
    keyring.release.clear()
    watched = WatchedSettling(keyring)
    ctx = dataclasses.replace(live_ctx, secrets=watched)
    m = Made(ctx, clock)
    start_up = threading.Thread(target=watched.settle)
    start_up.start()
    try:
        make_session_dir(ctx.paths, "s1", created_ms=T0)
        assert isinstance(m.sharing.live_sink("s1"), LiveUpload)
    finally:
        keyring.release.set()
        start_up.join(30)
        m.lanes.hand_over_all()
    assert watched.waits == [0, LANE_SETTLE_WAIT_S] and m.engines.made == 1


def test_without_the_keyring_s_answer_in_time_the_recording_is_queued_at_stop_instead(
        ctx: Context, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The decision is made again at export, once the keyring answered: uploaded after Stop, not skipped."""
    monkeypatch.setattr(recordings, "LANE_SETTLE_WAIT_S", 0.0)
    keyring = MemorySecretStore()
    save_config(ctx.paths.config, CONFIG, keyring)
    settling = SettlingStore(keyring)
    ctx = dataclasses.replace(ctx, secrets=settling)
    m = Made(ctx, clock)
    make_session_dir(ctx.paths, "s1", created_ms=T0)
    assert m.sharing.live_sink("s1") is None
    assert m.engines.made == 0 and ctx.states.read("s1") is None
    settling.settle()  # the keyring answers while it records
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    assert m.sharing.exported("s1") == QUEUED
    assert ctx.states.read("s1").status is S.PENDING  # type: ignore[union-attr]
