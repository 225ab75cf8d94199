"""recorder/audio_sync.py: where a device's samples lie on the recording clock, and the drift control."""

from __future__ import annotations

import random

import pytest

from traycap.recorder.audio_sync import GAP_S, JUMP_S, MAX_CORRECTION, DriftControl, SampleClock


def test_the_offset_is_the_least_delayed_block_and_jitter_never_lowers_it() -> None:
    clock = SampleClock(48_000)
    rng = random.Random(3)
    t = 100.0
    for _ in range(500):  # 10-ms blocks, each delivered 2 to 30 ms late
        t += 0.01
        clock.arrived(480, t + 0.002 + rng.uniform(0, 0.028))
    # sample k is captured at 100.0 + (k + 1) / 48000; the envelope is at most the least delay (2 ms) late
    assert clock.time_of(480 * 500 - 1) == pytest.approx(t, abs=0.004)
    assert clock.time_of(480 * 500 - 1) >= t + 0.002 - 1e-9


def test_a_fast_device_is_followed_at_once_and_a_slow_one_through_the_leak() -> None:
    for speed in (1.001, 0.999):
        clock = SampleClock(48_000)
        for i in range(1, 60_001):  # ten minutes of 10-ms blocks on a device `speed` times fast
            clock.arrived(480, 10.0 + i * 480 / (48_000 * speed))
        last = 10.0 + 60_000 * 480 / (48_000 * speed)
        assert clock.time_of(60_000 * 480 - 1) == pytest.approx(last, abs=0.003), speed
        assert clock.restarts == 0


def test_a_gap_in_delivery_starts_a_new_run() -> None:
    clock = SampleClock(48_000)
    assert clock.arrived(480, 1.0) is True  # the first block starts a run
    assert clock.arrived(480, 1.01) is False
    assert clock.arrived(480, 1.02 + GAP_S + 0.1) is True  # nothing delivered for a while (a loopback at rest)
    assert clock.time_of(1439) == pytest.approx(1.02 + GAP_S + 0.1)
    assert clock.restarts == 1


def test_the_control_stretches_small_distances_and_jumps_large_ones() -> None:
    control = DriftControl(48_000, 48_000)
    assert control.step(0.0).ratio == 1.0
    behind = control.step(0.02)  # the samples belong later than the track is: take them slower
    assert 1 - MAX_CORRECTION <= behind.ratio < 1.0 and not behind.silence and not behind.skip
    assert control.step(-0.02).ratio > 1.0
    assert control.step(JUMP_S * 0.9).ratio == 1 - MAX_CORRECTION  # never more than inaudible
    late = control.step(JUMP_S + 0.05)
    assert late.silence == round((JUMP_S + 0.05) * 48_000)
    early = control.step(-(JUMP_S + 0.05))
    assert early.skip == pytest.approx((JUMP_S + 0.05) * 48_000)
    assert control.step(0.001, resync=True).silence == 48  # a new run is placed exactly
    assert control.jumps == 3
    assert DriftControl(44_100, 48_000).step(0.0).ratio == pytest.approx(44_100 / 48_000)


def test_a_run_is_trusted_only_once_its_first_burst_is_over() -> None:
    """Found while measuring (issue 23): a stream's first blocks come at once (what PulseAudio's source
    held), stamped late; a run placed on them was 60-90 ms late and took 15 s to stretch back."""
    clock = SampleClock(48_000)
    for _ in range(28):  # 280 ms of history handed over at one moment
        clock.arrived(480, 5.0)
    assert not clock.settled()
    t = 5.0
    for _ in range(30):  # then on time
        t += 0.01
        clock.arrived(480, t)
    assert clock.settled()
    assert clock.time_of(clock.count - 1) == pytest.approx(t, abs=0.001)
