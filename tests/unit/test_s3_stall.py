"""The stall rule (traycap/upload/s3/stall.py) on the FakeClock: a part's silence is the time its
requests waited without the server taking a byte or answering, added up over failed tries; a
slow part whose bytes keep going never stalls, however long it takes (issue 18)."""

from __future__ import annotations

import pytest

from traycap.clock import FakeClock
from traycap.upload.s3.stall import STALL_S, StallWatch


def test_silence_adds_up_over_tries_without_an_answer_until_the_stall_time() -> None:
    clock = FakeClock()
    watch = StallWatch(clock)
    for expected in (30.0, 60.0):
        attempt = watch.attempt("u1", 2)
        attempt.took(10 * 1024 * 1024)  # the whole body went out at once
        clock.advance(30)  # then nothing until the read timeout
        attempt.failed_without_answer()
        assert watch.silence("u1", 2) == expected
    assert STALL_S < 60 and watch.stalled("u1", 2)
    assert not watch.stalled("u1", 1) and not watch.stalled("u2", 2)  # per part of one upload


def test_a_slow_part_whose_bytes_keep_going_is_not_silent() -> None:
    clock = FakeClock()
    watch = StallWatch(clock)
    attempt = watch.attempt("u1", 1)
    for _ in range(840):  # 10 MiB at 0.5 MB/s: 21 s, a 12.5 KB read every 25 ms
        clock.advance(0.025)
        attempt.took(12_500)
    clock.advance(0.2)  # the connection is reset just after its last byte went out
    attempt.failed_without_answer()
    assert watch.silence("u1", 1) == pytest.approx(0.2) and not watch.stalled("u1", 1)


def test_an_accepted_part_and_a_forgotten_upload_start_from_zero() -> None:
    clock = FakeClock()
    watch = StallWatch(clock, stall_s=5)
    for part in (1, 2):
        attempt = watch.attempt("u1", part)
        clock.advance(4)
        attempt.failed_without_answer()
    watch.accepted("u1", 1)
    assert watch.silence("u1", 1) == 0 and watch.silence("u1", 2) == 4
    watch.forget("u1")
    assert watch.silence("u1", 2) == 0
