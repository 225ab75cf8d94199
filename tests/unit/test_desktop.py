"""osutil/desktop.py: which kind of desktop session this is, from the environment (issue 21: X11 when the
session says x11 or there is no Wayland socket; Wayland otherwise, XWayland's DISPLAY notwithstanding)."""

from __future__ import annotations

import pytest

from traycap.osutil.desktop import MACOS, NONE, WAYLAND, WINDOWS, X11, session_type


@pytest.mark.parametrize(("env", "platform", "kind"), [
    ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}, "linux", X11),
    ({"DISPLAY": ":0"}, "linux", X11),
    ({"XDG_SESSION_TYPE": "x11"}, "linux", X11),  # check_display then says DISPLAY is missing
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}, "linux", X11),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux", WAYLAND),
    ({"WAYLAND_DISPLAY": "wayland-1", "DISPLAY": ":0", "XDG_SESSION_TYPE": "Wayland"}, "linux", WAYLAND),
    ({"WAYLAND_DISPLAY": "wayland-1"}, "freebsd14", WAYLAND),
    ({"XDG_SESSION_TYPE": "wayland"}, "linux", NONE),  # no socket to talk to: nothing to record
    ({}, "linux", NONE),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "win32", WINDOWS),
    ({}, "darwin", MACOS),
])
def test_the_session_type(env: dict[str, str], platform: str, kind: str) -> None:
    assert session_type(env, platform) == kind
