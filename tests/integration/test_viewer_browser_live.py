"""Every shape of bundle in a real browser: headless Debian chromium plays the zip, read by byte ranges
from `traycap view`, exactly as it plays the format-1 bundle made by the export: the format-2 twin
(segmented video, JSON-lines chunks), the twin of a recording cut off by a crash (no fragment index:
read in order), a zip with ZIP64 records everywhere, and one whose video is deflated (a zip written by
another tool). Same page data, size, duration, the same pictures at seek points in different
segments, playback from start to end across every boundary. A bundle without video says so."""

from __future__ import annotations

import io
import itertools
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from tests.support.bundle_repack import repack_v2, rewrite_zip, without_mfra
from tests.support.synthetic_session import Synthetic, make_synthetic_session
from tests.support.viewer import start_view
from tests.support.waiting import wait_until
from tests.support.webdriver import Browser, chromium, have_chromium
from traycap.context import Context

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not have_chromium(), reason="needs Debian chromium + chromium-driver (scripts/setup.sh)"),
]

SPEC = Synthetic(seconds=6, fps=5, width=640, height=360, actions=120, screenshot_every_s=2)
SEEKS_MS = [300.0, 1700.0, 2900.0, 4100.0, 5500.0]  # one in each second: each in another segment


def _open(browser: Browser, url: str) -> None:
    browser.get(url)
    wait_until("the page to be ready", lambda: browser.js("return document.body.dataset.ready === '1'"), 60)


def _seek_shot(browser: Browser, t: float) -> tuple[dict[str, Any], Image.Image]:
    state: dict[str, Any] = browser.js_async(
        "const done = arguments[arguments.length - 1]; const v = document.getElementById('video');"
        "window.traycapViewer.seek(arguments[0]);"
        "const finish = () => requestAnimationFrame(() => requestAnimationFrame(() =>"
        " done(window.traycapViewer.state())));"
        "if (v.seeking) v.addEventListener('seeked', finish, {once: true}); else finish();", t)
    stage = state["stage"]
    img = Image.open(io.BytesIO(browser.screenshot_png())).convert("RGB")
    box = (round(stage["left"]) + 2, round(stage["top"]) + 2, round(stage["right"]) - 2, round(stage["bottom"]) - 2)
    return state, img.crop(box)


def _watch(browser: Browser, url: str) -> dict[str, Any]:
    """What the page shows of the session: video facts, pictures at SEEKS_MS, and a full playback."""
    _open(browser, url)
    video = browser.js("const v = document.getElementById('video');"
                       "return {w: v.videoWidth, h: v.videoHeight, d: v.duration, err: v.error && v.error.code}")
    shots = []
    for t in SEEKS_MS:
        state, img = _seek_shot(browser, t)
        assert abs(state["cur"] - t) < 1
        shots.append((state["videoTime"], img))
    # Play from the start at 4x to the end: every segment boundary is crossed while playing.
    browser.js("window.traycapViewer.seek(0); document.getElementById('speed').value = '4';"
               "document.getElementById('speed').dispatchEvent(new Event('change'))")
    browser.js("document.getElementById('play').click()")
    wait_until("playback to start", lambda: browser.js("return window.traycapViewer.state().playing"), 20)
    wait_until("playback to reach the end", lambda: browser.js(
        "const v = document.getElementById('video'); return v.ended && !window.traycapViewer.state().playing"), 60)
    played = browser.js("const v = document.getElementById('video'); const q = v.getVideoPlaybackQuality();"
                        "return {t: v.currentTime, err: v.error && v.error.code, frames: q.totalVideoFrames,"
                        " cur: window.traycapViewer.state().cur}")
    data = browser.js("const d = window.traycapViewer.data();"
                      "return {actions: d.actions, frames: d.frames, captions: d.captions, shots: d.shots, end: d.end,"
                      " facts: d.facts.filter((f) => f[0] !== 'Size')}")
    return {"video": video, "shots": shots, "played": played, "data": data,
            "format": browser.js("return window.traycapViewer.state().format")}


def test_chromium_plays_every_shape_of_bundle_as_it_plays_format_1(ctx: Context, home: Path, tmp_path: Path) -> None:
    meta = make_synthetic_session(ctx, "s-browser-live", SPEC)
    zip_path = ctx.sessions.zip_path(meta)
    v1 = tmp_path / "v1.zip"
    v1.write_bytes(zip_path.read_bytes())
    v2 = repack_v2(v1, tmp_path / "v2.zip")
    assert len(v2.segments) >= 6  # ftyp+moov, then one moof+mdat a second
    cut = repack_v2(rewrite_zip(v1, tmp_path / "cut1.zip", video=without_mfra), tmp_path / "cut.zip",
                    pairs_per_segment=2)
    shapes = {
        "format 1": (1, v1),
        "format 2": (2, v2.path),
        "format 2 cut off by a crash (no mfra)": (2, cut.path),
        "ZIP64 records everywhere": (1, rewrite_zip(v1, tmp_path / "z64.zip", zip64=True)),
        "deflated video": (1, rewrite_zip(v1, tmp_path / "deflated.zip", deflate_video=True)),
    }
    seen: dict[str, dict[str, Any]] = {}
    with chromium() as browser:
        for name, (_, source) in shapes.items():
            zip_path.write_bytes(source.read_bytes())
            view = start_view(home, meta.sessionId)
            try:
                seen[name] = _watch(browser, view.url)
                browser.get("about:blank")
            finally:
                view.stop()
        # Without video: the rest of the page, and a sentence where the video would be.
        with zipfile.ZipFile(v2.path) as src, zipfile.ZipFile(zip_path, "w") as dst:
            for info in src.infolist():
                if not info.filename.startswith("video/screen/"):
                    dst.writestr(info.filename, src.read(info))
        view = start_view(home, meta.sessionId)
        try:
            browser.get(view.url)
            wait_until("the page to be ready", lambda: browser.js("return document.body.dataset.ready === '1'"), 60)
            novideo = browser.js("return document.getElementById('novideo').textContent")
            marks = browser.js("return window.traycapViewer.state().marks")
        finally:
            view.stop()
    assert novideo == "This session has no video." and marks == SPEC.actions

    one = seen["format 1"]
    assert one["video"]["err"] is None and one["format"] == 1
    assert (one["video"]["w"], one["video"]["h"]) == (640, 360) and one["video"]["d"] > 5
    for name, (fmt, _) in shapes.items():
        two = seen[name]
        assert two["format"] == fmt, name
        assert two["data"] == one["data"], f"{name}: other page data"
        assert two["video"]["err"] is None, name
        assert (two["video"]["w"], two["video"]["h"]) == (640, 360), name
        assert two["video"]["d"] == pytest.approx(one["video"]["d"], abs=1e-3), name
        for (t1, img1), (t2, img2), t in zip(one["shots"], two["shots"], SEEKS_MS, strict=True):
            assert t1 == pytest.approx(t2, abs=1e-3)
            diff = ImageStat.Stat(ImageChops.difference(img1, img2)).mean
            assert max(diff) < 1.0, f"{name}: at {t} ms the video shows another picture ({diff})"
        assert two["played"]["err"] is None, name
        assert two["played"]["t"] == pytest.approx(one["played"]["t"], abs=0.05), name
        assert two["played"]["t"] == pytest.approx(two["video"]["d"], abs=0.05), name
    # The pictures differ from one seek to the next (the synthetic box moves): the seeks really happened.
    firsts = [img for _, img in seen["format 2"]["shots"]]
    assert all(max(ImageStat.Stat(ImageChops.difference(a, b)).mean) > 0.5 for a, b in itertools.pairwise(firsts))
