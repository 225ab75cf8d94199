"""How well does `traycap record` keep up? Xvfb 1920x1080 with moving content.

For each requested fps (default 10, 15, 30), for --seconds (default 60):
  * `traycap record --fps N --duration S` in a subprocess:
      fps achieved (frames in the video / active seconds) and frames dropped,
      CPU in cores (steady state, from /proc between "ready" and the end of the
      duration; and whole process incl. start-up and export), peak RSS,
      MB per minute of the exported bundle;
      input latency: this script sends XTEST pointer moves (the mechanism
      xdotool uses, but from here so that the send time is known to the
      microsecond) every 150 ms; latency = action time in actions.jsonl
      minus send time, both CLOCK_MONOTONIC.
  * the reference: `ffmpeg -f x11grab -framerate N` + libx264 -preset ultrafast,
    same size and duration: its CPU per frame against ours.

Moving content: a Tk window over the whole screen with text, a scrolling text
block and a bouncing box, redrawn ~30 times a second, plus the moving pointer.
The X server's own CPU (copying the screen) is not counted for either side.

    python bench/record.py [--seconds 60] [--fps 10,15,30] [--keep DIR]

Prints a table; exit status 0 either way (figures are for people, behaviour is for tests).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.display import XDisplay, xvfb

W, H = 1920, 1080
TICKS = os.sysconf("SC_CLK_TCK")

# A full-screen window of text (bench/footprint.py's still screen starts the same way).
PAGE = r"""
import tkinter as tk
root = tk.Tk()
root.geometry("1920x1080+0+0")
root.overrideredirect(True)
c = tk.Canvas(root, width=1920, height=1080, bg="#f4f4f0", highlightthickness=0)
c.pack()
for i in range(55):
    c.create_text(20, 20 + i * 19, anchor="nw", font=("Helvetica", 11),
                  text=f"{i:02d}  The quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet {i * 7}")
"""
ANIMATION = PAGE + r"""
scroll = [c.create_text(1100, 200 + i * 18, anchor="nw", font=("Courier", 11), fill="#224",
                        text=f"log line {i:04d}: request served in {i % 97} ms") for i in range(40)]
box = c.create_rectangle(0, 0, 300, 200, fill="#2a7", outline="")
label = c.create_text(0, 0, text="", font=("Helvetica", 24), fill="white")
state = {"x": 10, "y": 10, "dx": 13, "dy": 7, "n": 0}
def tick():
    s = state
    s["n"] += 1
    s["x"] += s["dx"]; s["y"] += s["dy"]
    if not 0 < s["x"] < 1600: s["dx"] = -s["dx"]
    if not 0 < s["y"] < 860: s["dy"] = -s["dy"]
    c.coords(box, s["x"], s["y"], s["x"] + 300, s["y"] + 200)
    c.coords(label, s["x"] + 150, s["y"] + 100)
    c.itemconfigure(label, text=f"frame {s['n']}")
    for item in scroll:
        c.move(item, 0, -3)
        if c.coords(item)[1] < 200: c.move(item, 0, 720)
    root.after(33, tick)
tick()
root.mainloop()
"""


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Run:
    label: str
    fps_req: int
    frames: int
    active_s: float
    dropped: int | None
    cpu_steady: float | None  # cores
    cpu_whole_s: float  # CPU seconds of the whole process
    peak_rss_mb: float
    mb_per_min: float
    latency_ms: list[float]
    video_mb_per_min: float = 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.active_s if self.active_s else 0.0

    @property
    def cpu_per_frame_ms(self) -> float | None:
        if self.cpu_steady is None or not self.fps:
            return None
        return 1000.0 * self.cpu_steady / self.fps


def wait4(proc: subprocess.Popen[Any]) -> tuple[int, Any]:
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage


class Pointer:
    """XTEST pointer moves from this process; remembers when each was sent."""

    def __init__(self, display_name: str) -> None:
        xdisplay: Any = importlib.import_module("Xlib.display")
        self._xtest: Any = importlib.import_module("Xlib.ext.xtest")
        self._x: Any = importlib.import_module("Xlib.X")
        self._d = xdisplay.Display(display_name)
        self.sent: dict[tuple[int, int], float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(0.15):
            i += 1
            pos = (200 + (i * 37) % 1500, 150 + (i * 53) % 800 + (i // 1500))
            t = time.monotonic()
            self._xtest.fake_input(self._d, self._x.MotionNotify, x=pos[0], y=pos[1])
            self._d.sync()
            self.sent.setdefault(pos, t)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()


def wait_started(proc: subprocess.Popen[str]) -> None:
    """Read `traycap record`'s stderr until it says it is recording (SystemExit if it ends first)."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("traycap: recording"):
            return
    raise SystemExit(f"traycap record did not start: {proc.communicate()}")


def run_traycap(display: XDisplay, home: Path, fps: int, seconds: float) -> Run:
    env = dict(display.env, TRAYCAP_HOME=str(home))
    proc = subprocess.Popen([sys.executable, "-m", "traycap", "record", "--fps", str(fps), "--duration",
                             str(seconds)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None and proc.stdout is not None
    wait_started(proc)
    rest: list[str] = []
    drain = threading.Thread(target=lambda: rest.extend(proc.stderr or []), daemon=True)
    drain.start()
    pointer = Pointer(display.name)
    pointer.start()
    time.sleep(2.0)  # warm-up: skip start-up costs in the steady-state figure
    c0, t0 = cpu_seconds(proc.pid), time.monotonic()
    time.sleep(max(1.0, seconds - 3.0))
    c1, t1 = cpu_seconds(proc.pid), time.monotonic()
    pointer.stop()
    out = proc.stdout.read()
    code, usage = wait4(proc)
    drain.join(5)
    if code != 0:
        raise SystemExit(f"traycap record failed ({code}): {''.join(rest)}")
    session_id = out.strip().splitlines()[-1]
    directory = home / "sessions" / session_id
    zip_path = directory / f"{session_id}.zip"
    with zipfile.ZipFile(zip_path) as zf:
        info = json.loads(zf.read("session.json"))
        actions = json.loads(zf.read("actions.json"))
        video_bytes = zf.getinfo("video/screen.mp4").file_size
    origin = info["timeBase"]["monotonicOriginS"]
    latencies = []
    for a in actions:
        if a["type"] == "mouse_move" and (a["x"], a["y"]) in pointer.sent:
            latencies.append((origin + a["t"] / 1000.0 - pointer.sent[(a["x"], a["y"])]) * 1000.0)
    active_s = (info["durationMs"] - info["pausedMs"]) / 1000.0
    return Run(
        label="traycap", fps_req=fps, frames=info["counts"]["frames"], active_s=active_s,
        dropped=(info.get("droppedFrames") or {}).get("total"),
        cpu_steady=(c1 - c0) / (t1 - t0),
        cpu_whole_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024.0,
        mb_per_min=zip_path.stat().st_size / 1e6 / (active_s / 60.0),
        latency_ms=latencies,
        video_mb_per_min=video_bytes / 1e6 / (active_s / 60.0),
    )


def run_ffmpeg(display: XDisplay, out_dir: Path, fps: int, seconds: float) -> Run:
    out = out_dir / f"ffmpeg-{fps}.mp4"
    proc = subprocess.Popen(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "x11grab", "-framerate", str(fps),
         "-video_size", f"{W}x{H}", "-i", display.name, "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-t", str(seconds), str(out)],
        env=display.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    time.sleep(2.0)
    c0, t0 = cpu_seconds(proc.pid), time.monotonic()
    time.sleep(max(1.0, seconds - 3.0))
    c1, t1 = cpu_seconds(proc.pid), time.monotonic()
    code, usage = wait4(proc)
    if code != 0:
        raise SystemExit(f"ffmpeg failed: {proc.stderr.read() if proc.stderr else ''}")
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_packets", "-of", "csv=p=0", str(out)], capture_output=True, text=True)
    frames = int(probe.stdout.strip() or 0)
    return Run(label="ffmpeg x11grab", fps_req=fps, frames=frames, active_s=seconds, dropped=None,
               cpu_steady=(c1 - c0) / (t1 - t0), cpu_whole_s=usage.ru_utime + usage.ru_stime,
               peak_rss_mb=usage.ru_maxrss / 1024.0, mb_per_min=out.stat().st_size / 1e6 / (seconds / 60.0),
               latency_ms=[], video_mb_per_min=out.stat().st_size / 1e6 / (seconds / 60.0))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fps", default="10,15,30")
    parser.add_argument("--keep", type=Path, help="keep the recordings here")
    args = parser.parse_args()
    rates = [int(x) for x in args.fps.split(",")]
    work = Path(tempfile.mkdtemp(prefix="traycap-bench-record-"))
    rows: list[tuple[Run, Run]] = []
    load_before = os.getloadavg()
    try:
        with xvfb(W, H) as display:
            anim = subprocess.Popen([sys.executable, "-c", ANIMATION], env=display.env)
            try:
                time.sleep(1.5)  # the window maps
                for fps in rates:
                    ours = run_traycap(display, work / f"home-{fps}", fps, args.seconds)
                    ref = run_ffmpeg(display, work, fps, args.seconds)
                    rows.append((ours, ref))
                    print(f"... {fps} fps done (load {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
            finally:
                anim.terminate()
                anim.wait()
        load_after = os.getloadavg()
        print(f"\nXvfb {W}x{H}, {args.seconds:.0f} s per run, moving Tk content + pointer moves every 150 ms")
        print(f"host: {os.cpu_count()} CPUs; load average before {load_before[0]:.2f} {load_before[1]:.2f} "
              f"{load_before[2]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
        print("\n| fps req | fps achieved | dropped | cores (steady) | CPU s whole | peak RSS MB | bundle MB/min "
              "| video MB/min | ms CPU/frame | vs ffmpeg | ffmpeg fps | ffmpeg cores | ffmpeg MB/min "
              "| latency ms p50/p95/max (n) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for ours, ref in rows:
            ratio = (ours.cpu_per_frame_ms / ref.cpu_per_frame_ms
                     if ours.cpu_per_frame_ms and ref.cpu_per_frame_ms else float("nan"))
            lat = (f"{statistics.median(ours.latency_ms):.1f} / {pct(ours.latency_ms, 0.95):.1f} / "
                   f"{max(ours.latency_ms):.1f} ({len(ours.latency_ms)})" if ours.latency_ms else "n/a")
            print(f"| {ours.fps_req} | {ours.fps:.2f} | {ours.dropped} | {ours.cpu_steady:.2f} | "
                  f"{ours.cpu_whole_s:.1f} | {ours.peak_rss_mb:.0f} | {ours.mb_per_min:.2f} | "
                  f"{ours.video_mb_per_min:.2f} | "
                  f"{ours.cpu_per_frame_ms:.1f} | {ratio:.2f}x | {ref.fps:.2f} | {ref.cpu_steady:.2f} | "
                  f"{ref.mb_per_min:.2f} | {lat} |")
        if args.keep:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
            print(f"\nrecordings kept in {args.keep}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
