"""settle_at_start (traycap/sharing/startup.py): recover -> settle the live sessions a crash left ->
auto-upload, the one start-up step of the tray, `traycap record` and `traycap worker`. Recovery itself
is tests/unit/test_recorder_recover.py; here its report is given, so each branch is checked alone."""

from __future__ import annotations

from tests.support.sessions import make_session_dir
from traycap.context import Context
from traycap.models import UploadConfig, UploadState, UploadStatus
from traycap.recorder.recover import RecoveryReport
from traycap.sharing.policy import QUEUED
from traycap.sharing.requests import UploadRequests
from traycap.sharing.startup import settle_at_start
from traycap.storage.config_store import save_config

T0 = 1_700_000_000_000
S = UploadStatus
CONFIG = UploadConfig(bucket="bucket-a", region="us-east-1", accessKeyId="AKIA", secretAccessKey="s3cr3t-key",
                      autoUpload=True)


def _live_state(ctx: Context, sid: str, **fields: object) -> None:
    ctx.states.write(UploadState(sessionId=sid, status=S.LIVE, createdAt=T0, updatedAt=T0, **fields))  # type: ignore[arg-type]


def test_a_finished_live_bundle_goes_to_the_queue_as_the_same_upload(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG)
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)  # recovery finished its zip
    _live_state(ctx, "s1", uploadId="u-1", s3Key="sessions/s1.zip")
    make_session_dir(ctx.paths, "s2", created_ms=T0 + 1, exported=True)  # finished, nothing ever sent
    asked: list[str] = []
    report = settle_at_start(ctx, UploadRequests(ctx), recover=lambda c: (asked.append("recover"),
                             RecoveryReport(live=["s1", "s2"]))[1])
    assert asked == ["recover"]
    after = ctx.states.read("s1")
    assert after is not None and after.status is S.PENDING and after.uploadId == "u-1" and after.stampAfterComplete
    assert report.handed_over == ["s1"] and report.recovered == ["s1", "s2"]
    assert report.notes == {"s2": QUEUED}  # the auto-upload rule, as for any exported session
    assert ctx.states.read("s2").status is S.PENDING  # type: ignore[union-attr]


def test_a_dropped_live_bundle_is_aborted_forgotten_and_its_classic_export_queued(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG)
    make_session_dir(ctx.paths, "s3", created_ms=T0, exported=True)  # exported as format 1 by recovery
    _live_state(ctx, "s3", uploadId="u-3", s3Key="sessions/s3.zip")
    aborted: list[tuple[str, str]] = []
    report = settle_at_start(ctx, UploadRequests(ctx), abort=lambda key, uid: aborted.append((key, uid)),
                             recover=lambda c: RecoveryReport(exported=["s3"], live_dropped=["s3"]))
    assert aborted == [("sessions/s3.zip", "u-3")]
    after = ctx.states.read("s3")
    assert after is not None and after.status is S.PENDING and after.uploadId is None
    assert report.notes == {"s3": QUEUED} and report.handed_over == []


def test_without_auto_upload_recovered_sessions_wait_for_the_user(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG.with_(autoUpload=False))
    make_session_dir(ctx.paths, "s4", created_ms=T0, exported=True)
    report = settle_at_start(ctx, UploadRequests(ctx), recover=lambda c: RecoveryReport(exported=["s4"]))
    assert report.recovered == ["s4"] and report.notes == {} and ctx.states.read("s4") is None
