"""timing.FrameScheduler: frames due on a grid; late slots are counted as dropped, never faked."""

from __future__ import annotations

import pytest

from traycap.clock import FakeClock
from traycap.recorder.timing import FrameScheduler


def test_on_time_captures_drop_nothing() -> None:
    clock = FakeClock()
    sched = FrameScheduler(10, clock.monotonic())
    for _ in range(50):
        due = sched.next_due()
        clock.advance(max(0.0, due - clock.monotonic()))
        clock.advance(0.02)  # the capture takes 20 ms of a 100 ms slot
        sched.captured(clock.monotonic())
    assert sched.dropped == 0
    assert sched.next_due() == pytest.approx(1000.0 + 5.0)


def test_a_slow_capture_drops_the_slots_it_overran() -> None:
    clock = FakeClock()
    start = clock.monotonic()
    sched = FrameScheduler(10, start)
    clock.advance(0.35)  # the first capture took 350 ms: slots at 100, 200 and 300 ms are gone
    sched.captured(clock.monotonic())
    assert sched.dropped == 3
    assert sched.next_due() == pytest.approx(start + 0.4)
    clock.advance(0.05)
    sched.captured(clock.monotonic())  # on time again
    assert sched.dropped == 3


def test_drop_accounting_with_a_fake_clock_over_a_loaded_second() -> None:
    """30 fps asked, every capture costs 50 ms: about 20 frames and 10 drops a second, all counted."""
    clock = FakeClock()
    sched = FrameScheduler(30, clock.monotonic())
    frames = 0
    while clock.monotonic() < 1000.0 + 1.0:
        clock.advance(max(0.0, sched.next_due() - clock.monotonic()))
        clock.advance(0.05)
        sched.captured(clock.monotonic())
        frames += 1
    assert frames + sched.dropped == pytest.approx(31, abs=1)  # every slot is a frame or a counted drop
    assert sched.dropped >= 10


def test_restart_after_pause_does_not_count_paused_time() -> None:
    clock = FakeClock()
    sched = FrameScheduler(10, clock.monotonic())
    sched.captured(clock.monotonic())
    clock.advance(60.0)  # paused for a minute
    sched.restart(clock.monotonic())
    sched.captured(clock.monotonic() + 0.01)
    assert sched.dropped == 0


def test_fps_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FrameScheduler(0, 0.0)
