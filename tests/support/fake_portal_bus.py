"""A fake of traycap.portal.bus.Bus that plays xdg-desktop-portal's part, for the unit tests of the portal clients.

It answers like the real portal does on the wire: a request method returns the request object
path and the answer comes as that object's Response signal, delivered to whoever subscribed;
properties come from `properties`; `answers` scripts each request's (code, results) and
`errors` makes a call fail with a D-Bus error name. The real thing is tested on the headless
desktop (tests/integration/test_wayland_capture.py) and a real D-Bus service
(tests/integration/test_portal_dbus.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from traycap.portal.bus import BusCallError, BusReply, SignalHandler, Variant
from traycap.portal.request import DESKTOP_PATH, request_path

Answer = tuple[int, dict[str, Any]]


@dataclass
class Call:
    interface: str
    method: str
    path: str
    args: tuple[Any, ...]

    def options(self) -> dict[str, Any]:
        """The call's a{sv} options, unwrapped from their Variants."""
        last = self.args[-1] if self.args else {}
        return {k: (v.value if isinstance(v, Variant) else v) for k, v in dict(last).items()}


@dataclass
class FakePortalBus:
    properties: dict[tuple[str, str], Any] = field(default_factory=dict)
    answers: dict[str, Answer | Callable[[Call], Answer | None] | None] = field(default_factory=dict)
    errors: dict[str, BusCallError] = field(default_factory=dict)
    unique_name: str = ":1.42"
    calls: list[Call] = field(default_factory=list)
    closed_sessions: list[str] = field(default_factory=list)
    opened_fds: list[int] = field(default_factory=list)
    answer_later: bool = False  # True: requests get no Response until `respond` (a dialog left open)
    own_paths: bool = False  # True: a portal older than 0.9, which picks its own request paths
    _handlers: dict[int, tuple[str, str, str | None, SignalHandler]] = field(default_factory=dict)
    _held: dict[str, Answer] = field(default_factory=dict)
    _next: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    # --- Bus ------------------------------------------------------------------------------
    def call(self, destination: str, path: str, interface: str, method: str, args: Sequence[Any], signature: str,
             *, timeout_s: float, with_fds: bool = False) -> BusReply:
        call = Call(interface, method, path, tuple(args))
        self.calls.append(call)
        if method in self.errors:
            raise self.errors[method]
        if method == "Close" and interface.endswith(".Session"):
            self.closed_sessions.append(path)
            return BusReply(values=())
        if method == "OpenPipeWireRemote":
            read_end, write_end = os.pipe()
            os.close(write_end)
            self.opened_fds.append(read_end)
            return BusReply(values=(0,), fds=(read_end,))
        token = call.options()["handle_token"]
        if self.own_paths:  # the answer waits for a subscriber to the path only this reply tells
            handle = f"{DESKTOP_PATH}/request/old/{len(self.calls)}"
            self._held[handle] = self._answer(call)
            return BusReply(values=(handle,))
        handle = request_path(self.unique_name, token)
        answer = None if self.answer_later else self._answer(call)
        if answer is not None:  # None: a dialog that stays open (nobody answers)
            self.respond(handle, answer)
        return BusReply(values=(handle,))

    def get_property(self, destination: str, path: str, interface: str, name: str, *, timeout_s: float) -> Any:
        if "Get" in self.errors:
            raise self.errors["Get"]
        if (interface, name) not in self.properties:
            raise BusCallError("org.freedesktop.DBus.Error.UnknownProperty", f"no {interface}.{name}")
        return self.properties[(interface, name)]

    def subscribe(self, sender: str | None, interface: str, member: str, path: str | None,
                  handler: SignalHandler) -> int:
        with self._lock:
            sub = self._next
            self._next += 1
            self._handlers[sub] = (interface, member, path, handler)
        if path in self._held:
            handler(self._held.pop(path))
        return sub

    def unsubscribe(self, subscription: int) -> None:
        with self._lock:
            self._handlers.pop(subscription, None)

    def name_has_owner(self, name: str) -> bool:
        return True

    def close(self) -> None:
        self.closed = True

    # --- playing the portal -----------------------------------------------------------------------
    def emit(self, interface: str, member: str, path: str, values: tuple[Any, ...]) -> int:
        """Deliver a signal to every matching subscriber; how many got it."""
        with self._lock:
            targets = [h for (i, m, p, h) in self._handlers.values()
                       if i == interface and m == member and (p is None or p == path)]
        for handler in targets:
            handler(values)
        return len(targets)

    def respond(self, handle: str, answer: Answer) -> None:
        self.emit("org.freedesktop.portal.Request", "Response", handle, (answer[0], answer[1]))

    @property
    def subscriptions(self) -> int:
        return len(self._handlers)

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    def last(self, method: str) -> Call:
        return [c for c in self.calls if c.method == method][-1]

    def _answer(self, call: Call) -> Answer | None:
        answer = self.answers.get(call.method, (0, {}))
        return answer(call) if callable(answer) else answer


SCREENCAST = "org.freedesktop.portal.ScreenCast"


def screencast_bus(*, version: int = 4, source_types: int = 1, cursor_modes: int = 3,
                   issued: str | None = "token-1", node: int = 42) -> FakePortalBus:
    """A portal like xdg-desktop-portal 1.16 with xdg-desktop-portal-wlr: each step succeeds."""
    start: dict[str, Any] = {"streams": [(node, {"position": (0, 0), "size": (1280, 720), "source_type": 1})]}
    if issued is not None:  # the restore token Start hands out
        start["restore_token"] = issued
    return FakePortalBus(
        properties={(SCREENCAST, "version"): version, (SCREENCAST, "AvailableSourceTypes"): source_types,
                    (SCREENCAST, "AvailableCursorModes"): cursor_modes},
        answers={"CreateSession": (0, {"session_handle": DESKTOP_PATH + "/session/1_42/s1"}),
                 "SelectSources": (0, {}), "Start": (0, start)},
    )
