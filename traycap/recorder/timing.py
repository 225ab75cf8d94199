"""When to capture the next frame, how many were dropped, and which slots of a still screen cost nothing (pure).

Frames are due on a fixed grid: start + k / fps. When a capture (or the
machine) is too slow and grid slots pass without a frame, those slots are
counted as dropped; no frame is ever duplicated to pretend the rate was met.
The real capture time of each frame is written beside the video.
"""

from __future__ import annotations

import math


class FrameScheduler:
    def __init__(self, fps: float, start: float) -> None:
        if fps <= 0:
            raise ValueError("fps must be greater than 0")
        self._period = 1.0 / fps
        self._start = start
        self._tick = 0
        self.dropped = 0  # grid slots that passed without a frame

    @property
    def period(self) -> float:
        return self._period

    def next_due(self) -> float:
        """Monotonic time the next frame is due."""
        return self._start + self._tick * self._period

    def captured(self, t_done: float) -> None:
        """A frame for the current slot was captured; the capture finished at `t_done`."""
        # The next slot is the first one still in the future; the ones between were missed.
        following = math.floor((t_done - self._start) / self._period + 1e-9) + 1
        missed = following - (self._tick + 1)
        if missed > 0:
            self.dropped += missed
        self._tick = max(self._tick + 1, following)

    def restart(self, start: float) -> None:
        """Resume after a pause: a fresh grid, paused time is not counted as drops."""
        self._start = start
        self._tick = 0


REPEAT_EVERY_S = 1.0  # a still screen: one frame a second, so the video's 1 s fragments keep closing


class Slot:
    NEW = "new"  # the screen changed: convert (where it changed) and encode
    REPEAT = "repeat"  # unchanged, but a frame is due: the encoder's last picture again, nothing converted
    SKIP = "skip"  # unchanged: nothing at all, the video shows the frame before until the next one


class Repeats:
    """What a grid slot of a damage-driven screen costs (pure).

    A slot whose screen did not change since the last frame the encoder got is skipped: no frame in
    the video, no line in frames.jsonl; a player shows the frame before it, which is what the screen
    showed. Every REPEAT_EVERY_S one repeats the last picture instead (a fragment of the fMP4 is
    written only once a frame follows it, so a crash still loses at most about a second), as does a
    slot a screenshot waits for and the last one. Every frame keeps the time it was grabbed."""

    def __init__(self, every_s: float = REPEAT_EVERY_S) -> None:
        self._every = every_s
        self._last_sent: float | None = None

    def decide(self, t: float, *, changed: bool, wanted: bool = False) -> str:
        if changed or self._last_sent is None:
            return Slot.NEW
        if wanted or t - self._last_sent >= self._every - 1e-6:  # a grid of 1/fps steps reaches 1 s exactly
            return Slot.REPEAT
        return Slot.SKIP

    def sent(self, t: float) -> None:
        """A frame grabbed at `t` went to the encoder."""
        self._last_sent = t
