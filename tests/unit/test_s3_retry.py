"""Retry (traycap/upload/s3/retry.py): the one quick-retry loop of the S3 engine, on a FakeClock."""

from __future__ import annotations

import threading

import pytest

from traycap.clock import FakeClock
from traycap.errors import AccessDenied, NetworkError, UploadGone
from traycap.upload.s3.body import Stopped
from traycap.upload.s3.retry import Retry


class Flaky:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_transient_errors_are_retried_with_a_doubling_pause() -> None:
    clock = FakeClock()
    fn = Flaky(NetworkError("reset"), NetworkError("reset"))
    assert Retry(clock, attempts=3).call(fn, what="part 1") == "ok"
    assert fn.calls == 3 and clock.sleeps == [0.25, 0.5]


def test_the_last_error_is_raised_when_tries_run_out() -> None:
    clock = FakeClock()
    fn = Flaky(NetworkError("a"), NetworkError("b"))
    with pytest.raises(NetworkError, match="b"):
        Retry(clock, attempts=2).call(fn, what="part 1")
    assert clock.sleeps == [0.25]


@pytest.mark.parametrize("error", [AccessDenied("no"), UploadGone("gone", code="NoSuchUpload", status=404)])
def test_permanent_errors_and_a_gone_upload_are_not_retried(error: Exception) -> None:
    fn = Flaky(error)
    with pytest.raises(type(error)):
        Retry(FakeClock(), attempts=3).call(fn, what="part 1")
    assert fn.calls == 1


def test_a_failure_after_a_stop_is_a_stop() -> None:
    fn = Flaky(NetworkError("cut on purpose"))
    with pytest.raises(Stopped):
        Retry(FakeClock(), attempts=3).call(fn, what="part 1", stop=lambda: True)
    assert fn.calls == 1


def test_a_stop_while_waiting_ends_the_wait() -> None:
    clock = FakeClock()
    wake = threading.Event()
    asked = []

    def stop() -> bool:
        asked.append(True)
        return len(asked) > 1  # not yet when the try fails; by the time the wait is woken

    def fn() -> str:
        wake.set()  # e.g. a cancel arriving while this request fails
        raise NetworkError("reset")

    with pytest.raises(Stopped):
        Retry(clock, attempts=3).call(fn, what="part 1", stop=stop, wake=wake)
    assert clock.sleeps == [0.25]
