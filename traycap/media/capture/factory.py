"""Which capture backend records this session: chosen once per recording, from the desktop session.

    x11             xdamage.DamageScreen: read where and when DAMAGE says the screen changed; an X
                    server without DAMAGE gets the next one
    win32, darwin   changes.ChangedOnly(mss_screen.MssScreen): python-mss (GDI, CoreGraphics) at every
                    slot, a frame equal to the one before counted as unchanged
    wayland         portal_screen.PortalScreen: the desktop's ScreenCast portal, frames from PipeWire;
                    opened AND started here (the desktop's picker, the first time), so a cancelled
                    picker or a missing portal fails before the recorder makes a session
    TRAYCAP_CAPTURE x11-damage | mss | portal | null overrides the choice (null: a synthetic screen,
                    for benches)

The session is X11 when XDG_SESSION_TYPE says x11 or there is no WAYLAND_DISPLAY, Wayland otherwise
(osutil/desktop.py). `check_display` says in words a user can act on when there is no screen at all,
before anything else is set up.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from traycap.clock import Clock, SystemClock
from traycap.errors import NoDisplay, RecorderError
from traycap.media.capture.base import FrameSource
from traycap.osutil.desktop import NONE, WAYLAND, X11, session_type

log = logging.getLogger(__name__)

CAPTURE_ENV = "TRAYCAP_CAPTURE"
BACKENDS = ("x11-damage", "mss", "portal", "null")


@dataclass(frozen=True)
class CaptureOptions:
    """What a recording asks of its screen. `state_dir` keeps the portal's restore token (the data dir);
    `cancel`, set while the portal's picker is open, ends that wait (quit, Ctrl-C)."""

    monitor: int = 0  # mss: 0 = all monitors, 1 = primary, N = Nth; the portal's picker chooses instead
    fps: int = 10
    window: bool = False  # the portal's picker offers single windows ("record only this window")
    state_dir: Path | None = None
    clock: Clock | None = None
    cancel: threading.Event | None = None


def check_display(env: Mapping[str, str] | None = None, platform: str | None = None) -> None:
    """Fail early, readably, when there is obviously no screen to record."""
    kind = session_type(env, platform)
    if kind == NONE:
        raise NoDisplay("No display to record: neither DISPLAY (X11) nor WAYLAND_DISPLAY (Wayland) is set")
    environ = os.environ if env is None else env
    if kind == X11 and not environ.get("DISPLAY"):
        raise NoDisplay("No display to record: this is an X11 session but the DISPLAY environment variable is not set")


def backend_name(env: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    environ = os.environ if env is None else env
    choice = environ.get(CAPTURE_ENV, "").strip().lower()
    if not choice:
        kind = session_type(environ, platform)
        if kind == WAYLAND:
            return "portal"
        return "x11-damage" if kind == X11 else "mss"
    if choice not in BACKENDS:
        raise RecorderError(f"Unknown {CAPTURE_ENV}={choice!r}", f"use one of: {', '.join(BACKENDS)} (or unset it)")
    return choice


def open_capture(options: CaptureOptions | None = None, env: Mapping[str, str] | None = None) -> FrameSource:
    """The screen for a recording through this session's backend, ready to grab.

    NoDisplay / RecorderError / CaptureLost with a readable message when it cannot be opened; on Wayland
    also the portal's errors (PortalUnavailable, CaptureCancelled, PipeWireUnavailable, ...)."""
    options = options or CaptureOptions()
    name = backend_name(env)
    if name == "null":
        from traycap.media.capture.null import NullScreen

        return NullScreen()
    check_display(env)
    if name == "portal":
        return _open_portal(options)
    from traycap.media.capture.changes import ChangedOnly
    from traycap.media.capture.mss_screen import MssScreen

    if name == "x11-damage":
        from traycap.media.capture.xdamage import open_damage_screen

        screen = open_damage_screen(options.monitor)
        if screen is not None:
            return screen
        log.info("the X server has no DAMAGE extension: the screen is read at every frame")
    return ChangedOnly(MssScreen(options.monitor))


def _open_portal(options: CaptureOptions) -> FrameSource:
    from traycap.media.capture.portal_screen import open_portal_screen

    if options.state_dir is None:
        raise RecorderError("The Wayland screen cast needs traycap's data directory (for the remembered choice)")
    screen = open_portal_screen(options.state_dir, options.clock or SystemClock(), max_fps=options.fps,
                                window=options.window)
    try:
        screen.start(options.cancel)
    except BaseException:
        screen.close()
        raise
    return screen
