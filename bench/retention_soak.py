"""A month of unattended use in seconds: the retention rules against a flaky S3, on the injected clock.

    python bench/retention_soak.py [--days 30] [--seed 1] [--budget-mb 20] [--keep-days 7]

A session (a zip of 50-250 KB, random bytes) every simulated 20 min from 09:00 to 17:00 on
weekdays; autoUpload to an in-memory S3 that answers 5xx at random (15 % of attempts),
denies 0.5 % for good (those sessions fail and stay), and has outages (seeded: some days
a few hours, plus a 2-day one). The real upload queue and the real retention rules run
on a real temporary data dir (tests/support/retention_soak.py). The sizes are scaled down
from a real month (15 MB a minute of 1080p) so it runs in a minute or two; the rules see
bytes and a budget, not minutes.

Prints the peak disk use against the budget, the deletions (by reason, by week), what the
sessions ended as, and every invariant breach (none expected). Exit status 0 either way;
tests/unit/test_retention_soak.py asserts the invariants on a shorter run.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.retention_soak import DAY_MS, START_MS, SoakParams, run_soak, scratch_dir
from traycap.clock import FakeClock
from traycap.context import make_context
from traycap.format import human_size
from traycap.paths import Paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget-mb", type=int, default=20)
    parser.add_argument("--keep-days", type=int, default=7)
    args = parser.parse_args()
    params = replace(SoakParams(), days=args.days, seed=args.seed, budget_mb=args.budget_mb, keep_days=args.keep_days)
    logging.basicConfig(level=logging.ERROR)  # the queue's warnings about simulated failures are expected
    with tempfile.TemporaryDirectory(prefix="traycap-retention-soak-", dir=scratch_dir()) as tmp:
        clock = FakeClock()
        ctx = make_context(Paths(root=Path(tmp), logs=Path(tmp) / "logs"), clock)
        started = time.monotonic()
        r = run_soak(ctx, clock, params)
        took = time.monotonic() - started
    print(f"{params.days} simulated days in {took:.1f} s: {r.sessions} sessions, seed {params.seed}, "
          f"keepUploadedDays={params.keep_days}, localBudgetMB={params.budget_mb}")
    print(f"S3: {r.attempts} upload attempts, failures {r.failures}, {r.outage_hours:.1f} h of outages")
    over = r.peak_bytes - r.budget_bytes
    print(f"peak disk use: {human_size(r.peak_bytes)} ({r.peak_bytes} B) at day "
          f"{(r.peak_at_ms - START_MS) / DAY_MS:.2f}; budget {human_size(r.budget_bytes)}; "
          f"{'over by ' + human_size(over) if over > 0 else 'under by ' + human_size(-over)}; "
          f"largest session {human_size(r.max_session_bytes)}")
    reasons = r.by_reason()
    freed = sum(b for _, _, b, _ in r.deletions)
    print(f"deletions: {len(r.deletions)} local copies, {human_size(freed)} freed "
          f"({reasons.get('age', 0)} by age, {reasons.get('budget', 0)} by budget)")
    weeks: Counter[tuple[int, str]] = Counter((int((at - START_MS) // (7 * DAY_MS)) + 1, why)
                                              for _, why, _, at in r.deletions)
    for week in sorted({w for w, _ in weeks}):
        print(f"  week {week}: {weeks[(week, 'age')]} by age, {weeks[(week, 'budget')]} by budget")
    print(f"rules ran {r.rule_runs} times; over budget with only un-uploaded copies left: {r.over_budget_runs} runs")
    print(f"sessions at the end: {dict(r.final_status)}; done with a verified object: {r.verified_done}")
    print(f"invariant breaches: {len(r.violations)}")
    for v in r.violations[:20]:
        print(f"  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
