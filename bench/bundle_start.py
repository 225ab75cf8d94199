"""Size and start time of the Linux PyInstaller bundle, against `python -m traycap`.

    python bench/bundle_start.py [--runs 5] [--rebuild]

Prints the build time (of the cached build when one matches the sources), the bundle
size, and `traycap --help` wall time: the first run (page cache as the build left it, not
a true cold start: dropping caches needs root and disturbs everyone else) and the median
of --runs more.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.bundle import build_bundle, cache_root, source_digest


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def _size(folder: Path) -> tuple[int, int]:
    total = files = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                total += os.path.getsize(p)
                files += 1
    return total, files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="drop the cached build first")
    args = parser.parse_args()
    if args.rebuild:
        shutil.rmtree(cache_root() / source_digest(), ignore_errors=True)
    bundle = build_bundle()
    size, files = _size(bundle.folder)
    print(f"build:  {bundle.build_seconds:.1f} s ({'cached build' if bundle.reused else 'built now'}), "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"bundle: {size / 2**20:.0f} MiB in {files} files ({bundle.folder})")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TRAYCAP_HOME": home}
        for label, argv in (("bundle traycap --help", [str(bundle.exe), "--help"]),
                            ("python -m traycap --help", [sys.executable, "-m", "traycap", "--help"])):
            first = _time(argv, env)
            rest = [_time(argv, env) for _ in range(args.runs)]
            ms = sorted(r * 1000 for r in rest)
            print(f"{label:<26} first {first * 1000:6.0f} ms   median of {args.runs} "
                  f"{statistics.median(ms):6.0f} ms   (min {ms[0]:.0f}, max {ms[-1]:.0f})")


if __name__ == "__main__":
    main()
