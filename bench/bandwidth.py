"""The upload rate cap (maxUploadMBps): the rate a local proxy sees, and the worst 30 s window.

Against `moto_server` on 127.0.0.1 behind tests/support/faultproxy.py, one
upload per cap, all parts in flight together (maxConcurrency 4). For each cap:
seconds, the mean rate on the wire (bytes from the first part's head to the
last part's answer) and the most bytes in any 30 s window, sampled every
0.25 s from the proxy's byte counter, as a rate.

    python bench/bandwidth.py                     # caps 1, 2 and 5 MB/s, 40 s each
    python bench/bandwidth.py --caps 2 --seconds 60

Target (issue 11): within 10 % of the cap over any 30 s window.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.faultproxy import FaultProxy  # noqa: E402
from tests.support.s3servers import moto_server, random_file  # noqa: E402
from traycap.cancel import CancelToken  # noqa: E402
from traycap.upload.bandwidth import MB  # noqa: E402
from traycap.upload.s3 import UploadService  # noqa: E402

WINDOW_S = 30.0
SAMPLE_S = 0.25


def worst_window(samples: list[tuple[float, int]], window: float) -> float:
    """The most bytes in any `window` seconds, as bytes per second (the whole run if shorter)."""
    span = min(window, samples[-1][0] - samples[0][0])
    best = 0
    j = 0
    for t0, b0 in samples:
        while j + 1 < len(samples) and samples[j + 1][0] - t0 <= span:
            j += 1
        best = max(best, samples[j][1] - b0)
    return best / span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--caps", type=float, nargs="+", default=[1.0, 2.0, 5.0], help="MB/s")
    parser.add_argument("--seconds", type=float, default=40.0, help="upload length per cap at the cap")
    args = parser.parse_args()
    print(f"{'cap MB/s':>8} {'MB':>6} {'seconds':>8} {'mean MB/s':>10} {'off':>7} {'worst 30 s MB/s':>16} {'off':>7}")
    with tempfile.TemporaryDirectory(prefix="traycap-bw-") as tmp, moto_server() as s3:
        for cap in args.caps:
            size = int(cap * MB * args.seconds)
            path = Path(tmp) / "z.zip"
            sha = random_file(path, size, seed=int(cap * 10))
            with FaultProxy(s3.host, s3.port) as proxy:
                service = UploadService(s3.config(endpointUrl=proxy.url, maxUploadMBps=cap, maxConcurrency=4))
                samples: list[tuple[float, int]] = []
                done = threading.Event()

                def sample(
                    p: FaultProxy = proxy, out: list[tuple[float, int]] = samples, end: threading.Event = done
                ) -> None:
                    while not end.wait(SAMPLE_S):
                        out.append((time.monotonic(), p.body_bytes))

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                service.upload_file(path, f"bench/bw-{cap}.zip", sha256=sha, resume=None,
                                    on_progress=lambda _d, _t: None, on_checkpoint=lambda _p: None,
                                    cancel=CancelToken())
                done.set()
                sampler.join()
                parts = [e for e in proxy.requests if e.op == "UploadPart"]
                seconds = max(e.ended for e in parts) - min(e.started for e in parts)
                mean = sum(e.body_bytes for e in parts) / seconds
            stored = s3.object_bytes(f"bench/bw-{cap}.zip")
            assert hashlib.sha256(stored).hexdigest() == sha, "the upload did not verify"
            worst = worst_window(samples, WINDOW_S)
            off_mean = (mean / (cap * MB) - 1) * 100
            off_worst = (worst / (cap * MB) - 1) * 100
            print(f"{cap:>8.2f} {size / MB:>6.0f} {seconds:>8.2f} {mean / MB:>10.3f} {off_mean:>+6.1f}% "
                  f"{worst / MB:>16.3f} {off_worst:>+6.1f}%")


if __name__ == "__main__":
    main()
