"""Does a long-running traycap stay flat? A real soak: Xvfb, `traycap worker`, `traycap record`, a local S3.

    python bench/soak.py [--total-s 1200] [--every-s 120] [--session-s 60] [--server rclone|moto]
                         [--size 1280x720] [--fps 10] [--json] [--keep DIR]

Starts Xvfb, a local S3 server on 127.0.0.1 (rclone serve s3, or moto_server),
and `traycap worker` (the long-running process) with autoUpload on and
keepUploadedDays=0. Every --every-s seconds it runs `traycap record
--duration <session-s>` (the pointer moves and a key is typed meanwhile, so
there are actions); the recording exports, queues itself, the worker uploads
and verifies it, and retention deletes the local zip at once.

After each session (once its upload is done and its local copy is gone) it
reads the worker's RSS, open file descriptors and threads from /proc. It
prints them after session 1 and after the last, with the growth; at the end,
what the data dir still holds, and whether every session's object in the
bucket has the SHA-256 its meta recorded.

Exit status 0 either way: figures are for people; tests/integration/test_soak.py
runs a short version and checks the behaviour.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.display import xvfb
from tests.support.s3servers import S3Server, moto_server, rclone_server
from traycap.models import AppSettings, UploadStatus
from traycap.paths import Paths
from traycap.storage.config_store import save_config, save_settings
from traycap.storage.session_store import SessionStore
from traycap.storage.state_store import StateStore


@dataclass(frozen=True)
class Sample:
    session: int
    at_s: float  # since the worker started
    rss_kb: int
    fds: int
    threads: int


@dataclass
class SoakResult:
    sessions: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    zip_bytes: list[int] = field(default_factory=list)
    upload_s: list[float] = field(default_factory=list)  # record exit -> done and local copy gone
    leftover: dict[str, list[str]] = field(default_factory=dict)  # session id -> files still in its dir
    root_files: list[str] = field(default_factory=list)
    verified: dict[str, bool] = field(default_factory=dict)  # session id -> object SHA-256 == meta sha256
    record_failures: list[str] = field(default_factory=list)
    worker_exit: int | None = None

    def growth(self, name: str) -> float | None:
        if len(self.samples) < 2:
            return None
        first, last = getattr(self.samples[0], name), getattr(self.samples[-1], name)
        return (last - first) / first if first else None


def proc_figures(pid: int) -> tuple[int, int, int]:
    """RSS (kB), open file descriptors, threads of a live process, from /proc."""
    rss = threads = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd")), threads


def _wait(what: str, predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def _uploaded_and_pruned(paths: Paths, session_id: str) -> bool:
    state = StateStore(paths).read(session_id)
    if state is None or state.status is not UploadStatus.DONE:
        if state is not None and state.status is UploadStatus.FAILED:
            raise RuntimeError(f"upload of {session_id} failed: {state.lastError}")
        return False
    return not SessionStore(paths).item(session_id).localCopy


def _wiggle(display_env: dict[str, str], stop: threading.Event) -> None:
    """Something to record: the pointer moves and a key is typed every second."""
    x = 0
    while not stop.wait(1.0):
        x = (x + 97) % 600
        subprocess.run(["xdotool", "mousemove", str(100 + x), str(100 + x // 2), "type", "a"],
                       env=display_env, capture_output=True, timeout=30, check=False)


def run_soak(args: argparse.Namespace, work: Path) -> SoakResult:
    result = SoakResult()
    home = work / "home"
    paths = Paths(root=home, logs=home / "logs").ensure()
    width, height = (int(v) for v in args.size.split("x"))
    with xvfb(width, height) as display, _server(args.server, work) as s3:
        save_config(paths.config, s3.config(autoUpload=True))
        save_settings(paths.settings, AppSettings(fps=args.fps, keepUploadedDays=0, screenshotIntervalS=5.0))
        env = dict(display.env)
        env["TRAYCAP_HOME"] = str(home)
        worker_log = (work / "worker.out").open("wb")
        worker = subprocess.Popen([sys.executable, "-m", "traycap", "worker"], env=env,
                                  stdout=worker_log, stderr=subprocess.STDOUT)
        started = time.monotonic()
        try:
            count = max(1, int(args.total_s // args.every_s))
            for n in range(1, count + 1):
                due = started + (n - 1) * args.every_s
                time.sleep(max(0.0, due - time.monotonic()))
                session_id = _record_one(args, env, result)
                if session_id is None:
                    continue
                finished = time.monotonic()
                _wait(f"session {session_id} uploaded and its local copy removed",
                      lambda sid=session_id: _uploaded_and_pruned(paths, sid), timeout=max(120.0, args.every_s))
                result.upload_s.append(round(time.monotonic() - finished, 2))
                meta = SessionStore(paths).read_meta(session_id)
                result.zip_bytes.append(meta.fileSizeBytes or 0)
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker exited with {worker.returncode}")
                rss, fds, threads = proc_figures(worker.pid)
                result.samples.append(Sample(n, round(time.monotonic() - started, 1), rss, fds, threads))
                if not args.json:
                    print(f"session {n}/{count} {session_id}: zip {meta.fileSizeBytes} B, uploaded+pruned "
                          f"{result.upload_s[-1]} s after export; worker RSS {rss} kB, {fds} fds, {threads} threads",
                          flush=True)
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)  # our own child, by its PID
                try:
                    worker.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            result.worker_exit = worker.returncode
            worker_log.close()
        _inspect(paths, s3, result)
    return result


def _record_one(args: argparse.Namespace, env: dict[str, str], result: SoakResult) -> str | None:
    stop = threading.Event()
    wiggler = threading.Thread(target=_wiggle, args=(env, stop), daemon=True)
    wiggler.start()
    try:
        run = subprocess.run([sys.executable, "-m", "traycap", "record", "--duration", str(args.session_s)],
                             env=env, capture_output=True, text=True, timeout=args.session_s + 300)
    finally:
        stop.set()
        wiggler.join(30)
    session_id = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else None
    if run.returncode != 0 or session_id is None:
        result.record_failures.append(f"exit {run.returncode}: {run.stderr[-500:]}")
        return None
    result.sessions.append(session_id)
    return session_id


def _inspect(paths: Paths, s3: S3Server, result: SoakResult) -> None:
    store = SessionStore(paths)
    client = s3.client()
    for session_id in result.sessions:
        directory = paths.session_dir(session_id)
        result.leftover[session_id] = sorted(p.name for p in directory.iterdir())
        meta = store.read_meta(session_id)
        state = StateStore(paths).read(session_id)
        body = client.get_object(Bucket=s3.bucket, Key=state.s3Key)["Body"].read() if state and state.s3Key else b""
        result.verified[session_id] = hashlib.sha256(body).hexdigest() == meta.sha256 and len(body) > 0
    result.root_files = sorted(p.name for p in paths.root.iterdir())


def _server(kind: str, work: Path) -> Any:
    return rclone_server(work / "s3") if kind == "rclone" else moto_server()


def _report(args: argparse.Namespace, result: SoakResult) -> None:
    if args.json:
        out = asdict(result)
        out["growth"] = {name: result.growth(name) for name in ("rss_kb", "fds", "threads")}
        print(json.dumps(out, indent=1))
        return
    print()
    print(f"{len(result.sessions)} sessions of {args.session_s:g} s every {args.every_s:g} s "
          f"({args.size} at {args.fps} fps, {args.server}); record failures: {len(result.record_failures)}")
    if result.samples:
        first, last = result.samples[0], result.samples[-1]
        print(f"{'worker':<10} {'after session 1':>16} {'after session ' + str(last.session):>18} {'growth':>8}")
        for name, unit in (("rss_kb", "kB"), ("fds", ""), ("threads", "")):
            growth = result.growth(name)
            shown = f"{growth * 100:+.1f} %" if growth is not None else "-"
            label = {"rss_kb": "RSS", "fds": "open fds", "threads": "threads"}[name]
            print(f"{label:<10} {getattr(first, name):>13} {unit:<2} {getattr(last, name):>15} {unit:<2} {shown:>8}")
    if result.zip_bytes:
        print(f"zip per session: {min(result.zip_bytes)}-{max(result.zip_bytes)} B; uploaded and pruned "
              f"{min(result.upload_s)}-{max(result.upload_s)} s after export")
    names = sorted({n for files in result.leftover.values() for n in files})
    print(f"session dirs end holding only: {names}")
    print(f"data dir top level: {result.root_files}")
    print(f"objects verified (SHA-256 == meta): {sum(result.verified.values())}/{len(result.verified)}; "
          f"worker exit status {result.worker_exit}")
    for failure in result.record_failures:
        print(f"record failure: {failure}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total-s", type=float, default=1200.0, help="how long the soak runs (default 20 min)")
    parser.add_argument("--every-s", type=float, default=120.0, help="a recording starts this often")
    parser.add_argument("--session-s", type=float, default=60.0, help="each recording lasts this long")
    parser.add_argument("--server", choices=["rclone", "moto"], default="rclone")
    parser.add_argument("--size", default="1280x720", help="Xvfb screen size")
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--keep", type=Path, help="work in this dir and keep it (default: a temp dir)")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        _report(args, run_soak(args, args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="traycap-soak-") as tmp:
            _report(args, run_soak(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
