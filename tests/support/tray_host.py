"""A desktop for tray tests: Xvfb, a private D-Bus session (dbus-run-session), dunst, trayer, dbus-monitor.

    with tray_host(tmp_path) as host:
        proc = host.spawn(["traycap"], home)
        icon = host.wait_for_icon("traycap")
        host.click(icon.center, button=3)
        menu = host.wait_for_menu()
        host.screenshot("menu.png")
        host.wait_for_notification("Upload done")

Everything is started here and ended by its PID. Missing tools raise (the test fails, never skips).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from PIL import Image

from tests.support.display import XDisplay, xvfb
from tests.support.waiting import close_stdin_and_wait, stop_process, wait_until

TOOLS = ("Xvfb", "xdotool", "xwininfo", "import", "dbus-run-session", "dbus-monitor", "dunst", "trayer")
PANEL_HEIGHT = 32
PANEL_TINT = "0xe8e8e8"  # a light panel: the dark icon stands out in pixel checks

_TREE_LINE = re.compile(
    r"^(?P<indent>\s*)(?P<id>0x[0-9a-f]+) (?P<name>\"[^\"]*\"|\(has no name\)): \((?P<cls>[^)]*)\)\s+"
    r"(?P<w>\d+)x(?P<h>\d+)\+-?\d+\+-?\d+\s+\+(?P<x>-?\d+)\+(?P<y>-?\d+)"
)


@dataclass(frozen=True)
class Win:
    id: str
    name: str
    cls: str
    x: int
    y: int
    w: int
    h: int
    depth: int

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2


@dataclass(frozen=True)
class Notification:
    app: str
    summary: str
    body: str


def parse_tree(text: str) -> list[Win]:
    out = []
    for line in text.splitlines():
        m = _TREE_LINE.match(line)
        if not m:
            continue
        name = m["name"].strip('"') if m["name"].startswith('"') else ""
        out.append(Win(m["id"], name, m["cls"], int(m["x"]), int(m["y"]), int(m["w"]), int(m["h"]),
                       len(m["indent"])))
    return out


def parse_notifications(text: str) -> list[Notification]:
    """Notify calls seen by dbus-monitor: (app_name, replaces_id, icon, summary, body, ...)."""
    out = []
    blocks = text.split("method call ")
    for block in blocks:
        if "member=Notify" not in block.split("\n", 1)[0]:
            continue
        strings = re.findall(r'^\s+string "(.*)"$', block, flags=re.M)
        if len(strings) >= 4:
            out.append(Notification(app=strings[0], summary=strings[2], body=strings[3]))
    return out


@dataclass
class TrayHost:
    display: XDisplay
    env: dict[str, str]
    tmp: Path
    monitor_log: Path
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _files: list[IO[bytes]] = field(default_factory=list)

    # --- processes ----------------------------------------------------------
    def spawn(self, argv: list[str], home: Path, log_name: str, extra_env: dict[str, str] | None = None,
              ) -> subprocess.Popen[bytes]:
        env = dict(self.env)
        env["TRAYCAP_HOME"] = str(home)
        env.update(extra_env or {})
        out = (self.tmp / log_name).open("wb")
        self._files.append(out)
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        self._procs.append(proc)
        return proc

    def traycap_argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "traycap", *args]

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), env=self.env, capture_output=True, text=True, timeout=60, check=False)

    # --- windows ------------------------------------------------------------
    def windows(self) -> list[Win]:
        return parse_tree(self.run("xwininfo", "-root", "-tree").stdout)

    def panel(self) -> Win:
        panels = [w for w in self.windows() if w.name == "panel" and "trayer" in w.cls]
        if not panels:
            raise AssertionError("trayer's panel window is not there")
        return panels[0]

    def icon_window(self, name: str) -> Win | None:
        """The tray icon: a window named like the app, docked inside trayer's panel."""
        panel = self.panel()
        for w in self.windows():
            inside = panel.x <= w.x < panel.x + panel.w and panel.y <= w.y < panel.y + panel.h
            if w.name == name and inside and w.w >= 16 and w.h >= 16:
                return w
        return None

    def wait_for_icon(self, name: str, timeout: float = 30) -> Win:
        return wait_until(f"the {name!r} icon in the tray", lambda: self.icon_window(name), timeout)

    def popup_windows(self) -> list[Win]:
        """Top-level windows that look like a popup menu (GTK menus are override-redirect toplevels)."""
        screen_w, screen_h = self.screen_size()
        return [
            w for w in self.windows()
            if w.depth == 5 and w.w >= 80 and w.h >= 40 and w.x >= 0 and w.y >= 0
            and w.w < screen_w and w.h < screen_h and "trayer" not in w.cls and w.name != "Dunst"
            and self.is_viewable(w.id)
        ]

    def is_viewable(self, win_id: str) -> bool:
        return "IsViewable" in self.run("xwininfo", "-id", win_id).stdout

    def wait_for_menu(self, timeout: float = 15) -> Win:
        def biggest() -> Win | None:
            popups = self.popup_windows()
            return max(popups, key=lambda w: w.w * w.h) if popups else None

        return wait_until("the tray menu to open", biggest, timeout)

    def screen_size(self) -> tuple[int, int]:
        m = re.search(r"Width: (\d+)\s+Height: (\d+)", self.run("xwininfo", "-root").stdout, flags=re.S)
        assert m, "xwininfo -root gave no size"
        return int(m[1]), int(m[2])

    # --- input / output -------------------------------------------------------
    def click(self, at: tuple[int, int], button: int = 1) -> None:
        self.run("xdotool", "mousemove", str(at[0]), str(at[1]), "sleep", "0.1", "click", str(button))

    def key(self, combo: str) -> None:
        self.run("xdotool", "key", "--clearmodifiers", combo)

    def screenshot(self, name: str) -> Path:
        path = self.tmp / name
        self.display.screenshot(str(path))
        return path

    def crop(self, shot: Path, win: Win) -> Image.Image:
        with Image.open(shot) as img:
            return img.convert("RGB").crop((win.x, win.y, win.x + win.w, win.y + win.h))

    # --- notifications ----------------------------------------------------------
    def notifications(self) -> list[Notification]:
        return parse_notifications(self.monitor_log.read_text(errors="replace"))

    def wait_for_notification(self, summary: str, timeout: float = 60) -> Notification:
        def find() -> Notification | None:
            return next((n for n in self.notifications() if n.summary == summary), None)

        return wait_until(f"a {summary!r} notification on the session bus", find, timeout)

    def stop_all(self) -> None:
        for proc in reversed(self._procs):
            stop_process(proc)
        for f in self._files:
            f.close()


def check_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise AssertionError(f"tray tests need these programs: {', '.join(missing)} (see docs/tray.md)")


@contextmanager
def session_bus(config: Path | None = None, *, as_user: list[str] | None = None, python: str = sys.executable,
                env: dict[str, str] | None = None) -> Iterator[str]:
    """A private D-Bus session from dbus-run-session; it ends (with its daemon) when we close stdin.

    `config`: its own bus configuration instead of the session default; `as_user`: a command prefix
    that runs it as another user (setpriv ...), whose `python` and `env` then apply.
    """
    options = [f"--config-file={config}"] if config is not None else []
    holder = subprocess.Popen(
        [*(as_user or []), "dbus-run-session", *options, "--", python, "-c",
         "import os, sys; print(os.environ['DBUS_SESSION_BUS_ADDRESS'], flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
    )
    try:
        assert holder.stdout is not None
        address = holder.stdout.readline().decode().strip()
        if not address:
            raise AssertionError("dbus-run-session did not start a session bus")
        yield address
    finally:
        close_stdin_and_wait(holder)


def start_trayer(host: TrayHost) -> None:
    """trayer as the system tray; returns once its panel is mapped."""
    argv = ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request", "--height",
            str(PANEL_HEIGHT), "--SetDockType", "true", "--transparent", "false", "--tint", PANEL_TINT,
            "--expand", "false", "--iconspacing", "4"]
    proc = host.spawn(argv, host.tmp, "trayer.log")

    def up_or_gone() -> bool | list[Win]:
        return [w for w in host.windows() if w.name == "panel"] or proc.poll() is not None

    if wait_until("trayer's panel (or trayer exiting)", up_or_gone, 15) is True:
        raise AssertionError(f"trayer exited at start: {(host.tmp / 'trayer.log').read_text(errors='replace')}")


@contextmanager
def tray_host(tmp: Path, width: int = 1280, height: int = 800, *, bus_address: str | None = None,
              ) -> Iterator[TrayHost]:
    """`bus_address`: a session bus already running (e.g. the Secret Service's), instead of a new one."""
    check_tools()
    tmp.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        display = stack.enter_context(xvfb(width, height))
        address = bus_address or stack.enter_context(session_bus())
        env = dict(display.env)
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        env.pop("XDG_CURRENT_DESKTOP", None)
        env.pop("PYSTRAY_BACKEND", None)
        env["NO_AT_BRIDGE"] = "1"  # GTK would otherwise look for an accessibility bus
        env["XDG_CONFIG_HOME"] = str(tmp / "xdg-config")  # dunst and GTK read no user config
        monitor_log = tmp / "dbus-monitor.log"
        host = TrayHost(display=display, env=env, tmp=tmp, monitor_log=monitor_log)
        stack.callback(host.stop_all)
        host.spawn(["dbus-monitor", "--session", "interface='org.freedesktop.Notifications',member='Notify'"],
                   tmp, "dbus-monitor.log")
        wait_until("dbus-monitor to attach", lambda: "NameAcquired" in monitor_log.read_text(errors="replace"), 15)
        host.spawn(["dunst"], tmp, "dunst.log")
        start_trayer(host)
        wait_until(
            "dunst on the session bus",
            lambda: "boolean true" in host.run(
                "dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.Notifications",
            ).stdout,
            15,
        )
        yield host
