"""A screen that changes once a minute, recorded and replayed: the change is at the right second in the
replay page (headless Debian chromium, served by `traycap view`).

Three minutes of recording on the FakeClock (tests/support/still_screen.py: the recorder's own capture,
encoder and export, slot by slot): red, blue from 60 s, green from 120 s. Nearly every slot of it is
skipped (the screen did not change), so the video holds about a frame a second; the page must still
show red just before each minute, the new colour just after, and when played across the minute, turn
at 60 s of recording time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.recording import read_bundle
from tests.support.still_screen import ScriptedScreen, SteppedRecording
from tests.support.viewer import seek, start_view
from tests.support.waiting import wait_until
from tests.support.webdriver import Browser, chromium, have_chromium
from traycap.clock import FakeClock
from traycap.context import make_context
from traycap.paths import Paths

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not have_chromium(), reason="needs Debian chromium + chromium-driver (scripts/setup.sh)"),
]

RED, BLUE, GREEN = (0, 0, 255), (255, 0, 0), (0, 255, 0)  # BGR, as frames hold them
RGB = {RED: (255, 0, 0), BLUE: (0, 0, 255), GREEN: (0, 255, 0)}

# The colour of the video's pixel in the middle, as the page shows it now (a canvas copy of the <video>).
PIXEL = """
const v = document.getElementById('video');
const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
const g = c.getContext('2d'); g.drawImage(v, 0, 0);
return Array.from(g.getImageData(c.width >> 1, c.height >> 1, 1, 1).data.slice(0, 3));
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    home = tmp_path_factory.mktemp("still-home")
    clock = FakeClock()
    ctx = make_context(Paths(root=home, logs=home / "logs"), clock)
    screen = ScriptedScreen(320, 240, [(0.0, RED), (60.0, BLUE), (120.0, GREEN)], clock)
    run = SteppedRecording(ctx, clock, screen, fps=5)
    run.until(180.0)
    meta = run.stop_and_export()
    bundle = read_bundle(ctx.sessions.zip_path(meta))
    assert len(bundle.frames) < 200 < run.slots  # ~a frame a second, of 900 slots
    assert {f["t"] for f in bundle.frames} >= {60000.0, 120000.0}  # the changes' own frames
    yield home, meta.sessionId


def _colour(browser: Browser) -> tuple[int, int, int]:
    r, g, b = browser.js(PIXEL)
    return int(r), int(g), int(b)


def _near(got: tuple[int, int, int], want: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 40 for a, b in zip(got, want, strict=True))


def test_the_page_shows_each_minute_s_change_at_its_second(recorded: tuple[Path, str]) -> None:
    home, session_id = recorded
    view = start_view(home, session_id)
    try:
        with chromium() as browser:
            browser.get(view.url)
            wait_until("the page to be ready", lambda: browser.js("return document.body.dataset.ready === '1'"), 60)
            for t_ms, colour in ((1000, RED), (59_500, RED), (59_900, RED), (60_100, BLUE), (90_000, BLUE),
                                 (119_900, BLUE), (120_100, GREEN), (179_000, GREEN)):
                state = seek(browser, t_ms)
                assert abs(state["cur"] - t_ms) < 1
                got = _colour(browser)
                assert _near(got, RGB[colour]), (t_ms, got)
            # Played across the minute: the picture turns blue when the recording time reaches 60 s.
            seek(browser, 58_000)
            turned: dict[str, Any] = browser.js_async(
                "const done = arguments[arguments.length - 1]; const v = document.getElementById('video');"
                "const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;"
                "const g = c.getContext('2d');"
                "const look = () => { g.drawImage(v, 0, 0); const p = g.getImageData(c.width >> 1, c.height >> 1,"
                " 1, 1).data; if (p[2] > 200 && p[0] < 60) done({cur: window.traycapViewer.state().cur,"
                " video: v.currentTime}); else requestAnimationFrame(look); };"
                "document.getElementById('play').click(); requestAnimationFrame(look);", timeout=30)
            # (a browser may present a frame a few ms before its time: within one frame interval, 200 ms)
            assert abs(turned["cur"] - 60_000) < 200, turned
    finally:
        view.stop()
