"""PortalScreen (traycap/media/capture/portal_screen.py): the portal cast and PipeWire frames as one frame source.

The portal is the fake of tests/support/fake_portal_bus.py and the frames come from a fake
stream that hands images to the screen as GStreamer's thread would; the real pipeline runs in
tests/integration/test_wayland_capture.py.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.fake_portal_bus import FakePortalBus, screencast_bus
from traycap.clock import FakeClock
from traycap.errors import CaptureLost, PipeWireUnavailable, PortalFailed
from traycap.media.capture.pipewire import FrameSink
from traycap.media.capture.portal_screen import PortalScreen
from traycap.portal.restore_token import RestoreTokenStore
from traycap.portal.screencast import ScreenCastPortal

SESSION = "/org/freedesktop/portal/desktop/session/1_42/s1"


class FakeFrames:
    """Plays pipewire.PipeWireFrames: start() sends `first` frames to the sink."""

    def __init__(self, first: int = 1, negotiated: tuple[int, int] | None = None) -> None:
        self.first = first
        self.negotiated = negotiated
        self.sink: FrameSink | None = None
        self.opened: tuple[int, int, int | None] | None = None
        self.started = self.closed = False

    def factory(self, fd: int, node: int, sink: FrameSink, max_fps: int | None) -> FakeFrames:
        self.sink = sink
        self.opened = (fd, node, max_fps)
        return self

    def start(self) -> None:
        self.started = True
        for _ in range(self.first):
            self.send(frame(8, 6, 1))

    def send(self, image: Any) -> None:
        assert self.sink is not None
        self.sink.put(image)

    def negotiated_size(self) -> tuple[int, int] | None:
        return self.negotiated

    def close(self) -> None:
        self.closed = True


def frame(width: int, height: int, value: int) -> Any:
    return np.full((height, width, 4), value, dtype=np.uint8)


def make(tmp_path: Path, frames: FakeFrames, bus: FakePortalBus | None = None) -> tuple[PortalScreen, FakePortalBus]:
    bus = bus or screencast_bus()
    portal = ScreenCastPortal(bus, RestoreTokenStore.in_dir(tmp_path))
    return PortalScreen(portal, FakeClock(), max_fps=10, frames_factory=frames.factory, bus=bus), bus


def test_start_opens_the_cast_and_waits_for_the_first_frame(tmp_path: Path) -> None:
    frames = FakeFrames()
    screen, bus = make(tmp_path, frames)
    screen.start()
    assert frames.started and frames.opened is not None
    fd, node, max_fps = frames.opened
    assert node == 42 and max_fps == 10 and fd in bus.opened_fds
    assert (screen.width, screen.height) == (8, 6)
    caps = screen.capabilities
    assert caps.damage_driven and caps.cursor == "embedded" and caps.remembers_choice and not caps.window_pick
    assert caps.name == "wayland-portal" and not caps.monitors and screen.notice is None
    described = screen.describe()
    assert described["backend"] == "wayland-portal" and described["node"] == 42
    assert described["sourceType"] == "monitor" and described["damageDriven"] is True
    screen.close()
    assert frames.closed and bus.closed_sessions == [SESSION] and bus.closed
    assert screen.describe() == described  # still known after close, for session.json


def test_grab_repeats_the_last_frame_until_a_new_one_comes(tmp_path: Path) -> None:
    frames = FakeFrames()
    screen, _bus = make(tmp_path, frames)
    screen.start()
    first, again = screen.take(), screen.take()
    assert first is not None and again is not None
    assert first.fresh and not again.fresh and again.image is first.image
    frames.send(frame(8, 6, 2))
    newer = screen.take()
    assert newer is not None and newer.fresh and int(newer.image[0, 0, 0]) == 2
    screen.close()


def test_a_size_change_ends_the_source(tmp_path: Path) -> None:
    frames = FakeFrames()
    screen, _bus = make(tmp_path, frames)
    screen.start()
    frames.send(frame(10, 6, 2))
    with pytest.raises(CaptureLost, match="screen size changed to 10x6"):
        screen.grab()
    screen.close()


def test_the_desktop_closing_the_session_ends_the_source(tmp_path: Path) -> None:
    frames = FakeFrames()
    screen, bus = make(tmp_path, frames)
    screen.start()
    bus.emit("org.freedesktop.portal.Session", "Closed", SESSION, ({},))
    with pytest.raises(CaptureLost, match="desktop ended the screen cast"):
        screen.grab()
    screen.close()


def test_a_still_screen_starts_without_an_image_until_it_changes(tmp_path: Path) -> None:
    """wlroots sends a new cast of an unchanged screen no frame until something changes (seen with sway):
    the stream is negotiated, so the recording starts and its first image comes with the first change."""
    frames = FakeFrames(first=0, negotiated=(9, 7))
    screen, bus = make(tmp_path, frames)
    screen.start()
    assert (screen.width, screen.height) == (8, 6)  # from the negotiated format, cropped to even
    assert screen.grab() is None and screen.grab() is None
    frames.send(frame(8, 6, 5))
    first = screen.take()
    assert first is not None and first.fresh and int(first.image[0, 0, 0]) == 5
    assert int(screen.grab()[0, 0, 0]) == 5  # FrameSource.grab: the image itself
    screen.close()
    assert bus.closed_sessions == [SESSION]


def test_no_first_frame_is_a_clear_error_and_closes_everything(tmp_path: Path) -> None:
    """What a PipeWire without WirePlumber does: the cast starts, no session manager links it, no frame comes."""
    frames = FakeFrames(first=0, negotiated=None)
    screen, bus = make(tmp_path, frames)
    with pytest.raises(PipeWireUnavailable) as caught:
        screen.start()
    assert "No frame came from PipeWire" in caught.value.message and "WirePlumber" in caught.value.hint
    assert frames.closed and bus.closed_sessions == [SESSION] and bus.closed


def test_a_stream_failing_at_start_is_reported_as_such(tmp_path: Path) -> None:
    class FailingFrames(FakeFrames):
        def start(self) -> None:
            assert self.sink is not None
            self.sink.fail(CaptureLost("The screen cast stopped: broken"))

    frames = FailingFrames()
    screen, bus = make(tmp_path, frames)
    with pytest.raises(CaptureLost, match="broken"):
        screen.start()
    assert bus.closed_sessions == [SESSION]


@pytest.mark.parametrize(("offered", "asked", "picked"), [(3, 2, True), (1, 1, False)])
def test_a_window_is_asked_for_where_the_desktop_offers_windows(tmp_path: Path, offered: int, asked: int,
                                                                 picked: bool) -> None:
    """waylandSource=window: the picker lists windows; where it has none, the screen is recorded and said so."""
    frames = FakeFrames()
    bus = screencast_bus(source_types=offered)
    portal = ScreenCastPortal(bus, RestoreTokenStore.in_dir(tmp_path))
    screen = PortalScreen(portal, FakeClock(), window=True, frames_factory=frames.factory, bus=bus)
    screen.start()
    assert bus.last("SelectSources").options()["types"] == asked
    assert screen.capabilities.window_pick is picked
    assert (screen.notice is None) is picked
    if not picked:
        assert screen.notice is not None and "no single windows" in screen.notice.message
    screen.close()


def test_cancel_ends_the_wait_for_an_open_picker(tmp_path: Path) -> None:
    """Quitting (or Ctrl-C in `traycap record`) while the desktop's picker is open: start() gives up at once."""
    frames = FakeFrames()
    bus = screencast_bus()
    cancel = threading.Event()

    def picker_opens(_call: Any) -> None:
        cancel.set()  # the person quits while the picker is open
        return None  # no Response comes

    bus.answers["SelectSources"] = picker_opens
    portal = ScreenCastPortal(bus, RestoreTokenStore.in_dir(tmp_path))
    screen = PortalScreen(portal, FakeClock(), frames_factory=frames.factory, bus=bus)
    with pytest.raises(PortalFailed, match="traycap is stopping"):
        screen.start(cancel)
    assert bus.closed_sessions == [SESSION] and not frames.started
