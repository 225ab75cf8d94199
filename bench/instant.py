"""Instant share: Stop -> object verified in the bucket, uploading while recording vs after Stop.

For each duration (default 1, 5 and 20 minutes), two recordings of moving 1080p content on Xvfb
at 15 fps with `traycap record`, uploading through a local proxy limited to 4 MB/s (FaultProxy)
to `rclone serve s3 --etag-hash ''` (rclone hashes the whole object on the first HEAD otherwise;
real S3 computes ETags at write time), one after the other on the same display:

  * classic:  autoUpload on, uploadWhileRecording off; a `traycap worker` runs the queue. Stop ->
              export the zip -> queue -> send every byte -> verify.
  * live:     autoUpload on, uploadWhileRecording on (the default): the bundle is uploaded while it
              is recorded; at Stop only the tail is left.

Stop is this script's SIGTERM to `traycap record` (handled as Ctrl-C; SIGINT is ignored by
background jobs of a non-interactive shell, so the bench would not stop it there); verified is the moment the session's
upload-state.json says `done` (object completed, its size, parts and x-amz-meta-sha256 checked).
Printed per run: Stop -> verified, the bundle size, bytes sent at the proxy (body bytes of every
request), frames dropped (late + encoder busy), CPU of the record process in cores (steady state,
from /proc), its peak RSS.

    python bench/instant.py [--minutes 1,5,20] [--fps 15] [--rate-mbps 4] [--server rclone|moto]

Figures are for people; behaviour is for tests. Exit status 0 either way.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.record import ANIMATION, Pointer, cpu_seconds, wait4
from tests.support.display import XDisplay, xvfb
from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import S3Server, moto_server, rclone_server
from tests.support.sessions import write_config
from traycap.paths import Paths

W, H = 1920, 1080
MB = 1_000_000


@dataclass
class Result:
    mode: str
    minutes: float
    stop_to_verified_s: float | None
    zip_mb: float
    sent_mb: float
    dropped: int | None
    frames: int | None
    cpu_cores: float | None
    peak_rss_mb: float
    note: str = ""


def upload_state(home: Path, session_id: str) -> dict[str, Any] | None:
    path = Paths(root=home, logs=home / "logs").state(session_id)
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data


def start_record(env: dict[str, str], fps: int) -> tuple[subprocess.Popen[str], str, list[str], threading.Thread]:
    """`traycap record` once it records: the process, its session id, and its further stderr lines
    (collected by the returned thread)."""
    rec = subprocess.Popen([sys.executable, "-m", "traycap", "record", "--fps", str(fps)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert rec.stderr is not None and rec.stdout is not None
    for line in rec.stderr:
        if line.startswith("traycap: recording"):
            session_id = line.split()[2]
            break
    else:
        raise SystemExit(f"traycap record did not start: {rec.communicate()}")
    rest: list[str] = []
    drain = threading.Thread(target=lambda: rest.extend(rec.stderr or []), daemon=True)
    drain.start()
    return rec, session_id, rest, drain


def run_one(display: XDisplay, server: S3Server, proxy: FaultProxy, work: Path, minutes: float, fps: int,
            mode: str) -> Result:
    home = work / f"home-{mode}-{minutes:g}"
    key_prefix = f"{mode}-{minutes:g}/"
    paths = Paths(root=home, logs=home / "logs")
    write_config(paths, server.config(endpointUrl=proxy.url, keyPrefix=key_prefix, autoUpload=True,
                                      uploadWhileRecording=(mode == "live")))
    env = dict(display.env, TRAYCAP_HOME=str(home), TRAYCAP_KEYRING="off")
    worker = None
    if mode == "classic":
        worker = subprocess.Popen([sys.executable, "-m", "traycap", "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=(home / "worker.log").open("wb"))
    sent_before = proxy.body_bytes
    rec, session_id, rest, drain = start_record(env, fps)
    pointer = Pointer(display.name)
    pointer.start()
    seconds = minutes * 60.0
    time.sleep(2.0)
    c0, t0 = cpu_seconds(rec.pid), time.monotonic()
    time.sleep(max(1.0, seconds - 2.0))
    c1, t1 = cpu_seconds(rec.pid), time.monotonic()
    pointer.stop()
    stop_at = time.monotonic()
    rec.send_signal(signal.SIGTERM)
    verified: float | None = None
    deadline = stop_at + 120 + seconds  # the classic path sends the whole bundle after Stop
    while time.monotonic() < deadline:
        state = upload_state(home, session_id)
        if state is not None and state.get("status") == "done":
            verified = time.monotonic() - stop_at
            break
        if state is not None and state.get("status") == "failed":
            break
        time.sleep(0.05)
    code, usage = wait4(rec)
    drain.join(5)
    if worker is not None:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    meta = json.loads(paths.meta(session_id).read_text())
    recorder = (meta.get("extra") or meta).get("recorder") or meta.get("recorder") or {}
    dropped = (recorder.get("droppedFrames") or {}).get("total")
    state = upload_state(home, session_id) or {}
    note = "" if code == 0 else f"record exit {code}: {''.join(rest)[-300:]}"
    if verified is None:
        note += f" not verified: {state.get('status')} {state.get('lastError') or ''}"
    return Result(
        mode=mode, minutes=minutes, stop_to_verified_s=verified,
        zip_mb=(meta.get("fileSizeBytes") or 0) / MB, sent_mb=(proxy.body_bytes - sent_before) / MB,
        dropped=dropped, frames=recorder.get("framesEncoded"),
        cpu_cores=(c1 - c0) / (t1 - t0), peak_rss_mb=usage.ru_maxrss / 1024.0, note=note.strip(),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", default="1,5,20")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--rate-mbps", type=float, default=4.0, help="uplink in MB/s (default 4)")
    parser.add_argument("--server", choices=("rclone", "moto"), default="rclone")
    parser.add_argument("--modes", default="classic,live")
    args = parser.parse_args()
    durations = [float(x) for x in args.minutes.split(",")]
    modes = args.modes.split(",")
    results: list[Result] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="traycap-bench-instant-") as tmp:
        work = Path(tmp)
        servers = (rclone_server(work / "s3", extra_args=("--etag-hash", "")) if args.server == "rclone"
                   else moto_server())
        with servers as server, FaultProxy(server.host, server.port) as proxy, xvfb(W, H) as display:
            proxy.limit_rate(args.rate_mbps * MB)
            anim = subprocess.Popen([sys.executable, "-c", ANIMATION], env=display.env)
            try:
                time.sleep(1.5)
                for minutes in durations:
                    for mode in modes:
                        result = run_one(display, server, proxy, work, minutes, args.fps, mode)
                        results.append(result)
                        print(f"... {mode} {minutes:g} min: {result}", file=sys.stderr, flush=True)
            finally:
                anim.terminate()
                anim.wait()
    load_after = os.getloadavg()
    print(f"\nXvfb {W}x{H} at {args.fps} fps, moving Tk content + pointer moves; {args.server} "
          f"through a proxy limited to {args.rate_mbps:g} MB/s")
    print(f"host: {os.cpu_count()} CPUs; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print("\n| minutes | mode | Stop -> verified s | bundle MB | sent MB | frames | dropped | cores | peak RSS MB |"
          " note |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        stv = f"{r.stop_to_verified_s:.2f}" if r.stop_to_verified_s is not None else "-"
        cores = f"{r.cpu_cores:.2f}" if r.cpu_cores is not None else "-"
        print(f"| {r.minutes:g} | {r.mode} | {stv} | {r.zip_mb:.1f} | {r.sent_mb:.1f} | {r.frames} | {r.dropped} | "
              f"{cores} | {r.peak_rss_mb:.0f} | {r.note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
