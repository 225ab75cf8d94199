"""A month of unattended use on the injected clock: sessions every 20 min in working hours, a flaky S3,
the real upload queue and the real retention rules on a real (temporary) data dir.

    result = run_soak(ctx, clock, SoakParams(days=30, seed=1))

The composition is the worker's and the tray's: the rules run at start-up, after every
export (a session arriving is when the disk grows), after every verified upload (a queue
subscriber) and hourly (RetentionRunner.tick on the FakeClock). The invariants are
checked from the outside (files on disk, states, the fake bucket), not through the rules:

- the sessions dir never holds more than the budget plus one session, unless every local
  copy left belongs to a session that is not `done` (then the budget cannot be kept);
- a session whose local zip is gone is `done` and its object's SHA-256 is the meta's;
- at the end, every `done` session's object has the SHA-256 its meta recorded.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.support.flaky_s3 import FlakyS3, Outage
from tests.support.sessions import make_exported_session, write_config
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.models import AppSettings, UploadStatus
from traycap.storage.config_store import save_settings
from traycap.storage.prune import PruneReport, RetentionRunner
from traycap.upload.queue import UploadQueue

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
KB = 1024
START_MS = calendar.timegm((2026, 1, 5, 0, 0, 0)) * 1000  # a Monday, 00:00 UTC


@dataclass(frozen=True)
class SoakParams:
    days: int = 30
    seed: int = 1
    every_min: int = 20
    work_hours: tuple[int, int] = (9, 17)
    weekdays_only: bool = True
    zip_kb: tuple[int, int] = (50, 250)
    budget_mb: int = 20
    keep_days: int = 7
    server_error_rate: float = 0.15
    denied_rate: float = 0.005
    outage_chance_per_day: float = 0.4
    outage_hours: tuple[float, float] = (0.2, 5.0)
    long_outage_days: tuple[float, float] | None = (10.4, 12.6)  # a 2-day outage: sessions pile up unuploaded


@dataclass
class SoakResult:
    sessions: int = 0
    peak_bytes: int = 0
    peak_at_ms: int = 0
    max_session_bytes: int = 0
    budget_bytes: int = 0
    deletions: list[tuple[str, str, int, int]] = field(default_factory=list)  # id, reason, bytes, at ms
    violations: list[str] = field(default_factory=list)
    over_budget_runs: int = 0
    rule_runs: int = 0
    final_status: Counter[str] = field(default_factory=Counter)
    verified_done: int = 0
    attempts: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    outage_hours: float = 0.0

    def by_reason(self) -> Counter[str]:
        return Counter(reason for _, reason, _, _ in self.deletions)


def _working(now_ms: int, p: SoakParams) -> bool:
    day = (now_ms - START_MS) // DAY_MS
    if p.weekdays_only and day % 7 >= 5:
        return False
    hour_ms = (now_ms - START_MS) % DAY_MS
    return p.work_hours[0] * HOUR_MS <= hour_ms < p.work_hours[1] * HOUR_MS


def _outages(p: SoakParams, rng: random.Random) -> list[Outage]:
    out = []
    for day in range(p.days):
        if rng.random() < p.outage_chance_per_day:
            start = START_MS + day * DAY_MS + rng.randrange(DAY_MS)
            out.append(Outage(start, start + round(rng.uniform(*p.outage_hours) * HOUR_MS)))
    if p.long_outage_days is not None and p.long_outage_days[0] < p.days:
        a, b = p.long_outage_days
        out.append(Outage(START_MS + round(a * DAY_MS), START_MS + round(b * DAY_MS)))
    return out


def _dir_bytes(path: str) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


class _Checker:
    """The invariants, read from disk and the fake bucket (never from the rules' own answers)."""

    def __init__(self, ctx: Context, s3: FlakyS3, result: SoakResult) -> None:
        self.ctx, self.s3, self.result = ctx, s3, result
        self.zips: dict[str, tuple[int, str]] = {}  # session id -> (zip size, sha256)

    def object_verified(self, sid: str) -> bool:
        state = self.ctx.states.read(sid)
        if state is None or state.status is not UploadStatus.DONE or not state.s3Key:
            return False
        body = self.s3.objects.get(state.s3Key)
        return body is not None and hashlib.sha256(body).hexdigest() == self.zips[sid][1]

    def has_local_copy(self, sid: str) -> bool:
        return self.ctx.paths.session_dir(sid).joinpath(f"{sid}.zip").exists()

    def on_report(self, report: PruneReport) -> None:
        self.result.rule_runs += 1
        self.result.over_budget_runs += report.plan.over_budget
        for removed in report.removed:
            sid = removed.deletion.sessionId
            if not self.object_verified(sid):
                self.result.violations.append(f"{sid} was deleted but is not done with a verified object")
            self.result.deletions.append((sid, removed.deletion.reason.value, removed.freed,
                                          self.ctx.clock.now_ms()))

    def disk(self, when: str) -> None:
        used = _dir_bytes(os.fspath(self.ctx.paths.sessions))
        now = self.ctx.clock.now_ms()
        if used > self.result.peak_bytes:
            self.result.peak_bytes, self.result.peak_at_ms = used, now
        if used <= self.result.budget_bytes + self.result.max_session_bytes:
            return
        done_with_copy = [sid for sid in self.zips if self.has_local_copy(sid) and self.object_verified(sid)]
        if done_with_copy:
            self.result.violations.append(
                f"{when} at day {(now - START_MS) / DAY_MS:.2f}: {used} B used, over the budget by more than one "
                f"session while {len(done_with_copy)} uploaded session(s) kept their local copy")

    def sweep(self) -> None:
        for sid in self.zips:
            if not self.has_local_copy(sid) and not self.object_verified(sid):
                self.result.violations.append(f"{sid} lost its local copy without a verified upload")


def scratch_dir() -> str | None:
    """Where to keep the simulated data dir: a RAM disk when there is one. Every state change is
    fsynced (as in real use), and a month of them on a loaded disk takes minutes instead of seconds."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def run_soak(ctx: Context, clock: FakeClock, p: SoakParams) -> SoakResult:
    rng = random.Random(p.seed)
    assert clock.now_ms() <= START_MS
    clock.advance((START_MS - clock.now_ms()) / 1000)
    result = SoakResult(budget_bytes=p.budget_mb * 1024 * 1024, max_session_bytes=0)
    s3 = FlakyS3(clock.now_ms, random.Random(p.seed + 1), p.server_error_rate, p.denied_rate, _outages(p, rng))
    result.outage_hours = sum(o.end_ms - o.start_ms for o in s3.outages) / HOUR_MS
    write_config(ctx)
    save_settings(ctx.paths.settings, AppSettings(keepUploadedDays=p.keep_days, localBudgetMB=p.budget_mb))
    check = _Checker(ctx, s3, result)
    queue = UploadQueue(ctx, s3.factory)
    runner = RetentionRunner(ctx, on_report=check.on_report)
    queue.subscribe(runner.on_upload_event)
    queue.restore()
    runner.run()  # start-up
    end = START_MS + p.days * DAY_MS
    last_sweep = 0
    while clock.now_ms() < end:
        now = clock.now_ms()
        working = _working(now, p)
        if working:
            sid = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now / 1000)) + f"-{result.sessions:06x}"
            data = rng.randbytes(rng.randrange(p.zip_kb[0] * KB, p.zip_kb[1] * KB))
            make_exported_session(ctx, sid, data=data, created_at=now)
            check.zips[sid] = (len(data), hashlib.sha256(data).hexdigest())
            result.sessions += 1
            size = _dir_bytes(os.fspath(ctx.paths.session_dir(sid)))
            result.max_session_bytes = max(result.max_session_bytes, size)
            check.disk("after an export")
            runner.run()  # after every export
            queue.enqueue(sid)  # autoUpload
        while queue.process_one():
            pass
        runner.tick()  # hourly
        check.disk("after the queue and the rules")
        if now - last_sweep >= HOUR_MS:
            check.sweep()
            last_sweep = now
        # A session every `every_min` in working hours; otherwise the queue retries and the rules
        # run on the hour (backoffs come due within the step).
        clock.advance((p.every_min if working or _working(now + HOUR_MS, p) else 60) * 60)
    check.sweep()
    for sid in check.zips:
        state = ctx.states.read(sid)
        status = state.status.value if state else "not_uploaded"
        result.final_status[status] += 1
        if status == UploadStatus.DONE.value:
            if check.object_verified(sid):
                result.verified_done += 1
            else:
                result.violations.append(f"{sid} is done but its object does not match its meta")
    result.attempts, result.failures = s3.attempts, dict(s3.failures)
    return result
