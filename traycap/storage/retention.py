"""Retention rules as a pure function: which local copies of uploaded sessions to delete, and why.

    plan(sessions, policy, now_ms) -> RetentionPlan

No disk, no clock: prune.py measures the data dir, calls `plan`, and deletes.
The rules (docs/retention.md):

- age: the local copy of a `done` session goes `keepUploadedDays` days after its
  verified upload (0: at once; -1: never);
- budget: while the data dir is above `localBudgetMB` (0: no budget), local
  copies of `done` sessions go, oldest upload first, until it is not;
- nothing that is not `done` is ever planned for deletion. When what is left
  is still above the budget, the plan says so (`over_budget`) instead.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from traycap.models import MIB, AppSettings, UploadStatus

DAY_MS = 24 * 3600 * 1000
KEEP_FOREVER = -1


class Reason(enum.Enum):
    AGE = "age"
    BUDGET = "budget"


@dataclass(frozen=True)
class SessionUsage:
    """One session dir as the rules see it."""

    sessionId: str
    status: UploadStatus | None  # None: no (readable) upload state: never deleted
    uploadedAt: int | None  # when its upload was verified (state.completedAt), for `done` sessions
    bytes: int  # everything in its dir
    localCopyBytes: int  # what deleting its local copy frees (0 when already gone)

    @property
    def deletable(self) -> bool:
        return self.status is UploadStatus.DONE and self.localCopyBytes > 0 and self.uploadedAt is not None


@dataclass(frozen=True)
class Policy:
    keepUploadedDays: int = 7
    budgetBytes: int = 0  # 0 = no budget

    @classmethod
    def of(cls, settings: AppSettings) -> Policy:
        return cls(keepUploadedDays=settings.keepUploadedDays, budgetBytes=max(0, settings.localBudgetMB) * MIB)


@dataclass(frozen=True)
class Deletion:
    sessionId: str
    reason: Reason
    bytes: int
    uploadedAt: int


@dataclass(frozen=True)
class RetentionPlan:
    deletions: tuple[Deletion, ...]
    bytesBefore: int  # the data dir as measured
    bytesAfter: int  # once the deletions are done
    budgetBytes: int  # 0 = no budget
    notUploadedBytes: int  # held by sessions that are not `done` (never deleted by these rules)

    @property
    def freedBytes(self) -> int:
        return self.bytesBefore - self.bytesAfter

    @property
    def over_budget(self) -> bool:
        """Still above the budget with every deletable copy gone: sessions not uploaded fill it."""
        return self.budgetBytes > 0 and self.bytesAfter > self.budgetBytes


def _expired(usage: SessionUsage, policy: Policy, now_ms: int) -> bool:
    if policy.keepUploadedDays <= KEEP_FOREVER or usage.uploadedAt is None:  # a hand-edited -5 is never too
        return False
    return now_ms - usage.uploadedAt >= policy.keepUploadedDays * DAY_MS


def plan(sessions: Iterable[SessionUsage], policy: Policy, now_ms: int, *, other_bytes: int = 0) -> RetentionPlan:
    """What to delete now. `other_bytes`: files of the data dir outside any session (config, logs)."""
    rows = list(sessions)
    total = other_bytes + sum(u.bytes for u in rows)
    # Oldest upload first; the id breaks ties so the plan never depends on listing order.
    candidates = sorted((u for u in rows if u.deletable), key=lambda u: (u.uploadedAt or 0, u.sessionId))
    deletions: list[Deletion] = []
    chosen: set[str] = set()
    for usage in candidates:
        if _expired(usage, policy, now_ms):
            deletions.append(Deletion(usage.sessionId, Reason.AGE, usage.localCopyBytes, usage.uploadedAt or 0))
            chosen.add(usage.sessionId)
    remaining = total - sum(d.bytes for d in deletions)
    if policy.budgetBytes > 0:
        for usage in candidates:
            if remaining <= policy.budgetBytes:
                break
            if usage.sessionId in chosen:
                continue
            deletions.append(Deletion(usage.sessionId, Reason.BUDGET, usage.localCopyBytes, usage.uploadedAt or 0))
            chosen.add(usage.sessionId)
            remaining -= usage.localCopyBytes
    not_uploaded = sum(u.bytes for u in rows if u.status is not UploadStatus.DONE)
    return RetentionPlan(
        deletions=tuple(deletions),
        bytesBefore=total,
        bytesAfter=remaining,
        budgetBytes=policy.budgetBytes,
        notUploadedBytes=not_uploaded,
    )
