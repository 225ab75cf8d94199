"""Live settings: what following the settings files costs, and how fast a change shows.

(a) SettingsWatch.poll() when nothing changed (two stat calls): median of N.
(b) the work of one idle pass of the tray's UI thread (TrayApp.ui_step): the
    settings poll, then the AppView, menu model, icon spec and tooltip built
    from a TrayModel holding 1,000 sessions (the pystray call is skipped: it
    does nothing when the menu is unchanged): median of N. It runs about once
    a second while idle.
(c) the real tray under Xvfb/trayer: an atomic save of app-settings.json with a
    new hotkey (what `traycap config set` does) until the tray's menu shows it
    (its DEBUG log line), M times; target < 2 s each.

Prints the figures; exit status 0 either way (tests check behaviour).

    python bench/live_settings.py [--sessions 1000] [--runs 2000] [--changes 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.list_sessions import populate
from tests.support.tray_host import tray_host, wait_until
from traycap.clock import SystemClock
from traycap.context import make_context
from traycap.models import AppSettings
from traycap.paths import Paths
from traycap.storage.config_store import save_settings
from traycap.storage.settings_watch import SettingsWatch
from traycap.tray.view import TrayModel
from traycap.ui.menu import build_menu, icon_spec, tooltip

TARGET_S = 2.0


def poll_cost(home: Path, runs: int) -> float:
    paths = Paths(root=home, logs=home / "logs")
    watch = SettingsWatch((paths.config, paths.settings), SystemClock(), interval_s=0.0)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        watch.poll()
        times.append((time.perf_counter() - t) * 1e6)
    return statistics.median(times)


def ui_step_cost(home: Path, runs: int) -> tuple[float, int]:
    ctx = make_context(Paths(root=home, logs=home / "logs"), SystemClock())
    model = TrayModel(ctx)
    model.relist()
    watch = SettingsWatch((ctx.paths.config, ctx.paths.settings), ctx.clock, interval_s=0.0)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        watch.poll()
        view = model.view()
        build_menu(view), icon_spec(view), tooltip(view)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), len(model.cache)


def menu_lines(log: Path) -> list[str]:
    try:
        return [ln for ln in log.read_text(errors="replace").splitlines() if "menu: Start recording (" in ln]
    except OSError:
        return []


def change_latencies(home: Path, tmp: Path, changes: int) -> list[float]:
    paths = Paths(root=home, logs=home / "logs")
    log = paths.logs / "traycap.log"
    out = []
    with tray_host(tmp / "desktop") as host:
        proc = host.spawn(host.traycap_argv("--log-level", "DEBUG"), home, "traycap.out")
        try:
            wait_until("the icon", lambda: host.icon_window("traycap"), 30)
            wait_until("ready", lambda: "traycap is ready" in log.read_text(errors="replace"), 60)
            for n in range(changes):
                key = f"F{n % 12 + 1}"
                save_settings(paths.settings, AppSettings(hotkey=f"<alt>+<{key.lower()}>"))
                t0 = time.monotonic()
                wait_until(f"the menu to show Alt+{key}",
                           lambda k=key: any(f"(Alt+{k})" in ln for ln in menu_lines(log)[-1:]), 10, interval=0.005)
                out.append(time.monotonic() - t0)
                time.sleep(0.3)  # let the hotkey registration settle before the next change
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="traycap-bench-live-"))
    try:
        home = tmp / "home"
        populate(home, args.sessions)
        save_settings(Paths(root=home, logs=home / "logs").settings, AppSettings())
        print(f"settings poll, nothing changed: {poll_cost(home, args.runs):.1f} µs median of {args.runs}")
        step_ms, n = ui_step_cost(home, max(50, args.runs // 10))
        print(f"idle UI pass (poll + view + menu model), {n} sessions: {step_ms:.3f} ms median "
              f"(about once a second while idle)")
        latencies = change_latencies(home, tmp, args.changes)
        verdict = "ok" if max(latencies) < TARGET_S else "SLOWER THAN TARGET"
        print(f"save -> tray menu shows it: median {statistics.median(latencies):.2f} s, "
              f"max {max(latencies):.2f} s over {len(latencies)} changes (target < {TARGET_S:.0f} s: {verdict})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
