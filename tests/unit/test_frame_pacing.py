"""LatestFrame (traycap/media/capture/frame_pacing.py): damage-driven frames in, a frame per grab out, on the clock."""

from __future__ import annotations

import threading

import pytest

from traycap.clock import FakeClock
from traycap.errors import CaptureLost
from traycap.media.capture.frame_pacing import LatestFrame


def test_each_grab_gets_the_newest_frame_or_the_last_one_again() -> None:
    clock = FakeClock()
    latest = LatestFrame(clock)
    latest.put("a")
    clock.advance(0.1)
    first = latest.take()
    assert first is not None
    assert (first.image, first.fresh, first.seq) == ("a", True, 1)
    assert first.t == clock.monotonic() and first.arrived_t == clock.monotonic() - 0.1
    clock.advance(0.1)
    again = latest.take()  # nothing changed on screen: the same image, a new time
    assert again is not None
    assert (again.image, again.fresh, again.seq) == ("a", False, 1)
    assert again.t == pytest.approx(first.t + 0.1)
    latest.put("b")
    latest.put("c")  # two changes between grabs: only the newest is shown
    clock.advance(0.1)
    newest = latest.take()
    assert newest is not None
    assert (newest.image, newest.fresh, newest.seq) == ("c", True, 3)
    assert (latest.received, latest.taken, latest.repeated) == (3, 3, 1)


def test_before_the_first_frame_there_is_nothing_to_show() -> None:
    latest = LatestFrame(FakeClock())
    assert latest.take() is None
    latest.put("a")
    taken = latest.take()
    assert taken is not None and taken.fresh and taken.seq == 1


def test_after_the_stream_ends_every_grab_says_why() -> None:
    latest = LatestFrame(FakeClock())
    latest.put("a")
    latest.fail(CaptureLost("The screen cast stopped: first reason"))
    latest.fail(CaptureLost("a later reason is not kept"))
    latest.put("b")  # a frame that raced the end is not shown
    for _ in range(2):
        with pytest.raises(CaptureLost, match="first reason"):
            latest.take()
    assert latest.received == 1


def test_waiting_for_the_first_frame_runs_on_the_clock() -> None:
    clock = FakeClock()
    latest = LatestFrame(clock)
    start = clock.monotonic()
    assert latest.wait_first(5.0) is False  # nobody sends: the fake clock ran to the deadline, nobody slept
    assert clock.monotonic() - start == pytest.approx(5.0)
    latest.put("a")
    assert latest.wait_first(5.0) is True


def test_a_frame_from_another_thread_ends_the_wait() -> None:
    sleeping = threading.Event()

    class Clock(FakeClock):
        def sleep(self, seconds: float, wake: threading.Event | None = None) -> bool:
            sleeping.set()
            assert wake is not None
            return wake.wait(10)  # the producer's put() wakes it

    latest = LatestFrame(Clock())
    producer = threading.Thread(target=lambda: (sleeping.wait(10), latest.put("a")))
    producer.start()
    assert latest.wait_first(60.0) is True
    producer.join(10)
    taken = latest.take()
    assert taken is not None and taken.image == "a"


def test_a_failure_ends_the_wait_too() -> None:
    latest = LatestFrame(FakeClock())
    latest.fail(CaptureLost("gone"))
    assert latest.wait_first(5.0) is True
    assert latest.failure is not None and latest.failure.message == "gone"
