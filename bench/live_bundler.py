"""What does the live bundler cost? Replays a recorded fragmented MP4 into a session as the encoder
would write it, with the screenshots and JSON lines of a recording, and runs the bundler's
periodic cuts on a fake clock, then its Stop.

Prints per cut (every 5 s of recording): wall time, thread CPU, bytes appended; and the Stop tail:
last cut, preview.jpg, session.json + central directory + meta.

    python bench/live_bundler.py VIDEO.mp4 [--fps 15] [--shot-every 5]

VIDEO.mp4: a fragmented MP4 as the recorder writes it (e.g. a `traycap record` session's
video/screen.mp4, or one made with traycap.media.video.VideoEncoder).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.synthetic_session import Synthetic, frame_image
from traycap.bundle import bundler as bundler_mod
from traycap.bundle.bundler import Bundler, finish_live, journal_path, live_zip_path
from traycap.bundle.livezip import LiveZip
from traycap.bundle.raw import SessionFiles
from traycap.clock import FakeClock
from traycap.context import make_context
from traycap.media.images import encode_png
from traycap.media.mp4 import boxes_in
from traycap.models import SessionMeta
from traycap.paths import Paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--shot-every", type=float, default=5.0)
    parser.add_argument("--decode-preview", action="store_true",
                        help="draw preview.jpg by decoding the video at Stop (as format 1) instead of from kept frames")
    args = parser.parse_args()
    data = args.video.read_bytes()
    boxes = boxes_in(data, closed=True)
    moov = next(b for b in boxes if b.type == "moov")
    moofs = [b for b in boxes if b.type == "moof"]
    width, height = 1920, 1080
    shot_png = encode_png(frame_image(7, Synthetic(width=width, height=height), random.Random(1)))

    with tempfile.TemporaryDirectory(prefix="traycap-bench-bundler-") as tmp:
        home = Path(tmp)
        clock = FakeClock()
        ctx = make_context(Paths(root=home, logs=home / "logs"), clock)
        sid = "20260101-000000-bench"
        files = SessionFiles(ctx.paths.session_dir(sid))
        files.video_dir.mkdir(parents=True)
        files.shots_dir.mkdir()
        ctx.sessions.save_meta(SessionMeta(sessionId=sid, createdAt=1_700_000_000_000, videoRef="video/screen.mp4",
                                           extra={"recorder": {"status": "recording", "fps": args.fps,
                                                               "video": {"width": width, "height": height}}}))
        zf = LiveZip.create(live_zip_path(files.dir, sid), journal_path(files.dir))
        b = Bundler(files, zf, clock, thumbnails=True)
        with open(files.video, "ab") as v:
            v.write(data[:moov.end])
        frag_per_cut = 5  # a fragment a second
        frame = 0
        per_cut: list[tuple[float, float, int]] = []
        for i in range(0, len(moofs), frag_per_cut):
            group = moofs[i:i + frag_per_cut]
            end = moofs[i + frag_per_cut].start if i + frag_per_cut < len(moofs) else len(data)
            with open(files.video, "ab") as v:
                v.write(data[group[0].start:end])
            t_ms = i * 1000
            with open(files.frames, "ab") as fr:
                for _ in range(frag_per_cut * args.fps):
                    fr.write(json.dumps({"i": frame, "t": frame * 1000 / args.fps, "wallMs": 1, "pts":
                                         round(frame * 1000 / args.fps)}).encode() + b"\n")
                    frame += 1
            with open(files.actions, "ab") as ac:
                for k in range(100):
                    ac.write(json.dumps({"t": t_ms + k * 50, "type": "mouse_move", "x": k, "y": k}).encode() + b"\n")
            if (i // frag_per_cut) % max(1, round(args.shot_every / 5)) == 0:
                name = f"{t_ms:09d}-periodic.png"
                (files.shots_dir / name).write_bytes(shot_png)
                with open(files.shots_index, "ab") as si:
                    si.write(json.dumps({"t": t_ms, "file": name, "reason": "periodic", "pts": t_ms}).encode() + b"\n")
            clock.advance(5)
            s0 = (b.stats.seconds, b.stats.cpu_seconds, zf.committed)
            b.tick()
            per_cut.append((b.stats.seconds - s0[0], b.stats.cpu_seconds - s0[1], zf.committed - s0[2]))
        meta = ctx.sessions.read_meta(sid)
        ctx.sessions.save_meta(meta.with_(extra={"recorder": {**meta.extra["recorder"], "status": "stopped",
                                                              "stoppedAtMs": frame * 1000 / args.fps}}))
        walls = [c[0] * 1000 for c in per_cut]
        cpus = [c[1] * 1000 for c in per_cut]
        sizes = [c[2] / 1e6 for c in per_cut]
        print(f"{len(per_cut)} cuts ({len(per_cut) * 5 / 60:.1f} min of recording, {len(data) / 1e6:.1f} MB video)")
        print(f"per cut: wall median {statistics.median(walls):.1f} ms, p95 {sorted(walls)[int(len(walls) * .95)]:.1f}"
              f" ms, max {max(walls):.1f} ms; CPU median {statistics.median(cpus):.1f} ms, max {max(cpus):.1f} ms; "
              f"{statistics.mean(sizes):.2f} MB appended per cut")
        print(f"bundler CPU: {sum(cpus) / (len(per_cut) * 5000) * 100:.2f} % of one core")
        timings: dict[str, float] = {}
        real_preview = bundler_mod._preview

        def timed_preview(*a: Any) -> bytes | None:
            t0 = time.perf_counter()
            out = real_preview(*a)
            timings["preview"] = time.perf_counter() - t0
            return out

        bundler_mod._preview = timed_preview  # type: ignore[assignment]
        if args.decode_preview:
            b.thumbs = None
        t0 = time.perf_counter()
        done = finish_live(ctx, sid, b)  # the recorder tells its sink the size and SHA-256 at this point
        finished = time.perf_counter()
        done.remove_raw_files()
        total = time.perf_counter() - t0
        print(f"Stop tail: zip final and exported after {(finished - t0) * 1000:.0f} ms "
              f"(preview.jpg {timings.get('preview', 0) * 1000:.0f} ms); "
              f"all done (raw files removed, as the bundle took them) after {total * 1000:.0f} ms; "
              f"zip {(done.meta.fileSizeBytes or 0) / 1e6:.1f} MB, {len(zf.names)} entries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
