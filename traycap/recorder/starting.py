"""What Start does besides the worker loops: the screen, the input backend this desktop session gets, and
the tracks that result (written into the meta and told to the tray).

The screen is opened before anything is written (`open_screen`): on Wayland that is where the desktop's
picker shows (the first time), so a person who cancels it leaves no session behind, and quitting while
it is open ends the wait (`cancel`). Input comes after the first frame (`start_input`): pynput on X11,
Windows and macOS; on Wayland the input devices for a person who opted in (waylandInput=devices), else
none, and a refusal to read them records the screen without clicks and keys, saying why.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import RecorderError, TraycapError
from traycap.media.capture import CaptureOptions, FrameSource, open_capture
from traycap.models import AppSettings, WaylandSource
from traycap.recorder.actions import RawEvent
from traycap.recorder.inputs import InputFactory, InputSource, pynput_input
from traycap.recorder.recording import Recording
from traycap.recorder.tracks import InputBackend, Tracks, keyboard_wanted, plan_input

log = logging.getLogger(__name__)

CaptureFactory = Callable[[int], FrameSource]

FIRST_FRAME_TIMEOUT_S = 10.0


def open_screen(ctx: Context, settings: AppSettings, clock: Clock, factory: CaptureFactory | None,
                cancel: threading.Event) -> FrameSource:
    """The recording's screen, ready to grab: a test's factory (by monitor), or this session's backend."""
    if factory is not None:
        return factory(settings.monitor)
    return open_capture(CaptureOptions(monitor=settings.monitor, fps=settings.fps,
                                       window=settings.waylandSource is WaylandSource.WINDOW,
                                       state_dir=ctx.paths.root, clock=clock, cancel=cancel))


def wait_first_frame(rec: Recording, clock: Clock, timeout_s: float = FIRST_FRAME_TIMEOUT_S) -> None:
    """Until the capture loop has its first frame; raises the loop's failure, or when none comes in time."""
    deadline = clock.monotonic() + timeout_s
    while not rec.first_frame.wait(0.05):
        if rec.failure is not None:
            raise rec.failure
        if clock.monotonic() > deadline:
            raise RecorderError(f"The screen capture did not deliver a frame within {timeout_s:.0f} s")
    if rec.failure is not None:
        raise rec.failure


@dataclass(frozen=True)
class StartedInput:
    source: InputSource | None
    tracks: Tracks
    notice: TraycapError | None = None  # to tell the person: the input devices could not be read


def start_input(rec: Recording, settings: AppSettings, session: str, clock: Clock,
                sink: Callable[[RawEvent], None], given: InputFactory | None) -> StartedInput:
    """The input listeners of `rec`, started, and the tracks the recording holds."""
    keyboard = keyboard_wanted(settings)
    cursor = rec.source.capabilities.cursor
    plan = plan_input(session, settings)
    factory = given or _factory(plan.backend, rec.source)
    if factory is None:
        return StartedInput(None, Tracks.of(cursor=cursor, input_running=False, positions_exact=False,
                                            keyboard=keyboard, why_no_input=plan.why_not))
    source = factory(sink, clock.monotonic, keyboard)
    try:
        source.start()
    except RecorderError as exc:
        if given is not None or plan.backend is not InputBackend.EVDEV:
            raise  # X11 without RECORD: the recording does not start, as before
        log.warning("recording without clicks and keys: %s", exc.user_text())
        return StartedInput(None, Tracks.of(cursor=cursor, input_running=False, positions_exact=False,
                                            keyboard=keyboard, why_no_input=exc.message), exc)
    return StartedInput(source, Tracks.of(cursor=cursor, input_running=True, positions_exact=source.positions_exact,
                                          keyboard=keyboard, why_no_input=None))


def _factory(backend: InputBackend, screen: FrameSource) -> InputFactory | None:
    if backend is InputBackend.PYNPUT:
        return pynput_input
    if backend is InputBackend.EVDEV:
        from traycap.recorder.evdev_devices import evdev_input_factory

        return evdev_input_factory((screen.width, screen.height))
    return None
