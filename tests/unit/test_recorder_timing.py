"""timing.FrameScheduler: frames due on a grid; late slots are counted as dropped, never faked."""

from __future__ import annotations

import pytest

from traycap.clock import FakeClock
from traycap.recorder.timing import FrameScheduler, Repeats, Slot


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


def test_a_still_screen_skips_its_slots_but_repeats_a_frame_every_second_and_when_asked() -> None:
    repeats = Repeats(every_s=1.0)
    assert repeats.decide(0.0, changed=False) == Slot.NEW  # nothing sent yet: the first frame is new
    repeats.sent(0.0)
    decisions = [repeats.decide(k / 10, changed=False) for k in range(1, 10)]
    assert decisions == [Slot.SKIP] * 9
    assert repeats.decide(0.5, changed=False, wanted=True) == Slot.REPEAT  # a screenshot waits for a frame
    assert repeats.decide(0.5, changed=True) == Slot.NEW
    assert repeats.decide(1.0, changed=False) == Slot.REPEAT  # a second since the last frame
    assert repeats.decide(sum([0.2] * 5), changed=False) == Slot.REPEAT  # 0.999...: a grid step reaches 1 s
    repeats.sent(1.0)
    assert repeats.decide(1.5, changed=False) == Slot.SKIP
