"""The retention rules (traycap/storage/retention.py), table-driven: pure function of sessions, policy, now."""

from __future__ import annotations

import pytest

from traycap.models import MIB, AppSettings, UploadStatus
from traycap.storage.retention import DAY_MS, Policy, Reason, SessionUsage, plan

NOW = 1_700_000_000_000
D, P, U, F, N = (UploadStatus.DONE, UploadStatus.PENDING, UploadStatus.UPLOADING, UploadStatus.FAILED,
                 UploadStatus.NOT_UPLOADED)


def s(sid: str, status: UploadStatus | None, days_ago: float | None, mb: int,
      copy_mb: int | None = None) -> SessionUsage:
    uploaded = None if days_ago is None else NOW - round(days_ago * DAY_MS)
    copy = mb if copy_mb is None else copy_mb
    return SessionUsage(sid, status, uploaded if status is D else None, mb * MIB, copy * MIB)


CASES = [
    # name, sessions, keep days, budget MB, expected deletions (id, reason), over budget
    ("nothing uploaded", [s("a", N, None, 5), s("b", P, None, 5)], 7, 0, [], False),
    ("young upload kept", [s("a", D, 6.9, 5)], 7, 0, [], False),
    ("old upload goes", [s("a", D, 7, 5), s("b", D, 1, 5)], 7, 0, [("a", Reason.AGE)], False),
    ("keep 0: at once", [s("a", D, 0, 5)], 0, 0, [("a", Reason.AGE)], False),
    ("keep -1: never by age", [s("a", D, 400, 5)], -1, 0, [], False),
    ("copy already gone", [s("a", D, 30, 1, copy_mb=0)], 7, 0, [], False),
    ("budget: oldest upload first",
     [s("new", D, 1, 10), s("old", D, 3, 10), s("mid", D, 2, 10)], -1, 15,
     [("old", Reason.BUDGET), ("mid", Reason.BUDGET)], False),
    ("budget: only until under",
     [s("a", D, 3, 10), s("b", D, 2, 10), s("c", D, 1, 10)], -1, 25, [("a", Reason.BUDGET)], False),
    ("budget never touches what is not done",
     [s("p", P, None, 10), s("u", U, None, 10), s("f", F, None, 10), s("n", N, None, 10), s("x", None, None, 10),
      s("d", D, 1, 10)], -1, 15, [("d", Reason.BUDGET)], True),
    ("age and budget together",
     [s("old", D, 10, 10), s("a", D, 2, 10), s("b", D, 1, 10), s("p", P, None, 10)], 7, 25,
     [("old", Reason.AGE), ("a", Reason.BUDGET)], False),
    ("under budget: nothing", [s("a", D, 1, 10)], -1, 20, [], False),
    ("no budget: nothing", [s("a", D, 1, 10_000)], -1, 0, [], False),
    ("equal to the budget is not over", [s("a", D, 1, 10)], -1, 10, [], False),
]


@pytest.mark.parametrize(("name", "sessions", "keep", "budget", "expected", "over"), CASES, ids=[c[0] for c in CASES])
def test_plan(name: str, sessions: list[SessionUsage], keep: int, budget: int,
              expected: list[tuple[str, Reason]], over: bool) -> None:
    result = plan(sessions, Policy(keep, budget * MIB), NOW)
    assert [(d.sessionId, d.reason) for d in result.deletions] == expected
    assert result.over_budget is over
    deleted = {d.sessionId for d in result.deletions}
    assert all(u.status is D for u in sessions if u.sessionId in deleted)  # never anything but done
    assert result.freedBytes == sum(u.localCopyBytes for u in sessions if u.sessionId in deleted)
    if budget and not over:
        assert result.bytesAfter <= budget * MIB


def test_other_files_count_towards_the_budget() -> None:
    result = plan([s("a", D, 1, 10)], Policy(-1, 15 * MIB), NOW, other_bytes=6 * MIB)
    assert [d.sessionId for d in result.deletions] == ["a"]
    assert result.bytesBefore == 16 * MIB and result.bytesAfter == 6 * MIB


def test_ties_in_upload_time_are_broken_by_id_not_by_listing_order() -> None:
    rows = [s("b", D, 1, 10), s("a", D, 1, 10)]
    assert [d.sessionId for d in plan(rows, Policy(-1, 15 * MIB), NOW).deletions] == ["a"]
    assert [d.sessionId for d in plan(rows[::-1], Policy(-1, 15 * MIB), NOW).deletions] == ["a"]


def test_policy_from_settings() -> None:
    assert Policy.of(AppSettings()) == Policy(7, 20480 * MIB)
    assert Policy.of(AppSettings(keepUploadedDays=0, localBudgetMB=0)) == Policy(0, 0)


def test_not_uploaded_bytes_are_reported() -> None:
    result = plan([s("a", P, None, 10), s("b", D, 1, 4), s("c", None, None, 1)], Policy(-1, 5 * MIB), NOW)
    assert result.notUploadedBytes == 11 * MIB and result.over_budget
