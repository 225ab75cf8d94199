"""The replay page in a real browser: a session recorded on Xvfb with xdotool clicks at known
coordinates, served by `traycap view --no-open`, opened in headless Debian chromium."""

from __future__ import annotations

import io
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.support.display import XDisplay, have_xvfb, xvfb
from tests.support.recording import read_bundle, start_record
from tests.support.viewer import seek, start_view
from tests.support.waiting import wait_until
from tests.support.webdriver import Browser, chromium, have_chromium

pytestmark = [
    pytest.mark.x11,
    pytest.mark.slow,
    pytest.mark.skipif(not have_chromium(), reason="needs Debian chromium + chromium-driver (scripts/setup.sh)"),
    pytest.mark.skipif(not have_xvfb(), reason="needs Xvfb and xdotool"),
]

W, H = 800, 600
# (x, y, xdotool button, the page's colour for that button)
CLICKS = [(120, 140, "1", (255, 45, 149)), (610, 420, "3", (255, 176, 32)), (330, 510, "1", (255, 45, 149))]


@pytest.fixture(scope="module")
def display() -> Iterator[XDisplay]:
    with xvfb(W, H) as d:
        yield d


@pytest.fixture(scope="module")
def recorded(display: XDisplay, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One recording with three clicks a second apart, masked typing and periodic screenshots."""
    home = tmp_path_factory.mktemp("viewer-home")
    (home / "app-settings.json").write_text(json.dumps({"screenshotIntervalS": 1.0, "keystrokePrivacy": "no_text"}))
    display.run("xdotool", "mousemove", "5", "5")
    rec = start_record(display.env, home, "--fps", "10")
    session_id = rec.wait_ready()
    argv: list[str] = ["xdotool"]
    for x, y, button, _ in CLICKS:
        argv += ["mousemove", str(x), str(y), "sleep", "0.3", "click", button, "sleep", "1.2"]
    argv += ["type", "ab1"]
    display.run(*argv)
    wait_until("the clicks and keys in actions.jsonl", lambda: len(rec.actions()) >= 3 * 3 + 6)
    wait_until("a frame after the last key", lambda: rec.frames() and rec.frames()[-1]["t"] > rec.actions()[-1]["t"])
    rec.proc.send_signal(signal.SIGINT)
    code, _, err = rec.finish()
    assert code == 0, err
    return home, session_id


def _open(browser: Browser, url: str) -> dict[str, Any]:
    browser.get(url)
    wait_until("the page to be ready", lambda: browser.js("return document.body.dataset.ready === '1'"), 60)
    state: dict[str, Any] = browser.js("return window.traycapViewer.state()")
    return state


def _pixel_near(png: bytes, x: float, y: float, colour: tuple[int, int, int], radius: int = 2) -> bool:
    img = Image.open(io.BytesIO(png)).convert("RGB")
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            px = img.getpixel((round(x) + dx, round(y) + dy))
            assert isinstance(px, tuple)
            if all(abs(int(a) - b) <= 30 for a, b in zip(px, colour, strict=False)):
                return True
    return False


def test_page_marks_every_action_and_draws_each_click_where_it_happened(recorded: tuple[Path, str]) -> None:
    home, session_id = recorded
    bundle = read_bundle(home / "sessions" / session_id / f"{session_id}.zip")
    downs = [a for a in bundle.actions if a["type"] == "mouse_down"]
    assert [(a["x"], a["y"]) for a in downs] == [(x, y) for x, y, _, _ in CLICKS]
    rect = bundle.info["monitors"]["rect"]
    view = start_view(home, session_id)
    try:
        with chromium() as browser:
            state = _open(browser, view.url)
            assert state["marks"] == len(bundle.actions) == state["actions"]
            assert browser.js("return document.getElementById('video').videoWidth") == bundle.info["video"]["width"]
            # Masked keys stay masked on the page: the list and the caption show "*", never the letters.
            browser.js("document.getElementById('showMoves').checked = true;"
                       "document.getElementById('showMoves').dispatchEvent(new Event('change'))")
            assert browser.js("return window.traycapViewer.state().rows") == len(bundle.actions)
            for a, (x, y, _, colour) in zip(downs, CLICKS, strict=True):
                before = seek(browser, a["t"] - 900)
                shot = browser.screenshot_png()
                stage = before["stage"]
                px = stage["left"] + (x - rect["left"]) * before["scale"]
                py = stage["top"] + (y - rect["top"]) * before["scale"]
                assert not _pixel_near(shot, px, py, colour), f"click overlay at {x},{y} before the click"
                state = seek(browser, a["t"])
                assert abs(state["cur"] - a["t"]) < 1
                shot = browser.screenshot_png()
                assert _pixel_near(shot, px, py, colour), f"no click overlay at {x},{y} (page {px:.0f},{py:.0f})"
            # Keyboard: from the start, → jumps to the first click, space plays.
            seek(browser, 0)
            browser.key("\ue014")  # ArrowRight
            assert browser.js("return window.traycapViewer.state().cur") == pytest.approx(downs[0]["t"], abs=1)
            browser.key(" ")
            wait_until("playback to start", lambda: browser.js("return window.traycapViewer.state().playing"), 20)
            caption = wait_until("the typed-text caption", lambda: browser.js(
                "const c = document.getElementById('caption'); return c.hidden ? '' : c.textContent"), 30)
            assert set(caption) <= {"*"}, caption
            list_text = browser.js("return document.getElementById('list').textContent")
            assert "key a" not in list_text
            browser.get("about:blank")  # leaving the page: it says goodbye
        # The tab is gone: the server notices (goodbye, or no heartbeat) and exits by itself.
        wait_until("traycap view to exit after the tab closed", lambda: view.proc.poll() is not None, 60)
        code, err = view.stop()
        assert code == 0, err
        assert "page was closed" in err
    finally:
        view.stop()
