"""One portal request (traycap/portal/request.py): the Response is subscribed before the call, and errors."""

from __future__ import annotations

import pytest

from tests.support.fake_portal_bus import FakePortalBus
from traycap.errors import PortalFailed, PortalUnavailable
from traycap.portal.bus import BusCallError, Variant
from traycap.portal.request import PortalInterface, request_path


def test_the_request_path_follows_the_spec() -> None:
    assert request_path(":1.42", "tok") == "/org/freedesktop/portal/desktop/request/1_42/tok"


def test_an_answer_that_comes_before_the_call_returns_is_not_missed() -> None:
    """The fake answers inside the call, as a fast portal can: the subscription was made before it."""
    bus = FakePortalBus(answers={"Do": (0, {"x": 1})})
    iface = PortalInterface(bus, "org.example.Thing", what="things")
    assert iface.request("Do", ["a"], "s", {"k": Variant("u", 2)}) == {"x": 1}
    call = bus.last("Do")
    assert call.args[0] == "a" and call.options()["k"] == 2 and call.options()["handle_token"]
    assert bus.subscriptions == 0


def test_an_old_portal_that_picks_its_own_request_path_is_followed() -> None:
    bus = FakePortalBus(own_paths=True, answers={"Do": (0, {"late": True})})
    assert PortalInterface(bus, "org.example.Thing", what="things").request("Do", [], "", {}) == {"late": True}
    assert bus.subscriptions == 0


def test_call_errors_become_traycap_errors_naming_the_step() -> None:
    bus = FakePortalBus(errors={"Do": BusCallError("org.freedesktop.DBus.Error.AccessDenied", "not you")})
    iface = PortalInterface(bus, "org.example.Thing", what="things")
    with pytest.raises(PortalFailed) as caught:
        iface.request("Do", [], "", {})
    assert caught.value.step == "Do" and "refused Do: not you" in caught.value.message
    bus.errors["Do"] = BusCallError("org.freedesktop.DBus.Error.UnknownMethod", "no Do")
    with pytest.raises(PortalUnavailable, match="offers no Thing interface"):
        iface.request("Do", [], "", {})
    assert bus.subscriptions == 0
