"""How fast is `traycap sessions --json` with 1,000 sessions on disk?

Creates 1,000 realistic sessions (session-meta.json, upload-state.json with a
mix of statuses and multipart parts, .exported, a small zip placeholder, a
screenshots/ dir) in a temporary TRAYCAP_HOME, then measures:

  (a) the whole process, `traycap sessions --json` via subprocess (median of N runs)
  (b) SessionStore.list() in this process (median of M runs)

Targets: (a) < 300 ms, (b) < 50 ms. Prints the figures; exit status 0 either way
(figures are for people, behaviour is for tests).

    python bench/list_sessions.py [--sessions 1000] [--runs 7] [--list-runs 30] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from traycap.models import CompletedPart, SessionMeta, UploadState, UploadStatus
from traycap.paths import EXPORTED_MARKER, Paths
from traycap.storage.session_store import SessionStore
from traycap.storage.state_store import StateStore

TARGET_PROCESS_MS = 300.0
TARGET_LIST_MS = 50.0


def populate(root: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    paths = Paths(root=root, logs=root / "logs").ensure()
    sessions = SessionStore(paths)
    states = StateStore(paths)
    start = 1_700_000_000_000
    statuses = list(UploadStatus)
    for i in range(count):
        created = start + i * 3_600_000 + rng.randrange(1000)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(created / 1000))
        sid = f"{stamp}-{rng.getrandbits(24):06x}"
        directory = paths.session_dir(sid)
        (directory / "screenshots").mkdir(parents=True)
        zip_bytes = rng.randbytes(rng.randrange(200, 2000))
        (directory / f"{sid}.zip").write_bytes(zip_bytes)
        sessions.save_meta(
            SessionMeta(
                sessionId=sid,
                createdAt=created,
                endedAt=created + rng.randrange(10_000, 3_600_000),
                actionCount=rng.randrange(0, 5000),
                screenshotCount=rng.randrange(0, 700),
                videoRef="video/screen.mp4",
                zipPath=f"{sid}.zip",
                fileSizeBytes=len(zip_bytes),
                sha256="ab" * 32,
                extra={"fps": 10.0, "monitors": [{"width": 1920, "height": 1080}], "traycapVersion": "0.1.0"},
            )
        )
        (directory / EXPORTED_MARKER).write_bytes(b"")
        status = statuses[i % len(statuses)]
        if i % 10 == 9:
            continue  # some sessions were never queued: no upload-state.json
        total = 50 * 1024 * 1024
        parts = tuple(CompletedPart(n, f'"{rng.getrandbits(128):032x}"', 10 * 1024 * 1024) for n in range(1, 4))
        states.write(
            UploadState(
                sessionId=sid,
                status=status,
                createdAt=created,
                updatedAt=created + 60_000,
                s3Key=f"sessions/{sid}.zip",
                bytesUploaded=total if status is UploadStatus.DONE else 30 * 1024 * 1024,
                totalBytes=total,
                retryCount=rng.randrange(0, 3),
                lastError="The connection was reset (traycap will retry automatically)"
                if status is UploadStatus.FAILED
                else None,
                uploadId="upl-" + "x" * 60 if status in (UploadStatus.UPLOADING, UploadStatus.PENDING) else None,
                partSize=10 * 1024 * 1024,
                parts=parts if status is UploadStatus.UPLOADING else (),
            )
        )


def time_process(root: Path, runs: int, *, module: bool = False) -> tuple[list[float], int]:
    env = dict(os.environ, TRAYCAP_HOME=str(root))
    cmd = [sys.executable, "-m", "traycap", "sessions", "--json"]
    exe = shutil.which("traycap")
    if exe and not module:
        cmd = [exe, "sessions", "--json"]  # the console script a user runs
    subprocess.run(cmd, env=env, check=True, capture_output=True)  # warm the page cache and .pyc files
    times = []
    out = b""
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, env=env, check=True, capture_output=True).stdout
        times.append((time.perf_counter() - t0) * 1000)
    return times, out.count(b'"sessionId"')


def time_listing(root: Path, runs: int) -> tuple[list[float], int]:
    store = SessionStore(Paths(root=root, logs=root / "logs"))
    store.list()
    times = []
    n = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        n = len(store.list().items)
        times.append((time.perf_counter() - t0) * 1000)
    return times, n


def interpreter_floor(runs: int) -> float:
    """`python -c pass`, for context: the part of (a) traycap cannot remove."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7, help="whole-process runs (median; >= 5)")
    ap.add_argument("--list-runs", type=int, default=30, help="in-process SessionStore.list() runs (median; >= 20)")
    ap.add_argument("--keep", type=Path, help="build the sessions here and keep them (default: a temp dir)")
    ap.add_argument("--module", action="store_true",
                    help="run `python -m traycap` (honours PYTHONPATH, to compare another checkout)")
    args = ap.parse_args()

    tmp = None
    if args.keep:
        root = args.keep
        if root.exists():
            shutil.rmtree(root)
    else:
        tmp = tempfile.mkdtemp(prefix="traycap-bench-")
        root = Path(tmp) / "home"
    try:
        t0 = time.perf_counter()
        populate(root, args.sessions)
        print(f"created {args.sessions} sessions in {root} ({time.perf_counter() - t0:.1f} s)")
        proc, n_out = time_process(root, max(5, args.runs), module=args.module)
        lst, n_list = time_listing(root, max(20, args.list_runs))
        floor = interpreter_floor(5)
        if n_out != args.sessions or n_list != args.sessions:
            print(f"ERROR: listed {n_out} (process) / {n_list} (in-process), expected {args.sessions}")
            return 1
        p_med, l_med = statistics.median(proc), statistics.median(lst)
        print(
            f"(a) traycap sessions --json, whole process: median {p_med:.0f} ms "
            f"(min {min(proc):.0f}, max {max(proc):.0f}, n={len(proc)}) target < {TARGET_PROCESS_MS:.0f} ms "
            f"[{'OK' if p_med < TARGET_PROCESS_MS else 'MISSED'}]"
        )
        print(
            f"(b) SessionStore.list(), in process:        median {l_med:.1f} ms "
            f"(min {min(lst):.1f}, max {max(lst):.1f}, n={len(lst)}) target < {TARGET_LIST_MS:.0f} ms "
            f"[{'OK' if l_med < TARGET_LIST_MS else 'MISSED'}]"
        )
        print(f"    for context: `python -c pass` takes {floor:.0f} ms on this machine")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
