"""The live lanes of one process and their one rate cap (traycap/sharing/lanes.py)."""

from __future__ import annotations

from pathlib import Path

from tests.support.fake_s3 import FakeS3
from tests.support.sessions import make_session_dir
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.models import UploadConfig, UploadProgress, UploadStatus
from traycap.sharing.lanes import LiveLanes, SharedRate
from traycap.storage.config_store import save_config
from traycap.upload.s3 import UploadService

T0 = 1_700_000_000_000
CONFIG = UploadConfig(bucket="bucket-a", region="us-east-1", accessKeyId="AKIA", secretAccessKey="s3cr3t-key",
                      autoUpload=True)


def test_one_rate_cap_per_process(clock: FakeClock, tmp_path: Path) -> None:
    rate = SharedRate(clock)
    capped = CONFIG.with_(maxUploadMBps=4.0)
    assert rate.bucket(capped) is rate.bucket(capped) is not None
    assert rate.bucket(CONFIG.with_(maxUploadMBps=0.0)) is None


def test_a_lane_publishes_to_the_subscribers_and_hands_over_at_exit(live_ctx: Context, clock: FakeClock) -> None:
    save_config(live_ctx.paths.config, CONFIG)
    s3 = FakeS3()
    lanes = LiveLanes(live_ctx, engine_factory=lambda c: UploadService(c, clock=clock, calls=s3, part_attempts=1))
    seen: list[UploadProgress] = []
    lanes.subscribe(seen.append)
    make_session_dir(live_ctx.paths, "s1", created_ms=T0)
    lane = lanes.open("s1", CONFIG)
    assert lane is not None and lanes.lane("s1") is lane
    lanes.hand_over_all()  # the zip is not finished: the session stays live, for recovery
    assert lanes.lane("s1") is None and lane.wait(0)
    state = live_ctx.states.read("s1")
    assert state is not None and state.status is UploadStatus.LIVE
    assert seen and all(p.sessionId == "s1" for p in seen) and seen[0].status is UploadStatus.LIVE
