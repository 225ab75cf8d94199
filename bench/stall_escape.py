"""Stall escape: how long the queue takes to give up a multipart upload whose store never accepts
one part again, with the app's own timeouts (30 s read timeout, 3 tries per part).

A session of --size MiB is queued for `rclone serve s3` behind the fault proxy, which cuts part 2
off mid-body and then makes the store refuse that part for good (`stick_cut_parts`: what issue 11
saw rclone do). The queue runs in this process on the real clock, as the tray or `traycap worker`
runs it. Printed: the time from the cut to the fresh CreateMultipartUpload (issue 18's target:
<= 120 s; 351 s before it), and to the session's `done`.

    python bench/stall_escape.py [--size 32] [--timeout 900]

Figures are for people; behaviour is for tests (tests/integration/test_queue_stalls_s3.py).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.faultproxy import FaultProxy, Request
from tests.support.s3servers import rclone_server
from tests.support.sessions import make_exported_session, write_config, zip_bytes
from traycap.clock import SystemClock
from traycap.context import make_context
from traycap.models import MIB, UploadConfig, UploadStatus
from traycap.paths import Paths
from traycap.upload.queue import UploadQueue
from traycap.upload.s3 import UploadService


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=32, help="session size in MiB (default 32: 4 parts)")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="traycap-bench-stall-") as tmp:
        work = Path(tmp)
        with rclone_server(work / "s3") as s3, FaultProxy(s3.host, s3.port) as proxy:
            proxy.stick_cut_parts()
            home = work / "home"
            ctx = make_context(Paths(root=home, logs=home / "logs"), SystemClock())
            write_config(ctx, s3.config(endpointUrl=proxy.url, keyPrefix="stall/"))
            make_exported_session(ctx, "s1", args.size * MIB)

            def cut_part_2(req: object) -> bool:
                return isinstance(req, Request) and req.part_number == 2

            proxy.fail_next(1, "reset", op="UploadPart", match=cut_part_2)

            def engine(config: UploadConfig) -> UploadService:
                return UploadService(config)  # the app's timeouts and stall rule

            queue = UploadQueue(ctx, engine)
            queue.enqueue("s1")
            started = time.monotonic()
            queue.start()
            state = None
            try:
                while time.monotonic() - started < args.timeout:
                    state = ctx.states.read("s1")
                    if state is not None and state.status in (UploadStatus.DONE, UploadStatus.FAILED):
                        break
                    time.sleep(0.2)
            finally:
                queue.stop()
            done_at = time.monotonic()
            log = proxy.requests
            cuts = [e for e in log if e.fault == "reset"]
            creates = [e.started for e in log if e.op == "CreateMultipartUpload"]
            stuck = [e for e in log if e.fault == "stuck"]
            status = state.status.value if state else "?"
            stored_ok = False
            if state is not None and state.status is UploadStatus.DONE:
                stored = hashlib.sha256(s3.object_bytes("stall/s1.zip")).hexdigest()
                stored_ok = stored == hashlib.sha256(zip_bytes(ctx, "s1")).hexdigest()
    load_after = os.getloadavg()
    print(f"rclone serve s3 behind the fault proxy; {args.size} MiB, app defaults (10 MiB parts x 4, "
          "30 s read timeout, 3 tries per part)")
    print(f"host: {os.cpu_count()} CPUs; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    if not cuts:
        print("part 2 was never cut: nothing measured")
        return 0
    cut_at = cuts[0].ended
    fresh = [t for t in creates if t > cut_at]
    escape = f"{fresh[0] - cut_at:.1f} s" if fresh else "never"
    print(f"stall -> fresh multipart upload: {escape}; stuck tries: {len(stuck)}; "
          f"cut -> {status}: {done_at - cut_at:.1f} s; object = zip: {'yes' if stored_ok else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
