"""A sound device made of numbers, on the injected clock: tests and benches hear exactly what it plays.

Its sample clock may run fast or slow against the recording clock (`speed` 1.001: 0.1 % fast, as a
cheap USB microphone may), its blocks may arrive late (`jitter_s`, a fixed seed), and it plays tone
bursts at known times of the recording clock, so a test can find them in the recorded track.
`lose_at` makes it fail (unplugged) at that time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from traycap.clock import Clock
from traycap.errors import SoundLost
from traycap.media import pcm
from traycap.media.sound.base import MIC, Block, Capabilities


@dataclass(frozen=True)
class Burst:
    at: float  # monotonic seconds on the recording clock
    seconds: float
    hz: float = 1000.0
    level: float = 0.5


class SyntheticSound:
    capabilities = Capabilities("synthetic")

    def __init__(self, clock: Clock, *, rate: int = 48_000, block: int = 480, speed: float = 1.0,
                 bursts: tuple[Burst, ...] = (), jitter_s: float = 0.0, lose_at: float | None = None,
                 kind: str = MIC, name: str = "Synthetic microphone", seed: int = 7) -> None:
        self.kind = kind
        self.name = name
        self.rate = rate
        self._clock = clock
        self._block = block
        self._speed = speed
        self._bursts = bursts
        self._jitter = jitter_s
        self._lose_at = lose_at
        self._random = random.Random(seed)
        self._start = clock.monotonic()
        self._next = 0  # next block number
        self._deliver_at = self._due(0)
        self.closed = False

    def _due(self, number: int) -> float:
        """When block `number` is complete on the recording clock, plus its delivery delay."""
        complete = self._start + (number + 1) * self._block / (self.rate * self._speed)
        return complete + (self._random.uniform(0, self._jitter) if self._jitter else 0.0)

    def _samples(self, number: int) -> Any:
        step = 1 / (self.rate * self._speed)
        first = self._start + number * self._block * step
        last = first + self._block * step
        near = [(b.at, b.seconds, b.hz, b.level) for b in self._bursts if b.at < last and b.at + b.seconds > first]
        return pcm.tone_bursts(first, step, self._block, near)

    def read(self, timeout: float) -> Block | None:
        now = self._clock.monotonic()
        if self._lose_at is not None and now >= self._lose_at:
            raise SoundLost(f"The sound device {self.name!r} went away")
        if self._deliver_at > now:
            if timeout <= 0:
                return None
            self._clock.sleep(min(timeout, self._deliver_at - now))
            if self._deliver_at > self._clock.monotonic():
                return None
        block, arrived = self._samples(self._next), self._deliver_at
        self._next += 1
        self._deliver_at = max(self._deliver_at, self._due(self._next))
        return block, arrived

    def present(self) -> bool:
        return self._lose_at is None or self._clock.monotonic() < self._lose_at

    def close(self) -> None:
        self.closed = True
