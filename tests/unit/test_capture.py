"""media/capture/: the factory picks the backend from the desktop session (X11: mss, Wayland: the
ScreenCast portal; TRAYCAP_CAPTURE overrides), refuses readably where there is no screen, and every
backend says what it can do (Capabilities) in what the session records."""

from __future__ import annotations

import sys

import pytest

from traycap.errors import NoDisplay, RecorderError
from traycap.media import frames
from traycap.media.capture import CAPTURE_ENV, Capabilities, CaptureOptions, check_display, open_capture
from traycap.media.capture.changes import ChangedOnly
from traycap.media.capture.factory import backend_name
from traycap.media.capture.null import NullScreen


def test_the_null_backend_is_chosen_by_name_and_says_what_it_is() -> None:
    screen = open_capture(env={CAPTURE_ENV: "null"})
    assert isinstance(screen, NullScreen)
    assert screen.capabilities == Capabilities("null") and not screen.capabilities.damage_driven
    assert screen.describe()["backend"] == "null"
    frame = screen.grab()
    assert frame.shape == (screen.height, screen.width, 4)


def test_an_unknown_backend_name_is_a_readable_error() -> None:
    with pytest.raises(RecorderError) as err:
        open_capture(env={CAPTURE_ENV: "pipewire"})
    assert "TRAYCAP_CAPTURE='pipewire'" in err.value.message
    assert "x11-damage, mss, portal, null" in (err.value.hint or "")


@pytest.mark.parametrize(("env", "platform", "backend"), [
    ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}, "linux", "x11-damage"),
    ({"DISPLAY": ":0"}, "linux", "x11-damage"),  # no Wayland socket: X11 as always
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "x11"}, "linux", "x11-damage"),
    ({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux", "portal"),
    ({"DISPLAY": ":1", "WAYLAND_DISPLAY": "wayland-1"}, "linux", "portal"),  # XWayland shows only X11 apps
    ({"WAYLAND_DISPLAY": "wayland-0", CAPTURE_ENV: "mss"}, "linux", "mss"),
    ({"DISPLAY": ":0", CAPTURE_ENV: "portal"}, "linux", "portal"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "win32", "mss"),
    ({}, "darwin", "mss"),
    ({"DISPLAY": ":0", CAPTURE_ENV: "MSS"}, "linux", "mss"),
])
def test_the_backend_is_chosen_from_the_desktop_session(env: dict[str, str], platform: str, backend: str) -> None:
    assert backend_name(env, platform) == backend


def test_a_polled_screen_that_did_not_change_gives_its_frame_again() -> None:
    """ChangedOnly (Windows' GDI, macOS, an X server without DAMAGE): the same object means unchanged, which
    the recorder neither converts nor encodes."""
    source = ScriptedPolls([0, 0, 1, 1, 1, 2])
    screen = ChangedOnly(source)
    assert screen.capabilities.damage_driven and screen.capabilities.name == "polls"
    grabs = [screen.grab() for _ in range(6)]
    assert screen.changed_areas() is None  # the last grab changed: anywhere
    assert grabs[1] is grabs[0] and grabs[2] is not grabs[1] and grabs[3] is grabs[2] is grabs[4]
    assert grabs[5] is not grabs[4] and source.grabs == 6
    screen.grab()
    assert screen.changed_areas() == ()
    assert screen.describe()["changes"] == "frame difference"


class ScriptedPolls:
    """A polled source whose n-th grab is a new array showing pattern `values[n]` (equal values, equal pixels)."""

    capabilities = Capabilities("polls")
    notice = None

    def __init__(self, values: list[int]) -> None:
        self._values = values
        self.grabs = 0
        self.width, self.height = 64, 48

    def describe(self) -> dict[str, object]:
        return {"backend": "polls"}

    def grab(self) -> object:
        value = self._values[min(self.grabs, len(self._values) - 1)]
        self.grabs += 1
        return frames.test_pattern(64, 48, value)

    def changed_areas(self) -> None:
        return None

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("env", "said"), [
    ({}, "neither DISPLAY (X11) nor WAYLAND_DISPLAY (Wayland) is set"),
    ({"XDG_SESSION_TYPE": "x11"}, "the DISPLAY environment variable is not set"),
])
def test_no_screen_on_linux_says_so_before_anything_is_opened(env: dict[str, str], said: str) -> None:
    with pytest.raises(NoDisplay) as err:
        check_display(env, "linux")
    assert said in err.value.message
    check_display({}, "win32")  # Windows and macOS always have a screen to ask for
    check_display({}, "darwin")


def test_a_wayland_session_is_accepted() -> None:
    """Issue 21: Wayland records through the ScreenCast portal, no DISPLAY needed."""
    check_display({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux")
    check_display({"WAYLAND_DISPLAY": "wayland-1"}, "linux")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY is how Linux names its screen")
def test_the_factory_checks_the_display_before_opening_mss() -> None:
    with pytest.raises(NoDisplay):
        open_capture(env={})


def test_the_portal_needs_the_data_dir_for_its_remembered_choice() -> None:
    with pytest.raises(RecorderError, match="data directory"):
        open_capture(CaptureOptions(), env={"WAYLAND_DISPLAY": "wayland-0", CAPTURE_ENV: "portal"})
