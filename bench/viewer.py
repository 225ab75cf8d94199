"""How fast the replay page is ready for a long, busy session.

    PYTHONPATH=. python bench/viewer.py [--minutes 60] [--actions 50000] [--fps 1] [--size 1920x1080] [--loads 3]
                                        [--live]

Builds a synthetic session (tests/support/synthetic_session.py: real H.264
from the recorder's encoder, actions in the recorder's format, exported by
the real export, so preview.jpg is built too), serves it with
`traycap view ID --no-open`, and opens the page in headless Debian chromium.
The page reads the zip by byte ranges from the loopback server, as the share
link's player reads it from a bucket (bench/player.py measures that, over a
slow link). "Ready" is the page's own mark: data loaded, every action drawn
on the timeline, and the video's first frame decoded (performance.now() from
navigation start). Also: seeks (time until the video shows the frame),
timeline redraw (a window resize re-buckets all marks), export and preview.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

from tests.support.bundle_repack import repack_v2
from tests.support.synthetic_session import Synthetic, make_synthetic_session
from tests.support.viewer import start_view
from tests.support.waiting import wait_until
from tests.support.webdriver import chromium
from traycap.context import make_context
from traycap.paths import Paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--actions", type=int, default=50_000)
    parser.add_argument("--fps", type=float, default=1.0, help="video frames per second of the synthetic session")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--seeks", type=int, default=20)
    parser.add_argument("--live", action="store_true",
                        help="serve the format-2 twin (tests/support/bundle_repack.py: one segment per MP4 fragment)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    with tempfile.TemporaryDirectory(prefix="traycap-bench-viewer-") as tmp:
        home = Path(tmp)
        ctx = make_context(Paths(root=home, logs=home / "logs"))
        spec = Synthetic(seconds=args.minutes * 60, fps=args.fps, width=width, height=height, actions=args.actions,
                         screenshot_every_s=60.0, pause=(args.minutes * 30, args.minutes * 30 + 20))
        print(f"building a {args.minutes:g} min session: {args.actions:,} actions, {width}x{height} "
              f"at {args.fps:g} fps ...", flush=True)
        started = time.perf_counter()
        meta = make_synthetic_session(ctx, "bench-viewer-1", spec)
        build_s = time.perf_counter() - started
        zip_path = ctx.sessions.zip_path(meta)
        with zipfile.ZipFile(zip_path) as zf:
            preview = zf.getinfo("preview.jpg").file_size
            frames = len(json.loads(zf.read("video/frames.json")))
        preview_s = _time_preview(zip_path)
        if args.live:
            twin = repack_v2(zip_path, home / "twin.zip")
            twin.path.replace(zip_path)
            print(f"serving the format-2 twin: {len(twin.segments):,} video segments")
        print(f"session built and exported in {build_s:.1f} s (preview.jpg alone: {preview_s * 1000:.0f} ms)")
        print(f"zip {zip_path.stat().st_size / 1e6:.1f} MB, "
              f"{frames:,} frames, preview.jpg {preview / 1024:.0f} KB")

        view = start_view(home, meta.sessionId, env={**os.environ, "TRAYCAP_HOME": str(home)})
        try:
            with chromium(1440, 900) as browser:
                ready_ms, wall_ms, parts = [], [], []
                for _ in range(args.loads):
                    t0 = time.perf_counter()
                    browser.get("about:blank")
                    browser.get(view.url)
                    wait_until("the page to be ready", lambda: browser.js("return document.body.dataset.ready === '1'"),
                               120, 0.01)
                    wall_ms.append((time.perf_counter() - t0) * 1000)
                    r = browser.js("return window.traycapReady")
                    ready_ms.append(float(r["ms"]))
                    parts.append(r)
                    assert r["marks"] == args.actions + 2, r  # + the pause and resume markers
                seek_ms = browser.js_async(
                    "const done = arguments[arguments.length - 1]; const n = arguments[0], end = arguments[1];"
                    "const v = document.getElementById('video'); const out = []; let k = 0;"
                    "function one() { if (k++ >= n) { done(out); return; }"
                    "  const t = Math.random() * end; const t0 = performance.now();"
                    "  v.addEventListener('seeked', () => { out.push(performance.now() - t0); one(); }, {once: true});"
                    "  window.traycapViewer.seek(t); }"
                    "one();", args.seeks, args.minutes * 60_000, timeout=300)
                marks_ms = [float(browser.js("return window.traycapViewer.redrawMarks()")) for _ in range(5)]
                redraw_ms = browser.js_async(
                    "const done = arguments[arguments.length - 1]; const t0 = performance.now();"
                    "document.getElementById('showMoves').click();"
                    "requestAnimationFrame(() => done(performance.now() - t0));")
                frame_ms = browser.js_async(
                    "const done = arguments[arguments.length - 1]; window.traycapViewer.seek(0);"
                    "document.getElementById('play').click(); const gaps = []; let last = performance.now();"
                    "function f(now) { gaps.push(now - last); last = now;"
                    "  if (gaps.length < 120) requestAnimationFrame(f); else { document.getElementById('play').click();"
                    "  done(gaps.slice(5)); } } requestAnimationFrame(f);", timeout=60)
                play_stats = browser.js("return window.traycapViewer.timing()")
        finally:
            view.stop()

    print()
    print(f"page ready (data + {args.actions:,} marks + first frame), page clock: "
          f"median {statistics.median(ready_ms):.0f} ms, all {[round(v) for v in ready_ms]}")
    last = parts[-1]
    print(f"  of which (last load): data fetched and indexed at {last['dataMs']:.0f} ms, all marks drawn at "
          f"{last['marksMs']:.0f} ms, first video frame at {last['frameMs']:.0f} ms")
    print(f"page ready, measured from the test (navigate -> ready seen): median {statistics.median(wall_ms):.0f} ms")
    seek_sorted = sorted(seek_ms)
    print(f"seek to a random time until the frame is shown: median {statistics.median(seek_ms):.0f} ms, "
          f"p90 {seek_sorted[int(len(seek_sorted) * 0.9) - 1]:.0f} ms (n={len(seek_ms)})")
    print(f"timeline redraw (bucket and paint every mark): median {statistics.median(marks_ms):.1f} ms")
    print(f"action list with all {args.actions:,} rows (virtualized) toggled and painted: {redraw_ms:.0f} ms")
    gaps = sorted(frame_ms)
    print(f"animation frames while playing: median {statistics.median(gaps):.1f} ms, "
          f"p95 {gaps[int(len(gaps) * 0.95) - 1]:.1f} ms, worst {gaps[-1]:.1f} ms; the page's own work per frame "
          f"(overlay, caption, playhead, list): mean {play_stats['updateMs'] / max(1, play_stats['updates']):.2f} ms, "
          f"worst {play_stats['updateMaxMs']:.1f} ms")
    return 0


def _time_preview(zip_path: Path) -> float:
    """What the export spends on preview.jpg: decode 12 frames, draw, encode (from the zip here)."""
    import io

    from traycap.bundle.preview import preview_jpeg
    from traycap.viewer.bundle import BundleReader

    with BundleReader(zip_path) as bundle, bundle.open_video() as member:
        model = bundle.data()
        started = time.perf_counter()
        preview_jpeg(io.BufferedReader(member, 1 << 20), model.frames, model.info)
        return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
