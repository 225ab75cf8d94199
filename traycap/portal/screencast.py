"""org.freedesktop.portal.ScreenCast: what the desktop offers, and one screen cast from it (pure, over `Bus`).

    portal = ScreenCastPortal(GioBus(), RestoreTokenStore.in_dir(data_dir))
    cast = portal.open()           # CreateSession -> SelectSources -> Start -> OpenPipeWireRemote
    cast.pipewire_fd, cast.streams[0].node_id    # what pipewiresrc reads (pipewire.py)
    cast.close()

SelectSources asks for a monitor, or for a window where the desktop offers window casts and the
person asked for one (the picker then lists windows: "record only this window"); the
cursor drawn into the frames (see `ScreenCastCapabilities.cursor_mode`); and persist_mode=2
with the token saved by the previous session, so the desktop's picker shows once and never
again. The token that Start returns is saved at once (it can change every time).

Errors, each a TraycapError a person can act on: no portal on the bus (PortalUnavailable), the
picker closed (CaptureCancelled), the portal failing (PortalFailed), no PipeWire connection
(PipeWireUnavailable). An old portal that cannot persist (version < 4) still records: the cast
carries a PortalTooOld `notice` for the tray to show once. A session half made is closed
before any error leaves `open`.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from traycap.errors import (
    CaptureCancelled,
    PipeWireUnavailable,
    PortalError,
    PortalFailed,
    PortalTooOld,
    StorageError,
    TraycapError,
)
from traycap.portal.bus import Bus, Variant
from traycap.portal.request import PICKER_TIMEOUT_S, PortalInterface, keyed_entries, new_token
from traycap.portal.restore_token import RestoreTokenStore

log = logging.getLogger(__name__)

INTERFACE = "org.freedesktop.portal.ScreenCast"
CURSOR_MODES_VERSION = 2  # cursor_mode and AvailableCursorModes came with version 2
PERSIST_VERSION = 4  # persist_mode and restore_token came with version 4
PERSIST_UNTIL_REVOKED = 2


class SourceType(enum.IntFlag):
    MONITOR = 1
    WINDOW = 2
    VIRTUAL = 4


class CursorMode(enum.IntFlag):
    HIDDEN = 1
    EMBEDDED = 2
    METADATA = 4


@dataclass(frozen=True)
class ScreenCastCapabilities:
    """What the desktop's ScreenCast portal offers (its AvailableSourceTypes, AvailableCursorModes, version)."""

    version: int
    source_types: SourceType
    cursor_modes: CursorMode

    @property
    def persists(self) -> bool:
        """The portal can remember the person's choice (persist_mode and restore tokens)."""
        return self.version >= PERSIST_VERSION

    @property
    def offers_window(self) -> bool:
        return bool(self.source_types & SourceType.WINDOW)

    def types_to_request(self, *, window: bool) -> SourceType:
        """Windows when wanted and offered ("record only this window": the picker lists windows), else monitors."""
        wanted = SourceType.WINDOW if window else SourceType.MONITOR
        offered = self.source_types & wanted
        return offered or SourceType.MONITOR

    def cursor_mode(self) -> CursorMode | None:
        """Embedded where offered: the pointer is drawn into the frames, as on X11.

        Metadata only when embedded is not offered: GStreamer's pipewiresrc (PipeWire 0.3 and 1.0)
        passes no cursor metadata on, so a metadata cast would record no pointer at all. None:
        the portal predates cursor modes (version 1), or offers neither (hidden it is).
        """
        if self.version < CURSOR_MODES_VERSION:
            return None
        for mode in (CursorMode.EMBEDDED, CursorMode.METADATA):
            if self.cursor_modes & mode:
                return mode
        return None


@dataclass(frozen=True)
class CastStream:
    """One PipeWire stream of a cast: its node, and where on the desktop it is (when the portal says)."""

    node_id: int
    size: tuple[int, int] | None = None
    position: tuple[int, int] | None = None
    source_type: SourceType | None = None


@dataclass
class ScreenCast:
    """An open ScreenCast session. Close it (or let `with` do it): the fd and the session go with it."""

    portal: PortalInterface = field(repr=False)
    handle: str
    streams: tuple[CastStream, ...]
    pipewire_fd: int  # a connection to PipeWire that can see this cast's nodes only; ours to close
    cursor_mode: CursorMode | None
    restore_token: str | None
    persisted: bool  # the desktop will not ask again next time
    notice: TraycapError | None = None  # something to tell the person once (an old portal)
    _closed: bool = field(default=False, repr=False)
    _subscriptions: list[int] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def stream(self) -> CastStream:
        return self.streams[0]

    def on_closed(self, callback: Callable[[], None]) -> None:
        """`callback` runs (on the bus thread) when the desktop ends the cast: "stop sharing", a logout."""
        self._subscriptions.append(self.portal.on_session_closed(self.handle, callback))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for subscription in self._subscriptions:
            self.portal.bus.unsubscribe(subscription)
        self.portal.close_session(self.handle)
        with contextlib.suppress(OSError):
            os.close(self.pipewire_fd)

    def __enter__(self) -> ScreenCast:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ScreenCastPortal:
    def __init__(self, bus: Bus, tokens: RestoreTokenStore | None, *, picker_timeout_s: float = PICKER_TIMEOUT_S,
                 ) -> None:
        self._portal = PortalInterface(bus, INTERFACE, what="screen recording")
        self._tokens = tokens
        self._picker_timeout_s = picker_timeout_s

    def capabilities(self) -> ScreenCastCapabilities:
        """PortalUnavailable when there is no portal, or it has no ScreenCast."""
        version = self._portal.version()
        types = SourceType(int(self._portal.property("AvailableSourceTypes")) & 7)
        cursors = CursorMode(0)
        if version >= CURSOR_MODES_VERSION:
            cursors = CursorMode(int(self._portal.property("AvailableCursorModes")) & 7)
        return ScreenCastCapabilities(version=version, source_types=types, cursor_modes=cursors)

    def open(self, *, window: bool = False) -> ScreenCast:
        """A started cast of what the person picks (or picked once before); see the module doc for errors."""
        caps = self.capabilities()
        handle = self._create_session()
        try:
            cursor = caps.cursor_mode()
            types = caps.types_to_request(window=window)
            self._select_sources(handle, caps, cursor, types)
            results = self._portal.request("Start", [handle, ""], "os", {}, timeout_s=self._picker_timeout_s)
            streams = parse_streams(results.get("streams"))
            if not streams:
                raise PortalFailed("The desktop portal started a screen cast with no stream in it", step="Start")
            token = results.get("restore_token") if caps.persists else None
            token = token if isinstance(token, str) and token else None
            if caps.persists:
                self._save_token(token, types)
            fd = self._open_pipewire_remote(handle)
        except CaptureCancelled as exc:
            self._portal.close_session(handle)
            raise CaptureCancelled("Recording did not start: the screen picker was closed without choosing "
                                   "a screen", step=exc.step) from exc
        except BaseException:
            self._portal.close_session(handle)
            raise
        notice = None
        if not caps.persists:
            notice = PortalTooOld(f"This desktop's screen-cast portal (version {caps.version}) cannot remember "
                                  "the screen you chose: it asks at every recording", step="SelectSources")
        return ScreenCast(portal=self._portal, handle=handle, streams=streams, pipewire_fd=fd, cursor_mode=cursor,
                          restore_token=token, persisted=token is not None, notice=notice)

    def abort(self) -> None:
        """Stop waiting for an open picker (traycap is stopping): `open` then raises PortalFailed."""
        self._portal.abort()

    # --- steps ---------------------------------------------------------------------------------
    def _create_session(self) -> str:
        results = self._portal.request("CreateSession", [], "",
                                       {"session_handle_token": Variant("s", new_token("traycap_session"))})
        handle = results.get("session_handle")
        if not isinstance(handle, str) or not handle:
            raise PortalFailed("The desktop portal created no screen-cast session", step="CreateSession")
        return handle

    def _select_sources(self, handle: str, caps: ScreenCastCapabilities, cursor: CursorMode | None,
                        types: SourceType) -> None:
        options: dict[str, Variant] = {
            "types": Variant("u", int(types)),
            "multiple": Variant("b", False),
        }
        if cursor is not None:
            options["cursor_mode"] = Variant("u", int(cursor))
        if caps.persists:
            options["persist_mode"] = Variant("u", PERSIST_UNTIL_REVOKED)
            # A token restores what was picked for these source types; asked for others, the picker shows again.
            token = self._tokens.load(int(types)) if self._tokens is not None else None
            if token:
                options["restore_token"] = Variant("s", token)
        self._portal.request("SelectSources", [handle], "o", options, timeout_s=self._picker_timeout_s)

    def _open_pipewire_remote(self, handle: str) -> int:
        try:
            reply = self._portal.call("OpenPipeWireRemote", [handle, {}], "oa{sv}", with_fds=True)
        except PortalError as exc:
            raise PipeWireUnavailable(f"The desktop portal could not connect traycap to PipeWire: {exc.message}"
                                      ) from exc
        index = int(reply.values[0]) if reply.values else -1
        if not 0 <= index < len(reply.fds):
            for fd in reply.fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            raise PipeWireUnavailable("The desktop portal gave no PipeWire connection for the screen cast")
        for i, fd in enumerate(reply.fds):
            if i != index:
                with contextlib.suppress(OSError):
                    os.close(fd)
        return reply.fds[index]

    def _save_token(self, token: str | None, types: SourceType) -> None:
        if self._tokens is None:
            return
        try:
            self._tokens.save(token, int(types))
        except StorageError as exc:  # the recording goes on; the picker shows again next time
            log.warning("could not save the screen-cast restore token: %s", exc)


def parse_streams(value: Any) -> tuple[CastStream, ...]:
    """Start's `streams` (a(ua{sv})) as CastStreams; malformed entries are left out."""
    return tuple(
        CastStream(node_id=int(node), size=_pair(props.get("size")), position=_pair(props.get("position")),
                   source_type=SourceType(int(source) & 7) if isinstance(source := props.get("source_type"), int)
                   else None)
        for node, props in keyed_entries(value))


def _pair(value: Any) -> tuple[int, int] | None:
    try:
        a, b = value
        return int(a), int(b)
    except (TypeError, ValueError):
        return None
