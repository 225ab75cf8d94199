"""Excluded apps through the real RecordingController (null screen and input, a scripted focused window);
on Wayland, where nothing tells which window has focus, what can be honoured and what stops the start."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.support.recording import read_bundle
from tests.support.waiting import wait_until
from traycap.clock import SystemClock
from traycap.context import Context, make_context
from traycap.errors import RecorderError
from traycap.media.capture import Capabilities
from traycap.media.capture.null import NullScreen
from traycap.models import AppSettings, WaylandInput, WaylandSource
from traycap.osutil.desktop import WAYLAND, X11
from traycap.paths import Paths
from traycap.recorder.actions import RawClick, RawKey
from traycap.recorder.controller import RecordingController
from traycap.recorder.null import NullInput
from traycap.recorder.privacy import WindowInfo

VAULT = WindowInfo(classes=("keepassxc", "KeePassXC"), title="Vault")
EDITOR = WindowInfo(classes=("gedit", "Gedit"), title="notes.txt")


class ScriptedFocus:
    def __init__(self) -> None:
        self.window: WindowInfo | None = EDITOR
        self.closed = False

    def active_window(self) -> WindowInfo | None:
        return self.window

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def live_ctx(home: Path) -> Context:
    return make_context(Paths(root=home, logs=home / "logs"), SystemClock())


def _frames(ctx: Context, sid: str) -> int:
    path = ctx.paths.session_dir(sid) / "video" / "frames.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _last_frame_t(ctx: Context, sid: str) -> float:
    path = ctx.paths.session_dir(sid) / "video" / "frames.jsonl"
    lines = path.read_bytes().splitlines() if path.exists() else []
    return float(json.loads(lines[-1])["t"]) if lines else 0.0


def _png_max(data: bytes) -> int:
    from PIL import Image

    extrema = Image.open(io.BytesIO(data)).convert("RGB").getextrema()
    return max(hi for _lo, hi in extrema)


def test_an_excluded_window_leaves_a_marker_blank_screenshots_and_no_keys(live_ctx: Context) -> None:
    screen, inputs, focus = NullScreen(64, 48), NullInput(), ScriptedFocus()
    ctl = RecordingController(live_ctx, AppSettings(fps=20, screenshotIntervalS=0.5, excludedApps=("KeePassXC",)),
                              capture_factory=lambda monitor: screen, input_factory=inputs.factory,
                              focus_factory=lambda: focus, desktop=X11)
    sid = ctl.start()
    clock = live_ctx.clock

    def type_key(char: str) -> None:
        inputs.emit(RawKey(clock.monotonic(), True, char, None))
        inputs.emit(RawKey(clock.monotonic(), False, char, None))

    type_key("a")
    wait_until("frames of the editor", lambda: _frames(live_ctx, sid) >= 10)
    focus.window = VAULT
    type_key("p")
    inputs.emit(RawClick(clock.monotonic(), 30, 20, "left", True))
    inputs.emit(RawClick(clock.monotonic(), 30, 20, "left", False))
    # A black screen does not change: about a frame a second (recorder/timing.py Repeats).
    seen = _last_frame_t(live_ctx, sid)
    wait_until("1.5 s of the vault", lambda: _last_frame_t(live_ctx, sid) >= seen + 1500)
    focus.window = EDITOR
    seen = _frames(live_ctx, sid)
    wait_until("frames of the editor again", lambda: _frames(live_ctx, sid) >= seen + 10)
    type_key("b")
    meta = ctl.stop()
    assert focus.closed

    bundle = read_bundle(live_ctx.sessions.zip_path(meta))
    assert [a["key"] for a in bundle.actions if a["type"] == "key_down"] == ["a", "b"]
    marker = next(a for a in bundle.actions if a["type"] == "excluded")
    start, end = marker["t"], marker["endT"]
    clicks = [a for a in bundle.actions if a["type"] in ("mouse_down", "mouse_up")]
    assert [set(c) for c in clicks] == [{"t", "type", "button", "excluded"}] * 2
    assert all(start <= c["t"] <= end for c in clicks)
    with zipfile.ZipFile(bundle.path) as zf:
        shots = [(s["t"], s["reason"], _png_max(zf.read(f"screenshots/{s['file']}"))) for s in bundle.shots]
    inside = [s for s in shots if start < s[0] < end]
    outside = [s for s in shots if s[0] < start or s[0] > end]
    assert inside and all(peak == 0 for _t, _r, peak in inside), shots  # black
    assert "click" in {reason for _t, reason, _p in inside}
    assert outside and all(peak == 255 for _t, _r, peak in outside), shots  # the null screen's white bar


def test_a_focus_backend_that_cannot_open_stops_the_start_and_leaves_nothing(live_ctx: Context) -> None:
    def no_focus() -> ScriptedFocus:
        raise RecorderError("Cannot tell which window has focus, so excludedApps cannot be honoured")

    screen = NullScreen()
    ctl = RecordingController(live_ctx, AppSettings(excludedApps=("KeePassXC",)),
                              capture_factory=lambda monitor: screen, input_factory=NullInput().factory,
                              focus_factory=no_focus, desktop=X11)
    with pytest.raises(RecorderError, match="excludedApps"):
        ctl.start()
    assert screen.closed
    assert not list(live_ctx.paths.sessions.iterdir())


def test_without_excluded_apps_no_focus_backend_is_opened(live_ctx: Context) -> None:
    opened: list[int] = []

    def focus_factory() -> ScriptedFocus:
        opened.append(1)
        return ScriptedFocus()

    ctl = RecordingController(live_ctx, AppSettings(fps=20), capture_factory=lambda monitor: NullScreen(),
                              input_factory=NullInput().factory, focus_factory=focus_factory)
    ctl.start()
    ctl.stop()
    assert opened == []


class WindowScreen(NullScreen):
    """What the portal gives when the person picked one window."""

    capabilities = Capabilities("wayland-portal", damage_driven=True, monitors=False, cursor="embedded",
                                window_pick=True)


@pytest.mark.parametrize("settings", [
    AppSettings(excludedApps=("KeePassXC",)),  # a whole screen
    AppSettings(excludedApps=("KeePassXC",), waylandSource=WaylandSource.WINDOW,
                waylandInput=WaylandInput.DEVICES),  # one window, but every key typed anywhere
])
def test_on_wayland_excluded_apps_that_cannot_be_honoured_stop_the_start_before_the_picker(
        live_ctx: Context, settings: AppSettings) -> None:
    """Issue 21: no Wayland API tells an app which window has focus."""
    asked: list[int] = []
    ctl = RecordingController(live_ctx, settings, capture_factory=lambda monitor: asked.append(monitor) or NullScreen(),
                              input_factory=NullInput().factory, desktop=WAYLAND)
    with pytest.raises(RecorderError, match="cannot see which window has focus") as err:
        ctl.start()
    assert "record only one window" in err.value.hint
    assert asked == [] and not list(live_ctx.paths.sessions.iterdir())


def test_on_wayland_a_window_recording_without_input_devices_needs_no_focus(live_ctx: Context) -> None:
    opened: list[int] = []

    def focus_factory() -> ScriptedFocus:
        opened.append(1)
        return ScriptedFocus()

    settings = AppSettings(fps=20, excludedApps=("KeePassXC",), waylandSource=WaylandSource.WINDOW)
    ctl = RecordingController(live_ctx, settings, capture_factory=lambda monitor: WindowScreen(),
                              focus_factory=focus_factory, desktop=WAYLAND)
    ctl.start()
    ctl.stop()
    assert opened == []
    screen = NullScreen()  # the desktop offered no window: the whole screen would be recorded
    ctl = RecordingController(live_ctx, settings, capture_factory=lambda monitor: screen,
                              focus_factory=focus_factory, desktop=WAYLAND)
    with pytest.raises(RecorderError, match="cannot see which window has focus"):
        ctl.start()
    assert screen.closed and opened == []
