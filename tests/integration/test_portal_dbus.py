"""The portal clients over a real D-Bus (Gio, traycap/portal/dbus.py): no portal at all, and GlobalShortcuts.

No desktop here offers GlobalShortcuts (xdg-desktop-portal-wlr has none; KDE Plasma 5.27+ and
GNOME 48+ do), so the shortcuts client talks to a small portal service that speaks the protocol
on a private bus (tests/support/fake_shortcuts_portal.py), a real process, not a mock of the client.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.waiting import stop_process, wait_until
from tests.support.wayland import REPO, bus_without_activation
from traycap.errors import HotkeyUnavailable, PortalUnavailable
from traycap.portal.dbus import GioBus
from traycap.portal.screencast import ScreenCastPortal
from traycap.portal.shortcuts import DEFAULT_SHORTCUTS, PAUSE, TOGGLE, GlobalShortcutsPortal

CONTROL = "org.traycap.test.FakeShortcuts"
PATH = "/org/freedesktop/portal/desktop"


@pytest.fixture(scope="module")
def bare_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with bus_without_activation(tmp_path_factory.mktemp("bare-bus")) as address:
        yield address


@pytest.fixture
def fake_portal(tmp_path: Path) -> Iterator[str]:
    """A private bus with the fake GlobalShortcuts portal on it; its address."""
    with bus_without_activation(tmp_path / "bus") as address:
        proc = subprocess.Popen([sys.executable, "-m", "tests.support.fake_shortcuts_portal"], cwd=REPO,
                                env={"DBUS_SESSION_BUS_ADDRESS": address, "PATH": "/usr/bin:/bin",
                                     "PYTHONPATH": str(REPO)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode().strip()
            assert line == "ready", proc.stderr.read().decode() if proc.stderr else line
            yield address
        finally:
            stop_process(proc)


def control(bus: GioBus, method: str, args: tuple[object, ...] = (), signature: str = "") -> tuple[object, ...]:
    return bus.call("org.freedesktop.portal.Desktop", PATH, CONTROL, method, args, signature, timeout_s=10).values


def test_no_portal_on_the_bus_says_what_to_install(bare_bus: str) -> None:
    bus = GioBus(bare_bus)
    try:
        with pytest.raises(PortalUnavailable) as caught:
            ScreenCastPortal(bus, None).open()
        assert "No desktop portal answers on the session bus" in caught.value.message
        assert "xdg-desktop-portal" in caught.value.hint
        assert GlobalShortcutsPortal(bus).available() is False
        with pytest.raises(HotkeyUnavailable) as shortcuts:
            GlobalShortcutsPortal(bus).bind(lambda _id: None)
        assert "no GlobalShortcuts portal" in shortcuts.value.message
        assert "traycap toggle" in shortcuts.value.hint
    finally:
        bus.close()


def test_a_portal_without_a_backend_for_this_desktop_has_no_screencast(tmp_path: Path) -> None:
    """xdg-desktop-portal installed, but no backend (-gnome, -kde, -wlr) for this desktop: no ScreenCast."""
    (tmp_path / "portals").mkdir()
    with bus_without_activation(tmp_path / "bus") as address:
        env = {"DBUS_SESSION_BUS_ADDRESS": address, "PATH": "/usr/bin:/bin", "XDG_CURRENT_DESKTOP": "nowhere",
               "XDG_DESKTOP_PORTAL_DIR": str(tmp_path / "portals"), "HOME": str(tmp_path)}
        portal = subprocess.Popen(["/usr/libexec/xdg-desktop-portal"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        bus = GioBus(address)
        try:
            wait_until("xdg-desktop-portal on the bus", lambda: bus.name_has_owner("org.freedesktop.portal.Desktop"),
                       20)
            with pytest.raises(PortalUnavailable) as caught:
                ScreenCastPortal(bus, None).open()
            assert "offers no ScreenCast interface" in caught.value.message
        finally:
            bus.close()
            stop_process(portal)


def test_no_bus_at_all_is_a_clear_error() -> None:
    with pytest.raises(PortalUnavailable, match="Cannot reach the D-Bus session bus"):
        GioBus("unix:path=/nonexistent/traycap-test-bus")


def test_shortcuts_are_bound_and_each_press_arrives(fake_portal: str) -> None:
    client, tester = GioBus(fake_portal), GioBus(fake_portal)
    presses: list[str] = []
    lock = threading.Lock()

    def pressed(shortcut: str) -> None:
        with lock:
            presses.append(shortcut)

    try:
        portal = GlobalShortcutsPortal(client)
        assert portal.available()
        session = portal.bind(pressed)
        assert [(b.id, b.trigger) for b in session.bound] == [(TOGGLE, "Press CTRL+ALT+R"), (PAUSE, "Press CTRL+ALT+P")]
        assert [b.description for b in session.bound] == [s.description for s in DEFAULT_SHORTCUTS]
        control(tester, "Press", (TOGGLE,), "s")
        control(tester, "Press", (PAUSE,), "s")
        control(tester, "PressFor", ("/org/freedesktop/portal/desktop/session/other/s", TOGGLE), "os")  # not ours
        control(tester, "Press", (TOGGLE,), "s")
        wait_until("three presses", lambda: len(presses) >= 3, 10)
        session.close()
        calls = json.loads(str(control(tester, "Calls")[0]))
        assert presses == [TOGGLE, PAUSE, TOGGLE]
        bind = next(c for c in calls if c["method"] == "BindShortcuts")
        assert bind["args"][1][0][0] == TOGGLE and bind["args"][1][0][1]["preferred_trigger"] == "CTRL+ALT+R"
        assert any(c["method"] == "Close" and c["path"] == session.handle for c in calls)
    finally:
        client.close()
        tester.close()


def test_a_declined_binding_says_how_to_bind_traycap_toggle(fake_portal: str) -> None:
    client, tester = GioBus(fake_portal), GioBus(fake_portal)
    try:
        control(tester, "SetBindAnswer", (1,), "u")
        with pytest.raises(HotkeyUnavailable) as caught:
            GlobalShortcutsPortal(client).bind(lambda _id: None)
        assert caught.value.message == "The shortcuts were not bound: the desktop's dialog was closed"
        assert "traycap toggle" in caught.value.hint and "keyboard settings" in caught.value.hint
        calls = json.loads(str(control(tester, "Calls")[0]))
        assert [c["method"] for c in calls if c["interface"] != CONTROL] == ["CreateSession", "BindShortcuts", "Close"]
    finally:
        client.close()
        tester.close()
