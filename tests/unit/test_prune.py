"""Retention on disk (traycap/storage/prune.py) and `traycap prune`: what goes, what stays, when it runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sessions import make_exported_session
from traycap import cli
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.format import status_text
from traycap.models import MIB, AppSettings, UploadProgress, UploadState, UploadStatus
from traycap.storage.config_store import save_settings
from traycap.storage.prune import PruneReport, RetentionRunner, prune
from traycap.storage.retention import DAY_MS


def _session(ctx: Context, sid: str, status: UploadStatus | None, *, uploaded_days_ago: float = 0,
             size: int = MIB) -> None:
    make_exported_session(ctx, sid, size)
    if status is None:
        return
    now = ctx.clock.now_ms()
    done_at = now - round(uploaded_days_ago * DAY_MS) if status is UploadStatus.DONE else None
    ctx.states.write(UploadState(sessionId=sid, status=status, createdAt=now, updatedAt=now, completedAt=done_at,
                                 s3Key=f"sessions/{sid}.zip"))


def _listing(ctx: Context) -> dict[str, dict[str, object]]:
    return {item.sessionId: item.to_json() for item in ctx.sessions.list().items}


def test_an_old_upload_loses_its_zip_but_stays_listed(ctx: Context) -> None:
    _session(ctx, "s-old", UploadStatus.DONE, uploaded_days_ago=8)
    _session(ctx, "s-new", UploadStatus.DONE, uploaded_days_ago=1)
    directory = ctx.paths.session_dir("s-old")
    (directory / "actions.jsonl").write_bytes(b"{}\n" * 100)  # raw files an old version left: part of the copy
    report = prune(ctx, AppSettings())
    assert [r.deletion.sessionId for r in report.removed] == ["s-old"]
    assert report.freedBytes >= MIB
    assert sorted(p.name for p in directory.iterdir()) == [".exported", "session-meta.json", "upload-state.json"]
    listing = _listing(ctx)
    assert listing["s-old"]["localCopy"] is False and listing["s-old"]["uploadStatus"] == "done"
    assert listing["s-new"]["localCopy"] is True
    item = ctx.sessions.item("s-old")
    assert status_text(item) == "uploaded, local copy removed"
    assert prune(ctx, AppSettings()).removed == ()  # nothing left to do


@pytest.mark.parametrize("status", [None, UploadStatus.NOT_UPLOADED, UploadStatus.PENDING, UploadStatus.UPLOADING,
                                    UploadStatus.FAILED])
def test_nothing_that_is_not_done_is_deleted_even_far_over_budget(ctx: Context, status: UploadStatus | None) -> None:
    _session(ctx, "s1", status, size=3 * MIB)
    report = prune(ctx, AppSettings(keepUploadedDays=0, localBudgetMB=1))
    assert report.removed == () and report.plan.over_budget
    assert ctx.sessions.zip_path(ctx.sessions.read_meta("s1")).stat().st_size == 3 * MIB


def test_a_corrupt_state_is_never_read_as_done(ctx: Context) -> None:
    _session(ctx, "s1", None)
    ctx.states.path("s1").write_text('{"status": "do')
    assert prune(ctx, AppSettings(keepUploadedDays=0, localBudgetMB=1)).removed == ()
    assert ctx.sessions.item("s1").localCopy


def test_dry_run_deletes_nothing_and_says_what_would_go(ctx: Context) -> None:
    _session(ctx, "s1", UploadStatus.DONE, uploaded_days_ago=30)
    report = prune(ctx, AppSettings(), dry_run=True)
    assert [d.sessionId for d in report.plan.deletions] == ["s1"] and report.dry_run
    assert report.freedBytes >= MIB
    assert ctx.sessions.item("s1").localCopy


def test_a_session_that_changed_since_it_was_measured_is_skipped(ctx: Context) -> None:
    from traycap.storage import prune as prune_mod
    from traycap.storage.retention import Policy, plan

    _session(ctx, "s1", UploadStatus.DONE, uploaded_days_ago=30)
    rows, other = prune_mod.measure(ctx)
    the_plan = plan(rows, Policy(7, 0), ctx.clock.now_ms(), other_bytes=other)
    state = ctx.states.read("s1")
    assert state is not None
    ctx.states.write(state.with_(completedAt=ctx.clock.now_ms()))  # e.g. a hand-restored state
    report = prune_mod.apply(ctx, the_plan)
    assert report.removed == () and "changed" in report.skipped["s1"]
    assert ctx.sessions.item("s1").localCopy


def test_a_session_whose_export_is_still_finishing_is_left_for_the_next_run(ctx: Context) -> None:
    """Uploaded while it recorded, an upload can be verified while the recorder still removes the raw
    files its bundle took (the recorder holds .recording.lock until then); keepUploadedDays=0 must not
    remove the same files under it (issue 24: warnings about files that were gone)."""
    from traycap.bundle.raw import RecordingLock

    _session(ctx, "s1", UploadStatus.DONE, uploaded_days_ago=0)
    save_settings(ctx.paths.settings, AppSettings(keepUploadedDays=0))
    lock = RecordingLock(ctx.paths.session_dir("s1") / ".recording.lock")
    assert lock.acquire()
    try:
        report = RetentionRunner(ctx).run()
        assert report is not None and report.removed == () and "still finishing" in report.skipped["s1"]
        assert ctx.sessions.item("s1").localCopy
    finally:
        lock.release(remove=True)
    report = RetentionRunner(ctx).run()
    assert report is not None and [r.deletion.sessionId for r in report.removed] == ["s1"]


def test_the_runner_runs_hourly_on_the_injected_clock_and_after_each_verified_upload(
    ctx: Context, clock: FakeClock
) -> None:
    save_settings(ctx.paths.settings, AppSettings(keepUploadedDays=0))
    reports: list[PruneReport] = []
    runner = RetentionRunner(ctx, on_report=reports.append)
    assert runner.tick() is not None  # the first tick runs: nothing ran yet
    clock.advance(3599)
    assert runner.tick() is None
    clock.advance(1)
    assert runner.tick() is not None
    _session(ctx, "s1", UploadStatus.DONE)
    runner.on_upload_event(UploadProgress("s1", UploadStatus.UPLOADING, 1, 2, 50))
    assert ctx.sessions.item("s1").localCopy  # not done yet: not a trigger
    runner.on_upload_event(UploadProgress("s1", UploadStatus.DONE, 2, 2, 100))
    assert not ctx.sessions.item("s1").localCopy
    assert len(reports) == 3 and [r.deletion.sessionId for r in reports[-1].removed] == ["s1"]


def test_the_runner_reads_the_settings_at_every_run(ctx: Context, clock: FakeClock) -> None:
    _session(ctx, "s1", UploadStatus.DONE, uploaded_days_ago=1)
    runner = RetentionRunner(ctx)
    assert runner.run() is not None and ctx.sessions.item("s1").localCopy
    save_settings(ctx.paths.settings, AppSettings(keepUploadedDays=0))
    runner.run()
    assert not ctx.sessions.item("s1").localCopy


def test_unreadable_settings_delete_nothing(ctx: Context) -> None:
    _session(ctx, "s1", UploadStatus.DONE, uploaded_days_ago=100)
    ctx.paths.settings.write_text("{not json")
    assert RetentionRunner(ctx).run() is None
    assert ctx.sessions.item("s1").localCopy


def test_prune_command_prints_what_it_removed_and_the_bytes_freed(
    ctx: Context, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `traycap prune` reads the real clock, years after the FakeClock's: the upload is old.
    _session(ctx, "s-old", UploadStatus.DONE, uploaded_days_ago=1)
    _session(ctx, "s-pending", UploadStatus.PENDING)
    assert cli.main(["prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Would remove the local copy of s-old" in out and "Would free 1.0 MB (1048576 bytes)" in out
    assert ctx.sessions.item("s-old").localCopy
    assert cli.main(["prune"]) == 0
    out = capsys.readouterr().out
    assert "Removed the local copy of s-old" in out and f"({MIB} bytes)" in out
    assert "s-pending" not in out
    assert not ctx.sessions.item("s-old").localCopy
    assert cli.main(["sessions", "--json"]) == 0
    rows = {r["sessionId"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["s-old"]["localCopy"] is False and rows["s-pending"]["localCopy"] is True


def test_prune_warns_when_sessions_not_uploaded_fill_the_budget(
    ctx: Context, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save_settings(ctx.paths.settings, AppSettings(localBudgetMB=1))
    _session(ctx, "s1", UploadStatus.FAILED, size=2 * MIB)
    assert cli.main(["prune"]) == 0
    captured = capsys.readouterr()
    assert "Nothing to remove" in captured.out
    assert "more than the 1.0 MB budget" in captured.err and ctx.sessions.item("s1").localCopy


def test_config_set_accepts_the_retention_settings_and_checks_them(
    ctx: Context, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["config", "set", "keepUploadedDays=0", "localBudgetMB=512", "minFreeMB=100"]) == 0
    settings = ctx.load_settings()
    assert (settings.keepUploadedDays, settings.localBudgetMB, settings.minFreeMB) == (0, 512, 100)
    assert cli.main(["config", "set", "keepUploadedDays=-2", "minFreeMB=lots"]) == 1
    err = capsys.readouterr().err
    assert "keepUploadedDays: must be -1 (never), 0 (once verified) or a number of days" in err
    assert "minFreeMB: must be a whole number" in err
    assert ctx.load_settings().keepUploadedDays == 0  # nothing written


def test_uploading_again_a_session_whose_local_copy_is_gone_says_it_is_uploaded(ctx: Context) -> None:
    from traycap.errors import IllegalTransition
    from traycap.upload.requests import request_upload

    _session(ctx, "s1", UploadStatus.DONE, uploaded_days_ago=30)
    prune(ctx, AppSettings())
    with pytest.raises(IllegalTransition) as caught:
        request_upload(ctx, "s1")
    assert "already uploaded" in caught.value.user_text() and "traycap link s1" in caught.value.user_text()
