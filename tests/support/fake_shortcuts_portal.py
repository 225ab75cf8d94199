"""A small GlobalShortcuts portal: a real D-Bus service, for the desktops the test machine cannot run.

xdg-desktop-portal-wlr has no GlobalShortcuts (KDE Plasma and GNOME 48 have), so the client in
traycap/portal/shortcuts.py is tested against this process on a private bus. It owns
org.freedesktop.portal.Desktop and speaks the portal's protocol on the wire: request objects
answered by Response signals, a session object with Close, Activated/Deactivated signals. A test
steers it through org.traycap.test.FakeShortcuts (Press, SetBindAnswer, Calls).

    python -m tests.support.fake_shortcuts_portal      # on DBUS_SESSION_BUS_ADDRESS; prints "ready"
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

NAME = "org.freedesktop.portal.Desktop"
PATH = "/org/freedesktop/portal/desktop"
CONTROL = "org.traycap.test.FakeShortcuts"

XML = """
<node>
  <interface name="org.freedesktop.portal.GlobalShortcuts">
    <method name="CreateSession"><arg type="a{sv}" direction="in"/><arg type="o" direction="out"/></method>
    <method name="BindShortcuts">
      <arg type="o" direction="in"/><arg type="a(sa{sv})" direction="in"/><arg type="s" direction="in"/>
      <arg type="a{sv}" direction="in"/><arg type="o" direction="out"/>
    </method>
    <method name="ListShortcuts">
      <arg type="o" direction="in"/><arg type="a{sv}" direction="in"/><arg type="o" direction="out"/>
    </method>
    <signal name="Activated"><arg type="o"/><arg type="s"/><arg type="t"/><arg type="a{sv}"/></signal>
    <signal name="Deactivated"><arg type="o"/><arg type="s"/><arg type="t"/><arg type="a{sv}"/></signal>
    <property name="version" type="u" access="read"/>
  </interface>
  <interface name="org.traycap.test.FakeShortcuts">
    <method name="Press"><arg type="s" direction="in"/></method>
    <method name="PressFor"><arg type="o" direction="in"/><arg type="s" direction="in"/></method>
    <method name="SetBindAnswer"><arg type="u" direction="in"/></method>
    <method name="Calls"><arg type="s" direction="out"/></method>
  </interface>
</node>
"""
SESSION_XML = """
<node><interface name="org.freedesktop.portal.Session"><method name="Close"/></interface></node>
"""


class FakeShortcuts:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.calls: list[dict[str, Any]] = []
        self.sessions: dict[str, int] = {}
        self.bound: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.bind_answer = 0
        info = Gio.DBusNodeInfo.new_for_xml(XML)
        self.session_info = Gio.DBusNodeInfo.new_for_xml(SESSION_XML).interfaces[0]
        for iface in info.interfaces:
            conn.register_object(PATH, iface, self.method, self.get_property, None)

    def get_property(self, _conn: Any, _sender: str, _path: str, _iface: str, name: str) -> Any:
        return GLib.Variant("u", 1) if name == "version" else None

    def method(self, _conn: Any, sender: str, path: str, iface: str, name: str, params: Any, inv: Any) -> None:
        args = params.unpack()
        self.calls.append({"interface": iface, "method": name, "path": path, "args": _plain(args)})
        if iface == CONTROL:
            self.control(name, args, inv)
            return
        options = args[-1]
        request = f"{PATH}/request/{sender[1:].replace('.', '_')}/{options['handle_token']}"
        inv.return_value(GLib.Variant("(o)", (request,)))
        if name == "CreateSession":
            session = f"{PATH}/session/{sender[1:].replace('.', '_')}/{options['session_handle_token']}"
            self.sessions[session] = self.conn.register_object(session, self.session_info, self.session_method,
                                                               None, None)
            self.respond(request, 0, {"session_handle": GLib.Variant("s", session)})
        elif name == "BindShortcuts":
            session, shortcuts = args[0], args[1]
            if self.bind_answer != 0:
                self.respond(request, self.bind_answer, {})
                return
            self.bound[session] = shortcuts
            answer = [(sid, {"description": GLib.Variant("s", props.get("description", "")),
                             "trigger_description": GLib.Variant("s", "Press " + props.get("preferred_trigger", ""))})
                      for sid, props in shortcuts]
            self.respond(request, 0, {"shortcuts": GLib.Variant("a(sa{sv})", answer)})
        else:
            self.respond(request, 0, {})

    def session_method(self, _conn: Any, _sender: str, path: str, iface: str, name: str, _params: Any,
                       inv: Any) -> None:
        self.calls.append({"interface": iface, "method": name, "path": path, "args": []})
        registration = self.sessions.pop(path, None)
        inv.return_value(None)
        if registration is not None:
            self.conn.unregister_object(registration)

    def control(self, name: str, args: Any, inv: Any) -> None:
        if name == "Calls":
            inv.return_value(GLib.Variant("(s)", (json.dumps(self.calls),)))
            return
        if name == "SetBindAnswer":
            self.bind_answer = int(args[0])
        elif name in ("Press", "PressFor"):
            shortcut = args[-1]
            targets = [args[0]] if name == "PressFor" else [s for s, b in self.bound.items()
                                                             if any(sid == shortcut for sid, _p in b)]
            stamp = int(time.monotonic() * 1000)
            for session in targets:
                for signal in ("Activated", "Deactivated"):
                    self.conn.emit_signal(None, PATH, "org.freedesktop.portal.GlobalShortcuts", signal,
                                          GLib.Variant("(osta{sv})", (session, shortcut, stamp, {})))
        inv.return_value(None)

    def respond(self, request: str, code: int, results: dict[str, Any]) -> None:
        # After the method's reply, as the real portal does (the caller subscribed before calling).
        def emit() -> bool:
            self.conn.emit_signal(None, request, "org.freedesktop.portal.Request", "Response",
                                  GLib.Variant("(ua{sv})", (code, results)))
            return False

        GLib.idle_add(emit)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def main() -> int:
    conn = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    FakeShortcuts(conn)
    loop = GLib.MainLoop()

    def acquired(*_args: Any) -> None:
        print("ready", flush=True)

    Gio.bus_own_name_on_connection(conn, NAME, Gio.BusNameOwnerFlags.NONE, acquired, lambda *_a: loop.quit())
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
