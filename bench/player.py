"""How fast a share link plays an hour-long 1080p recording from a bucket over a slow link.

    PYTHONPATH=. python bench/player.py [--minutes 60] [--rate 4] [--loads 3] [--seeks 20] [--formats 1,2]

Builds an hour of 1920x1080 video at 10 fps (the default) with 50,000 actions and a screenshot
every 5 s (tests/support/long_session.py: the recorder's real encoder for a 60-s clip whose
fragments are repeated; format 1 through the real export, format 2 through the live bundler),
puts both zips in a bucket served by `rclone serve s3`, and opens each one's `traycap link`
(the player page in the bucket, the zip's presigned URL after the #) in headless chromium
through the test proxy, its responses capped at --rate MB/s for every connection together.

Prints, per format: page ready (first video frame decoded and every action on the timeline:
the page's own clock from navigation start), the bytes the proxy sent until then (the page
included), seeks to random times until the frame is drawn, and what all of it fetched against
the zip's size (the whole zip is never read unless the person downloads it).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.faultproxy import FaultProxy
from tests.support.long_session import LongSpec, build_format1, build_format2, encode_clip, repeat_fragments, shot_png
from tests.support.s3servers import rclone_server
from tests.support.waiting import wait_until
from tests.support.webdriver import Browser, chromium
from traycap.context import make_context
from traycap.paths import Paths
from traycap.sharing.links import ShareLinks
from traycap.viewer.single_page import build

PREFIX = "bench/"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=4.0, help="MB/s (10^6 bytes) the proxy lets through")
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--seeks", type=int, default=20)
    parser.add_argument("--formats", default="1,2")
    args = parser.parse_args()
    spec = LongSpec(seconds=args.minutes * 60)
    formats = [int(f) for f in args.formats.split(",")]

    with tempfile.TemporaryDirectory(prefix="traycap-bench-player-") as tmp:
        root = Path(tmp)
        ctx = make_context(Paths(root=root / "home", logs=root / "home" / "logs"))
        t0 = time.perf_counter()
        clip = encode_clip(spec)
        video = repeat_fragments(clip, spec.seconds)
        png = shot_png(spec)
        print(f"video: {len(video) / 1e6:.1f} MB for {spec.seconds / 60:g} min of {spec.width}x{spec.height} at "
              f"{spec.fps} fps ({len(clip) / 1e6 / spec.clip_s * 60:.1f} MB/min; clip encoded and repeated in "
              f"{time.perf_counter() - t0:.1f} s)", flush=True)
        bucket_dir = root / "s3" / "traycap-test" / PREFIX.rstrip("/")
        bucket_dir.mkdir(parents=True)
        zips: dict[int, tuple[str, int]] = {}
        for fmt in formats:
            t0 = time.perf_counter()
            sid = f"bench-player-{fmt}"
            meta = (build_format1 if fmt == 1 else build_format2)(ctx, sid, video, spec, png)
            zip_path = ctx.sessions.zip_path(meta)
            shutil.copyfile(zip_path, bucket_dir / f"{sid}.zip")  # before rclone starts: it lists the dir once
            zips[fmt] = (f"{PREFIX}{sid}.zip", zip_path.stat().st_size)
            built = time.perf_counter() - t0
            print(f"format {fmt}: zip {zips[fmt][1] / 1e6:.1f} MB built in {built:.1f} s", flush=True)
            shutil.rmtree(ctx.paths.session_dir(sid))

        with rclone_server(root / "s3", extra_args=("--etag-hash", "")) as s3, FaultProxy(s3.host, s3.port) as proxy:
            config = s3.config(endpointUrl=proxy.url, keyPrefix=PREFIX)
            links = ShareLinks()
            proxy.limit_response_rate(args.rate * 1e6)
            results = {}
            with chromium(1440, 900) as browser:
                for fmt in formats:
                    key, size = zips[fmt]
                    link = links.player(config, key, 3600)
                    results[fmt] = _measure(browser, proxy, link, size, args)
    print()
    print(f"through the proxy at {args.rate:g} MB/s (rclone serve s3 on 127.0.0.1; load noted with the figures)")
    for fmt, r in results.items():
        print(f"format {fmt}: page ready median {statistics.median(r['ready']):.0f} ms, all "
              f"{[round(v) for v in r['ready']]}; bytes before it {statistics.median(r['bytes']) / 1e6:.2f} MB "
              f"(page {r['page'] / 1e3:.0f} KB; {r['requests']} range requests by the page)")
        s = sorted(r["seeks"])
        p90 = s[int(len(s) * 0.9) - 1]
        print(f"          seek until drawn: median {statistics.median(s):.0f} ms, p90 {p90:.0f} ms, "
              f"worst {s[-1]:.0f} ms (n={len(s)})")
        p = sorted(r["playing"])
        print(f"          seek after 1.5 s of playing, until drawn: median {statistics.median(p):.0f} ms, "
              f"worst {p[-1]:.0f} ms "
              f"(n={len(p)}); fetched in all {r['total'] / 1e6:.1f} MB of a {r['size'] / 1e6:.1f} MB zip")
    return 0


def _measure(browser: Browser, proxy: FaultProxy, link: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    ready, sent = [], []
    r: dict[str, Any] = {}
    for _ in range(args.loads):
        browser.get("about:blank")
        proxy.reset_stats()
        browser.get(link)
        wait_until("the player to be ready", lambda: browser.js(
            "return document.body.dataset.ready === '1' || document.body.dataset.failed === '1'"), 120, 0.01)
        r = browser.js("return Object.assign({failed: document.body.dataset.failed || null,"
                       " said: document.getElementById('novideo').textContent}, window.traycapReady || {})")
        assert not r["failed"], r
        ready.append(float(r["ms"]))
        sent.append(proxy.response_bytes)
    page = len(build().html)
    seeks = browser.js_async(
        "const done = arguments[arguments.length - 1]; const n = arguments[0], end = arguments[1];"
        "const v = document.getElementById('video'); const out = []; let k = 0;"
        "function one() { if (k++ >= n) { done(out); return; }"
        "  const t = Math.random() * end; const t0 = performance.now();"
        "  const drawn = () => requestAnimationFrame(() => { out.push(performance.now() - t0); one(); });"
        "  v.addEventListener('seeked', drawn, {once: true}); window.traycapViewer.seek(t);"
        "  if (!v.seeking) { v.removeEventListener('seeked', drawn); drawn(); } }"
        "one();", args.seeks, args.minutes * 60_000, timeout=600)
    # Playing 1.5 s (the page reads 12 s ahead), then a click elsewhere on the timeline (pause, seek):
    # the read ahead gives way to the seek.
    playing = browser.js_async(
        "const done = arguments[arguments.length - 1]; const n = arguments[0], end = arguments[1];"
        "const v = document.getElementById('video'); const out = []; let k = 0;"
        "function one() { if (k++ >= n) { done(out); return; }"
        "  document.getElementById('play').click(); setTimeout(() => {"
        "    const t = Math.random() * end; const t0 = performance.now();"
        "    const drawn = () => requestAnimationFrame(() => { out.push(performance.now() - t0); one(); });"
        "    v.addEventListener('seeked', drawn, {once: true}); window.traycapViewer.seek(t); }, 1500); }"
        "one();", max(1, args.seeks // 2), args.minutes * 60_000, timeout=600)
    return {"ready": ready, "bytes": sent, "page": page, "requests": r.get("requests"), "seeks": seeks,
            "playing": playing, "total": proxy.response_bytes, "size": size}


if __name__ == "__main__":
    raise SystemExit(main())
