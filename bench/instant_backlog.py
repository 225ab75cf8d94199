"""Instant share with a backlog: Stop -> verified for a live recording while the queue has
--backlog-mb waiting (issue 18: <= 5 s, as without a backlog).

As bench/instant.py (moving 1080p content on Xvfb, `traycap record`, `rclone serve s3
--etag-hash ''` behind a proxy limited to --rate-mbps), with a `traycap worker` running the queue
in another process: the case where the lane's priority crosses processes. The backlog (exported
sessions of random bytes) is queued --lead-s before Stop, sized so that --backlog-mb are still
waiting at Stop even if the queue had the whole uplink meanwhile: the queue is in the middle of
it when the recording stops. Printed: Stop -> verified (state `done`: completed, checked,
stamped), what was waiting in the queue at Stop, and the queue's parts in flight between Stop and
verified (seen at the proxy).

    python bench/instant_backlog.py [--minutes 5] [--backlog-mb 500] [--rate-mbps 4] [--lead-s 20]

Figures are for people; behaviour is for tests (tests/integration/test_live_priority.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.instant import start_record
from bench.record import ANIMATION, Pointer, wait4
from tests.support.display import xvfb
from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import rclone_server
from tests.support.sessions import make_exported_session, write_config
from traycap.clock import SystemClock
from traycap.context import make_context
from traycap.models import UploadConfig
from traycap.paths import Paths
from traycap.upload.requests import request_upload

W, H = 1920, 1080
MB = 1_000_000
BACKLOG_SESSIONS = 5
DEFAULT_PART = UploadConfig().partSizeBytes  # the app's (10 MiB): what a queue part in flight at Stop holds


def upload_state(paths: Paths, session_id: str) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(paths.state(session_id).read_text())
    except (OSError, ValueError):
        return None
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--backlog-mb", type=float, default=500.0, help="MB waiting in the queue at Stop")
    parser.add_argument("--rate-mbps", type=float, default=4.0, help="uplink in MB/s (default 4)")
    parser.add_argument("--lead-s", type=float, default=20.0, help="the backlog is queued this long before Stop")
    parser.add_argument("--fps", type=int, default=15)
    args = parser.parse_args()
    os.environ["TRAYCAP_KEYRING"] = "off"  # the secret stays in the bench's throwaway config file
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="traycap-bench-backlog-") as tmp:
        work = Path(tmp)
        home = work / "home"
        paths = Paths(root=home, logs=home / "logs")
        backlog_bytes = int((args.backlog_mb + args.lead_s * args.rate_mbps) * MB)
        backlog = [f"20200101-0000{i:02d}-backlog" for i in range(BACKLOG_SESSIONS)]
        for i, sid in enumerate(backlog):
            make_exported_session(paths, sid, backlog_bytes // BACKLOG_SESSIONS, created_at=1_600_000_000_000 + i)
        with rclone_server(work / "s3", extra_args=("--etag-hash", "")) as server, \
                FaultProxy(server.host, server.port) as proxy, xvfb(W, H) as display:
            proxy.limit_rate(args.rate_mbps * MB)
            write_config(paths, server.config(endpointUrl=proxy.url, keyPrefix="backlog/", autoUpload=True,
                                              uploadWhileRecording=True, partSizeBytes=DEFAULT_PART))
            env = dict(display.env, TRAYCAP_HOME=str(home), TRAYCAP_KEYRING="off")
            anim = subprocess.Popen([sys.executable, "-c", ANIMATION], env=display.env)
            worker = subprocess.Popen([sys.executable, "-m", "traycap", "worker"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=(home / "worker.log").open("wb"))
            try:
                time.sleep(1.5)
                rec, session_id, rest, drain = start_record(env, args.fps)
                pointer = Pointer(display.name)
                pointer.start()
                seconds = args.minutes * 60.0
                time.sleep(max(0.0, seconds - args.lead_s))
                ctx = make_context(paths, SystemClock())
                for sid in backlog:
                    request_upload(ctx, sid)  # as `traycap upload ID` would: the worker picks them up
                time.sleep(args.lead_s)
                pointer.stop()
                stop_at = time.monotonic()
                rec.send_signal(signal.SIGTERM)
                waiting = 0
                for sid in backlog:
                    queued = upload_state(paths, sid) or {}
                    if queued.get("status") != "done":
                        waiting += int(queued.get("totalBytes") or 0) - int(queued.get("bytesUploaded") or 0)
                verified: float | None = None
                while time.monotonic() < stop_at + 300:
                    state = upload_state(paths, session_id)
                    if state is not None and state.get("status") in ("done", "failed"):
                        if state.get("status") == "done":
                            verified = time.monotonic() - stop_at
                        break
                    time.sleep(0.05)
                code, _usage = wait4(rec)
                drain.join(5)
                end = stop_at + (verified or 0)
                queue_parts = [e for e in proxy.requests if e.op == "UploadPart" and e.key.endswith("-backlog.zip")]
                overlapping = [e for e in queue_parts if e.started < end and e.ended > stop_at]
                started = [e for e in overlapping if e.started >= stop_at]
                before = [e for e in queue_parts if e.started < stop_at]
                after = [e for e in queue_parts if e.started >= stop_at]
                around = (f"last queue part before Stop: {before[-1].started - stop_at:+.2f} .. "
                          f"{before[-1].ended - stop_at:+.2f} s; " if before else "no queue part before Stop; ")
                around += (f"first after Stop started at {min(e.started for e in after) - stop_at:+.2f} s"
                           if after else "none after Stop")
                live_state = upload_state(paths, session_id) or {}
                zip_mb = (live_state.get("totalBytes") or 0) / MB
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(60)
                anim.terminate()
                anim.wait()
    load_after = os.getloadavg()
    print(f"\nXvfb {W}x{H} at {args.fps} fps; rclone --etag-hash '' through a proxy limited to {args.rate_mbps:g} MB/s;"
          f" `traycap record` (live lane) + `traycap worker` (queue), {args.minutes:g} min")
    print(f"host: {os.cpu_count()} CPUs; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    stv = f"{verified:.2f} s" if verified is not None else "not verified"
    print(f"Stop -> verified: {stv}; bundle {zip_mb:.1f} MB; waiting in the queue at Stop: {waiting / MB:.0f} MB; "
          f"queue parts in flight between Stop and verified: {len(overlapping)} ({len(started)} started after Stop);"
          f" record exit {code}")
    print(around)
    if code != 0:
        print("".join(rest)[-500:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
