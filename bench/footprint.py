"""How light is traycap? One command, one run: recording CPU beside ffmpeg, upload CPU beside s5cmd,
the tray's memory, the install size.

  recording   Xvfb 1920x1080, 15 fps, --seconds (30) per run, three screens:
                static   a window of text, nothing moves
                clock    the same, plus a clock that ticks every second and a caret that blinks
                         every 0.5 s (the screen of someone reading)
                moving   bench/record.py's animation (text, a scrolling block, a bouncing box)
              each recorded by `ffmpeg -f x11grab` + libx264 with traycap's encoder settings
              (superfast, zerolatency, CRF 23, a keyframe every 5 s) and by `traycap record`
              (with --baseline DIR also by the traycap code in DIR, same screen, same run).
              CPU is the process's utime + stime from /proc, steady state (from 2 s after the
              start to 1 s before the end), in cores (CPU-seconds per second), and per frame
              slot (1/15 s). The X server's CPU is shown beside (grabbing costs it too).
  upload      one random file (--upload-size, 512 MiB) to `rclone serve s3 --etag-hash ''` on
              127.0.0.1 by traycap's engine (UploadService.upload_file: parts, verification): as the
              queue uploads an export that recorded the zip's CRC32 (this checkout), as it uploads
              an older export (whole-file SHA-256 on the way), in compatibility mode (Content-MD5),
              and by `s5cmd cp`; each in its own child process (start-up included), least CPU of
              --upload-rounds; CPU-seconds per GiB of the child.
  memory      the tray (`traycap`, with trayer and a D-Bus session on Xvfb): RSS when idle 8 s after
              "ready", then peak RSS (VmHWM) over a --seconds recording of the moving screen started
              and stopped with the hotkey while it uploads live to rclone, until the upload is verified.
              Also which heavy libraries the idle tray has mapped.
  install     the size of traycap's runtime dependencies as pip installs them in a virtual
              environment: the files of every distribution in the closure of pyproject's
              `dependencies` (from this environment's installed metadata), per package.

    python bench/footprint.py [--seconds 30] [--upload-size 512M] [--baseline /path/to/old/checkout]
                              [--only recording,upload,memory,install]

CPU-seconds per frame are less sensitive to other load on the machine than wall time, but not
immune (caches, frequency): the load average is printed before and after. Figures are for
people; behaviour is for tests. Exit status 0 either way.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.record import ANIMATION, PAGE, cpu_seconds, wait4, wait_started  # noqa: E402
from bench.upload import TRAYCAP_CHILD, parse_size, run_child  # noqa: E402
from tests.support.display import XDisplay, xvfb  # noqa: E402
from tests.support.s3servers import S3Server, random_file, rclone_server  # noqa: E402
from tests.support.waiting import stop_process, wait_until  # noqa: E402

W, H, FPS = 1920, 1080, 15
GIB = 1024**3

# A page of text: what a still desktop looks like (something to encode, nothing that moves).
STATIC = PAGE + r"""
import sys, time
c.create_rectangle(1100, 200, 1500, 920, fill="#dde", outline="")
TICKING = sys.argv[1:] == ["clock"]
clock = c.create_text(1800, 20, anchor="ne", font=("Helvetica", 14), text="")
caret = c.create_rectangle(760, 1000, 762, 1018, fill="#000", outline="")
state = {"on": True}
def tick():
    c.itemconfigure(clock, text=time.strftime("%H:%M:%S"))
    root.after(1000 - int(time.time() * 1000) % 1000 + 5, tick)
def blink():
    state["on"] = not state["on"]
    c.itemconfigure(caret, state="normal" if state["on"] else "hidden")
    root.after(500, blink)
if TICKING:
    tick()
    blink()
root.mainloop()
"""

SCREENS = {
    "static": [sys.executable, "-c", STATIC],
    "clock": [sys.executable, "-c", STATIC, "clock"],
    "moving": [sys.executable, "-c", ANIMATION],
}


@dataclass
class Cpu:
    """One recorder's run: steady-state cores of the process and of the X server, frames written."""

    cores: float
    x_cores: float
    frames: int | None
    rss_mb: float
    note: str = ""

    @property
    def ms_per_slot(self) -> float:
        return 1000.0 * self.cores / FPS


def _steady(pid: int, xpid: int, seconds: float) -> tuple[float, float]:
    time.sleep(2.0)
    c0, x0, t0 = cpu_seconds(pid), cpu_seconds(xpid), time.monotonic()
    time.sleep(max(1.0, seconds - 3.0))
    c1, x1, t1 = cpu_seconds(pid), cpu_seconds(xpid), time.monotonic()
    return (c1 - c0) / (t1 - t0), (x1 - x0) / (t1 - t0)


def record_ffmpeg(display: XDisplay, work: Path, seconds: float, preset: str = "superfast") -> Cpu:
    """ffmpeg x11grab + libx264 with traycap's settings (`preset` superfast), or bench/record.py's cheaper
    reference (ultrafast)."""
    out = work / "ffmpeg.mp4"
    proc = subprocess.Popen(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "x11grab", "-framerate", str(FPS),
         "-video_size", f"{W}x{H}", "-i", display.name, "-c:v", "libx264", "-preset", preset,
         "-tune", "zerolatency", "-crf", "23", "-g", str(FPS * 5), "-pix_fmt", "yuv420p",
         "-movflags", "frag_keyframe+empty_moov", "-t", str(seconds), str(out)],
        env=display.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    cores, x_cores = _steady(proc.pid, display.server.pid, seconds)
    code, usage = wait4(proc)
    if code != 0:
        return Cpu(cores, x_cores, None, usage.ru_maxrss / 1024, f"ffmpeg exit {code}")
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_packets", "-of", "csv=p=0", str(out)], capture_output=True, text=True)
    out.unlink()
    return Cpu(cores, x_cores, int(probe.stdout.strip() or 0), usage.ru_maxrss / 1024)


def record_traycap(display: XDisplay, work: Path, code: Path, seconds: float) -> Cpu:
    home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
    env = dict(display.env, TRAYCAP_HOME=str(home), TRAYCAP_KEYRING="off", **_code_env(code))
    proc = subprocess.Popen([sys.executable, "-m", "traycap", "record", "--fps", str(FPS), "--duration",
                             str(seconds)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None and proc.stdout is not None
    wait_started(proc)
    cores, x_cores = _steady(proc.pid, display.server.pid, seconds)
    out = proc.stdout.read()
    err = proc.stderr.read()
    status, usage = wait4(proc)
    frames = None
    note = "" if status == 0 else f"exit {status}: {err.strip()[-200:]}"
    if status == 0:
        session = out.strip().splitlines()[-1]
        meta = json.loads((home / "sessions" / session / "session-meta.json").read_text())
        frames = meta.get("frameCount")
    shutil.rmtree(home, ignore_errors=True)
    return Cpu(cores, x_cores, frames, usage.ru_maxrss / 1024, note)


def recording(work: Path, seconds: float, codes: dict[str, Path], screens: list[str]) -> dict[str, dict[str, Cpu]]:
    rows: dict[str, dict[str, Cpu]] = {}
    with xvfb(W, H) as display:
        for screen in screens:
            argv = SCREENS[screen]
            painter = subprocess.Popen(argv, env=display.env)
            try:
                time.sleep(2.0)  # the window maps and draws
                rows[screen] = {"ffmpeg": record_ffmpeg(display, work, seconds),
                                "ffmpeg ultrafast": record_ffmpeg(display, work, seconds, "ultrafast")}
                for name, code in codes.items():
                    rows[screen][name] = record_traycap(display, work, code, seconds)
                print(f"... {screen} done (load {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
            finally:
                stop_process(painter)
    return rows


def print_recording(rows: dict[str, dict[str, Cpu]], seconds: float) -> None:
    print(f"\n## Recording: Xvfb {W}x{H}, {FPS} fps, {seconds:.0f} s per run (steady-state CPU)\n")
    print("ffmpeg: x11grab + libx264 superfast, zerolatency, CRF 23, keyframe every 5 s (traycap's settings); "
          "ffmpeg ultrafast: the same with -preset ultrafast (bench/record.py's reference). Ratios are CPU per "
          "second of recording, i.e. per frame slot of 1/15 s.\n")
    print("| screen | recorder | cores | ms CPU per slot | vs ffmpeg | vs ffmpeg ultrafast | frames in the video "
          "| X server cores | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for screen, by in rows.items():
        ref, fast = by["ffmpeg"], by["ffmpeg ultrafast"]
        for name, r in by.items():
            ratio = f"{r.cores / ref.cores:.2f}x" if ref.cores else "n/a"
            ratio_fast = f"{r.cores / fast.cores:.2f}x" if fast.cores else "n/a"
            note = f" ({r.note})" if r.note else ""
            print(f"| {screen} | {name} | {r.cores:.3f} | {r.ms_per_slot:.1f} | {ratio} | {ratio_fast} | "
                  f"{r.frames}{note} | {r.x_cores:.3f} | {r.rss_mb:.0f} |")


# --- upload ---------------------------------------------------------------------------------

@dataclass
class Up:
    seconds: float
    cpu_s: float
    rss_mb: float
    ok: bool
    note: str = ""


def upload(work: Path, size: int, rounds: int, codes: dict[str, Path]) -> dict[str, Up]:
    src = work / "upload.bin"
    sha = random_file(src, size, seed=7)
    best: dict[str, Up] = {}
    with rclone_server(work / "rclone-root", extra_args=("--etag-hash", "")) as s3:
        base_env = dict(os.environ, AWS_ACCESS_KEY_ID=s3.access_key, AWS_SECRET_ACCESS_KEY=s3.secret_key,
                        AWS_DEFAULT_REGION=s3.region, AWS_REGION=s3.region, AWS_CONFIG_FILE=os.devnull,
                        AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        runs: dict[str, tuple[list[str], dict[str, str]]] = {}
        crc = 0
        with src.open("rb") as fh:  # in pieces: a child started after a 512 MiB read reports that as its peak RSS
            while chunk := fh.read(8 * 2**20):
                crc = zlib.crc32(chunk, crc)
        for name, code in codes.items():
            env = dict(base_env, **_code_env(code))
            for compat in (False, True):
                config = json.dumps(s3.config(compatibility=compat).to_json())
                label = f"{name}{' (compatibility: Content-MD5)' if compat else ''}"
                runs[label] = ([sys.executable, "-c", TRAYCAP_CHILD, config, str(src), "{key}", sha], env)
                if code == ROOT and not compat:  # the queue's case: the export recorded the zip's CRC32
                    runs[f"{name} (export's CRC32 known)"] = (
                        [sys.executable, "-c", TRAYCAP_CHILD.replace("sha256=sys.argv[4],",
                                                                     "sha256=sys.argv[4], crc32=sys.argv[5],"),
                         config, str(src), "{key}", sha, f"{crc:08x}"], env)
        s5cmd = shutil.which("s5cmd")
        if s5cmd:
            runs["s5cmd"] = ([s5cmd, "--endpoint-url", s3.endpoint_url, "cp", str(src), "s3://{bucket}/{key}"],
                             base_env)
        for i in range(rounds):
            for label, (argv, env) in runs.items():
                os.sync()
                key = f"footprint/{i}-{re.sub(r'[^a-z0-9]+', '-', label)}.bin"
                args = [a.replace("{key}", key).replace("{bucket}", s3.bucket) for a in argv]
                seconds, rss, cpu, status, err, _out = run_child(args, env)
                ok, note = status == 0, "" if status == 0 else err.strip()[-200:]
                if ok:
                    head = s3.client().head_object(Bucket=s3.bucket, Key=key)
                    ok = head["ContentLength"] == size
                    note = "" if ok else f"size {head['ContentLength']}"
                    s3.client().delete_object(Bucket=s3.bucket, Key=key)
                row = Up(seconds, cpu, rss, ok, note)
                if label not in best or (ok and row.cpu_s < best[label].cpu_s):
                    best[label] = row
                print(f"  {label} round {i + 1}: {seconds:.2f} s, CPU {cpu:.2f} s {'ok' if ok else note}",
                      file=sys.stderr, flush=True)
    src.unlink()
    return best


def print_upload(rows: dict[str, Up], size: int, rounds: int) -> None:
    gib = size / GIB
    print(f"\n## Upload: {size / 2**20:.0f} MiB to rclone serve s3 --etag-hash '' on 127.0.0.1 "
          f"(whole child process, least CPU of {rounds})\n")
    print("| tool | seconds | MB/s | CPU s | CPU s per GiB | vs s5cmd | peak RSS MB | result |")
    print("|---|---|---|---|---|---|---|---|")
    ref = rows.get("s5cmd")
    for label, r in rows.items():
        ratio = f"{(r.cpu_s / gib) / (ref.cpu_s / gib):.2f}x" if ref and ref.cpu_s else "n/a"
        print(f"| {label} | {r.seconds:.2f} | {size / 1e6 / r.seconds:.0f} | {r.cpu_s:.2f} | {r.cpu_s / gib:.2f} | "
              f"{ratio} | {r.rss_mb:.0f} | {'ok' if r.ok else r.note} |")


# --- memory ---------------------------------------------------------------------------------

@dataclass
class Mem:
    idle_rss_mb: float
    idle_hwm_mb: float
    busy_hwm_mb: float | None
    mapped: list[str]
    note: str = ""


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


HEAVY = {"cv2": "cv2", "av": "libavcodec", "numpy": "_multiarray_umath", "PIL": "PIL/_imaging",
         "gtk": "libgtk-3", "awscrt": "_awscrt"}


def _mapped(pid: int) -> list[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return [name for name, needle in HEAVY.items() if needle in maps]


@contextmanager
def _rclone(work: Path) -> Iterator[S3Server]:
    with rclone_server(work / "rclone-tray", extra_args=("--etag-hash", "")) as s3:
        yield s3


def memory(work: Path, seconds: float, code: Path) -> Mem:
    from tests.support.sessions import write_config
    from tests.support.tray_host import tray_host
    from traycap.paths import Paths

    home = Path(tempfile.mkdtemp(prefix="tray-", dir=work))
    paths = Paths(root=home, logs=home / "logs")
    log = home / "logs" / "traycap.log"
    with _rclone(work) as s3, tray_host(Path(tempfile.mkdtemp(prefix="host-", dir=work)), W, H) as host:
        write_config(paths, s3.config(autoUpload=True, uploadWhileRecording=True))
        painter = host.spawn([sys.executable, "-c", ANIMATION], home, "painter.log")
        tray = host.spawn(host.traycap_argv(), home, "tray.log",
                          extra_env={**_code_env(code), "TRAYCAP_KEYRING": "off"})
        wait_until("the tray to be ready", lambda: log.exists() and "traycap is ready" in log.read_text(), 60)
        time.sleep(8.0)  # idle: nothing recorded, nothing to upload
        idle_rss, idle_hwm, mapped = _status_mb(tray.pid, "VmRSS"), _status_mb(tray.pid, "VmHWM"), _mapped(tray.pid)
        host.run("xdotool", "key", "ctrl+shift+r")

        def recording() -> list[Path]:
            return [p for p in (home / "sessions").glob("*/video/screen.mp4") if p.stat().st_size > 0] \
                if (home / "sessions").exists() else []

        try:
            video = wait_until("a recording started by the hotkey", recording, 30)[0]
        except AssertionError as exc:
            stop_process(tray)
            stop_process(painter)
            return Mem(idle_rss, idle_hwm, None, mapped, str(exc))
        time.sleep(seconds)
        host.run("xdotool", "key", "ctrl+shift+r")
        session = video.parent.parent.name
        state = paths.state(session)

        def verified() -> str | None:
            try:
                status = json.loads(state.read_text()).get("status")
            except (OSError, ValueError):
                return None
            return status if status in ("done", "failed") else None

        status = wait_until("the live upload to be verified", verified, 120 + seconds)
        busy = _status_mb(tray.pid, "VmHWM")
        stop_process(tray)
        stop_process(painter)
    return Mem(idle_rss, idle_hwm, busy, mapped, "" if status == "done" else f"upload {status}")


def print_memory(rows: dict[str, Mem], seconds: float) -> None:
    print(f"\n## Memory: the tray (Xvfb {W}x{H}, trayer, D-Bus), {seconds:.0f} s of the moving screen recorded and "
          "uploaded live to rclone\n")
    print("| code | idle RSS MB (target 80) | idle peak MB | recording + live upload peak RSS MB (target 150) | "
          "heavy libraries mapped when idle | note |")
    print("|---|---|---|---|---|---|")
    for name, m in rows.items():
        busy = f"{m.busy_hwm_mb:.0f}" if m.busy_hwm_mb is not None else "n/a"
        print(f"| {name} | {m.idle_rss_mb:.0f} | {m.idle_hwm_mb:.0f} | {busy} | {', '.join(m.mapped) or 'none'} | "
              f"{m.note} |")


# --- install ----------------------------------------------------------------------------------

def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def install_size(code: Path) -> tuple[float, list[tuple[str, float]], list[str]]:
    """MB of the runtime closure of `code`'s pyproject dependencies on this platform, per package,
    and the names not installed here (not counted)."""
    from packaging.requirements import Requirement

    deps = tomllib.loads((code / "pyproject.toml").read_text())["project"]["dependencies"]
    seen: dict[str, float] = {}
    missing: list[str] = []
    stack = [Requirement(d) for d in deps]
    while stack:
        req = stack.pop()
        if req.marker and not req.marker.evaluate({"extra": ""}):
            continue
        key = _key(req.name)
        if key in seen or key in missing:
            continue
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            missing.append(key)
            continue
        size = 0
        for f in dist.files or []:
            with suppress(OSError):
                size += os.path.getsize(f.locate())
        seen[key] = size / 1e6
        stack += [Requirement(r) for r in dist.requires or []]
    ranked = sorted(seen.items(), key=lambda kv: -kv[1])
    return sum(seen.values()), ranked, missing


def print_install(codes: dict[str, Path]) -> None:
    print("\n## Install: runtime dependencies as installed in a virtual environment (target 300 MB)\n")
    print("| code | MB | the largest | not installed here |")
    print("|---|---|---|---|")
    for name, code in codes.items():
        total, ranked, missing = install_size(code)
        top = ", ".join(f"{k} {v:.0f}" for k, v in ranked[:6])
        print(f"| {name} | {total:.0f} | {top} | {', '.join(missing) or '-'} |")


# --- main ---------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="per recording (default 30)")
    parser.add_argument("--upload-size", default="512M")
    parser.add_argument("--upload-rounds", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="another checkout of traycap, measured beside this one")
    parser.add_argument("--only", default="recording,upload,memory,install")
    parser.add_argument("--screens", default=",".join(SCREENS), help="which screens to record (static,clock,moving)")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    codes = {"traycap": ROOT}
    if args.baseline:
        codes[f"traycap {_describe(args.baseline)}"] = args.baseline.resolve()
    load0 = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="traycap-footprint-"))
    out: list[tuple[Any, ...]] = []
    try:
        if "recording" in parts:
            out.append((print_recording, recording(work, args.seconds, codes, args.screens.split(",")), args.seconds))
        if "upload" in parts:
            size = parse_size(args.upload_size)
            out.append((print_upload, upload(work, size, args.upload_rounds, codes), size, args.upload_rounds))
        if "memory" in parts:
            out.append((print_memory, {n: memory(work, args.seconds, c) for n, c in codes.items()}, args.seconds))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()
    print(f"# traycap footprint ({_describe(ROOT)})\n")
    print(f"host: {os.cpu_count()} CPUs ({_cpu_model()}), {_mem_gb():.0f} GB; load average before "
          f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    for printer, *printed in out:
        printer(*printed)
    if "install" in parts:
        print_install(codes)
    return 0


def _code_env(code: Path) -> dict[str, str]:
    """Run `code`'s traycap: PYTHONSAFEPATH keeps Python from putting the working directory (this
    checkout) before PYTHONPATH for `python -m` and `python -c`."""
    return {"PYTHONPATH": str(code), "PYTHONSAFEPATH": "1"}


def _describe(code: Path) -> str:
    rev = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return rev.stdout.strip() or str(code)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


def _mem_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9


if __name__ == "__main__":
    raise SystemExit(main())
