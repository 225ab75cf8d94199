"""The share link's player in a real browser, from real S3 servers through the test proxy (issue 19).

Two recordings are made once on Xvfb, with xdotool clicks at known places and the screen's colour
changed before each click (so a frame tells when it was captured): format 2, uploaded while it was
recorded to `rclone serve s3`, and format 1, recorded the classic way and uploaded by `traycap
upload --wait`; both with keyPrefix `team/{host}/`. The same two sessions are uploaded to moto with
SSE-S3 from a second home. For each of the four, the page opened from `traycap link ID` in headless
Debian chromium plays; its timeline has a mark per action; the click overlay is drawn at each
click's position (pixels of a screenshot); a seek shows the frame of that time; Download zip saves
the local zip's bytes. A link past its time says so instead of playing.
"""

from __future__ import annotations

import calendar
import io
import json
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from tests.integration.test_viewer_server import fetch, traycap
from tests.support.display import XDisplay, have_xvfb, xvfb
from tests.support.faultproxy import FaultProxy
from tests.support.recording import Bundle, read_bundle, start_record
from tests.support.s3servers import S3Server, moto_server, rclone_server
from tests.support.sessions import write_config
from tests.support.viewer import seek
from tests.support.waiting import wait_until
from tests.support.webdriver import Browser, chromium, have_chromium
from traycap.models import UploadStatus
from traycap.paths import STATE_FILE, Paths
from traycap.storage.state_store import StateStore

pytestmark = [
    pytest.mark.x11,
    pytest.mark.s3,
    pytest.mark.slow,
    pytest.mark.skipif(not have_chromium(), reason="needs Debian chromium + chromium-driver (scripts/setup.sh)"),
    pytest.mark.skipif(not have_xvfb(), reason="needs Xvfb and xdotool"),
]

W, H = 800, 600
START_BG = (48, 48, 48)
# (x, y, xdotool button, the overlay's colour for that button, the screen's colour from just before the click)
CLICKS = [(120, 140, "1", (255, 45, 149), (32, 80, 160)), (610, 420, "3", (255, 176, 32), (32, 160, 80)),
          (330, 510, "1", (255, 45, 149), (160, 32, 80))]
PREFIX = "team/{host}/"


@dataclass(frozen=True)
class Site:
    name: str
    server: S3Server
    proxy: FaultProxy
    home: Path
    sessions: dict[int, str]  # bundle format -> session id


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _record(display: XDisplay, home: Path) -> str:
    """A recording with three clicks, the screen's colour changed just before the pointer moves to
    each (so the move's time is after the change, and the click 1 s later), then masked typing."""
    display.run("xsetroot", "-solid", _hex(START_BG))
    display.run("xdotool", "mousemove", "5", "5")
    rec = start_record(display.env, home, "--fps", "10")
    session_id = rec.wait_ready()  # the first frame is captured: it shows START_BG
    for x, y, button, _, background in CLICKS:
        display.run("xsetroot", "-solid", _hex(background))
        display.run("xdotool", "mousemove", str(x), str(y), "sleep", "1.0", "click", button, "sleep", "0.5")
    display.run("xdotool", "type", "ab1")
    wait_until("the clicks and keys in actions.jsonl", lambda: len(rec.actions()) >= 3 * 3 + 6)
    wait_until("a frame after the last key", lambda: rec.frames() and rec.frames()[-1]["t"] > rec.actions()[-1]["t"])
    rec.proc.send_signal(signal.SIGINT)
    code, _, err = rec.finish()
    assert code == 0, err
    return session_id


def _paths(home: Path) -> Paths:
    return Paths(root=home, logs=home / "logs")


def _uploaded(home: Path, session_id: str) -> str:
    state = StateStore(_paths(home)).read(session_id)
    assert state is not None and state.status is UploadStatus.DONE and state.s3Key, state
    return state.s3Key


@pytest.fixture(scope="module")
def display() -> Iterator[XDisplay]:
    with xvfb(W, H) as d:
        yield d


@pytest.fixture(scope="module")
def rclone(display: XDisplay, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Both recordings, made once: format 2 uploaded while recording, format 1 uploaded after."""
    home = tmp_path_factory.mktemp("player-home-a")
    home.chmod(0o700)
    (home / "app-settings.json").write_text(json.dumps({"screenshotIntervalS": 1.0, "keystrokePrivacy": "no_text"}))
    with rclone_server(tmp_path_factory.mktemp("rclone")) as s3, FaultProxy(s3.host, s3.port) as proxy:
        config = s3.config(endpointUrl=proxy.url, keyPrefix=PREFIX, compatibility=True)
        write_config(_paths(home), config.with_(autoUpload=True, uploadWhileRecording=True))
        live = _record(display, home)
        _uploaded(home, live)  # `traycap record` waits for the live upload to be verified
        write_config(_paths(home), config)
        classic = _record(display, home)
        done = traycap(home, "upload", classic, "--wait")
        assert done.returncode == 0, done.stderr
        _uploaded(home, classic)
        yield Site("rclone", s3, proxy, home, {2: live, 1: classic})


@pytest.fixture(scope="module")
def moto(rclone: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The same two sessions uploaded from a second home to moto, encrypted with SSE-S3."""
    home = tmp_path_factory.mktemp("player-home-m")
    home.chmod(0o700)
    with moto_server() as s3, FaultProxy(s3.host, s3.port) as proxy:
        write_config(_paths(home), s3.config(endpointUrl=proxy.url, keyPrefix=PREFIX, sse="AES256"))
        for session_id in rclone.sessions.values():
            shutil.copytree(rclone.home / "sessions" / session_id, home / "sessions" / session_id,
                            ignore=shutil.ignore_patterns(STATE_FILE))
            done = traycap(home, "upload", session_id, "--wait")
            assert done.returncode == 0, done.stderr
        yield Site("moto", s3, proxy, home, rclone.sessions)


@dataclass(frozen=True)
class Chrome:
    browser: Browser
    downloads: Path


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    downloads = tmp_path_factory.mktemp("downloads")
    with chromium(1280, 900, downloads=downloads) as b:
        yield Chrome(b, downloads)


def _open(browser: Browser, url: str) -> dict[str, Any]:
    browser.get("about:blank")
    browser.get(url)
    wait_until("the player to be ready", lambda: browser.js(
        "return document.body.dataset.ready === '1' || document.body.dataset.failed === '1'"), 60)
    state: dict[str, Any] = browser.js(
        "return Object.assign({failed: document.body.dataset.failed || null,"
        " said: document.getElementById('novideo').textContent}, window.traycapViewer.state())")
    assert state["failed"] is None, state["said"]
    return state


def _pixel(png: bytes, x: float, y: float) -> tuple[int, int, int]:
    px = Image.open(io.BytesIO(png)).convert("RGB").getpixel((round(x), round(y)))
    assert isinstance(px, tuple)
    return (int(px[0]), int(px[1]), int(px[2]))


def _near(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 30) -> bool:
    return all(abs(p - q) <= tolerance for p, q in zip(a, b, strict=True))


def _overlay_at(png: bytes, x: float, y: float, colour: tuple[int, int, int]) -> bool:
    return any(_near(_pixel(png, x + dx, y + dy), colour) for dx in range(-2, 3) for dy in range(-2, 3))


def _link(home: Path, session_id: str, *args: str) -> str:
    done = traycap(home, "link", session_id, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _zip_url(link: str) -> str:
    page, _, fragment = link.partition("#")
    return urlsplit(page)._replace(path="", query="").geturl() + parse_qs(fragment)["z"][0]


CASES = [("rclone", 2), ("rclone", 1), ("moto", 1), ("moto", 2)]


@pytest.mark.parametrize(("where", "fmt"), CASES, ids=[f"{w}-format{f}" for w, f in CASES])
def test_the_link_plays_the_session_where_it_happened(
        where: str, fmt: int, request: pytest.FixtureRequest, chrome: Chrome) -> None:
    site: Site = request.getfixturevalue(where)
    browser = chrome.browser
    session_id = site.sessions[fmt]
    local_zip = site.home / "sessions" / session_id / f"{session_id}.zip"
    bundle: Bundle = read_bundle(local_zip)
    assert bundle.info.get("formatVersion", 1) == fmt
    key = _uploaded(site.home, session_id)
    assert key.startswith("team/") and key.endswith(f"/{session_id}.zip") and "{" not in key
    if where == "moto":
        head = site.server.client().head_object(Bucket=site.server.bucket, Key=key)
        assert head["ServerSideEncryption"] == "AES256"
    link = _link(site.home, session_id)
    assert link.split("?")[0].endswith(".html") and "/team/player/" in link and "#z=" in link

    state = _open(browser, link)
    assert state["format"] == fmt
    assert state["marks"] == state["actions"] == len(bundle.actions)
    assert browser.js("return document.getElementById('video').videoWidth") == bundle.info["video"]["width"]
    downs = [a for a in bundle.actions if a["type"] == "mouse_down"]
    assert [(a["x"], a["y"]) for a in downs] == [(x, y) for x, y, *_ in CLICKS]
    rect = bundle.info["monitors"]["rect"]
    previous, earlier = START_BG, bundle.frames[0]["t"]
    for a, (x, y, _, colour, background) in zip(downs, CLICKS, strict=True):
        # Before the colour changed: the first frame, or 0.2 s after the click before (0.5 s at least
        # pass before xsetroot runs again); at the click, the colour set before the move 1 s earlier.
        before = seek(browser, earlier, frames=2)
        stage, scale = before["stage"], before["scale"]
        corner = (stage["left"] + 12, stage["top"] + 12)  # the screen's colour, far from any click
        png = browser.screenshot_png()
        assert _near(_pixel(png, *corner), previous), f"{_pixel(png, *corner)} before the click at {x},{y}"
        px, py = stage["left"] + (x - rect["left"]) * scale, stage["top"] + (y - rect["top"]) * scale
        assert not _overlay_at(png, px, py, colour), f"click overlay at {x},{y} before the click"
        state = seek(browser, a["t"], frames=2)
        assert abs(state["cur"] - a["t"]) < 1
        png = browser.screenshot_png()
        assert _near(_pixel(png, *corner), background), f"the frame at the click at {x},{y} is from another time"
        assert _overlay_at(png, px, py, colour), f"no click overlay at {x},{y} (page {px:.0f},{py:.0f})"
        previous, earlier = background, a["t"] + 200
    # It plays.
    browser.js("window.traycapViewer.seek(0); document.getElementById('play').click()")
    wait_until("playback to move on", lambda: browser.js("return document.getElementById('video').currentTime") > 1.0,
               30)
    browser.js("document.getElementById('play').click()")
    # Download zip: the bytes that were uploaded, which are the local zip's.
    saved = chrome.downloads / f"{session_id}.zip"
    saved.unlink(missing_ok=True)
    browser.js("document.getElementById('download').click()")
    wait_until("the download to finish", lambda: saved.exists() and not list(chrome.downloads.glob("*.crdownload")),
               60)
    assert saved.read_bytes() == local_zip.read_bytes()
    saved.unlink()


def test_an_expired_link_says_so_instead_of_playing(rclone: Site, chrome: Chrome) -> None:
    session_id = rclone.sessions[1]
    link = _link(rclone.home, session_id, "--expires", "1")
    query = parse_qs(urlsplit(_zip_url(link)).query)
    signed = calendar.timegm(time.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ"))
    expired_at = signed + int(query["X-Amz-Expires"][0])
    wait_until("the link's time to pass", lambda: time.time() > expired_at + 1, 10)
    assert fetch(_zip_url(link))[0] in (400, 403)  # the store agrees (rclone answers 400)
    key = _uploaded(rclone.home, session_id)
    rclone.proxy.reset_stats()
    browser = chrome.browser
    browser.get("about:blank")
    browser.get(link)
    wait_until("the page to say the link expired", lambda: browser.js("return document.body.dataset.expired === '1'"),
               30)
    said = browser.js("return document.getElementById('novideo').textContent")
    assert said.startswith("This link expired on ") and "Ask the person who sent it for a new link" in said
    assert browser.js("return document.getElementById('video').currentSrc") == ""
    assert rclone.proxy.count("GetObject", key) == 0  # it did not even try the recording
