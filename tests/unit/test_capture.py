"""media/capture/: the factory picks the backend (TRAYCAP_CAPTURE overrides), refuses readably where
there is no screen, and every backend says what it can do (Capabilities) in what the session records."""

from __future__ import annotations

import sys

import pytest

from traycap.errors import NoDisplay, RecorderError
from traycap.media import frames
from traycap.media.capture import CAPTURE_ENV, Capabilities, check_display, open_capture
from traycap.media.capture.changes import ChangedOnly
from traycap.media.capture.factory import backend_name
from traycap.media.capture.null import NullScreen


def test_the_null_backend_is_chosen_by_name_and_says_what_it_is() -> None:
    screen = open_capture(0, env={CAPTURE_ENV: "null"})
    assert isinstance(screen, NullScreen)
    assert screen.capabilities == Capabilities("null") and not screen.capabilities.damage_driven
    assert screen.describe()["backend"] == "null"
    frame = screen.grab()
    assert frame.shape == (screen.height, screen.width, 4)


def test_an_unknown_backend_name_is_a_readable_error() -> None:
    with pytest.raises(RecorderError) as err:
        open_capture(0, env={CAPTURE_ENV: "pipewire"})
    assert "TRAYCAP_CAPTURE='pipewire'" in err.value.message and "x11-damage, mss, null" in (err.value.hint or "")


def test_x11_is_read_where_damage_says_and_other_platforms_poll() -> None:
    assert backend_name({}, "linux") == "x11-damage"
    assert backend_name({}, "win32") == backend_name({}, "darwin") == "mss"
    assert backend_name({CAPTURE_ENV: "MSS"}, "linux") == "mss"


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
    ({}, "the DISPLAY environment variable is not set"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "DISPLAY is not set under Wayland"),
])
def test_no_screen_on_linux_says_so_before_anything_is_opened(env: dict[str, str], said: str) -> None:
    with pytest.raises(NoDisplay) as err:
        check_display(env, "linux")
    assert said in err.value.message
    check_display({}, "win32")  # Windows and macOS always have a screen to ask for
    check_display({}, "darwin")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY is how Linux names its screen")
def test_the_factory_checks_the_display_before_opening_mss() -> None:
    with pytest.raises(NoDisplay):
        open_capture(0, env={})
