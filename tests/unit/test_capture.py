"""media/capture/: the factory picks the backend (TRAYCAP_CAPTURE overrides), refuses readably where
there is no screen, and every backend says what it can do (Capabilities) in what the session records."""

from __future__ import annotations

import sys

import pytest

from traycap.errors import NoDisplay, RecorderError
from traycap.media.capture import CAPTURE_ENV, Capabilities, check_display, open_capture
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
    assert "TRAYCAP_CAPTURE='pipewire'" in err.value.message and "mss, null" in (err.value.hint or "")


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
