"""Notifications: the de-duplication gate, the texts, and the log-only fallback."""

from __future__ import annotations

import logging
import threading

import pytest

from traycap.ui.notify import (
    Notice,
    NoticeKind,
    NotificationGate,
    Notifier,
    notification_service_available,
    recording_failed_notice,
    upload_done_notice,
    upload_failed_notice,
    upload_notice_kind,
)


def kinds(gate: NotificationGate, sid: str, statuses: list[str]) -> list[NoticeKind]:
    out = []
    for status in statuses:
        kind = upload_notice_kind(gate, sid, status)
        if kind is not None:
            out.append(kind)
    return out


def test_progress_ticks_give_one_done_notice() -> None:
    gate = NotificationGate()
    ticks = ["pending"] + ["uploading"] * 50 + ["done"] * 5
    assert kinds(gate, "s1", ticks) == [NoticeKind.UPLOAD_DONE]


def test_retries_then_failure_give_one_failed_notice() -> None:
    gate = NotificationGate()
    ticks = ["pending", "uploading", "pending", "uploading", "pending", "uploading", "failed", "failed"]
    assert kinds(gate, "s1", ticks) == [NoticeKind.UPLOAD_FAILED]


def test_user_retry_after_failure_is_a_new_state_change() -> None:
    gate = NotificationGate()
    assert kinds(gate, "s1", ["uploading", "failed", "pending", "uploading", "done"]) == [
        NoticeKind.UPLOAD_FAILED, NoticeKind.UPLOAD_DONE,
    ]


def test_sessions_are_independent() -> None:
    gate = NotificationGate()
    assert upload_notice_kind(gate, "a", "done") is NoticeKind.UPLOAD_DONE
    assert upload_notice_kind(gate, "b", "done") is NoticeKind.UPLOAD_DONE
    assert upload_notice_kind(gate, "a", "done") is None


def test_seeded_state_from_startup_is_not_announced() -> None:
    gate = NotificationGate()
    gate.seed("old", "failed")
    assert upload_notice_kind(gate, "old", "failed") is None
    assert upload_notice_kind(gate, "old", "pending") is None
    assert upload_notice_kind(gate, "old", "failed") is NoticeKind.UPLOAD_FAILED


def test_gate_is_thread_safe_one_winner() -> None:
    gate = NotificationGate()
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def hit() -> None:
        barrier.wait()
        wins.append(gate.changed("s", "done"))

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


def test_texts() -> None:
    done = upload_done_notice("20260101-120000-abcdef", 3 * 1024 * 1024, 83_000, link_copied=True)
    assert done.title == "Upload done"
    assert done.message == "Session 20260101-120000-abcdef, 3.0 MB in 1:23. Share link copied to the clipboard."
    failed = upload_failed_notice("s1", "The access key was rejected by S3")
    assert (failed.title, failed.message) == ("Upload failed", "Session s1: The access key was rejected by S3")
    rec = recording_failed_notice("s2", "the display went away")
    assert (rec.kind, rec.title, rec.message) == (
        NoticeKind.RECORDING_FAILED, "Recording stopped", "Session s2: the display went away",
    )


def test_without_a_service_notices_are_logged_only(caplog: pytest.LogCaptureFixture) -> None:
    delivered: list[Notice] = []
    notifier = Notifier(delivered.append, available=lambda: False)
    caplog.set_level(logging.INFO, logger="traycap.ui.notify")
    notice = upload_failed_notice("s1", "bucket not found")
    assert notifier.deliver(notice) is False
    assert delivered == [] and notifier.logged_only == [notice]
    assert "no desktop notification service" in caplog.text


def test_with_a_service_the_backend_gets_it_on_the_worker_thread() -> None:
    got = threading.Event()
    seen: list[tuple[Notice, str]] = []

    def backend(n: Notice) -> None:
        seen.append((n, threading.current_thread().name))
        got.set()

    notifier = Notifier(backend, available=lambda: True)
    notice = upload_done_notice("s1", 10, None, link_copied=False)
    notifier.send(notice)
    assert got.wait(5)
    notifier.close()
    assert seen == [(notice, "traycap-notify")]
    assert notifier.sent == [notice]


def test_a_crashing_backend_falls_back_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    def broken(n: Notice) -> None:
        raise RuntimeError("no dbus")

    notifier = Notifier(broken, available=lambda: True)
    caplog.set_level(logging.INFO)
    assert notifier.deliver(upload_done_notice("s1", 1, None, link_copied=False)) is False
    assert "could not show a notification (no dbus)" in caplog.text


def test_no_session_bus_means_no_service() -> None:
    assert notification_service_available({"PATH": "/usr/bin:/bin"}, platform="linux") is False


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_windows_and_macos_always_try_plyer(platform: str) -> None:
    """Before this, Windows had no D-Bus address and every notification went to the log only."""
    assert notification_service_available({"PATH": ""}, platform=platform) is True
