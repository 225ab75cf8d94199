"""`PortalScreen`: the recorder's frame source on Wayland (ScreenCast portal + PipeWire), a FrameSource.

    screen = open_portal_screen(data_dir, clock, max_fps=settings.fps)
    screen.start()             # the picker (first time only), then the first frame
    image = screen.grab()      # BGRx numpy (even size), or None before the screen's first change
    frame = screen.take()      # the same as a PacedFrame: .image, .t (clock), .fresh, .arrived_t
    screen.close()

Like the mss source (media/capture/mss_screen.py) it has width, height, describe(), grab() and close();
unlike it, frames come only when the screen changes (`capabilities.damage_driven`), so grab()
never waits: it answers with the newest frame, the last one again when nothing changed, and
the recorder's fixed grid gives the encoder a constant frame rate. grab() raises CaptureLost
once the stream has ended (the desktop closed the session, the output went away, the size
changed), which the recorder reports and exports what it has, as on X11.

The factory (factory.py) opens and starts it before the recorder makes a session: a picker the
person cancels (CaptureCancelled) leaves no session behind.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from traycap.clock import Clock
from traycap.errors import CaptureLost, PipeWireUnavailable, PortalError, TraycapError
from traycap.media.capture.base import Capabilities
from traycap.media.capture.frame_pacing import LatestFrame, PacedFrame
from traycap.media.capture.pipewire import FrameSink, PipeWireFrames
from traycap.portal.bus import Bus
from traycap.portal.restore_token import RestoreTokenStore
from traycap.portal.screencast import CastStream, CursorMode, ScreenCast, ScreenCastPortal, SourceType

FIRST_FRAME_TIMEOUT_S = 5.0  # a compositor sends the first frame within ~0.1 s of Start
IMAGE_GRACE_S = 0.5  # after PipeWire negotiated the stream: how long an unchanged screen may keep it imageless
POLL_S = 0.05


class FrameStream(Protocol):
    def start(self) -> None: ...

    def negotiated_size(self) -> tuple[int, int] | None: ...

    def close(self) -> None: ...


FramesFactory = Callable[[int, int, FrameSink, int | None], FrameStream]


def _pipewire_frames(fd: int, node_id: int, sink: FrameSink, max_fps: int | None) -> FrameStream:
    return PipeWireFrames(fd, node_id, sink, max_fps=max_fps)


class PortalScreen:
    """One monitor (or window) through the ScreenCast portal; see the module doc."""

    backend = "wayland-portal"

    def __init__(self, portal: ScreenCastPortal, clock: Clock, *, max_fps: int | None = None, window: bool = False,
                 frames_factory: FramesFactory = _pipewire_frames,
                 first_frame_timeout_s: float = FIRST_FRAME_TIMEOUT_S, bus: Bus | None = None) -> None:
        self._portal = portal
        self._clock = clock
        self._max_fps = max_fps
        self._window = window
        self._factory = frames_factory
        self._first_timeout = first_frame_timeout_s
        self._bus = bus  # closed with the screen when given (open_portal_screen made it)
        self._latest = LatestFrame(clock)
        self._cast: ScreenCast | None = None
        self._frames: FrameStream | None = None
        self._shape: tuple[int, ...] | None = None
        self._shape_lock = threading.Lock()
        self._capabilities: Capabilities | None = None
        self._window_offered = False
        self._stream: CastStream | None = None  # what was cast, kept for describe() after close
        self._notice: TraycapError | None = None

    # --- start / close ----------------------------------------------------------------------
    def start(self, cancel: threading.Event | None = None) -> None:
        """Open the cast (the desktop's picker the first time) and wait for the first frame.

        When PipeWire negotiated the stream (its size is known) and no image followed within IMAGE_GRACE_S,
        the screen simply has not changed: start returns and grab() answers None until it does. When the
        stream is not negotiated within `first_frame_timeout_s` (no session manager linked it):
        PipeWireUnavailable. `cancel` set while the picker is open ends the wait (PortalFailed): traycap is
        quitting, or the person pressed Ctrl-C.
        """
        self._window_offered = self._portal.capabilities().offers_window
        opened = threading.Event()
        if cancel is not None:
            threading.Thread(target=self._abort_when, args=(cancel, opened), name="traycap-portal-cancel",
                             daemon=True).start()
        try:
            cast = self._portal.open(window=self._window)
        finally:
            opened.set()
        self._cast = cast
        self._stream = cast.stream
        self._notice = cast.notice
        try:
            cast.on_closed(lambda: self._latest.fail(CaptureLost("The desktop ended the screen cast")))
            self._frames = self._factory(cast.pipewire_fd, cast.stream.node_id, self, self._max_fps)
            self._frames.start()
            self._wait_for_first_frame()
            if self._latest.failure is not None:
                raise self._latest.failure
        except BaseException:
            self.close()
            raise
        cursor = {CursorMode.EMBEDDED: "embedded", CursorMode.METADATA: "metadata"}.get(
            cast.cursor_mode or CursorMode.HIDDEN, "hidden")
        window_pick = self._window and self._window_offered
        self._capabilities = Capabilities(self.backend, damage_driven=True, monitors=False, cursor=cursor,
                                          window_pick=window_pick, remembers_choice=cast.persisted)
        if self._window and not window_pick and self._notice is None:
            self._notice = PortalError("This desktop offers no single windows to record: the whole screen is "
                                        "recorded", "to record one window, use a desktop whose portal offers "
                                        "window casts (GNOME, KDE Plasma)", step="SelectSources")

    def _abort_when(self, cancel: threading.Event, opened: threading.Event) -> None:
        while not opened.is_set():
            if cancel.wait(POLL_S * 2):
                if not opened.is_set():
                    self._portal.abort()
                return

    def _wait_for_first_frame(self) -> None:
        """The first image, or a negotiated stream whose screen does not change, or PipeWireUnavailable."""
        assert self._frames is not None
        clock = self._clock
        deadline = clock.monotonic() + self._first_timeout
        negotiated_at: float | None = None
        while not self._latest.wait_first(POLL_S):
            now = clock.monotonic()
            size = self._frames.negotiated_size()
            if size is not None and negotiated_at is None:
                negotiated_at = now
            if negotiated_at is not None and size is not None and now - negotiated_at >= IMAGE_GRACE_S:
                # The stream is up and the screen has not changed since it was last cast (wlroots sends a
                # frame on change only): the recording starts; its first image comes with the first change.
                with self._shape_lock:
                    if self._shape is None:
                        self._shape = (size[1] - size[1] % 2, size[0] - size[0] % 2, 4)
                return
            if now >= deadline:
                raise PipeWireUnavailable(
                    f"No frame came from PipeWire within {self._first_timeout:.0f} s of the screen cast's start",
                    "check that WirePlumber (PipeWire's session manager) runs: systemctl --user status wireplumber",
                )

    def close(self) -> None:
        frames, self._frames = self._frames, None
        cast, self._cast = self._cast, None
        if frames is not None:
            frames.close()
        if cast is not None:
            cast.close()
        if self._bus is not None:
            with contextlib.suppress(Exception):
                self._bus.close()
            self._bus = None

    # --- FrameSink (GStreamer's streaming thread) ---------------------------------------------
    def put(self, image: Any) -> None:
        with self._shape_lock:
            if self._shape is None:
                self._shape = tuple(image.shape)
            elif tuple(image.shape) != self._shape:
                height, width = image.shape[:2]
                self._latest.fail(CaptureLost(f"The screen size changed to {width}x{height} while recording"))
                return
        self._latest.put(image)

    def fail(self, error: TraycapError) -> None:
        self._latest.fail(error)

    # --- what the recorder reads ----------------------------------------------------------------------
    @property
    def width(self) -> int:
        return self._size()[0]

    @property
    def height(self) -> int:
        return self._size()[1]

    @property
    def capabilities(self) -> Capabilities:
        if self._capabilities is None:
            raise RuntimeError("PortalScreen.start() has not run")
        return self._capabilities

    @property
    def notice(self) -> TraycapError | None:
        """Something to tell the person once (an old portal that asks at every recording)."""
        return self._notice

    @property
    def latest(self) -> LatestFrame:
        """Counters of frames received, taken and repeated (for session.json and the bench)."""
        return self._latest

    def take(self) -> PacedFrame | None:
        """The newest frame, stamped now (the last one again when nothing changed); None until the screen
        first changes after a start without an image (see start); CaptureLost once the stream ended."""
        return self._latest.take()

    def grab(self) -> Any:
        """FrameSource.grab: the newest image (the last one again when nothing changed), None before the
        first one; CaptureLost once the stream ended."""
        frame = self._latest.take()
        return frame.image if frame is not None else None

    def changed_areas(self) -> None:
        return None  # PipeWire sends whole frames: where they changed is not said

    def describe(self) -> dict[str, Any]:
        """What is recorded, for session.json (also after close)."""
        stream = self._stream
        source = stream.source_type if stream is not None else None
        caps = self._capabilities
        return {
            "backend": self.backend,
            "width": self.width,
            "height": self.height,
            "node": stream.node_id if stream is not None else None,
            "sourceType": source.name.lower() if isinstance(source, SourceType) and source.name else None,
            "position": list(stream.position) if stream is not None and stream.position else None,
            "cursor": caps.cursor if caps else None,
            "damageDriven": True,
            "remembersChoice": bool(caps and caps.remembers_choice),
        }

    def _size(self) -> tuple[int, int]:
        with self._shape_lock:
            if self._shape is None:
                raise RuntimeError("PortalScreen has no frame yet: call start()")
            return self._shape[1], self._shape[0]


def open_portal_screen(data_dir: Path, clock: Clock, *, max_fps: int | None = None, window: bool = False,
                       bus_address: str | None = None) -> PortalScreen:
    """A PortalScreen on a private session-bus connection, its restore token kept in `data_dir` (not started)."""
    from traycap.portal.dbus import GioBus

    bus = GioBus(bus_address)
    portal = ScreenCastPortal(bus, RestoreTokenStore.in_dir(data_dir))
    return PortalScreen(portal, clock, max_fps=max_fps, window=window, bus=bus)
