"""The retention soak (tests/support/retention_soak.py), short: days of flaky uploads and outages on the
FakeClock with the real queue and rules; bench/retention_soak.py runs the 30-day version and prints figures."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.retention_soak import SoakParams, run_soak, scratch_dir
from traycap.clock import FakeClock
from traycap.context import Context, make_context
from traycap.paths import Paths


@pytest.fixture
def ctx(clock: FakeClock) -> Iterator[Context]:
    with tempfile.TemporaryDirectory(prefix="traycap-retention-soak-", dir=scratch_dir()) as tmp:
        yield make_context(Paths(root=Path(tmp), logs=Path(tmp) / "logs"), clock)


SHORT = SoakParams(days=4, seed=7, budget_mb=4, keep_days=1, long_outage_days=(1.3, 2.4))


def test_a_short_soak_keeps_the_budget_and_deletes_only_verified_uploads(ctx: Context, clock: FakeClock) -> None:
    result = run_soak(ctx, clock, SHORT)
    assert result.violations == []
    assert result.sessions == 4 * 24
    assert result.peak_bytes <= result.budget_bytes + result.max_session_bytes
    reasons = result.by_reason()
    assert reasons["age"] > 0 and reasons["budget"] > 0  # both rules were exercised
    assert result.failures.get("outage", 0) > 0 and result.failures.get("5xx", 0) > 0
    assert result.verified_done == result.final_status["done"] > 0
    deleted = {sid for sid, _, _, _ in result.deletions}
    assert len(deleted) == len(result.deletions)  # each local copy goes once


def test_when_sessions_not_uploaded_fill_the_budget_nothing_of_theirs_is_deleted(
    ctx: Context, clock: FakeClock
) -> None:
    # A 2-day outage with a budget smaller than two days of sessions: the budget cannot be kept.
    params = replace(SHORT, budget_mb=2, keep_days=-1, long_outage_days=(0.3, 2.5), outage_chance_per_day=0.0)
    result = run_soak(ctx, clock, params)
    assert result.violations == []
    assert result.over_budget_runs > 0
    assert result.peak_bytes > result.budget_bytes + result.max_session_bytes  # and that was allowed
    assert result.by_reason()["age"] == 0 and result.by_reason()["budget"] > 0
