"""LiveZip throughput: appending (hash while writing, fsync + journal line per entry) and reopen's re-hash.

    python bench/livezip.py [--total-mib 200] [--entry-mib 5] [--small 300] [--dir DIR]

Appends --total-mib of incompressible data as stored entries of --entry-mib each, closes
without finishing, reopens (which re-hashes the committed prefix once: the cost of a resume
after a crash), finishes, and checks the reported SHA-256 against a fresh read. For scale it
also times SHA-256 alone on the same bytes in memory. The page cache holds the file, as it
does right after a crash on a machine that kept running; figures vary with the host's load.
--small times entries of a 4 KiB deflated jsonl chunk, where the two fsyncs per entry dominate.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from traycap.bundle.livezip import LiveZip

MiB = 1 << 20


def rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / MiB / seconds:7.1f} MiB/s ({seconds:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total-mib", type=int, default=200)
    parser.add_argument("--entry-mib", type=int, default=5)
    parser.add_argument("--small", type=int, default=300, help="how many small deflated entries to time")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="livezip-bench-", dir=args.dir))
    try:
        block = os.urandom(args.entry_mib * MiB)
        count = args.total_mib // args.entry_mib
        total = count * len(block)

        start = time.perf_counter()
        for _ in range(count):
            hashlib.sha256(block)
        sha_alone = time.perf_counter() - start

        zip_path, journal = work / "bench.zip", work / "live-zip.jsonl"
        lz = LiveZip.create(zip_path, journal)
        start = time.perf_counter()
        for i in range(count):
            lz.add(f"video/screen/{i:05d}.m4s", block, compress=False, cursor={"i": i})
        append = time.perf_counter() - start
        committed = lz.committed
        lz.close()

        start = time.perf_counter()
        lz = LiveZip.reopen(zip_path, journal)
        reopen = time.perf_counter() - start
        final = lz.finish()

        small = LiveZip.create(work / "small.zip", work / "small.jsonl")
        line = b'{"t": 123456, "kind": "click", "x": 100, "y": 200}\n'
        start = time.perf_counter()
        for i in range(args.small):
            small.add(f"actions/{i:05d}.jsonl", line * 80, compress=True, cursor={"actions": i})
        small_s = time.perf_counter() - start
        small.close()

        digest = hashlib.sha256()
        with open(zip_path, "rb") as fh:
            while chunk := fh.read(MiB):
                digest.update(chunk)
        assert digest.hexdigest() == final.sha256, "the SHA-256 LiveZip reported is not the file's"

        print(f"{count} entries of {args.entry_mib} MiB = {total / MiB:.0f} MiB in {work}, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
        print(f"sha256 alone (memory):            {rate(total, sha_alone)}")
        print(f"append (hash + write + fsync):    {rate(total, append)}   {count / append:.1f} entries/s")
        print(f"reopen (check + re-hash prefix):  {rate(committed, reopen)}")
        print(f"small entries (4 KiB deflated):   {args.small / small_s:7.1f} entries/s "
              f"({1000 * small_s / args.small:.2f} ms each)")
        print(f"finished zip: {final.size} bytes, sha256 {final.sha256[:16]}... verified by a fresh read")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
