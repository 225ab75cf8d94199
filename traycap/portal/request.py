"""One xdg-desktop-portal interface: its requests, their answers, its sessions (pure, over the `Bus` seam).

A portal method that may ask the person something returns at once with a *request* object
path; the answer comes later as that object's `Response(u code, a{sv} results)` signal. The
path is known before the call (`/org/freedesktop/portal/desktop/request/SENDER/TOKEN`, TOKEN
being the `handle_token` option we choose), so the signal is subscribed first and an answer
that comes quickly is never missed. Codes: 0 done, 1 cancelled by the person, 2 failed.

Errors are translated here for the portal clients: no portal on the bus or no such interface
-> PortalUnavailable; a refused or failed call -> PortalFailed; code 1 -> CaptureCancelled (the
caller may translate it again); each names the `step` (the method) that failed.
"""

from __future__ import annotations

import enum
import itertools
import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from traycap.errors import CaptureCancelled, PortalError, PortalFailed, PortalUnavailable
from traycap.portal.bus import INVALID_ARGS, NOT_IMPLEMENTED, NOT_THERE, TIMEOUT, Bus, BusCallError, BusReply, Variant

log = logging.getLogger(__name__)

DESKTOP = "org.freedesktop.portal.Desktop"
DESKTOP_PATH = "/org/freedesktop/portal/desktop"
REQUEST_INTERFACE = "org.freedesktop.portal.Request"
SESSION_INTERFACE = "org.freedesktop.portal.Session"
REQUEST_PREFIX = "/org/freedesktop/portal/desktop/request/"

CALL_TIMEOUT_S = 30.0  # a method call; the portal answers at once
ANSWER_TIMEOUT_S = 30.0  # a request that asks nobody anything
PICKER_TIMEOUT_S = 600.0  # a request that may show a dialog: the person takes their time

_counter = itertools.count(1)


class Response(enum.IntEnum):
    SUCCESS = 0
    CANCELLED = 1
    FAILED = 2


def new_token(prefix: str = "traycap") -> str:
    """A handle token: unique in this process, valid as a D-Bus object path element."""
    return f"{prefix}_{os.getpid()}_{next(_counter)}"


def request_path(unique_name: str, token: str) -> str:
    """Where the portal puts the request object for `token` (the spec's rule, from portal version 0.9)."""
    return REQUEST_PREFIX + unique_name.lstrip(":").replace(".", "_") + "/" + token


def keyed_entries(value: Any) -> list[tuple[Any, dict[str, Any]]]:
    """The entries of an a(xa{sv}) result (Start's streams, BindShortcuts' shortcuts) as (key, properties);
    malformed entries are left out."""
    out = []
    for entry in value or ():
        try:
            key, props = entry
            out.append((key, dict(props)))
        except (TypeError, ValueError):
            continue
    return out


@dataclass(frozen=True)
class Answer:
    code: int
    results: dict[str, Any]


class PortalInterface:
    """Calls on one portal interface of org.freedesktop.portal.Desktop."""

    def __init__(self, bus: Bus, interface: str, *, what: str, destination: str = DESKTOP) -> None:
        self.bus = bus
        self.interface = interface
        self.destination = destination
        self._what = what  # "screen recording", "global shortcuts": for messages
        self._aborted = threading.Event()
        self._waiting: set[queue.Queue[Answer | None]] = set()
        self._lock = threading.Lock()

    # --- properties -----------------------------------------------------------------------
    def version(self) -> int:
        """The interface's version; PortalUnavailable when there is no portal or no such interface."""
        return int(self.property("version"))

    def property(self, name: str) -> Any:
        try:
            return self.bus.get_property(self.destination, DESKTOP_PATH, self.interface, name,
                                         timeout_s=CALL_TIMEOUT_S)
        except BusCallError as exc:
            raise self._error(exc, f"reading {name}") from exc

    # --- calls ------------------------------------------------------------------------------
    def call(self, method: str, args: Sequence[Any], signature: str, *, with_fds: bool = False) -> BusReply:
        """A plain method call (no request object)."""
        try:
            return self.bus.call(self.destination, DESKTOP_PATH, self.interface, method, args, signature,
                                 timeout_s=CALL_TIMEOUT_S, with_fds=with_fds)
        except BusCallError as exc:
            raise self._error(exc, method) from exc

    def request(self, method: str, args: Sequence[Any], signature: str, options: dict[str, Variant],
                *, timeout_s: float = ANSWER_TIMEOUT_S) -> dict[str, Any]:
        """Call `method` with `args` and then `options` (its last argument, a{sv}); wait for the Response.

        Returns the results on success; CaptureCancelled on code 1, PortalFailed on any other.
        """
        token = new_token()
        options = {**options, "handle_token": Variant("s", token)}
        expected = request_path(self.bus.unique_name, token)
        answers: queue.Queue[Answer | None] = queue.Queue()

        def on_response(values: tuple[Any, ...]) -> None:
            answers.put(Answer(code=int(values[0]), results=dict(values[1])))

        subscription = self.bus.subscribe(self.destination, REQUEST_INTERFACE, "Response", expected, on_response)
        with self._lock:
            self._waiting.add(answers)
        try:
            reply = self.call(method, [*args, options], signature + "a{sv}")
            handle = str(reply.values[0]) if reply.values else expected
            if handle != expected:  # a portal older than 0.9 chose its own path: follow it
                self.bus.unsubscribe(subscription)
                subscription = self.bus.subscribe(self.destination, REQUEST_INTERFACE, "Response", handle,
                                                  on_response)
            answer = self._wait(answers, method, timeout_s)
        finally:
            with self._lock:
                self._waiting.discard(answers)
            self.bus.unsubscribe(subscription)
        if answer.code == Response.SUCCESS:
            return answer.results
        if answer.code == Response.CANCELLED:
            raise CaptureCancelled(f"The {self._what} dialog was closed: nothing was chosen", step=method)
        raise PortalFailed(f"The desktop portal could not complete {method} for {self._what} "
                           f"(it answered {answer.code})", step=method)

    def _wait(self, answers: queue.Queue[Answer | None], method: str, timeout_s: float) -> Answer:
        if self._aborted.is_set():
            raise PortalFailed(f"{method} was abandoned: traycap is stopping", step=method)
        try:
            answer = answers.get(timeout=timeout_s)
        except queue.Empty:
            raise PortalFailed(f"The desktop portal did not answer {method} within {timeout_s:.0f} s",
                               step=method) from None
        if answer is None:
            raise PortalFailed(f"{method} was abandoned: traycap is stopping", step=method)
        return answer

    def abort(self) -> None:
        """End every wait for an answer at once (the recording was stopped while a dialog was open)."""
        self._aborted.set()
        with self._lock:
            for answers in self._waiting:
                answers.put(None)

    # --- sessions ---------------------------------------------------------------------------
    def close_session(self, handle: str) -> None:
        """Session.Close; never raises (the portal may have closed it already)."""
        try:
            self.bus.call(self.destination, handle, SESSION_INTERFACE, "Close", (), "", timeout_s=CALL_TIMEOUT_S)
        except BusCallError as exc:
            log.info("closing portal session %s: %s", handle, exc)

    def on_session_closed(self, handle: str, callback: Callable[[], None]) -> int:
        """Call `callback` when the desktop closes the session (Session::Closed); a subscription id."""
        return self.bus.subscribe(self.destination, SESSION_INTERFACE, "Closed", handle, lambda _values: callback())

    # --- errors -----------------------------------------------------------------------------
    def _error(self, exc: BusCallError, step: str) -> PortalError:
        if exc.name in NOT_THERE:
            return PortalUnavailable(f"No desktop portal answers on the session bus, so {self._what} is not "
                                     f"possible ({exc.text})", step=step)
        if exc.name in NOT_IMPLEMENTED or (exc.name == INVALID_ARGS and "interface" in exc.text.lower()):
            # GDBus answers a property read on an interface it does not have with InvalidArgs.
            return PortalUnavailable(f"The desktop portal offers no {self.interface.rsplit('.', 1)[-1]} interface, "
                                     f"so {self._what} is not possible on this desktop", step=step)
        if exc.name == TIMEOUT:
            return PortalFailed(f"The desktop portal did not answer {step} in time", step=step)
        return PortalFailed(f"The desktop portal refused {step}: {exc.text}", step=step)
