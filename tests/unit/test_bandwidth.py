"""TokenBucket (traycap/upload/bandwidth.py): the upload rate cap, on the FakeClock."""

from __future__ import annotations

import threading

from traycap.clock import FakeClock
from traycap.upload.bandwidth import BURST, MB, TokenBucket

CHUNK = 256 * 1024


def send(bucket: TokenBucket, clock: FakeClock, total: int, takers: int = 1) -> list[tuple[float, int]]:
    """Take `total` bytes in CHUNKs, round-robin over `takers`; (time, bytes out) after each take."""
    start = clock.monotonic()
    out = 0
    log = [(0.0, 0)]
    while out < total:
        for _ in range(takers):
            n = min(CHUNK, total - out)
            if n <= 0:
                break
            bucket.take(n)
            out += n
            log.append((clock.monotonic() - start, out))
    return log


def most_in_any_window(log: list[tuple[float, int]], window: float) -> int:
    best = 0
    for i, (t0, b0) in enumerate(log):
        for t1, b1 in log[i:]:
            if t1 - t0 > window:
                break
            best = max(best, b1 - b0)
    return best


def test_two_mb_per_second_over_a_minute_stays_within_ten_percent_of_every_30_s_window() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2 * MB, clock)
    log = send(bucket, clock, 120 * MB)
    took = log[-1][0]
    assert abs(took - (120 * MB - BURST) / (2 * MB)) < 0.01
    assert most_in_any_window(log[::4], 30.0) <= 2 * MB * 30 * 1.1


def test_parts_in_flight_share_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1 * MB, clock)
    log = send(bucket, clock, 20 * MB, takers=4)
    assert abs(log[-1][0] - (20 * MB - BURST) / MB) < 0.01


def test_a_pause_after_idling_allows_only_one_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1 * MB, clock)
    clock.advance(3600)  # idle for an hour: the bucket holds BURST, not an hour of bytes
    log = send(bucket, clock, 10 * MB)
    assert abs(log[-1][0] - (10 * MB - BURST) / MB) < 0.01


def test_a_cancel_ends_the_wait_and_a_quit_does_not() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1 * MB, clock)
    wake = threading.Event()
    wake.set()
    before = clock.monotonic()
    bucket.take(10 * MB, wake=wake, stop=lambda: True)  # cancelled: no wait
    assert clock.monotonic() == before
    bucket.take(CHUNK, wake=wake, stop=lambda: False)  # quitting: the part in flight still keeps the rate
    assert clock.monotonic() - before >= (10 * MB + CHUNK - BURST) / MB - 0.01


def test_zero_means_no_cap() -> None:
    assert TokenBucket.for_mbps(0, FakeClock()) is None
    bucket = TokenBucket.for_mbps(0.5, FakeClock())
    assert bucket is not None and bucket.rate == 500_000


def test_the_engine_has_a_bucket_only_when_a_cap_is_set() -> None:
    from traycap.models import UploadConfig
    from traycap.upload.s3 import UploadService

    assert UploadService(UploadConfig()).bandwidth is None
    capped = UploadService(UploadConfig(maxUploadMBps=2)).bandwidth
    assert capped is not None and capped.rate == 2 * MB
