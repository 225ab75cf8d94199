"""`traycap view` on a format-2 (live) bundle: the video's segments served as one seekable MP4
(byte ranges across segment boundaries, byte-exact against the original), the page data the same
as from the format-1 bundle it was re-packed from, and `--sheet` drawing the same frames."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops

from tests.integration.test_viewer_server import fetch, traycap
from tests.support.bundle_repack import Repacked, repack_v2
from tests.support.synthetic_session import Synthetic, make_synthetic_session
from tests.support.viewer import start_view
from traycap.context import Context

SPEC = Synthetic(seconds=8, fps=4, width=640, height=360, actions=200, screenshot_every_s=2, pause=(3, 4))


def _swap_in_v2(ctx: Context, session_id: str, tmp_path: Path) -> tuple[Path, Repacked]:
    """The session's zip replaced by its format-2 twin; returns (the format-1 copy, the twin)."""
    zip_path = ctx.sessions.zip_path(ctx.sessions.read_meta(session_id))
    v1 = tmp_path / "v1.zip"
    v1.write_bytes(zip_path.read_bytes())
    v2 = repack_v2(v1, tmp_path / "v2.zip", lines_per_chunk=40)
    zip_path.write_bytes(v2.path.read_bytes())
    return v1, v2


def _page(home: Path, session_id: str) -> dict[str, Any]:
    view = start_view(home, session_id)
    try:
        data: dict[str, Any] = json.loads(fetch(view.url + "data.json")[2])
        return data
    finally:
        view.stop()


def test_a_live_bundle_is_served_as_one_mp4_with_ranges_across_segments(
        ctx: Context, home: Path, tmp_path: Path) -> None:
    meta = make_synthetic_session(ctx, "s-live", SPEC)
    before = _page(home, meta.sessionId)
    _, v2 = _swap_in_v2(ctx, meta.sessionId, tmp_path)
    video = v2.video
    assert len(v2.segments) >= 6
    bounds = [sum(len(s) for s in v2.segments[:k]) for k in range(1, len(v2.segments))]
    view = start_view(home, meta.sessionId)
    try:
        data: dict[str, Any] = json.loads(fetch(view.url + "data.json")[2])
        for key in ("actions", "frames", "captions", "shots", "video", "end", "privacy"):
            assert data[key] == before[key], key
        status, headers, body = fetch(view.url + "video.mp4")
        assert status == 200 and body == video and headers["Content-Length"] == str(len(video))
        for b in bounds:
            for first, last in ((b - 1, b), (b - 100, b + 99), (b, b), (b - 1, b - 1), (max(0, b - 70_000), b + 5)):
                status, headers, body = fetch(view.url + "video.mp4", headers={"Range": f"bytes={first}-{last}"})
                assert status == 206 and body == video[first: last + 1], (b, first, last)
                assert headers["Content-Range"] == f"bytes {first}-{last}/{len(video)}"
        status, _, body = fetch(view.url + "video.mp4", headers={"Range": f"bytes={bounds[0] - 3}-"})
        assert status == 206 and body == video[bounds[0] - 3:]
        status, _, body = fetch(view.url + "video.mp4", headers={"Range": "bytes=-1000"})
        assert status == 206 and body == video[-1000:]
        status, headers, _ = fetch(view.url + "video.mp4", headers={"Range": f"bytes={len(video)}-"})
        assert status == 416 and headers["Content-Range"] == f"bytes */{len(video)}"
        shot = data["shots"][0]["file"]
        assert fetch(view.url + "shots/" + shot)[0] == 200
        status, headers, body = fetch(view.url + "preview.jpg")
        assert status == 200 and body[:3] == b"\xff\xd8\xff"
    finally:
        view.stop()


def test_sheet_of_a_live_bundle_is_the_sheet_of_its_format_1_twin(ctx: Context, home: Path, tmp_path: Path) -> None:
    meta = make_synthetic_session(ctx, "s-sheet", SPEC)
    one = tmp_path / "one.png"
    done = traycap(home, "view", meta.sessionId, "--sheet", str(one))
    assert done.returncode == 0, done.stderr
    _swap_in_v2(ctx, meta.sessionId, tmp_path)
    two = tmp_path / "two.png"
    done = traycap(home, "view", meta.sessionId, "--sheet", str(two))
    assert done.returncode == 0, done.stderr
    a, b = Image.open(one).convert("RGB"), Image.open(two).convert("RGB")
    assert a.size == b.size
    assert ImageChops.difference(a, b).getbbox() is None  # the same frames, decoded from the segments


def test_a_live_bundle_without_video_has_no_sheet_and_no_video_url(ctx: Context, home: Path, tmp_path: Path) -> None:
    meta = make_synthetic_session(ctx, "s-novideo", Synthetic(seconds=3, fps=2, width=320, height=180, actions=20))
    zip_path = ctx.sessions.zip_path(meta)
    _, v2 = _swap_in_v2(ctx, meta.sessionId, tmp_path)
    with zipfile.ZipFile(v2.path) as src, zipfile.ZipFile(zip_path, "w") as dst:
        for info in src.infolist():
            if not info.filename.startswith("video/screen/"):
                dst.writestr(info.filename, src.read(info))
    done = traycap(home, "view", meta.sessionId, "--sheet", str(tmp_path / "x.png"))
    assert done.returncode == 1 and "holds no video" in done.stderr
    data = _page(home, meta.sessionId)
    assert data["video"]["url"] is None and len(data["actions"]["t"]) > 0
