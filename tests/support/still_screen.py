"""A recording of a screen that changes at known moments, made slot by slot on the FakeClock.

The recorder's own parts do the work: `open_recording`, `CaptureLoop.capture_one` on every slot of
the fps grid (the repeat/skip decision, the frame times), `EncodeLoop.encode` (the real H.264
encoder), `ScreenshotLoop.take`, then Stop's meta and the real export. Only the threads are left
out: the clock moves when this driver says, so an hour of a still screen is recorded in seconds and
every frame's time is known exactly.

    screen = ScriptedScreen(320, 240, [(0.0, RED), (60.0, BLUE)])   # blue from 60 s on
    run = SteppedRecording(ctx, clock, screen, fps=5)
    run.until(90.0, screenshots_every_s=5.0)
    meta = run.stop_and_export()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from traycap.bundle.export import export_session
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.errors import TraycapError
from traycap.media.capture.base import Capabilities
from traycap.models import AppSettings, SessionMeta
from traycap.recorder.focus.base import NullFocus
from traycap.recorder.loops import CaptureLoop, EncodeLoop, ScreenshotLoop
from traycap.recorder.recording import Recording, open_recording
from traycap.recorder.stopping import write_stopped_meta

Colour = tuple[int, int, int]  # B, G, R as a frame holds them


class ScriptedScreen:
    """A damage-driven screen of one colour, that changes to the next colour at each scripted second
    (counted from the first grab, on the clock given). The same array until it changes."""

    capabilities = Capabilities("scripted", damage_driven=True)

    def __init__(self, width: int, height: int, script: list[tuple[float, Colour]], clock: FakeClock,
                 *, patches: list[tuple[float, Colour, tuple[int, int, int, int]]] = ()) -> None:
        self._w, self._h = width, height
        self._script = sorted(script)
        self._patches = sorted(patches)  # (second, colour, rect): only that rectangle changes
        self._clock = clock
        self._start: float | None = None
        self._shown: tuple[int, int] | None = None
        self._frame: Any = None
        self._changed: tuple[tuple[int, int, int, int], ...] | None = None
        self.grabs = 0
        self.closed = False

    @property
    def width(self) -> int:
        return self._w

    @property
    def height(self) -> int:
        return self._h

    def colour_at(self, seconds: float, x: int = 0, y: int = 0) -> Colour:
        """The colour shown at (x, y) `seconds` after the first grab."""
        colour, since = next((c, t) for t, c in reversed(self._script) if t <= seconds + 1e-9)
        for t, c, (px, py, pw, ph) in self._patches:
            if since <= t <= seconds + 1e-9 and px <= x < px + pw and py <= y < py + ph:
                colour = c
        return colour

    def describe(self) -> dict[str, Any]:
        return {"monitor": 0, "rect": {"left": 0, "top": 0, "width": self._w, "height": self._h}, "all": [],
                "width": self._w, "height": self._h, "backend": self.capabilities.name}

    def grab(self) -> Any:
        now = self._clock.monotonic()
        if self._start is None:
            self._start = now
        self.grabs += 1
        seconds = now - self._start + 1e-9
        index = max(i for i, (t, _c) in enumerate(self._script) if t <= seconds)
        patches = [p for p in self._patches if self._script[index][0] <= p[0] <= seconds]
        state = (index, len(patches))
        if state == self._shown:
            self._changed = ()
            return self._frame
        if self._shown is not None and self._shown[0] == index:  # only a patch is new: only it changed
            frame = self._frame.copy()
            _t, colour, (x, y, w, h) = patches[-1]
            frame[y:y + h, x:x + w, :3] = colour
            self._changed = ((x, y, w, h),)
        else:
            frame = np.zeros((self._h, self._w, 4), dtype=np.uint8)
            frame[:, :, :3] = self._script[index][1]
            self._changed = None if self._frame is None else ((0, 0, self._w, self._h),)
        self._shown = state
        self._frame = frame
        return frame

    def changed_areas(self) -> tuple[tuple[int, int, int, int], ...] | None:
        return self._changed

    def close(self) -> None:
        self.closed = True


@dataclass
class SteppedRecording:
    ctx: Context
    clock: FakeClock
    screen: ScriptedScreen
    fps: int = 5
    failures: list[TraycapError] = field(default_factory=list)

    def __post_init__(self) -> None:
        settings = AppSettings(fps=self.fps)
        self.rec: Recording = open_recording(self.ctx, settings, self.screen, self.clock, NullFocus,
                                             lambda _settings, _clock: ([], []))
        self.capture = CaptureLoop(self.rec, self.clock, self.fps, self.failures.append)
        self.encode = EncodeLoop(self.rec, self.failures.append)
        self.shots = ScreenshotLoop(self.rec, self.clock, 5.0, self.failures.append)
        self.slots = 0
        self.grab_times: list[float] = []  # recording time (s) of every slot
        self._next_shot = 0.0
        self._wanted_at: float | None = None

    @property
    def session_id(self) -> str:
        return self.rec.session_id

    def now_s(self) -> float:
        return self.clock.monotonic() - self.rec.origin

    def slot(self, *, last: bool = False, drain: bool = True) -> None:
        """One slot of the grid at the clock's time: grab, decide, and (`drain`) encode what was queued."""
        self.grab_times.append(self.now_s())
        self.capture.capture_one(last=last)
        self.slots += 1
        if drain:
            self.drain()

    def drain(self) -> None:
        """The encoder takes what waits in its queue."""
        while not self.rec.queue.empty():
            frame = self.rec.queue.get_nowait()
            assert frame is not None
            self.encode.encode(frame)

    def until(self, seconds: float, *, screenshots_every_s: float | None = None) -> None:
        """Slots on the fps grid up to `seconds` of recording time, and a periodic screenshot every
        `screenshots_every_s` as the screenshot thread takes it: a still screen is noted at once (no
        frame needed); otherwise it asks for a frame, which the next slot makes."""
        period = 1.0 / self.fps
        while True:
            due = self.slots * period
            if due > seconds + 1e-9:
                break
            self.clock.advance(max(0.0, due - self.now_s()))
            self.slot()
            if self._wanted_at is not None:
                self.shots.take("periodic", self._wanted_at, None)
                self._wanted_at = None
            if screenshots_every_s is not None and self.now_s() >= self._next_shot - 1e-9:
                self._next_shot += screenshots_every_s
                now = self.clock.monotonic()
                latest = self.rec.latest
                if self.shots.still(now):
                    continue
                if latest is not None and latest.t >= now:  # this slot made a frame: it is the screenshot
                    self.shots.take("periodic", now, None)
                else:
                    self.rec.frame_wanted.set()
                    self._wanted_at = now

    def stop_and_export(self) -> SessionMeta:
        self.clock.advance(1.0 / self.fps)
        self.slot(last=True)
        self.encode.finish()
        self.rec.stop.set()
        stopped_at = self.clock.monotonic()
        self.rec.writer.close(keep_lock=True)
        try:
            write_stopped_meta(self.ctx, self.rec, stopped_at, self.clock)
            meta = export_session(self.ctx, self.session_id)
        finally:
            self.rec.writer.release_lock()
        assert not self.failures, self.failures
        return meta


def bgr_mean(frame: Any) -> Colour:
    """The mean colour of a decoded BGR frame."""
    mean = np.asarray(frame).reshape(-1, 3).mean(axis=0)
    return round(mean[0]), round(mean[1]), round(mean[2])

