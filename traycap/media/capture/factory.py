"""Which capture backend records this session: chosen once per recording, from the platform.

    x11             xdamage.DamageScreen: read where and when DAMAGE says the screen changed; an X
                    server without DAMAGE gets the next one
    win32, darwin   changes.ChangedOnly(mss_screen.MssScreen): python-mss (GDI, CoreGraphics) at every
                    slot, a frame equal to the one before counted as unchanged
    TRAYCAP_CAPTURE x11-damage | mss | null overrides the choice (null: a synthetic screen, for benches)

A Wayland session without X (no DISPLAY) has no backend yet: `check_display` says so in words
a user can act on, before anything else is set up.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from traycap.errors import NoDisplay, RecorderError
from traycap.media.capture.base import FrameSource

log = logging.getLogger(__name__)

CAPTURE_ENV = "TRAYCAP_CAPTURE"
BACKENDS = ("x11-damage", "mss", "null")


def check_display(env: Mapping[str, str] | None = None, platform: str | None = None) -> None:
    """Fail early, readably, when there is obviously no screen to record."""
    environ = os.environ if env is None else env
    plat = sys.platform if platform is None else platform
    if plat.startswith("linux") and not environ.get("DISPLAY"):
        if environ.get("WAYLAND_DISPLAY"):
            raise NoDisplay(
                "No X display: traycap records X11 screens and DISPLAY is not set under Wayland",
                "log in to an X11 session, or run under XWayland with DISPLAY set",
            )
        raise NoDisplay("No display to record: the DISPLAY environment variable is not set")


def backend_name(env: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    environ = os.environ if env is None else env
    plat = sys.platform if platform is None else platform
    choice = environ.get(CAPTURE_ENV, "").strip().lower() or ("x11-damage" if plat.startswith("linux") else "mss")
    if choice not in BACKENDS:
        raise RecorderError(f"Unknown {CAPTURE_ENV}={choice!r}", f"use one of: {', '.join(BACKENDS)} (or unset it)")
    return choice


def open_capture(monitor: int = 0, env: Mapping[str, str] | None = None) -> FrameSource:
    """The screen of `monitor` (0 = all monitors, 1 = primary, N = Nth) through this session's backend.

    NoDisplay / RecorderError / CaptureLost with a readable message when it cannot be opened."""
    name = backend_name(env)
    if name == "null":
        from traycap.media.capture.null import NullScreen

        return NullScreen()
    check_display(env)
    if name == "x11-damage":
        from traycap.media.capture.xdamage import open_damage_screen

        screen = open_damage_screen(monitor)
        if screen is not None:
            return screen
        log.info("the X server has no DAMAGE extension: the screen is read at every frame")
    from traycap.media.capture.changes import ChangedOnly
    from traycap.media.capture.mss_screen import MssScreen

    return ChangedOnly(MssScreen(monitor))
