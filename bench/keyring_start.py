"""Start-up with a locked OS keyring (issue 24): how soon the tray and `traycap record` are there.

On a real gnome-keyring (tests/support/secret_service.py) whose login keyring is locked, with an
unlock prompt able to open on the display, and the upload secret in the 0600 file, as a user with
a non-GNOME desktop has it. For each run, from spawning the process:
- tray: to its icon docked in trayer (polled with xwininfo every 10 ms) and to the log's
  "traycap is ready" line (hotkey registered, menu built);
- record: to the first frame's wallMs in the bundle (`traycap record --duration 1`).
Also counts the Unlock calls and Prompt messages on the bus (dbus-monitor): 0 means no prompt.
The same with TRAYCAP_KEYRING=off ("as without a keyring") for comparison. Medians of N runs.

    python bench/keyring_start.py [--runs 3]

Needs what the keyring and tray tests need (scripts/setup.sh test). Prints the figures; exit status 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.secret_service import secret_service, watch_secret_service
from tests.support.sessions import write_config
from tests.support.tray_host import TrayHost, tray_host
from tests.support.waiting import stop_process, wait_until
from traycap.paths import Paths


def ready_stamp(log: Path, since: float) -> float | None:
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        if "traycap is ready" in line:
            stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            if stamp >= since - 0.002:
                return stamp
    return None


def tray_once(host: TrayHost, env: dict[str, str], paths: Paths, n: int) -> tuple[float, float]:
    started = time.time()
    out = (host.tmp / f"tray-{n}.out").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "traycap"], env=env, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    try:
        wait_until("the icon", lambda: host.icon_window("traycap"), 60, interval=0.01)
        icon = time.time() - started
        ready = wait_until("ready", lambda: ready_stamp(paths.logs / "traycap.log", started), 60) - started
        return icon, ready
    finally:
        stop_process(proc)


def record_once(env: dict[str, str], paths: Paths) -> float:
    started = time.time()
    done = subprocess.run([sys.executable, "-m", "traycap", "record", "--duration", "1"], env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    sid = done.stdout.split()[-1]
    with zipfile.ZipFile(paths.session_dir(sid) / f"{sid}.zip") as zf:
        frames = json.loads(zf.read("video/frames.json"))
    first = frames[0] if isinstance(frames, list) else frames["frames"][0]
    return float(first["wallMs"]) / 1000 - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="traycap-keyring-start-"))
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {args.runs} runs each")
    with secret_service(tmp / "keyring") as service, \
            tray_host(tmp / "desk", bus_address=service.env["DBUS_SESSION_BUS_ADDRESS"]) as host:
        monitor = watch_secret_service(host)
        service.lock()
        service.run("dbus-update-activation-environment", f"DISPLAY={host.display.name}")
        for mode in ("auto", "off"):
            home = tmp / f"home-{mode}"
            paths = Paths(root=home, logs=home / "logs").ensure()
            write_config(paths)  # the secret in the 0600 file
            env = {k: v for k, v in host.env.items() if not k.startswith("AWS_")}
            env.update({**service.env, "TRAYCAP_HOME": str(home), "TRAYCAP_KEYRING": mode})
            before = monitor.read_text(errors="replace")
            trays = [tray_once(host, env, paths, n) for n in range(args.runs)]
            records = [record_once(env, paths) for _ in range(args.runs)]
            traffic = monitor.read_text(errors="replace")[len(before):]
            label = "locked keyring" if mode == "auto" else "TRAYCAP_KEYRING=off"
            print(f"{label:>20}: tray icon {statistics.median(t[0] for t in trays):.2f} s "
                  f"(max {max(t[0] for t in trays):.2f}), ready {statistics.median(t[1] for t in trays):.2f} s "
                  f"(max {max(t[1] for t in trays):.2f}); record's first frame {statistics.median(records):.2f} s "
                  f"(max {max(records):.2f}); Unlock calls {traffic.count('member=Unlock')}, "
                  f"Prompt messages {traffic.count('interface=org.freedesktop.Secret.Prompt')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
