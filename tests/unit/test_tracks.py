"""recorder/tracks.py and what reaches session.json: which tracks a recording holds on each desktop, and why
(issue 21: on Wayland no key or click track unless the person opted in to reading input devices).

The recordings are made by the real RecordingController on the null screen; the Wayland desktop
itself is exercised in tests/integration/test_wayland_record.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.recording import read_bundle
from traycap.context import Context
from traycap.media.capture import Capabilities
from traycap.media.capture.null import NullScreen
from traycap.models import AppSettings, KeystrokePrivacy, WaylandInput
from traycap.osutil.desktop import WAYLAND, X11
from traycap.recorder import evdev_devices
from traycap.recorder.api import RecorderEvent, RecorderEventKind
from traycap.recorder.controller import RecordingController
from traycap.recorder.null import NullInput
from traycap.recorder.tracks import WAYLAND_NO_INPUT, InputBackend, Tracks, plan_input, summary


class PortalLikeScreen(NullScreen):
    capabilities = Capabilities("wayland-portal", damage_driven=True, monitors=False, cursor="embedded",
                                remembers_choice=True)


def test_the_input_backend_of_each_desktop() -> None:
    assert plan_input(X11, AppSettings()).backend is InputBackend.PYNPUT
    assert plan_input("windows", AppSettings()).backend is InputBackend.PYNPUT
    none = plan_input(WAYLAND, AppSettings())
    assert none.backend is InputBackend.NONE and none.why_not == WAYLAND_NO_INPUT
    assert plan_input(WAYLAND, AppSettings(waylandInput=WaylandInput.DEVICES)).backend is InputBackend.EVDEV


def test_the_tracks_and_the_tray_line() -> None:
    full = Tracks.of(cursor="hidden", input_running=True, positions_exact=True, keyboard=True, why_no_input=None)
    assert full.to_json() == {"video": True, "cursor": "hidden", "pointer": "exact", "clicks": True, "keys": True,
                              "why": None}
    assert summary(full.to_json()) == "Recording screen, pointer, clicks, keys"
    no_keys = Tracks.of(cursor="hidden", input_running=True, positions_exact=True, keyboard=False, why_no_input=None)
    assert summary(no_keys.to_json()) == "Recording screen, pointer, clicks; no keys"
    assert no_keys.why == "keystrokes are not recorded (Keystrokes is none)"
    wayland = Tracks.of(cursor="embedded", input_running=False, positions_exact=False, keyboard=True,
                        why_no_input=WAYLAND_NO_INPUT)
    assert summary(wayland.to_json()) == "Recording screen with pointer; no clicks or keys (Wayland)"
    devices = Tracks.of(cursor="embedded", input_running=True, positions_exact=False, keyboard=True,
                        why_no_input=None)
    assert summary(devices.to_json()) == "Recording screen, pointer (estimated), clicks, keys"
    assert summary(None) is None  # a recording of an older traycap says nothing


def _record(ctx: Context, settings: AppSettings, desktop: str, screen: NullScreen,
            inputs: NullInput | None = None) -> tuple[dict[str, object], list[RecorderEvent]]:
    events: list[RecorderEvent] = []
    ctl = RecordingController(ctx, settings.with_(fps=20), on_event=events.append,
                              capture_factory=lambda monitor: screen,
                              input_factory=inputs.factory if inputs is not None else None, desktop=desktop)
    ctl.start()
    meta = ctl.stop()
    return read_bundle(ctx.sessions.zip_path(meta)).info, events


def test_x11_holds_every_track_and_says_so(live_ctx: Context) -> None:
    info, events = _record(live_ctx, AppSettings(keystrokePrivacy=KeystrokePrivacy.NONE), X11, NullScreen(),
                           NullInput())
    assert info["tracks"] == {"video": True, "cursor": "hidden", "pointer": "exact", "clicks": True, "keys": False,
                              "why": "keystrokes are not recorded (Keystrokes is none)"}
    assert info["capture"] == {"backend": "null", "damageDriven": False, "cursor": "hidden", "windowPick": False,
                               "remembersChoice": False}
    started = next(e for e in events if e.kind is RecorderEventKind.STARTED)
    assert started.message is None and started.meta is not None
    assert started.meta.extra["recorder"]["tracks"]["keys"] is False  # what the tray shows while recording


def test_wayland_without_input_devices_has_no_click_or_key_track(live_ctx: Context) -> None:
    info, events = _record(live_ctx, AppSettings(), WAYLAND, PortalLikeScreen())
    assert info["tracks"] == {"video": True, "cursor": "embedded", "pointer": "none", "clicks": False,
                              "keys": False, "why": WAYLAND_NO_INPUT}
    assert info["capture"]["backend"] == "wayland-portal" and info["capture"]["damageDriven"] is True  # type: ignore[index]
    assert info["counts"]["actions"] == 0  # type: ignore[index]
    started = next(e for e in events if e.kind is RecorderEventKind.STARTED)
    assert started.message is None  # the tracks line says it; nothing went wrong


def test_input_devices_that_cannot_be_read_record_the_screen_and_say_why(live_ctx: Context, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Opted in (waylandInput=devices) but nothing readable: the recording goes on without clicks and keys, and
    the person is told why (on a real machine: not in the input group, tests/integration/test_evdev_permission.py)."""
    monkeypatch.setattr(evdev_devices, "SYS_INPUT", tmp_path / "no-devices")
    info, events = _record(live_ctx, AppSettings(waylandInput=WaylandInput.DEVICES), WAYLAND, PortalLikeScreen())
    tracks = info["tracks"]
    assert isinstance(tracks, dict) and tracks["clicks"] is False and tracks["keys"] is False
    assert "No keyboard or mouse was found" in tracks["why"]
    started = next(e for e in events if e.kind is RecorderEventKind.STARTED)
    assert started.message is not None and "No keyboard or mouse was found" in started.message
