"""The tray icon and its menu, rendered with pystray (the only pystray importer).

Backend choice on Linux matters: pystray's xorg backend draws an icon but has
no menu and ignores clicks, so it is never picked silently. We use the GTK
backend (Gtk.StatusIcon, an XEmbed icon every X panel and trayer can host) or,
on GNOME/Unity desktops that only host StatusNotifier items and on every
Wayland desktop, AppIndicator (a StatusNotifierItem over D-Bus); both need
PyGObject. When neither loads, TrayUnavailable names the packages.
PYSTRAY_BACKEND still wins when set (that is pystray's own switch).

pystray is imported lazily: without a display `import pystray` raises.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from traycap.errors import NoDisplay, TrayUnavailable
from traycap.ui import icons
from traycap.ui.menu import Action, IconSpec, IconState, MenuItem

log = logging.getLogger(__name__)

LINUX_PACKAGES_HINT = (
    "install PyGObject for the tray menu: on Debian/Ubuntu `sudo apt install gir1.2-gtk-3.0 "
    "libgirepository1.0-dev libcairo2-dev pkg-config` then `pip install 'PyGObject<3.51'` "
    "(or `pip install 'traycap[gtk]'`); or use `traycap record` / `traycap worker` without a tray"
)
NO_DISPLAY_HINT = (
    "run traycap inside a desktop session; without a tray use `traycap record` to record "
    "or `traycap worker` to upload"
)
EMBED_WAIT_S = 5.0


def backend_candidates(env: Mapping[str, str], platform: str = sys.platform) -> list[str]:
    """Which pystray backends to try, in order (pure)."""
    forced = env.get("PYSTRAY_BACKEND")
    if forced:
        return [forced]
    if platform == "darwin":
        return ["darwin"]
    if platform == "win32":
        return ["win32"]
    desktop = env.get("XDG_CURRENT_DESKTOP", "").lower()
    # GNOME and Unity dropped XEmbed tray icons; they host StatusNotifier (AppIndicator) items. On Wayland an
    # XEmbed icon (Gtk.StatusIcon) has nowhere to go at all: every Wayland tray (KDE's, swaybar, waybar, GNOME's
    # AppIndicator extension) hosts StatusNotifier items.
    wayland = bool(env.get("WAYLAND_DISPLAY")) and env.get("XDG_SESSION_TYPE", "").lower() != "x11"
    if wayland or any(name in desktop for name in ("gnome", "unity", "ubuntu", "pantheon")):
        return ["appindicator", "gtk"]
    return ["gtk", "appindicator"]


def load_pystray(env: Mapping[str, str] | None = None, platform: str = sys.platform) -> ModuleType:
    """Import pystray with a backend that has a menu; TrayUnavailable or NoDisplay if none loads."""
    env = os.environ if env is None else env
    if platform.startswith("linux") and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        raise NoDisplay("There is no display (DISPLAY is not set), so the tray icon cannot be shown", NO_DISPLAY_HINT)
    _name_the_program()
    errors: list[str] = []
    original = os.environ.get("PYSTRAY_BACKEND")
    # GTK 3 would open OpenGL at start-up, which maps the GL driver: Mesa's software one alone is 47 MB
    # (libLLVM) of a 111 MB idle tray. A tray icon and its menu draw nothing with GL. GDK reads the
    # variable once, as it starts (the import below), and it is gone again before any child starts.
    gl_original = os.environ.get("GDK_GL")
    if gl_original is None:
        os.environ["GDK_GL"] = "disable"
    try:
        for name in backend_candidates(env, platform):
            os.environ["PYSTRAY_BACKEND"] = name  # pystray reads it at import time
            try:
                module = importlib.import_module("pystray")
            except (ImportError, ValueError) as exc:  # gi.require_version raises ValueError
                errors.append(f"{name}: {exc}")
                for mod in [m for m in sys.modules if m == "pystray" or m.startswith("pystray.")]:
                    del sys.modules[mod]
                continue
            if name == "xorg":
                log.warning("PYSTRAY_BACKEND=xorg: pystray's xorg backend shows no menu; use gtk")
            log.info("tray backend: %s", name)
            return module
    finally:
        if original is None:
            os.environ.pop("PYSTRAY_BACKEND", None)
        else:
            os.environ["PYSTRAY_BACKEND"] = original
        if gl_original is None:
            os.environ.pop("GDK_GL", None)
    text = "; ".join(errors)
    if "could not be initialised" in text or "cannot open display" in text.lower():
        raise NoDisplay(f"Cannot connect to the display {env.get('DISPLAY', '')!r} ({text})", NO_DISPLAY_HINT)
    raise TrayUnavailable(f"No tray backend with a menu could be loaded ({text})", LINUX_PACKAGES_HINT)


def describe(items: tuple[MenuItem, ...]) -> str:
    """The menu as one line, submenus in brackets (DEBUG log; tests read it)."""
    parts = []
    for i in items:
        if i.separator:
            continue
        text = i.label if i.enabled else f"({i.label})"
        parts.append(f"{text} [{describe(i.children)}]" if i.children else text)
    return " | ".join(parts)


def _name_the_program() -> None:
    """GTK names the icon's window and WM_CLASS after argv[0] ("__main__.py" under -m) unless told."""
    try:
        from gi.repository import GLib
    except ImportError:
        return
    GLib.set_prgname("traycap")
    GLib.set_application_name("traycap")


class Tray:
    """One tray icon. `run` blocks in the toolkit's main loop; everything else is thread-safe."""

    def __init__(
        self,
        on_action: Callable[[Action], None],
        *,
        name: str = "traycap",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._pystray = load_pystray(env)
        self._on_action = on_action
        self._lock = threading.Lock()
        self._items: tuple[MenuItem, ...] | None = None
        self._image_key: IconSpec | None = None
        self._tooltip: str | None = None
        self._icon: Any = self._pystray.Icon(name, icons.render(IconSpec(IconState.IDLE)), "traycap")
        self.menu_builds = 0
        self._stopped = False
        self.shown_at: float | None = None
        self.embedded_at: float | None = None

    # --- rendering ---------------------------------------------------------
    def to_pystray(self, items: tuple[MenuItem, ...]) -> Any:
        """The menu model as a pystray.Menu (also what the bench times)."""
        ps = self._pystray

        def convert(item: MenuItem) -> Any:
            if item.separator:
                return ps.Menu.SEPARATOR
            if item.children:
                return ps.MenuItem(item.label, ps.Menu(*[convert(c) for c in item.children]), enabled=item.enabled)
            if item.action is None:
                return ps.MenuItem(item.label, None, enabled=False)
            return ps.MenuItem(item.label, self._callback(item.action), enabled=item.enabled)

        return ps.Menu(*[convert(i) for i in items])

    def _callback(self, action: Action) -> Callable[[Any, Any], None]:
        def fire(_icon: Any, _item: Any) -> None:
            log.debug("menu: %s", action.id)
            try:
                self._on_action(action)
            except Exception:  # a bug in one action must not kill the main loop
                log.exception("menu action %s failed", action.id)

        return fire

    def update(self, items: tuple[MenuItem, ...], spec: IconSpec, tooltip: str) -> None:
        """Apply what changed; unchanged menu, picture or tooltip cost nothing."""
        with self._lock:
            if items != self._items:
                self._items = items
                self.menu_builds += 1
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("menu: %s", describe(items))
                self._icon.menu = self.to_pystray(items)  # pystray re-creates the native menu
            key = icons.image_key(spec)
            if key != self._image_key:
                self._image_key = key
                self._icon.icon = icons.render(key)
            if tooltip != self._tooltip:
                self._tooltip = tooltip
                log.debug("tooltip: %s", tooltip)
                self._icon.title = tooltip
                self._set_tooltip(tooltip)

    def _set_tooltip(self, text: str) -> None:
        # pystray's GTK backend sets only the accessible title; the hover text is the tooltip.
        status_icon = getattr(self._icon, "_status_icon", None)
        if status_icon is None:
            return
        from gi.repository import GLib  # present whenever the GTK backend loaded

        GLib.idle_add(lambda: status_icon.set_tooltip_text(text) and False)

    # --- life cycle --------------------------------------------------------
    def run(self, on_shown: Callable[[], None]) -> None:
        """Show the icon and run the main loop until `stop`; `on_shown` runs on a helper thread."""

        sigint = signal.getsignal(signal.SIGINT)

        def setup(icon: Any) -> None:
            icon.visible = True
            self.shown_at = time.monotonic()
            log.info("tray icon shown")
            self._watch_embedding()
            self._restore_sigint(sigint)
            on_shown()

        try:
            self._icon.run(setup)
        except Exception as exc:
            if not self._stopped:
                raise
            # pystray's GTK backends withdraw their notification at exit through org.freedesktop.Notifications and
            # raise when no notification daemon runs (a bare sway session): traycap has already quit cleanly.
            log.info("the tray backend failed while closing: %s", exc)

    def _restore_sigint(self, handler: Any) -> None:
        """pystray's GTK loop sets SIGINT to SIG_DFL (Ctrl-C kills the process at once); put back
        the handler the app installed (Ctrl-C quits like Quit) from the main thread."""
        if handler is not signal.SIG_IGN and (not callable(handler) or handler is signal.default_int_handler):
            return
        if getattr(self._icon, "_status_icon", None) is None and not hasattr(self._icon, "_appindicator"):
            return  # not a GTK-based backend: pystray left SIGINT alone
        from gi.repository import GLib

        def put_back() -> bool:
            signal.signal(signal.SIGINT, handler)
            return False

        GLib.idle_add(put_back)

    def _watch_embedding(self) -> None:
        status_icon = getattr(self._icon, "_status_icon", None)
        if status_icon is None:
            return
        from gi.repository import GLib

        deadline = time.monotonic() + EMBED_WAIT_S

        def check() -> bool:
            if status_icon.is_embedded():
                self.embedded_at = time.monotonic()
                log.info("tray icon visible (embedded in the system tray)")
                return False
            if time.monotonic() > deadline:
                log.warning(
                    "no system tray seems to be running: the icon is not visible. Start a panel with a "
                    "system tray (or `trayer`), or use `traycap record` / `traycap worker`"
                )
                return False
            return True

        GLib.timeout_add(50, check)

    def stop(self) -> None:
        self._stopped = True
        self._icon.visible = False
        self._icon.stop()
