"""What do excluded apps and the OS keyring cost?

  * focus query (excluded apps): one X11 "which window has focus, its class and
    title" on Xvfb with a Tk window focused — the cost each key, click and video
    frame pays when excludedApps is set (median and p99 of --queries);
  * keyring: `traycap config show` wall time with secrets in a real Secret
    Service (gnome-keyring-daemon on a dbus-run-session bus), with the keyring
    turned off (file), and on a headless box (TRAYCAP_KEYRING=auto, no bus);
    each the median of --runs.

    python bench/privacy.py [--queries 2000] [--runs 5]

Prints figures; exit status 0 either way (figures are for people, behaviour is for tests).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.display import xvfb
from tests.support.secret_service import secret_service
from tests.support.waiting import stop_process, wait_until
from traycap.recorder.focus.x11 import X11Focus

SECRET = "bench-secret-value-0123456789"


def focus_query(queries: int) -> None:
    with xvfb(800, 600) as display:
        code = "import tkinter as tk; r = tk.Tk(className='KeePassXC'); r.title('Vault'); r.mainloop()"
        window = subprocess.Popen([sys.executable, "-c", code], env=display.env)
        try:
            wid = wait_until("the Tk window", lambda: display.run(
                "xdotool", "search", "--onlyvisible", "--name", "^Vault$", check=False).stdout.split())[0]
            display.run("xdotool", "windowfocus", "--sync", wid)
            backend = X11Focus(display.name)
            times = []
            for _ in range(queries):
                t0 = time.perf_counter()
                backend.active_window()
                times.append((time.perf_counter() - t0) * 1000)
            backend.close()
        finally:
            stop_process(window)
    times.sort()
    print(f"X11 focus query ({queries}): median {statistics.median(times):.3f} ms, "
          f"p99 {times[int(len(times) * 0.99)]:.3f} ms")


def config_show(env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "traycap", "config", "show"], env=env, capture_output=True,
                              text=True, timeout=60, check=False)
        times.append((time.perf_counter() - t0) * 1000)
        assert done.returncode == 0, done.stderr
    return statistics.median(times)


def keyring(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")}
        base["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        with secret_service(Path(tmp) / "desktop") as service:
            for name, extra in (("keyring", {**service.env, "TRAYCAP_KEYRING": "auto"}),
                                ("file (TRAYCAP_KEYRING=off)", {"TRAYCAP_KEYRING": "off"})):
                env = {**base, **extra, "TRAYCAP_HOME": str(Path(tmp) / name.split()[0])}
                subprocess.run([sys.executable, "-m", "traycap", "config", "set", "bucket=bench-bucket",
                                "region=us-east-1", "accessKeyId=AKIABENCH", "secretAccessKey=-"],
                               input=SECRET + "\n", env=env, capture_output=True, text=True, timeout=60, check=True)
                print(f"config show, secret in {name}: median {config_show(env, runs):.0f} ms")
        runtime = Path(tmp) / "no-bus"
        runtime.mkdir(mode=0o700)
        env = {**base, "TRAYCAP_KEYRING": "auto", "XDG_RUNTIME_DIR": str(runtime),
               "TRAYCAP_HOME": str(Path(tmp) / "file")}
        print(f"config show, headless (auto, no session bus): median {config_show(env, runs):.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    focus_query(args.queries)
    keyring(args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
