"""Sound samples as numpy arrays (pure): mono blocks, a fractional-rate resampler, loudness.

The recorder's sound track is mono float32 at TRACK_RATE. A device's blocks come in at its own
rate and channel count; `to_mono` makes them one channel, `Resampler` turns them into track
samples at a ratio the drift control (recorder/audio_sync.py) sets block by block (linear
interpolation: the ratio stays within a fraction of a percent of 1, where it is inaudible),
and `levels_db` gives the loudness lane of the replay page, one value per LEVEL_MS. numpy is
imported where it is used (as in media/frames.py): the tray loads this module at start and numpy
only when a recording hears sound (13 MB of an idle tray otherwise).
"""

from __future__ import annotations

import math
from typing import Any

TRACK_RATE = 48_000  # samples per second of the recorded track (AAC's and Opus's native rate)
LEVEL_MS = 100  # one loudness value per this much sound
LEVEL_FLOOR_DB = -90  # digital silence is drawn as this


def to_mono(block: Any) -> Any:
    """A block as one channel of float32 (frames x channels averaged; a 1-D block as it is)."""
    import numpy as np

    data = np.asarray(block, dtype=np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    return np.ascontiguousarray(data.reshape(-1))


def silence(n: int) -> Any:
    import numpy as np

    return np.zeros(max(0, n), dtype=np.float32)


def mix(blocks: list[Any]) -> Any:
    """The sum of equal-length mono blocks, kept within [-1, 1]."""
    import numpy as np

    if len(blocks) == 1:
        return blocks[0]
    return np.clip(np.sum(blocks, axis=0, dtype=np.float32), -1.0, 1.0)


def any_sound(samples: Any) -> bool:
    """Any sample that is not exactly zero (a device refused by the OS gives exact zeros)."""
    import numpy as np

    return bool(np.any(np.asarray(samples) != 0))


def concat(blocks: list[Any]) -> Any:
    import numpy as np

    return np.concatenate(blocks) if blocks else silence(0)


def levels_db(samples: Any, per: int) -> list[int]:
    """RMS loudness in dBFS (whole numbers, LEVEL_FLOOR_DB at the least) of each run of `per`
    samples (a shorter last run counts too)."""
    import numpy as np

    data = np.asarray(samples, dtype=np.float32)
    out = []
    for start in range(0, len(data), per):
        part = data[start:start + per]
        rms = float(np.sqrt(np.mean(np.square(part, dtype=np.float64)))) if len(part) else 0.0
        out.append(max(LEVEL_FLOOR_DB, round(20 * math.log10(rms))) if rms > 0 else LEVEL_FLOOR_DB)
    return out


class Resampler:
    """A stream of mono blocks in, samples at any ratio out (input samples per output sample).

    `position` is the input sample (counted from the first one pushed, fractional) the next output
    sample is taken at; `skip` moves it forward, `pull` produces as many samples as the buffered
    input allows at `ratio` and moves it on by ratio per sample."""

    def __init__(self) -> None:
        import numpy as np

        self._buf = np.zeros(0, dtype=np.float32)
        self._base = 0  # input index of _buf[0]
        self._pos = 0.0  # position of the next output sample, relative to _buf[0]

    @property
    def position(self) -> float:
        return self._base + self._pos

    @property
    def buffered(self) -> float:
        """Input samples not yet consumed."""
        return max(0.0, len(self._buf) - self._pos)

    def push(self, block: Any) -> None:
        import numpy as np

        self._buf = np.concatenate([self._buf, to_mono(block)]) if len(self._buf) else to_mono(block)

    def skip(self, n: float) -> float:
        """Move on by up to `n` input samples (no further than what is buffered); how far it moved."""
        moved = min(max(0.0, n), self.buffered)
        self._pos += moved
        self._trim()
        return moved

    def pull(self, ratio: float) -> Any:
        """Every output sample the buffered input makes at `ratio` (linear interpolation)."""
        import numpy as np

        last = len(self._buf) - 1  # a sample at position p needs _buf[floor(p) + 1]
        if ratio <= 0 or last < 1 or self._pos >= last:
            return silence(0)
        count = math.floor((last - self._pos) / ratio - 1e-9) + 1
        while count > 0 and self._pos + (count - 1) * ratio >= last:
            count -= 1
        if count <= 0:
            return silence(0)
        at = self._pos + ratio * np.arange(count, dtype=np.float64)
        low = at.astype(np.int64)
        frac = (at - low).astype(np.float32)
        out = self._buf[low] * (1 - frac) + self._buf[low + 1] * frac
        self._pos += ratio * count
        self._trim()
        return out.astype(np.float32, copy=False)

    def _trim(self) -> None:
        drop = int(self._pos)
        if drop > 0:
            self._buf = self._buf[drop:]
            self._base += drop
            self._pos -= drop


def tone_bursts(first: float, step: float, n: int, bursts: list[tuple[float, float, float, float]]) -> Any:
    """`n` samples taken at times first, first + step, ... (seconds): a sine of (hz, level) inside each
    burst (at, seconds, hz, level), silence elsewhere. A synthetic device's sound (media/sound/synthetic.py)."""
    import numpy as np

    times = first + step * np.arange(n, dtype=np.float64)
    out = silence(n)
    for at, seconds, hz, level in bursts:
        inside = (times >= at) & (times < at + seconds)
        if inside.any():
            out[inside] = (level * np.sin(2 * np.pi * hz * (times[inside] - at))).astype(np.float32)
    return out
