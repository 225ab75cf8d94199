"""The D-Bus adapter: the only module that imports Gio (GLib it shares with ui/tray.py).

`GioBus` is a *private* connection to the session bus, never the process-wide one that GTK and
pystray use, with its own GLib main context run by one daemon thread. Signals (a portal
request's Response, a session's Closed, a shortcut's Activated) are delivered on that thread
whatever loop the rest of traycap runs (GTK's in the tray, none in `traycap record`), and a
Response cannot be missed because nothing else has to iterate a loop for it.

gi is imported lazily, so importing this module costs nothing on Windows or macOS, and a
missing PyGObject becomes a PortalUnavailable a person can act on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from traycap.errors import PortalUnavailable
from traycap.portal.bus import NO_BUS, TIMEOUT, BusCallError, BusReply, SignalHandler, Variant

log = logging.getLogger(__name__)

T = TypeVar("T")
DBUS_NAME = "org.freedesktop.DBus"
DBUS_PATH = "/org/freedesktop/DBus"
PROPERTIES = "org.freedesktop.DBus.Properties"
_REMOTE_ERROR = re.compile(r"GDBus\.Error:([A-Za-z0-9_.]+):\s*(.*)", re.S)
LOOP_TIMEOUT_S = 10.0  # the bus thread answers in microseconds; this only bounds a wedged GLib


def _gi() -> tuple[Any, Any]:
    try:
        import gi

        gi.require_version("Gio", "2.0")
        from gi.repository import Gio, GLib
    except (ImportError, ValueError) as exc:  # ValueError: the typelib is missing
        raise PortalUnavailable(
            f"Cannot talk to the desktop portal: PyGObject (Gio) is not usable ({exc})",
            "install python3-gi (Debian, Ubuntu) or PyGObject, as scripts/setup.sh does",
        ) from exc
    return Gio, GLib


class GioBus:
    """A private connection to the session bus (or to `address`), with a thread that delivers its signals."""

    def __init__(self, address: str | None = None) -> None:
        Gio, GLib = _gi()
        self._Gio = Gio
        self._GLib = GLib
        try:
            if address is None:
                address = os.environ.get("DBUS_SESSION_BUS_ADDRESS") or Gio.dbus_address_get_for_bus_sync(
                    Gio.BusType.SESSION, None)
            flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                     | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
            self._conn = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
        except GLib.Error as exc:
            raise PortalUnavailable(
                f"Cannot reach the D-Bus session bus: {exc.message}",
                "start traycap inside your desktop session (DBUS_SESSION_BUS_ADDRESS must be set)",
            ) from exc
        # A closed bus must not end the process (GDBus's default for the shared connection).
        self._conn.set_exit_on_close(False)
        self._context = GLib.MainContext.new()
        self._loop = GLib.MainLoop.new(self._context, False)
        self._subscriptions: set[int] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="traycap-dbus", daemon=True)
        self._thread.start()

    # --- the bus thread ----------------------------------------------------------
    def _run(self) -> None:
        self._context.push_thread_default()
        try:
            self._loop.run()
        finally:
            self._context.pop_thread_default()

    def _on_loop(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the bus thread (signal subscriptions belong to the context current where they are made)."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def run(*_user_data: Any) -> bool:
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed back to the caller's thread
                box["error"] = exc
            done.set()
            return False  # one shot

        source = self._GLib.idle_source_new()
        source.set_callback(run)
        source.attach(self._context)
        if not done.wait(LOOP_TIMEOUT_S):
            raise BusCallError(TIMEOUT, "the D-Bus thread did not answer")
        if "error" in box:
            raise box["error"]
        return box["value"]  # type: ignore[no-any-return]

    # --- the Bus protocol --------------------------------------------------------------
    @property
    def unique_name(self) -> str:
        return str(self._conn.get_unique_name())

    def call(self, destination: str, path: str, interface: str, method: str, args: Sequence[Any], signature: str,
             *, timeout_s: float, with_fds: bool = False) -> BusReply:
        GLib, Gio = self._GLib, self._Gio
        params = GLib.Variant(f"({signature})", tuple(self._to_glib(a) for a in args)) if signature else None
        timeout_ms = max(1, round(timeout_s * 1000))
        try:
            if with_fds:
                result, fd_list = self._conn.call_with_unix_fd_list_sync(
                    destination, path, interface, method, params, None, Gio.DBusCallFlags.NONE, timeout_ms,
                    None, None)
                fds = tuple(fd_list.steal_fds()) if fd_list is not None else ()
            else:
                result = self._conn.call_sync(destination, path, interface, method, params, None,
                                              Gio.DBusCallFlags.NONE, timeout_ms, None)
                fds = ()
        except GLib.Error as exc:
            raise self._call_error(exc) from exc
        values = tuple(result.unpack()) if result is not None else ()
        return BusReply(values=values, fds=fds)

    def get_property(self, destination: str, path: str, interface: str, name: str, *, timeout_s: float) -> Any:
        reply = self.call(destination, path, PROPERTIES, "Get", (interface, name), "ss", timeout_s=timeout_s)
        return reply.values[0]

    def subscribe(self, sender: str | None, interface: str, member: str, path: str | None,
                  handler: SignalHandler) -> int:
        def deliver(_conn: Any, _sender: str, _path: str, _iface: str, _member: str, params: Any) -> None:
            try:
                handler(tuple(params.unpack()))
            except Exception:  # a handler's bug must not stop the bus thread
                log.exception("D-Bus signal %s.%s: the handler failed", interface, member)

        def subscribe() -> int:
            return int(self._conn.signal_subscribe(sender, interface, member, path, None,
                                                   self._Gio.DBusSignalFlags.NONE, deliver))

        subscription = self._on_loop(subscribe)
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: int) -> None:
        with self._lock:
            if subscription not in self._subscriptions:
                return
            self._subscriptions.discard(subscription)
        self._conn.signal_unsubscribe(subscription)

    def name_has_owner(self, name: str) -> bool:
        reply = self.call(DBUS_NAME, DBUS_PATH, DBUS_NAME, "NameHasOwner", (name,), "s", timeout_s=5)
        return bool(reply.values[0])

    def close(self) -> None:
        with self._lock:
            subscriptions, self._subscriptions = self._subscriptions, set()
        for subscription in subscriptions:
            self._conn.signal_unsubscribe(subscription)
        with contextlib.suppress(Exception):
            self._conn.close_sync(None)
        self._loop.quit()
        self._thread.join(LOOP_TIMEOUT_S)

    # --- conversions ---------------------------------------------------------------------
    def _to_glib(self, value: Any) -> Any:
        """Python values for GLib.Variant, with each `Variant` marker made a real GLib.Variant."""
        if isinstance(value, Variant):
            return self._GLib.Variant(value.signature, self._to_glib(value.value))
        if isinstance(value, dict):
            return {k: self._to_glib(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._to_glib(v) for v in value)
        return value

    def _call_error(self, exc: Any) -> BusCallError:
        Gio = self._Gio
        text = str(getattr(exc, "message", exc))
        match = _REMOTE_ERROR.match(text)
        if match:
            return BusCallError(match[1], match[2].strip())
        if exc.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT):
            return BusCallError(TIMEOUT, text)
        if exc.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CLOSED):
            return BusCallError(NO_BUS, text)
        return BusCallError("org.freedesktop.DBus.Error.Failed", text)
