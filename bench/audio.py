"""What sound costs and how well it keeps time (issue 23).

  * CPU and memory added by audio: the same `traycap record --duration S` on Xvfb (1280x720, a
    moving box redrawn by xdotool-free Tk is not needed: the screen changes every frame through a
    test pattern window) run with audio=none and with audio=mic, the microphone a PulseAudio pipe
    source (tests/support/pulse.py) playing speech-like noise bursts; CPU seconds (user+sys) and peak
    RSS of the recorder process (wait4's rusage), the bundle's size per minute.
  * Sync: during the mic run, a click (XTEST, from here) every 3 s with a beep played into the
    microphone at that same moment; beep onset in the decoded track minus the click's action time.
  * Drift: the sound thread (recorder/audio.py) on the injected clock for an hour of a device whose
    sample clock runs 0.1 % fast (and slow), delivering 10-ms blocks up to 20 ms late: the worst
    distance of a burst (one a minute) from where it belongs, and the track's end against the clock.

    PYTHONPATH=. python bench/audio.py [--seconds 60] [--skip-drift]

Prints figures; exit status 0 either way (figures are for people, behaviour is for tests).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from tests.support.display import XDisplay, xvfb
from tests.support.pulse import PulseServer, pulse_server, tone
from tests.support.recording import start_record

RATE = 48_000


def _moving_window(display: XDisplay) -> subprocess.Popen[bytes]:
    """A window whose content changes every frame (so the video encoder works as on a real desktop)."""
    code = ("import tkinter as tk\nroot = tk.Tk(); root.geometry('1280x720+0+0')\n"
            "c = tk.Canvas(root, width=1280, height=720, bg='white'); c.pack()\n"
            "box = c.create_rectangle(0, 300, 120, 420, fill='red')\n"
            "txt = c.create_text(640, 100, text='', font=('', 28))\n"
            "n = [0]\n"
            "def tick():\n    n[0] += 1; c.coords(box, (n[0] * 7) % 1160, 300, (n[0] * 7) % 1160 + 120, 420)\n"
            "    c.itemconfigure(txt, text='frame %d' % n[0]); root.after(33, tick)\n"
            "tick(); root.mainloop()\n")
    return subprocess.Popen([sys.executable, "-c", code], env=display.env)


def _run(display: XDisplay, pulse: PulseServer, home: Path, seconds: float, audio: str,
         clicks: bool) -> dict[str, Any]:
    home.mkdir(parents=True)
    (home / "app-settings.json").write_text(json.dumps({"fps": 15, "screenshotIntervalS": 5, "audio": audio,
                                                        "audioDevice": "BenchMic" if audio != "none" else ""}))
    env = {**display.env, **pulse.env, "TRAYCAP_KEYRING": "off", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    rec = start_record(env, home, "--duration", str(seconds))
    proc = rec.proc
    rec.wait_ready(60)
    clicked: list[float] = []
    if clicks:
        from Xlib import X
        from Xlib import display as xdisplay
        from Xlib.ext import xtest

        mic = pulse.feeds[0]
        x = xdisplay.Display(display.name)
        first = time.monotonic() + 2.0
        at = first
        while at < first + seconds - 4:
            mic.play_at(at, tone(0.1, 1000, 0.6))
            time.sleep(max(0.0, at - time.monotonic()))
            xtest.fake_input(x, X.ButtonPress, 1)
            x.sync()
            xtest.fake_input(x, X.ButtonRelease, 1)
            x.sync()
            clicked.append(at)
            at += 3.0
        x.close()
    _pid, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().strip() if proc.stdout else ""
    session = home / "sessions" / out
    zip_path = next(session.glob("*.zip"))
    result = {"cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
              "zip_mb_min": zip_path.stat().st_size / 1e6 / (seconds / 60), "status": status, "session": session,
              "zip": zip_path, "clicked": clicked, "stderr": "".join(rec.stderr_lines)}
    return result


def _sync(result: dict[str, Any]) -> list[float]:
    import av

    with zipfile.ZipFile(result["zip"]) as z:
        info = json.loads(z.read("session.json"))
        actions = json.loads(z.read("actions.json"))
        frames = json.loads(z.read("video/frames.json"))
        data = z.read("video/screen.mp4")
    with av.open(io.BytesIO(data)) as c:
        sound = np.concatenate([f.to_ndarray()[0] for f in c.decode(c.streams.audio[0])])
    first_t = frames[0]["t"]
    downs = [a["t"] for a in actions if a["type"] == "mouse_down"]
    offsets = []
    for click_t in downs:
        start = max(0, round((click_t - 500 - first_t) / 1000 * RATE))
        loud = np.flatnonzero(np.abs(sound[start:start + RATE]) > 0.2)
        if len(loud):
            offsets.append(first_t + (start + int(loud[0])) / RATE * 1000 - click_t)
    del info
    return offsets


def _drift(speed: float, minutes: int) -> tuple[float, float]:
    from traycap.clock import FakeClock
    from traycap.media.sound.synthetic import Burst, SyntheticSound
    from traycap.recorder.audio import AudioLoop

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))
    from test_recorder_audio import Lines, Rec  # the unit test's stand-ins for Recording and the encoder

    clock = FakeClock()
    origin = clock.monotonic()
    bursts = tuple(Burst(origin + 60.0 * k + 0.5, 0.05) for k in range(minutes + 1))
    source = SyntheticSound(clock, speed=speed, block=480, bursts=bursts, jitter_s=0.02)
    rec = Rec(clock)
    loop = AudioLoop(rec, clock, [source], Lines(), warn=lambda e: None, fps=15)  # type: ignore[arg-type]
    while clock.monotonic() < origin + minutes * 60 + 1:
        loop.step(0.05)
    errors = [(at / RATE - (60.0 * k + 0.5)) * 1000 for k, at in enumerate(rec.encoder.onsets)]
    lag = ((clock.monotonic() - origin) - rec.encoder.samples / RATE) * 1000
    return max(abs(e) for e in errors), lag


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--skip-drift", action="store_true")
    args = parser.parse_args()
    seconds = args.seconds
    load = os.getloadavg()
    print(f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp_name, xvfb(1280, 720) as display, \
            pulse_server(Path(tmp_name) / "pulse") as pulse:
        tmp = Path(tmp_name)
        mic = pulse.microphone("BenchMic", block=960)  # 20-ms blocks: what a device gives for traycap's fragment
        hum = tone(1.0, 220, 0.05)  # a quiet hum, a second of every two: something to encode
        for k in range(int(2 * seconds) + 20):
            mic.play_at(time.monotonic() + 1 + 2 * k, hum)
        window = _moving_window(display)
        try:
            runs = {}
            for audio in ("none", "mic"):
                runs[audio] = _run(display, pulse, tmp / audio, seconds, audio, clicks=audio == "mic")
        finally:
            window.kill()
            window.wait()
        report(runs, seconds)
    if not args.skip_drift:
        for speed in (1.001, 0.999):
            t0 = time.process_time()
            worst, lag = _drift(speed, 60)
            print(f"drift, 1 h simulated, device clock x{speed}: worst burst {worst:.1f} ms from its place, "
                  f"track end {lag:+.1f} ms behind the clock ({time.process_time() - t0:.1f} s CPU to simulate)")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return 0


def report(runs: dict[str, dict[str, Any]], seconds: float) -> None:
    print(f"\n{seconds:.0f} s at 1280x720, 15 fps, a moving window; the recorder process (wait4 rusage):")
    print("| audio | CPU s | cores | peak RSS MB | bundle MB/min |")
    print("|---|---|---|---|---|")
    for name, r in runs.items():
        cores = r["cpu_s"] / seconds
        print(f"| {name} | {r['cpu_s']:.1f} | {cores:.3f} | {r['rss_mb']:.0f} | {r['zip_mb_min']:.2f} |")
    added = runs["mic"]["cpu_s"] - runs["none"]["cpu_s"]
    print(f"added by the microphone: {added:+.1f} CPU s ({added / seconds * 100:+.1f} % of a core), "
          f"{runs['mic']['rss_mb'] - runs['none']['rss_mb']:+.0f} MB peak RSS")
    offsets = _sync(runs["mic"])
    if offsets:
        print(f"\nsync: beep onset minus click time over {len(offsets)} clicks: median "
              f"{float(np.median(offsets)):+.1f} ms, min {min(offsets):+.1f}, max {max(offsets):+.1f} ms")
    facts = json.loads(zipfile.ZipFile(runs["mic"]["zip"]).read("session.json"))["audio"]
    print(f"session.json audio.sync: {facts.get('sync')}")


if __name__ == "__main__":
    sys.exit(main())
