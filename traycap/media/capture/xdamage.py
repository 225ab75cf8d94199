"""X11 capture driven by the DAMAGE extension: the screen is read only when it changed, and the
rectangles that changed go with the frame, so only they are converted for the encoder.

python-xlib (already installed with pynput) keeps one connection that hears DAMAGE: a DamageNotify
event says the screen changed since the last look (level NonEmpty: one event, however much is drawn),
and DamageSubtract moves what changed into an XFixes region, atomically, so a change drawn while we
read is reported next time, never lost. FetchRegion gives its rectangles.

A grab that saw no change returns the previous array itself: the recorder takes the same object for
"nothing changed" (Capabilities.damage_driven) and neither converts nor encodes it. A grab that saw
one reads the whole monitor through mss (XShm) into a new array, and `changed_areas` says where it
differs from the frame before (media/picture.py converts only there).

Why the whole monitor, not only the rectangles: a frame the encoder's queue or a screenshot still
holds must never change under it, so reading only the rectangles means first copying the previous
frame, and at 1080p that copy costs what the XShm read of the whole screen costs (measured in the
recorder's pipeline on moving content: 2.1 ms a grab with the rectangles read into a copy, 1.6 ms
with the whole screen read). The rectangles pay off
where the time goes, in the colour conversion (~3 ms for a whole frame). The mouse pointer is not in
the frames (as with mss) and moving it draws nothing DAMAGE reports.

The XFixes region requests (CreateRegion, FetchRegion, DestroyRegion) are not in python-xlib; they
are declared below from the XFixes protocol (version 2+).
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

from traycap.errors import CaptureLost, TraycapError
from traycap.media import regions
from traycap.media.capture.base import Capabilities
from traycap.media.capture.mss_screen import MssScreen

DAMAGE_REPORT_NON_EMPTY = 3  # Xlib.ext.damage.DamageReportNonEmpty
_FETCH, _CREATE, _DESTROY = 19, 5, 10  # XFixes minor opcodes


class DamageUnavailable(Exception):
    """The X server lacks DAMAGE or XFIXES (or python-xlib cannot load): capture polls instead."""


def _requests() -> tuple[Any, Any, Any]:
    rq = importlib.import_module("Xlib.protocol.rq")
    structs = importlib.import_module("Xlib.protocol.structs")

    class CreateRegion(rq.Request):  # type: ignore[misc, name-defined]
        _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(_CREATE), rq.RequestLength(), rq.Card32("region"),
                             rq.List("rectangles", structs.Rectangle))

    class DestroyRegion(rq.Request):  # type: ignore[misc, name-defined]
        _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(_DESTROY), rq.RequestLength(), rq.Card32("region"))

    class FetchRegion(rq.ReplyRequest):  # type: ignore[misc, name-defined]
        _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(_FETCH), rq.RequestLength(), rq.Card32("region"))
        _reply = rq.Struct(rq.ReplyCode(), rq.Pad(1), rq.Card16("sequence_number"), rq.ReplyLength(),
                           rq.Object("extents", structs.Rectangle), rq.Pad(16),
                           rq.List("rectangles", structs.Rectangle))

    return CreateRegion, DestroyRegion, FetchRegion


class DamageWatch:
    """What changed on the X screen since the last `take()`, in screen coordinates."""

    def __init__(self, display_name: str | None = None) -> None:
        try:
            xdisplay = importlib.import_module("Xlib.display")
            self._X = importlib.import_module("Xlib.X")
            self._create, self._destroy, self._fetch = _requests()
            self._d: Any = xdisplay.Display(display_name)
        except Exception as exc:  # no python-xlib, or the display refuses a connection
            raise DamageUnavailable(str(exc)) from exc
        try:
            if not (self._d.has_extension("DAMAGE") and self._d.has_extension("XFIXES")):
                raise DamageUnavailable("the X server has no DAMAGE or XFIXES extension")
            self._d.xfixes_query_version()  # XFixes requests need the client's version said first
            self._d.damage_query_version()
            self._notify = self._d.query_extension("DAMAGE").first_event
            self._xfixes = self._d.display.get_extension_major("XFIXES")
            self._damage = self._d.screen().root.damage_create(DAMAGE_REPORT_NON_EMPTY)
            self._region = self._d.display.allocate_resource_id()
            self._create(display=self._d.display, opcode=self._xfixes, region=self._region, rectangles=[])
            self._d.sync()
        except DamageUnavailable:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise DamageUnavailable(f"DAMAGE could not be set up: {exc}") from exc

    def take(self) -> tuple[regions.Rect, ...]:
        """The rectangles drawn since the last call (empty: nothing). Raises CaptureLost when the
        connection to the X server is gone."""
        try:
            # A round trip, every take: its reply makes the X server flush output, and with it what the
            # RECORD extension holds for pynput's listeners. An X server with no other output to send
            # (a still screen: no grab, no reply) kept a click for as long as nothing else ran; mss's
            # grab at every frame used to do this. It also brings in every DamageNotify sent before it.
            self._d.sync()
            notified = False
            while self._d.pending_events():
                notified = self._d.next_event().type == self._notify or notified
            if not notified:
                return ()
            self._d.damage_subtract(self._damage, self._X.NONE, self._region)
            reply = self._fetch(display=self._d.display, opcode=self._xfixes, region=self._region)
        except Exception as exc:  # python-xlib raises ConnectionClosedError, XError, OSError...
            raise CaptureLost(f"Screen capture stopped working: the X display stopped answering ({exc})") from exc
        return tuple((r.x, r.y, r.width, r.height) for r in reply.rectangles)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._d.close()


class DamageScreen:
    """One monitor's frames on X11 (0 = all monitors, 1 = primary, N = Nth, as mss numbers them),
    read where DAMAGE says the screen changed."""

    capabilities = Capabilities("x11-damage", damage_driven=True)  # the pointer is not in the frames
    notice: TraycapError | None = None

    def __init__(self, monitor: int = 0, display_name: str | None = None) -> None:
        self._screen = MssScreen(monitor)
        try:
            self._watch = DamageWatch(display_name)
        except DamageUnavailable:
            self._screen.close()
            raise
        self._frame: Any = None
        self._changed: regions.Changes = None

    @property
    def width(self) -> int:
        return self._screen.width

    @property
    def height(self) -> int:
        return self._screen.height

    def describe(self) -> dict[str, Any]:
        return {**self._screen.describe(), "backend": self.capabilities.name}

    def grab(self) -> Any:
        drawn = self._watch.take()
        if self._frame is None:
            self._frame = self._screen.grab()
            self._changed = None
            return self._frame
        left, top = self._screen.origin
        parts = regions.simplify(regions.clip(drawn, self.width, self.height, dx=left, dy=top),
                                 self.width, self.height)
        if parts == ():
            self._changed = ()
            return self._frame  # nothing of this monitor changed: the same frame, at no cost
        self._frame = self._screen.grab()
        self._changed = parts
        return self._frame

    def changed_areas(self) -> regions.Changes:
        return self._changed

    def close(self) -> None:
        self._watch.close()
        self._screen.close()


def open_damage_screen(monitor: int) -> DamageScreen | None:
    """The DAMAGE-driven screen, or None when this X server cannot give one (the caller polls)."""
    try:
        return DamageScreen(monitor)
    except DamageUnavailable:
        return None
