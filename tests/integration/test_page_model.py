"""traycap/viewer/page/model.js, the page's data as pure functions of the bundle, run in the real
browser (headless Debian chromium): coordinates, captions, frame times, facts, column arrays, and
when a presigned link expires. It was traycap/viewer/model.py until the page read the zip itself
(issue 19); these are that module's tests, kept."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest

from tests.support.webdriver import Browser, chromium, have_chromium

pytestmark = [
    pytest.mark.skipif(not have_chromium(), reason="needs Debian chromium + chromium-driver (scripts/setup.sh)"),
]

MODEL_JS = resources.files("traycap.viewer").joinpath("page", "model.js").read_text(encoding="utf-8")

INFO: dict[str, Any] = {
    "sessionId": "s1", "createdAt": 1_800_000_000_000, "durationMs": 65_000, "pausedMs": 5_000,
    "fps": {"requested": 10, "achieved": 9.87}, "droppedFrames": {"late": 2, "encoderBusy": 1, "total": 3},
    "counts": {"actions": 4, "markers": 2, "frames": 600, "screenshots": 3},
    "video": {"width": 1280, "height": 1024, "codec": "h264"},
    "monitors": {"monitor": 2, "rect": {"left": 1920, "top": 0, "width": 1280, "height": 1024}},
    "keystrokePrivacy": "no_text",
}


@pytest.fixture(scope="module")
def page() -> Iterator[Browser]:
    with chromium(640, 480) as browser:
        yield browser


def run(browser: Browser, expression: str, *args: Any) -> Any:
    """`expression` evaluated where model.js's functions are defined (arguments[0..] are `args`)."""
    return browser.js(f"{MODEL_JS}\nreturn ({expression});", *args)


def keys(*pairs: tuple[float, str, str], masked: bool = False) -> list[dict[str, Any]]:
    return [{"t": t, "type": kind, "key": key, **({"masked": True} if masked else {})} for t, kind, key in pairs]


def test_pointer_coordinates_are_mapped_through_the_recorded_monitor(page: Browser) -> None:
    found = run(page, "(() => { const m = videoMapping(arguments[0]);"
                      " return [m.left, m.top, m.scale, m.width, m.height, m.point(2020, 50), m.point(100, 50)]; })()",
                INFO)
    assert found == [1920, 0, 1, 1280, 1024, [100, 50], None]  # on the other monitor: not in the video


def test_a_recorded_scale_maps_logical_input_coordinates_to_capture_pixels(page: Browser) -> None:
    info = {**INFO, "monitors": {"rect": {"left": 0, "top": 0, "width": 2560, "height": 1600}, "scale": 2.0},
            "video": {"width": 2560, "height": 1600}}
    assert run(page, "videoMapping(arguments[0]).point(100, 200)", info) == [200, 400]


def test_odd_sized_monitors_lose_their_last_column_like_the_video(page: Browser) -> None:
    info = {"monitors": {"rect": {"left": 0, "top": 0, "width": 801, "height": 601}}, "video": {"width": 800,
                                                                                              "height": 600}}
    assert run(page, "[videoMapping(arguments[0]).point(800, 10), videoMapping(arguments[0]).point(799, 599)]",
               info) == [None, [799, 599]]


def test_masked_keys_stay_masked_in_captions(page: Browser) -> None:
    actions = keys((10, "key_down", "*"), (11, "key_up", "*"), (20, "key_down", "*"), masked=True)
    assert run(page, "captions(arguments[0]).map((c) => c.text)", actions) == ["**"]


def test_captions_group_typing_into_runs_with_symbols_and_shortcuts(page: Browser) -> None:
    actions = keys(
        (0, "key_down", "h"), (50, "key_down", "i"), (100, "key_down", "space"), (150, "key_down", "enter"),
        (5000, "key_down", "ctrl_l"), (5010, "key_down", "c"), (5020, "key_up", "c"), (5030, "key_up", "ctrl_l"),
        (5100, "key_down", "shift"), (5110, "key_down", "A"), (5120, "key_up", "shift"), (5200, "key_down", "f5"),
    )
    caps = run(page, "captions(arguments[0])", actions)
    assert [c["text"] for c in caps] == ["hi ⏎", "[Ctrl+C]A[F5]"]
    assert caps[0]["start"] == 0 and caps[0]["end"] == 150 + 2000
    assert caps[1]["start"] == 5010


def test_a_click_between_typing_starts_a_new_caption(page: Browser) -> None:
    actions = [*keys((0, "key_down", "a"), (100, "key_down", "b")),
               {"t": 300, "type": "mouse_down", "x": 1, "y": 1, "button": "left"}, *keys((600, "key_down", "c"))]
    assert run(page, "captions(arguments[0]).map((c) => [c.start, c.text])", actions) == [[0, "ab"], [600, "c"]]


def test_frames_map_to_video_seconds_from_the_first_frame(page: Browser) -> None:
    frames = [{"t": 134.1, "pts": 134}, {"t": 234.0, "pts": 234}, {"t": 9000.0, "pts": 4000}]
    assert run(page, "frameColumns(arguments[0])", frames) == {"t": [134.1, 234, 9000], "v": [0, 0.1, 3.866]}


def test_facts_say_what_a_reviewer_asks(page: Browser) -> None:
    host = {"zipSize": 5_000_000, "upload": {"status": "done", "uploadedAt": 1_800_000_100_000}}
    lines = dict(run(page, "facts(arguments[0], arguments[1])", INFO, host))
    assert lines["Length"] == "1:05 (0:05 paused)"
    assert lines["Frame rate"] == "9.87 fps achieved of 10 asked"
    assert lines["Dropped frames"] == "3 (2 late, 1 encoder busy)"
    assert lines["Actions"] == "4 (3 screenshots, 600 frames)"
    assert lines["Keystrokes"] == "letters and digits masked"
    assert lines["Size"] == "4.8 MB"
    assert lines["Upload"].startswith("uploaded ")
    shared = dict(run(page, "facts(arguments[0], arguments[1])", INFO, {"zipSize": 10, "expiresAt": 1_800_604_800_000}))
    assert "Upload" not in shared and shared["Link expires"].startswith("2027-")


def test_a_still_screen_is_said_once_and_its_unchanged_screenshots_fold_into_the_one_they_repeat(
        page: Browser) -> None:
    """A periodic screenshot identical to the one before names that file with `unchanged` (no PNG written
    again): the strip shows the earlier one, unchanged until the last such time."""
    lines = dict(run(page, "facts(arguments[0], {})", {**INFO, "unchangedFrames": 1234}))
    assert lines["Still screen"] == "1,234 frame slots unchanged (the frame before shows)"
    assert "Still screen" not in dict(run(page, "facts(arguments[0], {})", INFO))
    index = [{"t": 0.0, "file": "000000000-periodic.png", "reason": "periodic"},
             {"t": 5000.0, "file": "000000000-periodic.png", "reason": "periodic", "unchanged": True},
             {"t": 10000.0, "file": "000000000-periodic.png", "reason": "periodic", "unchanged": True},
             {"t": 12000.5, "file": "000012001-click.png", "reason": "click"},
             {"t": 15000.0, "file": "000012001-click.png", "reason": "periodic", "unchanged": True}]
    assert run(page, "screenshotRuns(arguments[0])", index) == [
        {"t": 0, "file": "000000000-periodic.png", "reason": "periodic", "until": 10000},
        {"t": 12000.5, "file": "000012001-click.png", "reason": "click", "until": 15000}]
    assert run(page, "screenshotRuns(arguments[0])", index[:1]) == [index[0]]


@pytest.mark.parametrize(("privacy", "text"), [("full", "recorded as typed"), ("no_text", "letters and digits masked"),
                                               ("none", "not recorded")])
def test_keystroke_privacy_is_shown(page: Browser, privacy: str, text: str) -> None:
    lines = dict(run(page, "facts(arguments[0], {})", {**INFO, "keystrokePrivacy": privacy}))
    assert lines["Keystrokes"] == text


WAYLAND_TRACKS = {"video": True, "cursor": "embedded", "pointer": "none", "clicks": False, "keys": False,
                  "why": "on Wayland no app can hear clicks and keys outside its own windows"}


def test_facts_say_which_tracks_a_wayland_recording_holds_and_why(page: Browser) -> None:
    """Issue 21: a recording without a click or key track says so, instead of an empty typed text."""
    info = {**INFO, "keystrokePrivacy": "full", "tracks": WAYLAND_TRACKS,
            "capture": {"backend": "wayland-portal", "damageDriven": True, "cursor": "embedded"}}
    lines = dict(run(page, "facts(arguments[0], {})", info))
    assert lines["Tracks"] == ("screen with the pointer drawn in; no clicks or keys: on Wayland no app can hear "
                                 "clicks and keys outside its own windows")
    assert lines["Capture"] == "Wayland screen cast (the desktop's portal, PipeWire)"
    assert "Keystrokes" not in lines  # no key track: its privacy setting says nothing
    devices = {**WAYLAND_TRACKS, "pointer": "estimated", "clicks": True, "keys": True, "why": None}
    lines = dict(run(page, "facts(arguments[0], {})", {**info, "tracks": devices}))
    assert lines["Tracks"] == "screen with the pointer drawn in, pointer (estimated), clicks, keys"
    assert lines["Keystrokes"] == "recorded as typed"
    flags = run(page, "[trackFlags(arguments[0]), trackFlags(arguments[1])]", info, INFO)
    assert flags == [{"pointer": False, "clicks": False, "keys": False},
                     {"pointer": True, "clicks": True, "keys": True}]  # an older bundle holds every track


def test_page_data_has_one_row_per_action_in_column_arrays(page: Browser) -> None:
    actions: list[dict[str, Any]] = [
        {"t": 1.0, "type": "mouse_move", "x": 1930, "y": 5},
        {"t": 2.0, "type": "mouse_down", "x": 1930, "y": 5, "button": "right"},
        {"t": 3.0, "type": "scroll", "x": 10, "y": 5, "dx": 0, "dy": -2},
        {"t": 4.0, "type": "key_down", "key": "*", "masked": True},
        {"t": 5.0, "type": "pause"},
        {"t": 9.0, "type": "resume"},
    ]
    bundle = {"info": INFO, "actions": actions, "frames": [], "video": ["video/screen.mp4"],
              "shots": [{"t": 2.5, "file": "000000002-click.png", "reason": "click"}]}
    data = run(page, "pageData(arguments[0], {zipSize: 10})", bundle)
    cols = data["actions"]
    assert cols["kind"] == [0, 1, 3, 4, 6, 7]  # move, press, scroll, key, pause, resume
    assert cols["x"] == [10, 10, None, None, None, None]
    assert cols["detail"] == ["", "right", "down 2", "*", "", ""]
    assert cols["masked"] == [0, 0, 0, 1, 0, 0]
    assert data["video"]["present"] is True and (data["video"]["width"], data["video"]["height"]) == (1280, 1024)
    assert data["shots"] == [{"t": 2.5, "file": "000000002-click.png", "reason": "click"}]
    assert data["end"] == 65_000 and data["sessionId"] == "s1"


def test_a_presigned_link_expires_at_its_date_plus_its_seconds(page: Browser) -> None:
    url = "https://b.example/k.zip?X-Amz-Date=20270115T080000Z&X-Amz-Expires=604800&X-Amz-Signature=x"
    signed = calendar.timegm((2027, 1, 15, 8, 0, 0, 0, 0, 0)) * 1000
    assert run(page, "presignedExpiry(new URL(arguments[0]))", url) == signed + 604_800_000
    assert run(page, "presignedExpiry(new URL('https://b.example/k.zip'))") is None  # not presigned: NaN


def test_model_js_is_what_the_built_page_runs() -> None:
    from traycap.viewer.single_page import build

    assert MODEL_JS in build().html.decode("utf-8")
