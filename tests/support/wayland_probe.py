"""Runs traycap's Wayland capture inside the test desktop, as its user, and answers in JSON lines.

tests/support/wayland.py copies this file next to a copy of `traycap` and runs it with the
system python3 (python3-gi, python3-numpy) as the desktop's user; the test reads the last JSON
line (or each line, for the commands that report while they run). A TraycapError is an answer
({"error": class, "message", "hint", "step"}), not a failure: the tests check the messages.

    caps                                   what the ScreenCast portal offers
    record --data D --out O --seconds S --fps F [--grim-every G]
                                           grab on the recorder's grid; screenshots with grim while
                                           recording; saves the frames that arrived around each one
    open --data D                          one session: start, first frame, close
    stall --data D --fps F --before B --stall S --after A
                                           grab, stop grabbing (holding frames) for S s, grab again
    until-lost --data D                    grab until the stream ends (the test ends it)
    idle-start --data D                    start on a screen that does not change; wait for its first image
    bench --data D --seconds S --fps F     start-up to first frame, fps, CPU
    tray-menu                              the tray items on the desktop's StatusNotifierWatcher and the
                                           first one's menu, as a tray host reads it (dbusmenu)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from traycap.clock import SystemClock
from traycap.errors import TraycapError
from traycap.media.capture.portal_screen import PortalScreen, open_portal_screen
from traycap.portal.dbus import GioBus
from traycap.portal.restore_token import RestoreTokenStore
from traycap.portal.screencast import ScreenCastPortal
from traycap.recorder.timing import FrameScheduler

WINDOW_S = 0.5  # frames that arrived this close to a screenshot are compared with it


def say(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


def error_answer(exc: TraycapError) -> dict[str, Any]:
    return {"error": type(exc).__name__, "message": exc.message, "hint": exc.hint,
            "step": getattr(exc, "step", None)}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def digest(image: Any) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=8).hexdigest()


class WatchedScreen(PortalScreen):
    """A PortalScreen that also keeps the last images that arrived, whether a grab took them or not."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: list[tuple[float, Any]] = []
        self._arrivals_lock = threading.Lock()

    def put(self, image: Any) -> None:
        super().put(image)
        with self._arrivals_lock:
            self.arrivals = [*self.arrivals[-30:], (time.monotonic(), image)]

    def arrived_between(self, t0: float, t1: float) -> list[tuple[float, Any]]:
        with self._arrivals_lock:
            return [(t, img) for t, img in self.arrivals if t0 <= t <= t1]


def started(args: argparse.Namespace, clock: SystemClock) -> tuple[PortalScreen, float]:
    if getattr(args, "watch", False):
        bus = GioBus()
        screen: PortalScreen = WatchedScreen(ScreenCastPortal(bus, RestoreTokenStore.in_dir(Path(args.data))), clock,
                                             max_fps=args.fps, bus=bus)
    else:
        screen = open_portal_screen(Path(args.data), clock, max_fps=args.fps)
    t0 = clock.monotonic()
    screen.start()
    return screen, clock.monotonic() - t0


def cmd_caps(_args: argparse.Namespace) -> dict[str, Any]:
    bus = GioBus()
    try:
        caps = ScreenCastPortal(bus, None).capabilities()
    finally:
        bus.close()
    cursor = caps.cursor_mode()
    return {"version": caps.version, "sourceTypes": int(caps.source_types), "cursorModes": int(caps.cursor_modes),
            "cursorMode": int(cursor) if cursor is not None else None, "persists": caps.persists,
            "offersWindow": caps.offers_window}


def cmd_record(args: argparse.Namespace) -> dict[str, Any]:
    clock = SystemClock()
    out = Path(args.out)
    args.watch = True
    screen, startup = started(args, clock)
    assert isinstance(screen, WatchedScreen)
    grabs: list[dict[str, Any]] = []
    shots: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []  # screenshots whose neighbouring frames are not saved yet

    def save_around(shot: dict[str, Any]) -> None:
        for arrived, image in screen.arrived_between(shot["t0"] - WINDOW_S, shot["t1"] + WINDOW_S):
            path = out / f"frame-{int(arrived * 1e6)}.npy"
            if not path.exists():
                np.save(path, np.ascontiguousarray(image))
            shot["frames"].append({"path": str(path), "arrived": arrived})

    try:
        if args.damage_output:
            # One change once the cast runs: its first image. (A change made before the cast started can be taken
            # by the portal backend's previous cast, still going away, leaving the new one nothing to send.)
            subprocess.run(["swaymsg", "output", args.damage_output, "bg", "#233443", "solid_color"], check=True,
                           capture_output=True, timeout=30)
        begin = clock.monotonic()
        sched = FrameScheduler(args.fps, begin)
        next_shot = begin + args.grim_every if args.grim_every else None
        while clock.monotonic() - begin < args.seconds:
            delay = sched.next_due() - clock.monotonic()
            if delay > 0:
                clock.sleep(delay)
            frame = screen.take()
            sched.captured(clock.monotonic())
            if frame is not None:
                grabs.append({"t": frame.t, "arrived": frame.arrived_t, "fresh": frame.fresh, "seq": frame.seq,
                              "digest": digest(frame.image)})
            now = clock.monotonic()
            for shot in [s for s in pending if now > s["t1"] + WINDOW_S]:
                save_around(shot)
                pending.remove(shot)
            if next_shot is not None and now >= next_shot:
                path = out / f"grim-{len(shots)}.ppm"
                t0 = clock.monotonic()
                subprocess.run(["grim", "-t", "ppm", str(path)], check=True, timeout=30)
                t1 = clock.monotonic()
                shots.append({"path": str(path), "t0": t0, "t1": t1, "frames": []})
                pending.append(shots[-1])
                next_shot = t1 + args.grim_every
        for shot in pending:
            save_around(shot)
    finally:
        screen.close()
    return {"startup": startup, "grabs": grabs, "shots": shots, "describe": screen.describe(),
            "received": screen.latest.received, "repeated": screen.latest.repeated,
            "cursor": screen.capabilities.cursor, "remembersChoice": screen.capabilities.remembers_choice,
            "begin": begin, "end": clock.monotonic()}


def cmd_open(args: argparse.Namespace) -> dict[str, Any]:
    clock = SystemClock()
    screen, startup = started(args, clock)
    try:
        frame = screen.take()
        token_file = Path(args.data) / "wayland-restore-token.json"
        return {"ok": True, "startup": startup, "width": screen.width, "height": screen.height,
                "persisted": screen.capabilities.remembers_choice,
                "digest": digest(frame.image) if frame is not None else None,
                "token": json.loads(token_file.read_text())["restoreToken"] if token_file.exists() else None}
    finally:
        screen.close()


def cmd_stall(args: argparse.Namespace) -> dict[str, Any]:
    clock = SystemClock()
    screen, startup = started(args, clock)
    held: list[Any] = []
    try:
        phases: dict[str, dict[str, Any]] = {}
        for phase, seconds, grabbing in (("before", args.before, True), ("stall", args.stall, False),
                                         ("after", args.after, True)):
            received0 = screen.latest.received
            fresh = 0
            say({"event": f"{phase}_begin", "t": clock.monotonic()})
            end = clock.monotonic() + seconds
            while clock.monotonic() < end:
                frame = screen.take() if grabbing else None
                if frame is not None:
                    fresh += frame.fresh
                    held = [*held[-30:], frame.image]  # a consumer that keeps what it took costs nothing upstream
                clock.sleep(1 / args.fps)
            phases[phase] = {"received": screen.latest.received - received0, "fresh": fresh}
            say({"event": f"{phase}_end", "t": clock.monotonic()})
    finally:
        screen.close()
    return {"startup": startup, "phases": phases, "held": len(held)}


def cmd_until_lost(args: argparse.Namespace) -> dict[str, Any]:
    clock = SystemClock()
    screen, startup = started(args, clock)
    grabs = 0
    try:
        say({"event": "started", "startup": startup})
        deadline = clock.monotonic() + args.timeout
        while clock.monotonic() < deadline:
            try:
                screen.grab()  # None or a frame: either way the stream still runs
            except TraycapError as exc:
                return {"lost": True, "grabs": grabs, **error_answer(exc)}
            grabs += 1
            clock.sleep(0.1)
        return {"lost": False, "grabs": grabs}
    finally:
        screen.close()


def cmd_idle_start(args: argparse.Namespace) -> dict[str, Any]:
    """A cast of a screen that was just cast and has not changed: it starts; its first image comes with a change."""
    clock = SystemClock()
    drain, _startup = started(args, clock)  # takes whatever change is pending
    drain.close()
    screen, startup = started(args, clock)
    try:
        first = screen.take()
        say({"event": "started", "image": first is not None, "width": screen.width, "height": screen.height})
        t0 = clock.monotonic()
        while clock.monotonic() - t0 < args.timeout:
            frame = screen.take()
            if frame is not None:
                return {"startup": startup, "image": True, "after": clock.monotonic() - t0, "fresh": frame.fresh,
                        "shape": list(frame.image.shape)}
            clock.sleep(0.05)
        return {"startup": startup, "image": False}
    finally:
        screen.close()


def cmd_bench(args: argparse.Namespace) -> dict[str, Any]:
    clock = SystemClock()
    cpu0, wall0 = cpu_seconds(), clock.monotonic()
    screen, startup = started(args, clock)
    try:
        cpu1, begin = cpu_seconds(), clock.monotonic()
        sched = FrameScheduler(args.fps, begin)
        grabs = fresh = 0
        received0 = screen.latest.received
        while clock.monotonic() - begin < args.seconds:
            delay = sched.next_due() - clock.monotonic()
            if delay > 0:
                clock.sleep(delay)
            frame = screen.take()
            grabs += 1
            fresh += frame is not None and frame.fresh
            sched.captured(clock.monotonic())
        wall = clock.monotonic() - begin
        return {"startup": startup, "startup_cpu": cpu1 - cpu0, "start_wall": begin - wall0, "seconds": wall,
                "grabs": grabs, "fresh": fresh, "received": screen.latest.received - received0,
                "dropped": sched.dropped, "cpu": cpu_seconds() - cpu1, "width": screen.width,
                "height": screen.height}
    finally:
        screen.close()


def cmd_tray_menu(_args: argparse.Namespace) -> dict[str, Any]:
    """The tray items registered with the desktop's StatusNotifierWatcher (swaybar here), and the first one's menu
    as a host shows it (com.canonical.dbusmenu GetLayout): labels, each "(label)" when disabled."""
    import gi

    gi.require_version("Gio", "2.0")
    from gi.repository import Gio, GLib

    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)

    def call(dest: str, path: str, iface: str, method: str, params: Any, reply: str) -> Any:
        return bus.call_sync(dest, path, iface, method, params, GLib.VariantType(reply), Gio.DBusCallFlags.NONE,
                             5000, None).unpack()

    (items,) = call("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher", "org.freedesktop.DBus.Properties",
                    "Get", GLib.Variant("(ss)", ("org.kde.StatusNotifierWatcher", "RegisteredStatusNotifierItems")),
                    "(v)")
    if not items:
        return {"items": [], "menu": []}
    service, _, path = items[0].partition("/")
    props = {}
    for name in ("Title", "Status", "Menu", "IconName"):
        (props[name],) = call(service, "/" + path, "org.freedesktop.DBus.Properties", "Get",
                              GLib.Variant("(ss)", ("org.kde.StatusNotifierItem", name)), "(v)")
    _revision, layout = call(service, props["Menu"], "com.canonical.dbusmenu", "GetLayout",
                             GLib.Variant("(iias)", (0, -1, ["label", "enabled", "type", "visible"])), "(u(ia{sv}av))")

    def labels(node: Any) -> list[Any]:
        out: list[Any] = []
        for child in node[2]:
            _id, child_props, _children = child
            if child_props.get("type") == "separator" or child_props.get("visible") is False:
                continue
            label = str(child_props.get("label", "")).replace("_", "")
            out.append(label if child_props.get("enabled", True) else f"({label})")
            if child[2]:
                out.append(labels(child))
        return out

    return {"items": list(items), "title": props["Title"], "status": props["Status"], "menu": labels(layout)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="wayland_probe")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("caps")
    sub.add_parser("tray-menu")
    for name in ("record", "open", "stall", "until-lost", "bench", "idle-start"):
        p = sub.add_parser(name)
        p.add_argument("--data", required=True)
        p.add_argument("--fps", type=int, default=10)
        if name in ("record", "bench"):
            p.add_argument("--seconds", type=float, default=3.0)
        if name == "record":
            p.add_argument("--out", required=True)
            p.add_argument("--grim-every", type=float, default=0.0)
            p.add_argument("--damage-output", default="", help="change this output's background once the cast runs")
        if name == "stall":
            p.add_argument("--before", type=float, default=0.5)
            p.add_argument("--stall", type=float, default=2.0)
            p.add_argument("--after", type=float, default=1.0)
        if name in ("until-lost", "idle-start"):
            p.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args(argv)
    commands = {"caps": cmd_caps, "record": cmd_record, "open": cmd_open, "stall": cmd_stall,
                "until-lost": cmd_until_lost, "bench": cmd_bench, "idle-start": cmd_idle_start,
                "tray-menu": cmd_tray_menu}
    os.umask(0o022)  # the test (another user) reads what this writes
    try:
        say(commands[args.command](args))
    except TraycapError as exc:
        say(error_answer(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
