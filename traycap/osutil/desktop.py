"""Which kind of desktop session traycap runs in, decided once from the environment (pure).

    x11       an X server (DISPLAY): mss captures it, pynput hears it, the hotkey works
    wayland   a Wayland compositor (WAYLAND_DISPLAY, and XDG_SESSION_TYPE is not x11): the screen
              comes through the ScreenCast portal; no app hears keys or clicks outside its windows
    windows, macos
    none      Linux without any display (a server, an ssh login)

X11 wins whenever the session says it is X11 or there is no Wayland socket, so an X11 login with a
stray WAYLAND_DISPLAY, or a Wayland-less container with DISPLAY, records as before. Under Wayland a
DISPLAY (XWayland) is ignored: it shows only the X11 apps, black or partial frames for the rest.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

X11, WAYLAND, WINDOWS, MACOS, NONE = "x11", "wayland", "windows", "macos", "none"


def session_type(env: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    environ = os.environ if env is None else env
    plat = sys.platform if platform is None else platform
    if plat == "win32":
        return WINDOWS
    if plat == "darwin":
        return MACOS
    declared = environ.get("XDG_SESSION_TYPE", "").strip().lower()
    if environ.get("WAYLAND_DISPLAY") and declared != X11:
        return WAYLAND
    if environ.get("DISPLAY") or declared == X11:
        return X11
    return NONE
