"""`traycap prune [--dry-run]`: apply the retention rules now and say what went (or would go)."""

from __future__ import annotations

import argparse
import sys

from traycap.commands.common import EXIT_OK
from traycap.context import Context
from traycap.format import human_size, local_time
from traycap.storage.prune import PruneReport, prune
from traycap.storage.retention import Deletion, Reason


def _why(deletion: Deletion, keep_days: int) -> str:
    if deletion.reason is Reason.AGE:
        return "uploaded and verified" if keep_days == 0 else f"uploaded more than {keep_days} days ago"
    return "over the local disk budget (oldest upload first)"


def describe(report: PruneReport, keep_days: int) -> list[str]:
    """The report as lines for a person."""
    verb = "Would remove" if report.dry_run else "Removed"
    deletions = [r.deletion for r in report.removed] if not report.dry_run else list(report.plan.deletions)
    freed = {r.deletion.sessionId: r.freed for r in report.removed}
    lines = []
    for d in deletions:
        size = human_size(freed.get(d.sessionId, d.bytes))
        lines.append(f"{verb} the local copy of {d.sessionId} ({size}; uploaded {local_time(d.uploadedAt)}): "
                     f"{_why(d, keep_days)}")
    for sid, why in sorted(report.skipped.items()):
        lines.append(f"Kept {sid}: {why}")
    plan = report.plan
    budget = f" of a {human_size(plan.budgetBytes)} budget" if plan.budgetBytes else " (no budget)"
    after = plan.bytesBefore - report.freedBytes
    total = f"{'would free' if report.dry_run else 'freed'} {human_size(report.freedBytes)} ({report.freedBytes} bytes)"
    if deletions:
        lines.append(f"{total}; the data dir holds {human_size(after)}{budget}")
    else:
        lines.append(f"Nothing to remove; the data dir holds {human_size(after)}{budget}")
    return lines


def run(args: argparse.Namespace, ctx: Context) -> int:
    settings = ctx.load_settings()
    report = prune(ctx, settings, dry_run=args.dry_run)
    for line in describe(report, settings.keepUploadedDays):
        print(line[:1].upper() + line[1:])
    if report.plan.over_budget:
        print(f"traycap: warning: sessions not uploaded yet hold {human_size(report.plan.notUploadedBytes)}, "
              f"more than the {human_size(report.plan.budgetBytes)} budget; nothing that is not uploaded is "
              "deleted (upload them, or raise localBudgetMB)", file=sys.stderr)
    return EXIT_OK
