"""`traycap view ID --no-open` as a real process: what it serves, to whom, from the zip, and when it stops;
`--sheet` and the preview in new bundles; a session whose zip was deleted after a real upload."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from PIL import Image

from tests.support.s3servers import S3Server
from tests.support.sessions import write_config
from tests.support.synthetic_session import Synthetic, make_synthetic_session
from tests.support.viewer import start_view
from tests.support.waiting import stop_process, wait_until
from traycap.bundle.preview import PREVIEW_MAX_BYTES, plan_sheet
from traycap.context import Context
from traycap.models import UploadStatus

SMALL = Synthetic(seconds=20, fps=2, width=640, height=360, actions=300, screenshot_every_s=5, pause=(8, 10))


def fetch(url: str, *, method: str = "GET", headers: dict[str, str] | None = None,
          body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def traycap(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "TRAYCAP_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "traycap", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def member(zip_path: Path, name: str) -> bytes:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.read(name)


def test_serves_the_page_and_the_zip_with_ranges(ctx: Context, home: Path) -> None:
    meta = make_synthetic_session(ctx, "s-serve", SMALL)
    zip_path = ctx.sessions.zip_path(meta)
    whole = zip_path.read_bytes()
    view = start_view(home, meta.sessionId)
    try:
        status, headers, page = fetch(view.url)
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert b'<body data-host="local">' in page and b"<script src" not in page  # one document, the share link's
        csp = headers["Content-Security-Policy"]
        assert csp.startswith("default-src 'none'") and "script-src 'sha256-" in csp and "frame-ancestors 'none'" in csp
        assert b"http" not in page.replace(b"http-equiv", b"")  # nothing remote in the page itself
        status, _, raw = fetch(view.url + "host.json")
        assert status == 200 and json.loads(raw) == {
            "sessionId": "s-serve", "upload": {"status": "not_uploaded", "uploadedAt": None, "error": None,
                                               "link": False}}

        status, headers, body = fetch(view.url + "bundle.zip", headers={"Range": "bytes=100-1099"})
        assert status == 206 and body == whole[100:1100]
        assert headers["Content-Range"] == f"bytes 100-1099/{len(whole)}"
        status, headers, body = fetch(view.url + "bundle.zip", headers={"Range": "bytes=-22"})
        assert status == 206 and body == whole[-22:] and body[:4] == b"PK\x05\x06"  # the end of the directory
        status, headers, body = fetch(view.url + "bundle.zip")
        assert status == 200 and body == whole and headers["Accept-Ranges"] == "bytes"
        status, headers, _ = fetch(view.url + "bundle.zip", headers={"Range": f"bytes={len(whole)}-"})
        assert status == 416 and headers["Content-Range"] == f"bytes */{len(whole)}"
        for gone in ("data.json", "video.mp4", "viewer.js", "shots/x.png", "../bundle.zip"):
            assert fetch(view.url + gone)[0] == 404, gone
        status, _, body = fetch(view.url + "link", method="POST", body=b"{}")
        assert "not been uploaded" in json.loads(body)["error"]

        # Only with the token, only by the loopback name, only on 127.0.0.1.
        port = view.url.split(":")[2].split("/")[0]
        assert fetch(f"http://127.0.0.1:{port}/bundle.zip")[0] == 404
        assert fetch(f"http://127.0.0.1:{port}/wrong-token/bundle.zip")[0] == 404
        assert fetch(view.url + "bundle.zip", headers={"Host": f"attacker.example:{port}"})[0] == 403
        other = _non_loopback_address()
        if other is not None:
            with pytest.raises(OSError), socket.create_connection((other, int(port)), timeout=2):
                pass

        # The tab says goodbye: the process ends by itself.
        assert fetch(view.url + "bye", method="POST", body=b"{}")[0] == 200
        wait_until("traycap view to exit after the goodbye", lambda: view.proc.poll() is not None, 30)
        code, err = view.stop()
        assert code == 0 and "page was closed" in err
    finally:
        view.stop()


def _non_loopback_address() -> str | None:
    """This machine's address on its default route, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            address: str = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_every_new_bundle_has_a_preview_under_300_kb_even_for_busy_1080p_frames(ctx: Context) -> None:
    busy = Synthetic(seconds=30, fps=1, width=1920, height=1080, actions=50, noise=True)
    meta = make_synthetic_session(ctx, "s-noise", busy)
    zip_path = ctx.sessions.zip_path(meta)
    with zipfile.ZipFile(zip_path) as zf:
        info = zf.getinfo("preview.jpg")
        assert info.compress_type == zipfile.ZIP_STORED
        data = zf.read("preview.jpg")
    assert len(data) <= PREVIEW_MAX_BYTES
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and img.width >= 400


def test_sheet_for_an_old_bundle_without_preview(ctx: Context, home: Path, tmp_path: Path) -> None:
    meta = make_synthetic_session(ctx, "s-old", SMALL)
    zip_path = ctx.sessions.zip_path(meta)
    _drop_member(zip_path, "preview.jpg")  # as exported before previews existed
    out = tmp_path / "sheet.png"
    done = traycap(home, "view", meta.sessionId, "--sheet", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    img = Image.open(out).convert("RGB")
    frames = json.loads(member(zip_path, "video/frames.json"))
    plan = plan_sheet(frames, (SMALL.width, SMALL.height), "t")
    assert img.size == (plan.width, plan.height) and len(plan.tiles) == 12
    # Each tile is a different frame: the synthetic frames' orange box moves with the frame index.
    boxes = {_box_x(img, t.x, t.y, plan.tile_w, plan.tile_h) for t in plan.tiles}
    assert len(boxes) >= 10


def _box_x(img: Image.Image, x0: int, y0: int, w: int, h: int) -> int:
    y = y0 + h // 2 + h // 20
    for x in range(x0, x0 + w):
        r, g, b = img.getpixel((x, y))  # type: ignore[misc]
        if r > 190 and 100 < g < 180 and b < 110:
            return x - x0
    return -1


def _drop_member(zip_path: Path, name: str) -> None:
    tmp = zip_path.with_suffix(".tmp")
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(tmp, "w") as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info, src.read(info))
    tmp.replace(zip_path)


@pytest.mark.s3
def test_a_session_deleted_after_upload_plays_from_the_bucket(ctx: Context, home: Path, moto: S3Server,
                                                               tmp_path: Path) -> None:
    """`traycap view ID` of a session whose local zip retention removed opens the share link's player;
    the local page of one still on disk gives the same kind of link (Copy share link)."""
    write_config(ctx, moto.config(keyPrefix="viewer/"))
    meta = make_synthetic_session(ctx, "s-gone", SMALL)
    zip_path = ctx.sessions.zip_path(meta)
    original = zip_path.read_bytes()
    up = traycap(home, "upload", meta.sessionId, "--wait")
    assert up.returncode == 0, up.stderr
    state = ctx.states.read(meta.sessionId)
    assert state is not None and state.status is UploadStatus.DONE

    view = start_view(home, meta.sessionId)
    try:
        host = json.loads(fetch(view.url + "host.json")[2])
        assert host["upload"]["status"] == "done" and host["upload"]["link"] is True
        from_page = json.loads(fetch(view.url + "link", method="POST", body=b"{}")[2])["url"]
    finally:
        view.stop()
    zip_path.unlink()  # what retention does once the bundle is safely in the bucket

    sheet = traycap(home, "view", meta.sessionId, "--sheet", str(tmp_path / "s.png"))
    assert sheet.returncode == 1 and "deleted after upload" in sheet.stderr
    shown = traycap(home, "view", meta.sessionId, "--no-open")
    assert shown.returncode == 0, shown.stderr
    for link in (shown.stdout.strip(), from_page):
        page_url, _, fragment = link.partition("#")
        assert page_url.startswith(moto.endpoint_url + "/") and "/viewer/player/" in page_url
        status, headers, page = fetch(page_url)
        content_type = {k.lower(): v for k, v in headers.items()}["content-type"]
        assert status == 200 and content_type.startswith("text/html") and b'data-host="local"' not in page
        zip_url = moto.endpoint_url + parse_qs(fragment)["z"][0]
        assert "/viewer/s-gone.zip?" in zip_url
        status, _, body = fetch(zip_url)
        assert status == 200 and body == original


def test_a_session_that_is_not_exported_is_refused_with_a_reason(ctx: Context, home: Path) -> None:
    from traycap.models import SessionMeta

    ctx.sessions.save_meta(SessionMeta(sessionId="s-rec", createdAt=1))
    done = traycap(home, "view", "s-rec", "--no-open")
    assert done.returncode == 1 and "has not been exported yet" in done.stderr
    missing = traycap(home, "view", "nosuch", "--no-open")
    assert missing.returncode == 1 and "no session" in missing.stderr.lower()


def test_without_no_open_the_page_opens_in_the_default_browser(ctx: Context, home: Path, tmp_path: Path) -> None:
    """$BROWSER is what Python's webbrowser (and so `traycap view`) starts; here a script that notes the URL."""
    import os

    meta = make_synthetic_session(ctx, "s-open", Synthetic(seconds=4, fps=2, width=320, height=240, actions=20))
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    browser.chmod(0o755)
    env = {**os.environ, "TRAYCAP_HOME": str(home), "BROWSER": str(browser)}
    proc = subprocess.Popen([sys.executable, "-m", "traycap", "view", meta.sessionId], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = wait_until("the browser to be started with the page's URL",
                         lambda: opened.exists() and opened.read_text().strip(), 30)
        assert url.startswith("http://127.0.0.1:")
        assert fetch(url + "host.json")[0] == 200
        fetch(url + "bye", method="POST", body=b"{}")
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert f"showing session {meta.sessionId} at {url}" in err
    finally:
        stop_process(proc)
