"""What does capture cost on Wayland (ScreenCast portal + PipeWire) next to X11 (mss on Xvfb)? Same size, same fps.

Wayland: the headless desktop of the tests (tests/support/wayland.py: sway on pixman, PipeWire,
WirePlumber, xdg-desktop-portal + the rebuilt -wlr backend), traycap's PortalScreen grabbing on
the recorder's grid (tests/support/wayland_probe.py `bench`), once with a terminal printing a
counter ten times a second (the screen changes) and once on a still screen (damage-driven: next
to nothing comes from PipeWire). X11: Xvfb at the same size, a Tk window printing the same
counter, traycap's ScreenGrabber (mss) on the same grid.

Two parts (--parts capture,record; both by default):

capture: the frame sources alone (no encoder). Per run: start-up to the first frame (portal session
+ PipeWire stream; mss: open + first grab), fps achieved (grabs per second), new frames per second
(Wayland: images PipeWire sent; the rest of the grabs repeat the last one), CPU in cores of the
capturing process, and CPU of the other side (Wayland: sway + xdg-desktop-portal-wlr, which copy
the screen into PipeWire; X11: Xvfb). Encoding is not included: it is the same encoder after either source.

record: a whole `traycap record --fps N --duration S` of the same moving counter, as a person runs it
(Wayland: as the desktop's user, in the venv of scripts/wayland-venv.sh; X11: this Python on Xvfb):
process start to "recording" (the first frame is captured by then), fps achieved and frames dropped
(session.json), CPU cores of the traycap process in the steady state (from /proc, from 1 s after
"recording" to 1 s before the end) and per frame, and the server side's CPU over the same span.

    python bench/wayland_capture.py [--seconds 10] [--fps 10,30] [--parts capture,record]

Prints a table; exit status 0 either way (figures are for people, behaviour is for tests).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.record import wait_started
from tests.support.display import XDisplay, xvfb
from tests.support.waiting import stop_process, wait_until
from tests.support.wayland import SIZE, WaylandDesktop, wayland_desktop

TICKS = os.sysconf("SC_CLK_TCK")
COUNTER = "i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done"

TK_COUNTER = r"""
import tkinter as tk
root = tk.Tk()
root.geometry("WxH+0+0")
root.overrideredirect(True)
text = tk.Text(root, font=("DejaVu Sans Mono", 28), bg="#111111", fg="#dddddd")
text.pack(fill="both", expand=True)
n = [0]
def tick():
    text.insert("end", f"{n[0]}\n"); text.see("end"); n[0] += 1
    root.after(100, tick)
root.after(100, tick)
print("ready", flush=True)
root.mainloop()
""".replace("WxH", f"{SIZE[0]}x{SIZE[1]}")

MSS_PROBE = r"""
import json, resource, sys, time
from traycap.media.capture.mss_screen import MssScreen as ScreenGrabber
from traycap.recorder.timing import FrameScheduler
seconds, fps = float(sys.argv[1]), int(sys.argv[2])
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF); return u.ru_utime + u.ru_stime
t0 = time.monotonic()
grabber = ScreenGrabber(0)
grabber.grab()
startup = time.monotonic() - t0
c0, begin = cpu(), time.monotonic()
sched = FrameScheduler(fps, begin)
grabs = 0
while time.monotonic() - begin < seconds:
    delay = sched.next_due() - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    grabber.grab()
    grabs += 1
    sched.captured(time.monotonic())
wall = time.monotonic() - begin
print(json.dumps({"startup": startup, "seconds": wall, "grabs": grabs, "cpu": cpu() - c0, "dropped": sched.dropped,
                  "width": grabber.width, "height": grabber.height}))
grabber.close()
"""


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def wayland_run(desk: WaylandDesktop, seconds: float, fps: int, moving: bool) -> dict[str, Any]:
    foot = None
    desk.damage()  # a change to start from: wlroots sends an unchanged screen's cast no first frame
    if moving:
        foot = desk.spawn("foot", ["foot", "-o", "font=monospace:size=28", "sh", "-c", COUNTER])
        wait_until("foot on the output", lambda: "foot" in json.dumps(desk.swaymsg("-t", "get_tree")), 20)
    server_pids = [p.pid for name, p in desk._procs if name in ("sway",) or name.startswith("xdpw")]
    try:
        c0 = cpu_of(server_pids)
        result = desk.python("bench", "--data", str(desk.shared_dir(f"bench-{fps}-{moving}")), "--seconds",
                             str(seconds), "--fps", str(fps), timeout=seconds + 120)
        result["server_cpu"] = cpu_of(server_pids) - c0  # includes the probe's start-up and end: a bound above
    finally:
        if foot is not None:
            desk.end(foot)
    return result


@contextmanager
def x11_counter() -> Iterator[XDisplay]:
    """Xvfb at the Wayland desktop's size with a Tk window printing the same counter."""
    with xvfb(*SIZE) as display:
        tk = subprocess.Popen([sys.executable, "-c", TK_COUNTER], env=display.env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
        try:
            assert tk.stdout is not None
            tk.stdout.readline()
            yield display
        finally:
            stop_process(tk)


def x11_run(seconds: float, fps: int) -> dict[str, Any]:
    repo = Path(__file__).resolve().parent.parent
    with x11_counter() as display:
        env = {**display.env, "PYTHONPATH": str(repo)}
        c0 = cpu_of([display.server.pid])
        done = subprocess.run([sys.executable, "-c", MSS_PROBE, str(seconds), str(fps)], env=env,
                              capture_output=True, text=True, timeout=seconds + 60, check=True)
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        result["server_cpu"] = cpu_of([display.server.pid]) - c0
    result["fresh"] = None
    return result


def record_process(proc: subprocess.Popen[str], started: float, seconds: float, server_pids: list[int],
                   session_json: Any) -> dict[str, Any]:
    """Follow one `traycap record` to its end: start-up, steady-state CPU (its own and the server's), fps."""
    assert proc.stderr is not None and proc.stdout is not None
    wait_started(proc)
    ready = time.monotonic() - started
    time.sleep(1.0)  # the steady state: start-up costs (imports, the portal, the encoder's first frame) are out
    c0, s0, t0 = cpu_of([proc.pid]), cpu_of(server_pids), time.monotonic()
    time.sleep(max(1.0, seconds - 2.5))
    c1, s1, t1 = cpu_of([proc.pid]), cpu_of(server_pids), time.monotonic()
    out, err = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"traycap record failed ({proc.returncode}): {err}")
    info = session_json(out.strip().splitlines()[-1])
    return {"ready": ready, "fps": info["fps"]["achieved"], "dropped": (info.get("droppedFrames") or {}).get("total"),
            "cores": (c1 - c0) / (t1 - t0), "server": (s1 - s0) / (t1 - t0)}


def read_session_json(home: Path, session_id: str) -> Any:
    with zipfile.ZipFile(home / "sessions" / session_id / f"{session_id}.zip") as zf:
        return json.loads(zf.read("session.json"))


def wayland_record(desk: WaylandDesktop, seconds: float, fps: int) -> dict[str, Any]:
    home = desk.traycap_home(f"record-{fps}")
    (home / "app-settings.json").write_text(json.dumps({"fps": fps}))
    desk.give(home)
    desk.traycap_argv()  # the venv, made before the clock starts
    foot = desk.spawn("foot", ["foot", "-o", "font=monospace:size=28", "sh", "-c", COUNTER])
    wait_until("foot on the output", lambda: "foot" in json.dumps(desk.swaymsg("-t", "get_tree")), 20)
    server_pids = [p.pid for name, p in desk._procs if name in ("sway", "pipewire") or name.startswith("xdpw")]
    try:
        started = time.monotonic()
        proc = desk.spawn_traycap(f"record-{fps}", home, "record", "--duration", str(seconds), stderr_pipe=True)
        return record_process(proc, started, seconds, server_pids, lambda sid: read_session_json(home, sid))
    finally:
        desk.end(foot)


def x11_record(seconds: float, fps: int, work: Path) -> dict[str, Any]:
    repo = Path(__file__).resolve().parent.parent
    home = work / f"x11-{fps}"
    home.mkdir(parents=True)
    (home / "app-settings.json").write_text(json.dumps({"fps": fps}))
    with x11_counter() as display:
        env = {**display.env, "PYTHONPATH": str(repo), "TRAYCAP_HOME": str(home), "TRAYCAP_KEYRING": "off"}
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "traycap", "record", "--duration", str(seconds)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return record_process(proc, started, seconds, [display.server.pid], lambda sid: read_session_json(home, sid))


def record_row(label: str, r: dict[str, Any], fps: int) -> str:
    per_frame = 1000 * r["cores"] / r["fps"] if r["fps"] else float("nan")
    return (f"| {label} | {fps} | {r['ready']:.2f} s | {r['fps']:.2f} | {r['dropped']} | {r['cores']:.3f} | "
            f"{per_frame:.1f} | {r['server']:.3f} |")


def row(label: str, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{label:<28} {r['error']}: {r['message']}"
    fresh = f"{r['fresh'] / r['seconds']:6.1f}" if r.get("fresh") is not None else "     -"
    return (f"{label:<28} {r['startup']:8.3f} s {r['grabs'] / r['seconds']:8.1f} {fresh:>10}"
            f" {r['cpu'] / r['seconds']:10.3f} {r['server_cpu'] / r['seconds']:12.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", default="10,30")
    parser.add_argument("--parts", default="capture,record")
    args = parser.parse_args()
    rates = [int(x) for x in args.fps.split(",")]
    parts = set(args.parts.split(","))
    print(f"capture {SIZE[0]}x{SIZE[1]}, {args.seconds:g} s per run, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}")
    t0 = time.monotonic()
    lines = []
    records = []
    with tempfile.TemporaryDirectory(prefix="traycap-bench-wayland-") as tmp, wayland_desktop() as desk:
        lines.append(f"(the Wayland desktop came up in {time.monotonic() - t0:.2f} s)")
        for fps in rates:
            if "capture" in parts:
                lines.append(row(f"wayland portal {fps} fps, moving", wayland_run(desk, args.seconds, fps, True)))
                lines.append(row(f"wayland portal {fps} fps, still", wayland_run(desk, args.seconds, fps, False)))
            if "record" in parts:
                records.append(record_row("Wayland portal", wayland_record(desk, args.seconds, fps), fps))
                records.append(record_row("X11 mss (Xvfb)", x11_record(args.seconds, fps, Path(tmp)), fps))
                print(f"... record {fps} fps done (load {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
    if "capture" in parts:
        for fps in rates:
            lines.append(row(f"x11 mss {fps} fps, moving", x11_run(args.seconds, fps)))
        print(f"{'':<28} {'1st frame':>10} {'fps':>8} {'new fps':>10} {'CPU cores':>10} {'server cores':>12}")
        for line in lines:
            print(line)
        print("CPU cores: the capturing process, per second of capture. server: sway + xdg-desktop-portal-wlr "
              "(Wayland) or Xvfb (X11), whole run.")
    if records:
        print(f"\n`traycap record`, a counter printed 10 times a second (load now {os.getloadavg()[0]:.2f})")
        print("| capture | fps asked | start to recording | fps achieved | dropped | cores (steady) | ms CPU/frame "
              "| server cores |")
        print("|---|---|---|---|---|---|---|---|")
        for line in records:
            print(line)
        print("server: sway + PipeWire + xdg-desktop-portal-wlr (Wayland) or Xvfb (X11), same span.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
