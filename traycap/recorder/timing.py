"""When to capture the next frame, and how many were dropped (pure).

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
