"""The ScreenCast portal client (traycap/portal/screencast.py) against a fake portal on the Bus seam.

The real portal is exercised on the headless desktop (tests/integration/test_wayland_capture.py);
here every answer a desktop can give is scripted: cancelled pickers, failures, old portals,
no portal, no PipeWire, tokens that change.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.support.fake_portal_bus import SCREENCAST, screencast_bus
from tests.support.waiting import wait_until
from traycap.errors import CaptureCancelled, PipeWireUnavailable, PortalFailed, PortalTooOld, PortalUnavailable
from traycap.portal.bus import BusCallError
from traycap.portal.restore_token import RestoreTokenStore
from traycap.portal.screencast import CursorMode, ScreenCastCapabilities, ScreenCastPortal, SourceType, parse_streams

SESSION = "/org/freedesktop/portal/desktop/session/1_42/s1"


@pytest.fixture
def tokens(tmp_path: Path) -> RestoreTokenStore:
    return RestoreTokenStore.in_dir(tmp_path)


def fd_is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_capabilities_are_read_from_the_portal() -> None:
    caps = ScreenCastPortal(screencast_bus(version=5, source_types=3, cursor_modes=7), None).capabilities()
    assert caps == ScreenCastCapabilities(version=5, source_types=SourceType.MONITOR | SourceType.WINDOW,
                                          cursor_modes=CursorMode.HIDDEN | CursorMode.EMBEDDED | CursorMode.METADATA)
    assert caps.persists and caps.offers_window


@pytest.mark.parametrize(("version", "modes", "chosen"), [
    (4, 7, CursorMode.EMBEDDED),  # embedded wins: pipewiresrc passes no cursor metadata on
    (4, 3, CursorMode.EMBEDDED),  # xdpw
    (4, 5, CursorMode.METADATA),  # no embedded: metadata rather than nothing
    (4, 1, None),  # hidden only
    (1, 0, None),  # a version-1 portal has no cursor modes at all
])
def test_the_cursor_is_drawn_in_where_the_portal_can(version: int, modes: int, chosen: CursorMode | None) -> None:
    assert ScreenCastCapabilities(version, SourceType.MONITOR, CursorMode(modes)).cursor_mode() == chosen


def test_a_version_1_portal_is_not_asked_for_cursor_modes() -> None:
    bus = screencast_bus(version=1)
    del bus.properties[(SCREENCAST, "AvailableCursorModes")]
    assert ScreenCastPortal(bus, None).capabilities().cursor_modes == CursorMode(0)


def test_a_cast_goes_through_the_four_steps_and_saves_the_token(tokens: RestoreTokenStore) -> None:
    bus = screencast_bus(source_types=1, issued="token-1")
    cast = ScreenCastPortal(bus, tokens).open()
    assert bus.methods() == ["CreateSession", "SelectSources", "Start", "OpenPipeWireRemote"]
    select = bus.last("SelectSources")
    assert select.args[0] == SESSION
    assert select.options()["types"] == 1  # monitors: this portal offers no windows
    assert select.options()["cursor_mode"] == int(CursorMode.EMBEDDED)
    assert select.options()["persist_mode"] == 2
    assert select.options()["multiple"] is False
    assert "restore_token" not in select.options()  # nothing saved yet: the picker shows
    assert bus.last("Start").args[:2] == (SESSION, "")
    assert cast.stream.node_id == 42 and cast.stream.size == (1280, 720) and cast.stream.position == (0, 0)
    assert cast.persisted and cast.restore_token == "token-1" and cast.notice is None
    assert tokens.load() == "token-1"
    assert fd_is_open(cast.pipewire_fd)
    cast.close()
    assert bus.closed_sessions == [SESSION]
    assert not fd_is_open(cast.pipewire_fd)
    assert bus.subscriptions == 0  # every Response subscription was dropped


def test_windows_are_asked_for_where_the_desktop_offers_them(tokens: RestoreTokenStore) -> None:
    """waylandSource=window: the picker lists windows ("record only this window"); where the desktop has no
    window casts, a screen is asked for instead."""
    bus = screencast_bus(source_types=7, issued="screen-token")
    ScreenCastPortal(bus, tokens).open().close()
    assert bus.last("SelectSources").options()["types"] == int(SourceType.MONITOR)
    bus.answers["Start"] = (0, {"streams": [(43, {})], "restore_token": "window-token"})
    ScreenCastPortal(bus, tokens).open(window=True).close()
    select = bus.last("SelectSources").options()
    assert select["types"] == int(SourceType.WINDOW)
    assert "restore_token" not in select  # the saved token restores a screen: the picker shows for a window
    ScreenCastPortal(bus, tokens).open(window=True).close()
    assert bus.last("SelectSources").options()["restore_token"] == "window-token"
    monitors_only = screencast_bus(source_types=1)
    ScreenCastPortal(monitors_only, None).open(window=True).close()
    assert monitors_only.last("SelectSources").options()["types"] == int(SourceType.MONITOR)


def test_the_next_session_sends_the_token_and_keeps_the_new_one(tokens: RestoreTokenStore) -> None:
    """The token can change at every session (GNOME issues a new one): the newest is always the one kept."""
    bus = screencast_bus(issued="token-1")
    ScreenCastPortal(bus, tokens).open().close()
    bus.answers["Start"] = (0, {"streams": [(43, {})], "restore_token": "token-2"})
    cast = ScreenCastPortal(bus, tokens).open()
    assert bus.last("SelectSources").options()["restore_token"] == "token-1"
    assert cast.restore_token == "token-2" and tokens.load() == "token-2"
    cast.close()
    bus.answers["Start"] = (0, {"streams": [(44, {})]})  # the desktop did not persist this time
    cast = ScreenCastPortal(bus, tokens).open()
    assert bus.last("SelectSources").options()["restore_token"] == "token-2"
    assert not cast.persisted and tokens.load() is None  # the old token is spent: it is not sent again
    cast.close()


@pytest.mark.parametrize("step", ["SelectSources", "Start"])
def test_a_cancelled_picker_says_so_and_leaves_no_session(step: str, tokens: RestoreTokenStore) -> None:
    """xdpw asks in SelectSources, GNOME and KDE in Start: a cancel in either is the same to the person."""
    bus = screencast_bus()
    bus.answers[step] = (1, {})
    with pytest.raises(CaptureCancelled) as caught:
        ScreenCastPortal(bus, tokens).open()
    assert caught.value.message == ("Recording did not start: the screen picker was closed without choosing a "
                                    "screen")
    assert "choose a screen" in caught.value.hint
    assert caught.value.step == step
    assert bus.closed_sessions == [SESSION]
    assert "OpenPipeWireRemote" not in bus.methods()
    assert tokens.load() is None


def test_a_failing_portal_says_what_to_check(tokens: RestoreTokenStore) -> None:
    bus = screencast_bus()
    bus.answers["Start"] = (2, {})
    with pytest.raises(PortalFailed) as caught:
        ScreenCastPortal(bus, tokens).open()
    assert "Start" in caught.value.message and caught.value.step == "Start"
    assert "PipeWire and WirePlumber" in caught.value.hint
    assert bus.closed_sessions == [SESSION]


def test_a_start_without_streams_is_a_failure(tokens: RestoreTokenStore) -> None:
    bus = screencast_bus()
    bus.answers["Start"] = (0, {"streams": []})
    with pytest.raises(PortalFailed, match="no stream"):
        ScreenCastPortal(bus, tokens).open()
    assert bus.closed_sessions == [SESSION]


def test_an_old_portal_records_and_says_it_will_ask_every_time(tokens: RestoreTokenStore) -> None:
    bus = screencast_bus(version=3, issued=None)
    cast = ScreenCastPortal(bus, tokens).open()
    options = bus.last("SelectSources").options()
    assert "persist_mode" not in options and "restore_token" not in options
    assert isinstance(cast.notice, PortalTooOld)
    assert "version 3" in cast.notice.message and "asks at every recording" in cast.notice.message
    assert "xdg-desktop-portal" in cast.notice.hint
    assert not cast.persisted
    cast.close()


@pytest.mark.parametrize("name", ["org.freedesktop.DBus.Error.ServiceUnknown",
                                  "org.freedesktop.DBus.Error.NameHasNoOwner"])
def test_no_portal_on_the_bus(name: str) -> None:
    bus = screencast_bus()
    bus.errors["Get"] = BusCallError(name, "The name org.freedesktop.portal.Desktop was not provided")
    with pytest.raises(PortalUnavailable) as caught:
        ScreenCastPortal(bus, None).open()
    assert "No desktop portal answers on the session bus" in caught.value.message
    assert "xdg-desktop-portal" in caught.value.hint and "X11" in caught.value.hint
    assert "CreateSession" not in bus.methods()


def test_a_portal_without_screencast() -> None:
    bus = screencast_bus()
    bus.properties.clear()  # UnknownProperty, as a portal without the interface answers
    with pytest.raises(PortalUnavailable, match="offers no ScreenCast interface"):
        ScreenCastPortal(bus, None).capabilities()


def test_no_pipewire_says_how_to_start_it(tokens: RestoreTokenStore) -> None:
    bus = screencast_bus()
    bus.errors["OpenPipeWireRemote"] = BusCallError("org.freedesktop.DBus.Error.Failed",
                                                    "Failed to connect to PipeWire")
    with pytest.raises(PipeWireUnavailable) as caught:
        ScreenCastPortal(bus, tokens).open()
    assert "could not connect traycap to PipeWire" in caught.value.message
    assert "systemctl --user start pipewire wireplumber" in caught.value.hint
    assert bus.closed_sessions == [SESSION]


def test_a_cast_hears_when_the_desktop_closes_it(tokens: RestoreTokenStore) -> None:
    bus = screencast_bus()
    cast = ScreenCastPortal(bus, tokens).open()
    heard: list[bool] = []
    cast.on_closed(lambda: heard.append(True))
    assert bus.emit("org.freedesktop.portal.Session", "Closed", SESSION, ({},)) == 1
    assert heard == [True]
    cast.close()
    cast.close()  # twice is harmless
    assert bus.closed_sessions == [SESSION]
    assert bus.subscriptions == 0


def test_stopping_while_the_picker_is_open_ends_the_wait(tokens: RestoreTokenStore) -> None:
    """The person quits traycap while the desktop's dialog is open: open() gives up at once, session closed."""
    bus = screencast_bus()
    portal = ScreenCastPortal(bus, tokens)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            portal.open()
        except BaseException as exc:
            outcome.append(exc)

    original = bus.call  # CreateSession answers; SelectSources (the picker) never does

    def call_then_hold(*args: object, **kwargs: object) -> object:
        bus.answer_later = args[3] == "SelectSources"
        return original(*args, **kwargs)  # type: ignore[arg-type]

    bus.call = call_then_hold  # type: ignore[method-assign]
    worker = threading.Thread(target=run)
    worker.start()
    wait_until("the picker to be waited for", lambda: "SelectSources" in bus.methods(), 10)
    portal.abort()
    worker.join(10)
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], PortalFailed) and "abandoned" in str(outcome[0])
    assert bus.closed_sessions == [SESSION]


def test_malformed_streams_are_left_out() -> None:
    streams = parse_streams([(7, {"size": (10, 20), "source_type": 2}), "junk", (8, {"size": "x"})])
    assert [(s.node_id, s.size, s.source_type) for s in streams] == [(7, (10, 20), SourceType.WINDOW),
                                                                     (8, None, None)]
