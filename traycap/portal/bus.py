"""The D-Bus seam the portal clients speak (pure): what they call, what comes back, what can fail.

`dbus.py` implements it over Gio; the unit tests drive the portal clients through a fake of it.
Arguments are plain Python values; a value whose D-Bus type is a variant (`v`, as in every
portal's `a{sv}` options) is wrapped in `Variant(signature, value)` because Python cannot say
whether 2 is a `u` or an `i`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

SignalHandler = Callable[[tuple[Any, ...]], None]

# Error names the portal clients tell apart (the rest mean "the call failed").
SERVICE_UNKNOWN = "org.freedesktop.DBus.Error.ServiceUnknown"
NAME_HAS_NO_OWNER = "org.freedesktop.DBus.Error.NameHasNoOwner"
UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"
UNKNOWN_INTERFACE = "org.freedesktop.DBus.Error.UnknownInterface"
UNKNOWN_OBJECT = "org.freedesktop.DBus.Error.UnknownObject"
UNKNOWN_PROPERTY = "org.freedesktop.DBus.Error.UnknownProperty"
INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
NO_REPLY = "org.freedesktop.DBus.Error.NoReply"
TIMEOUT = "org.freedesktop.DBus.Error.Timeout"
NO_BUS = "org.freedesktop.DBus.Error.NoServer"  # no session bus to connect to

NOT_THERE = frozenset({SERVICE_UNKNOWN, NAME_HAS_NO_OWNER, NO_BUS})
NOT_IMPLEMENTED = frozenset({UNKNOWN_METHOD, UNKNOWN_INTERFACE, UNKNOWN_OBJECT, UNKNOWN_PROPERTY})


@dataclass(frozen=True)
class Variant:
    """A value sent as a D-Bus variant, with its type: Variant("u", 2), Variant("s", "token")."""

    signature: str
    value: Any


@dataclass(frozen=True)
class BusReply:
    values: tuple[Any, ...]  # the reply's arguments, unpacked to Python values
    fds: tuple[int, ...] = field(default=())  # file descriptors passed with it (a `h` is an index here); ours to close


class BusCallError(Exception):
    """A D-Bus call failed: `name` is the D-Bus error name (or one of the names above), `text` its message.

    Never leaves the wayland package: the portal clients translate it into the traycap error tree.
    """

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}")
        self.name = name
        self.text = text


class Bus(Protocol):
    """One connection to a message bus."""

    @property
    def unique_name(self) -> str:
        """Our name on the bus (":1.42"): portals build request object paths from it."""
        ...

    def call(self, destination: str, path: str, interface: str, method: str, args: Sequence[Any], signature: str,
             *, timeout_s: float, with_fds: bool = False) -> BusReply:
        """Call `method` with `args` typed by `signature` (the arguments' types, without parentheses)."""
        ...

    def get_property(self, destination: str, path: str, interface: str, name: str, *, timeout_s: float) -> Any: ...

    def subscribe(self, sender: str | None, interface: str, member: str, path: str | None,
                  handler: SignalHandler) -> int:
        """Deliver each matching signal's arguments to `handler` (on the bus's own thread); an id to unsubscribe."""
        ...

    def unsubscribe(self, subscription: int) -> None: ...

    def name_has_owner(self, name: str) -> bool: ...

    def close(self) -> None: ...
