"""Tray app speed with 1,000 sessions on disk.

(a) start-up: from spawning `traycap` to its icon window docked in trayer's
    panel (polled with xwininfo under Xvfb), and to the "traycap is ready" log
    line (orphan cleanup, recovery, queue restore, listing, hotkey done).
    Median of N runs; target < 1.5 s to the icon.
(b) opening the menu: building the AppView from the session cache, the menu
    model and the pystray menu (what update_menu hands to GTK), in this process
    with 1,000 sessions; median of M runs; target < 100 ms. Also the first
    build after a cold SessionStore.list(), and the time from an xdotool
    right-click to the GTK menu window being viewable in the real app.

Needs Xvfb, trayer, xdotool, xwininfo, dbus-run-session (see docs/tray.md).
Prints the figures; exit status 0 either way (tests check behaviour).

    python bench/tray.py [--sessions 1000] [--runs 5] [--menu-runs 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.list_sessions import populate
from tests.support.tray_host import TrayHost, tray_host, wait_until

TARGET_START_S = 1.5
TARGET_MENU_MS = 100.0


def start_once(host: TrayHost, home: Path, n: int) -> tuple[float, float, float]:
    """(seconds to icon docked, seconds to ready log line, seconds right-click -> menu viewable)."""
    log = home / "logs" / "traycap.log"
    log.unlink(missing_ok=True)
    t0 = time.monotonic()
    wall0 = time.time()
    proc = host.spawn(host.traycap_argv(), home, f"traycap-{n}.out")
    try:
        icon = wait_until("the icon", lambda: host.icon_window("traycap"), 30, interval=0.01)
        t_icon = time.monotonic() - t0
        line = wait_until("ready", lambda: next((ln for ln in _lines(log) if "traycap is ready" in ln), None), 60)
        stamp = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")) + int(line[20:23]) / 1000
        t_ready = stamp - wall0
        host.last_ready_line = line  # type: ignore[attr-defined]
        c0 = time.monotonic()
        host.click(icon.center, button=3)
        wait_until("the menu", lambda: host.popup_windows(), 15, interval=0.005)
        t_menu = time.monotonic() - c0 - 0.1  # click() waits 0.1 s between move and click
        host.key("Escape")
        return t_icon, t_ready, t_menu
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except OSError:
        return []


def menu_build(home: Path, display_env: dict[str, str], runs: int) -> tuple[float, float, float, int]:
    """(cold list ms, first build ms, median build ms, sessions) in this process."""
    os.environ.update({k: display_env[k] for k in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS")})
    from traycap.paths import Paths
    from traycap.storage.session_store import SessionStore
    from traycap.ui.menu import AppView, build_menu
    from traycap.ui.session_cache import SessionCache
    from traycap.ui.tray import Tray

    store = SessionStore(Paths(root=home, logs=home / "logs"))
    cache = SessionCache()
    t = time.perf_counter()
    cache.replace_all(store.list().items)
    cold_list = (time.perf_counter() - t) * 1000
    tray = Tray(lambda action: None)

    def build() -> float:
        t = time.perf_counter()
        pending, failed = cache.counts()
        view = AppView(recent=cache.recent(10), pending_count=pending, failed_count=failed)
        tray.to_pystray(build_menu(view))
        return (time.perf_counter() - t) * 1000

    first = build()
    times = [build() for _ in range(runs)]
    return cold_list, first, statistics.median(times), len(cache)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--menu-runs", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="traycap-bench-tray-"))
    try:
        home = tmp / "home"
        populate(home, args.sessions)
        print(f"{args.sessions} sessions in {home}")
        with tray_host(tmp / "desktop") as host:
            results = [start_once(host, home, i) for i in range(args.runs)]
            icon_s = statistics.median(r[0] for r in results)
            ready_s = statistics.median(r[1] for r in results)
            click_ms = statistics.median(r[2] for r in results) * 1000
            last_ready = str(getattr(host, "last_ready_line", ""))
            cold, first, build_ms, n = menu_build(home, host.env, args.menu_runs)
        verdict = "ok" if icon_s < TARGET_START_S else "SLOWER THAN TARGET"
        print(f"start-up to icon docked:   {icon_s:.3f} s median of {args.runs} "
              f"(target < {TARGET_START_S} s: {verdict}); runs: {', '.join(f'{r[0]:.3f}' for r in results)}")
        print(f"start-up to ready:         {ready_s:.3f} s median (cleanup, recovery, restore, list, hotkey)")
        print(f"  last run's steps: {last_ready.split('hotkey <ctrl>+<shift>+r ')[-1]}")
        verdict = "ok" if build_ms < TARGET_MENU_MS else "SLOWER THAN TARGET"
        print(f"menu build with {n} sessions: {build_ms:.2f} ms median of {args.menu_runs} "
              f"(target < {TARGET_MENU_MS:.0f} ms: {verdict}); first build {first:.2f} ms")
        print(f"cold SessionStore.list():  {cold:.1f} ms (start-up and the 60 s re-list only)")
        print(f"right-click to menu shown: {click_ms:.0f} ms median (real app, GTK, xwininfo polling)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
