"""traycap/viewer/lifetime.py: when the viewer stops, on a fake clock."""

from __future__ import annotations

from traycap.clock import FakeClock
from traycap.viewer.lifetime import Lifetime


def make(clock: FakeClock) -> Lifetime:
    return Lifetime(clock, first_visit_s=120, closed_after_s=150, bye_grace_s=5, idle_after_s=1800)


def test_stops_when_the_page_is_never_opened(clock: FakeClock) -> None:
    life = make(clock)
    clock.advance(119)
    assert life.stop_reason() is None
    clock.advance(1)
    assert life.stop_reason() == "the page was not opened"


def test_heartbeats_keep_it_running_and_their_absence_stops_it(clock: FakeClock) -> None:
    life = make(clock)
    life.request()
    for _ in range(60):  # background tabs beat only once a minute: still open
        clock.advance(60)
        life.heartbeat(active=True)
        assert life.stop_reason() is None
    clock.advance(149)
    assert life.stop_reason() is None
    clock.advance(1)
    assert life.stop_reason() == "the page was closed"


def test_goodbye_stops_after_the_grace_unless_the_page_comes_back(clock: FakeClock) -> None:
    life = make(clock)
    life.request()
    life.bye()
    clock.advance(4)
    life.request()  # a reload: goodbye, then the page again
    clock.advance(10)
    assert life.stop_reason() is None
    life.bye()
    clock.advance(5)
    assert life.stop_reason() == "the page was closed"


def test_an_open_but_unused_page_stops_after_the_idle_time(clock: FakeClock) -> None:
    life = make(clock)
    life.heartbeat(active=True)
    for _ in range(179):
        clock.advance(10)
        life.heartbeat(active=False)
    assert life.stop_reason() is None
    clock.advance(10)
    life.heartbeat(active=False)
    assert life.stop_reason() == "the page was idle"
    life.active()
    assert life.stop_reason() is None
