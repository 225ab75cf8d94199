"""Where a sound device's samples lie on the recording clock, and how fast to take them (pure).

A device counts time in samples, on a crystal of its own: a microphone whose 48 kHz is really
48,048 Hz (0.1 % fast) would run 3.6 s ahead of the screen after an hour. So the samples are not
trusted as a clock. Each block is stamped when it arrives (on the recording's injected clock):

    arrival = capture of its last sample + delivery delay (>= a small floor, plus scheduling jitter)

`SampleClock` keeps the lower envelope of `arrival - samples so far / rate`: the offset with the
least delay, which jitter never lowers. It follows a device that runs fast at once (the offset
falls) and one that runs slow through a leak (the offset may rise LEAK_S_PER_S a second), and
starts again after a gap (no sound delivered: a Windows loopback gives nothing while nothing plays).

`DriftControl` turns the distance between where a sample belongs on the track and where the track
is (seconds, + = the sample belongs later) into the ratio of input to output samples: a small
proportional correction (at most MAX_CORRECTION, inaudible) while the distance is under JUMP_S,
a jump (silence inserted, or samples skipped) beyond it: at the start, after a pause, after a gap.
"""

from __future__ import annotations

from dataclasses import dataclass

LEAK_S_PER_S = 0.002  # the offset may rise 2 ms a second: devices slower than 0.2 % are followed by gaps
GAP_S = 0.5  # a block this much later than the envelope says: the device skipped, start again
CORRECT_S = 4.0  # a distance is taken out over about this long
MAX_CORRECTION = 0.005  # 0.5 %: about 9 cents of pitch at worst, in practice 0.01-0.1 %
JUMP_S = 0.1  # beyond this, jump rather than stretch
# A stream's first blocks come in a burst (PulseAudio hands over what its source held: ~0.25 s here),
# each stamped later than it was captured; the envelope is right once on-time blocks follow (within
# 50 ms, measured). A run is placed only once it has lasted this long.
SETTLE_S = 0.25


class SampleClock:
    """The recording-clock time of each sample of one device (counted from its first block)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.count = 0  # samples arrived
        self.offset: float | None = None
        self._last: float | None = None
        self._run_start = 0.0
        self.restarts = 0

    def arrived(self, samples: int, at: float) -> bool:
        """A block of `samples` arrived at `at`; True when this block starts a new run (a gap before it)."""
        self.count += samples
        seen = at - self.count / self.rate
        if self.offset is None or self._last is None:
            self.offset, self._last, self._run_start = seen, at, at
            return True
        leaked = self.offset + LEAK_S_PER_S * max(0.0, at - self._last)
        self._last = at
        if seen - leaked > GAP_S:
            self.offset, self._run_start = seen, at
            self.restarts += 1
            return True
        self.offset = min(leaked, seen)
        return False

    def settled(self) -> bool:
        """The current run has lasted SETTLE_S: its offset can be trusted to place it."""
        return self._last is not None and self._last - self._run_start >= SETTLE_S

    def time_of(self, sample: float) -> float:
        """When sample number `sample` (fractional) was captured, on the recording clock."""
        if self.offset is None:
            raise ValueError("no block has arrived yet")
        return self.offset + (sample + 1) / self.rate


@dataclass(frozen=True)
class Step:
    """What to do before taking more samples: insert silence, skip input, then resample at `ratio`."""

    silence: int = 0  # output samples of silence first
    skip: float = 0.0  # input samples to drop first
    ratio: float = 1.0  # input samples per output sample


class DriftControl:
    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.jumps = 0
        self.largest_s = 0.0  # the largest distance stretched away (not jumped), for the benches

    def step(self, distance_s: float, *, resync: bool = False) -> Step:
        """`distance_s`: where the next input sample belongs minus where the track is (+: later)."""
        nominal = self.in_rate / self.out_rate
        if resync or abs(distance_s) > JUMP_S:
            self.jumps += 1
            if distance_s > 0:
                return Step(silence=round(distance_s * self.out_rate), ratio=nominal)
            return Step(skip=-distance_s * self.in_rate, ratio=nominal)
        self.largest_s = max(self.largest_s, abs(distance_s))
        correction = max(-MAX_CORRECTION, min(MAX_CORRECTION, distance_s / CORRECT_S))
        return Step(ratio=nominal * (1 - correction))
