"""Stop -> verified for long sessions without recording for hours.

bench/instant.py records real sessions (1, 5, 20 minutes). For 1 and 2 hours this script builds
the live bundle synthetically instead: format-2 entries at the recorder's measured mix (video
segments every 5 s, a screenshot every 5 s, JSON-lines chunks every 30 s; 15 MB a minute at
1080p) appended through the real LiveZip, uploaded by the real live lane (LiveUpload +
UploadService) to `rclone serve s3 --etag-hash ''` through the FaultProxy, as fast as the disk
and the local link allow. Once the lane has caught up (as it does while recording on a 4 MB/s
uplink, which is 16 times the recording's 0.25 MB/s), the proxy is limited to 4 MB/s and Stop
comes: the last segment and chunks, preview, session.json and the central directory, `finished`.
Printed: the bytes left to send at Stop, Stop -> done (verified and stamped), and a check that
the object is the zip (SHA-256 of a GET).

    python bench/instant_long.py [--hours 0.25,1,2] [--rate-mbps 4]

What grows with the length is the server's work at Complete (rclone joins the parts into one
file), the copy that stamps x-amz-meta-sha256, and the central directory (~70 bytes an entry).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import rclone_server
from tests.support.sessions import write_config
from traycap.bundle import layout
from traycap.bundle.livezip import LiveZip
from traycap.clock import SystemClock
from traycap.context import make_context
from traycap.models import SessionMeta, UploadStatus
from traycap.paths import Paths
from traycap.upload.live import LIVE_PART_SIZE, LiveUpload
from traycap.upload.s3 import UploadService

MB = 1_000_000
VIDEO_PER_5S = 770_000  # 9.2 MB a minute of 1080p15 video
SHOT_EVERY_5S = 450_000  # a 1080p PNG every 5 s: 5.4 MB a minute
CHUNK_PER_30S = 30_000  # actions, frames and screenshot index lines


def grow(zf: LiveZip, seconds: float, rng: random.Random, counters: dict[str, int]) -> None:
    """Append `seconds` of a session's entries (random bytes: nothing compresses them away)."""
    blob = rng.randbytes(VIDEO_PER_5S + SHOT_EVERY_5S)
    steps = int(seconds // 5)
    for _ in range(steps):
        counters["t"] += 5
        n = counters["video"]
        counters["video"] += 1
        zf.add(layout.video_segment(n), blob[:VIDEO_PER_5S], compress=False, cursor={"t": counters["t"]})
        zf.add(f"{layout.SHOTS_PREFIX}{counters['t'] * 1000:09d}-periodic.png", blob[VIDEO_PER_5S:],
               compress=False, cursor={"t": counters["t"]})
        if counters["t"] % 30 == 0:
            for prefix in (layout.ACTIONS_CHUNKS, layout.FRAMES_CHUNKS, layout.SHOTS_INDEX_CHUNKS):
                c = counters.setdefault(prefix, 0)
                counters[prefix] += 1
                zf.add(layout.chunk(prefix, c), rng.randbytes(CHUNK_PER_30S // 3), compress=False,
                       cursor={"t": counters["t"]})


def run(hours: float, rate_mbps: float, work: Path) -> str:
    with rclone_server(work / "s3", extra_args=("--etag-hash", "")) as server, \
            FaultProxy(server.host, server.port) as proxy:
        home = work / f"home-{hours:g}"
        paths = Paths(root=home, logs=home / "logs")
        config = write_config(paths, server.config(endpointUrl=proxy.url, autoUpload=True))
        ctx = make_context(paths, SystemClock())
        sid = "20260101-000000-bench0"
        ctx.paths.session_dir(sid).mkdir(parents=True)
        ctx.sessions.save_meta(SessionMeta(sessionId=sid, createdAt=ctx.clock.now_ms()))
        zip_path = ctx.paths.session_dir(sid) / f"{sid}.zip"
        engine = UploadService(config)
        lane = LiveUpload(ctx, sid, zip_path, engine=engine)
        zf = LiveZip.create(zip_path, ctx.paths.session_dir(sid) / "live-zip.jsonl", on_commit=lane.committed)
        rng = random.Random(int(hours * 1000))
        counters = {"t": 0, "video": 0}
        t0 = time.monotonic()
        grow(zf, hours * 3600 - 5, rng, counters)
        grown_s = time.monotonic() - t0
        whole = (zf.committed // LIVE_PART_SIZE) * LIVE_PART_SIZE
        while lane.bytes_sent < whole:  # the lane catches up, as it does while recording
            time.sleep(0.05)
        caught_up_s = time.monotonic() - t0
        proxy.limit_rate(rate_mbps * MB)
        before_stop = zf.committed
        # Stop: the last 5 s of video, the last chunks, preview, session.json, the central directory.
        grow(zf, 5, rng, counters)
        zf.add(layout.PREVIEW_JPG, rng.randbytes(250_000), compress=False, cursor={})
        zf.add(layout.SESSION_JSON, b'{"formatVersion": 2}\n', compress=True, cursor={})
        stop = time.monotonic()
        final = zf.finish()
        lane.finished(final.size, final.sha256)
        lane.wait(600)
        stop_to_done = time.monotonic() - stop
        state = ctx.states.read(sid)
        ok = state is not None and state.status is UploadStatus.DONE
        proxy.limit_rate(None)
        digest = hashlib.sha256()
        body = server.client().get_object(Bucket=server.bucket, Key=f"sessions/{sid}.zip")["Body"]
        for chunk in iter(lambda: body.read(8 * 1024 * 1024), b""):
            digest.update(chunk)
        same = digest.hexdigest() == final.sha256
        tail = final.size - whole
        os.unlink(zip_path)
        return (f"| {hours:g} h | {final.size / MB:,.0f} MB | {len(zf.names):,} "
                f"| {grown_s:.0f} s / {caught_up_s:.0f} s "
                f"| {tail / MB:.1f} MB (committed since the last whole part {(before_stop - whole) / MB:.1f}) "
                f"| {stop_to_done:.2f} s | {'done' if ok else state} | {'yes' if same else 'NO'} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", default="0.25,1,2")
    parser.add_argument("--rate-mbps", type=float, default=4.0)
    args = parser.parse_args()
    rows = []
    for hours in (float(h) for h in args.hours.split(",")):
        with tempfile.TemporaryDirectory(prefix="traycap-bench-long-") as tmp:
            rows.append(run(hours, args.rate_mbps, Path(tmp)))
            print(rows[-1], file=sys.stderr, flush=True)
    print(f"\nrclone serve s3 --etag-hash '' behind a proxy limited to {args.rate_mbps:g} MB/s from Stop; "
          f"parts of {LIVE_PART_SIZE // (1024 * 1024)} MiB; load average {os.getloadavg()[0]:.2f}")
    print("\n| session | zip | entries | grown / lane caught up | left to send at Stop | Stop -> done (verified, "
          "stamped) | state | object == zip |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
