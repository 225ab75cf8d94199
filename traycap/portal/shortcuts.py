"""org.freedesktop.portal.GlobalShortcuts: "toggle recording" and "pause" as desktop-wide keys (pure, over `Bus`).

    portal = GlobalShortcutsPortal(GioBus())
    if portal.available():
        session = portal.bind(on_activated)     # on_activated("toggle-recording"), on the bus thread
        session.bound                           # what the desktop bound, with its trigger text
        session.close()

Where the desktop offers the portal (KDE Plasma 5.27+, GNOME 48+), BindShortcuts registers the
two shortcuts with a suggested trigger; the desktop shows its own dialog the first time and
remembers the person's choice for traycap afterwards (binding again is silent). Each press comes
as an `Activated` signal. Where it does not (sway, older GNOME), `available()` is False and
traycap's own `traycap toggle` / `traycap pause` commands are what the person binds in the
desktop's keyboard settings (docs/wayland.md). Failures are HotkeyUnavailable, whose hint says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from traycap.errors import CaptureCancelled, HotkeyUnavailable, PortalError, PortalUnavailable
from traycap.portal.bus import Bus, Variant
from traycap.portal.request import DESKTOP_PATH, PICKER_TIMEOUT_S, PortalInterface, keyed_entries, new_token

log = logging.getLogger(__name__)

INTERFACE = "org.freedesktop.portal.GlobalShortcuts"
TOGGLE = "toggle-recording"
PAUSE = "pause-recording"
BIND_YOURSELF = ("bind `traycap toggle` (and `traycap pause`) to keys in your desktop's keyboard settings; "
                 "the tray menu works as well")


@dataclass(frozen=True)
class ShortcutSpec:
    id: str
    description: str
    preferred_trigger: str  # the XDG shortcut notation: "CTRL+ALT+R"


DEFAULT_SHORTCUTS = (
    ShortcutSpec(TOGGLE, "Start or stop recording (traycap)", "CTRL+ALT+R"),
    ShortcutSpec(PAUSE, "Pause or resume recording (traycap)", "CTRL+ALT+P"),
)


@dataclass(frozen=True)
class BoundShortcut:
    id: str
    description: str
    trigger: str  # how the desktop describes the key it bound ("Ctrl+Alt+R"); "" when it bound none


@dataclass
class ShortcutsSession:
    portal: PortalInterface = field(repr=False)
    handle: str
    bound: tuple[BoundShortcut, ...]
    _subscription: int | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._subscription is None:
            return
        self.portal.bus.unsubscribe(self._subscription)
        self._subscription = None
        self.portal.close_session(self.handle)


class GlobalShortcutsPortal:
    def __init__(self, bus: Bus, *, picker_timeout_s: float = PICKER_TIMEOUT_S) -> None:
        self._portal = PortalInterface(bus, INTERFACE, what="global shortcuts")
        self._picker_timeout_s = picker_timeout_s

    def available(self) -> bool:
        """The desktop offers the GlobalShortcuts portal."""
        try:
            return self._portal.version() >= 1
        except PortalError as exc:
            log.info("no global shortcuts portal: %s", exc)
            return False

    def bind(self, on_activated: Callable[[str], None],
             shortcuts: tuple[ShortcutSpec, ...] = DEFAULT_SHORTCUTS) -> ShortcutsSession:
        """Bind `shortcuts`; `on_activated(id)` runs on the bus thread at each press. HotkeyUnavailable if not."""
        try:
            results = self._portal.request("CreateSession", [], "",
                                           {"session_handle_token": Variant("s", new_token("traycap_keys"))})
        except PortalUnavailable as exc:
            raise HotkeyUnavailable("This desktop offers no global shortcuts to apps (no GlobalShortcuts portal)",
                                    BIND_YOURSELF) from exc
        except PortalError as exc:
            raise HotkeyUnavailable(f"The global shortcuts could not be set up: {exc.message}", BIND_YOURSELF) from exc
        handle = str(results.get("session_handle") or "")
        if not handle:
            raise HotkeyUnavailable("The desktop created no global shortcuts session", BIND_YOURSELF)

        def activated(values: tuple[Any, ...]) -> None:
            if values and str(values[0]) == handle:
                on_activated(str(values[1]))

        subscription = self._portal.bus.subscribe(self._portal.destination, INTERFACE, "Activated", DESKTOP_PATH,
                                                  activated)
        session = ShortcutsSession(portal=self._portal, handle=handle, bound=(), _subscription=subscription)
        wanted = [(s.id, {"description": Variant("s", s.description),
                          "preferred_trigger": Variant("s", s.preferred_trigger)}) for s in shortcuts]
        try:
            results = self._portal.request("BindShortcuts", [handle, wanted, ""], "oa(sa{sv})s", {},
                                           timeout_s=self._picker_timeout_s)
        except CaptureCancelled as exc:
            session.close()
            raise HotkeyUnavailable("The shortcuts were not bound: the desktop's dialog was closed",
                                    BIND_YOURSELF) from exc
        except BaseException as exc:
            session.close()
            if isinstance(exc, PortalError):
                raise HotkeyUnavailable(f"The desktop did not bind the shortcuts: {exc.message}",
                                        BIND_YOURSELF) from exc
            raise
        session.bound = parse_bound(results.get("shortcuts"))
        return session


def parse_bound(value: Any) -> tuple[BoundShortcut, ...]:
    """BindShortcuts' `shortcuts` (a(sa{sv})) as BoundShortcuts."""
    return tuple(BoundShortcut(id=str(sid), description=str(props.get("description", "")),
                               trigger=str(props.get("trigger_description", "")))
                 for sid, props in keyed_entries(value))
