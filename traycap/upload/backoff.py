"""Retry delay (pure): min(1000 * 2^retryCount, 300000) ms."""

from __future__ import annotations

BASE_MS = 1000
CAP_MS = 300_000


def backoff_ms(retry_count: int) -> int:
    if retry_count < 0:
        raise ValueError("retry_count must be >= 0")
    if retry_count >= 19:  # 2^19 s is far past the cap; avoid huge ints
        return CAP_MS
    return min(BASE_MS << retry_count, CAP_MS)
