"""The global hotkey toggles a real RecordingController on a real Xvfb (xdotool presses the keys)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.display import XDisplay, xvfb
from tests.support.recording import read_bundle
from tests.support.waiting import wait_until
from traycap.clock import SystemClock
from traycap.context import make_context
from traycap.errors import HotkeyUnavailable
from traycap.models import AppSettings
from traycap.paths import Paths
from traycap.recorder.api import RecorderEvent, RecorderState
from traycap.recorder.controller import RecordingController
from traycap.recorder.hotkey import HotkeyListener

pytestmark = pytest.mark.x11


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> Iterator[XDisplay]:
    with xvfb(640, 480) as d:
        monkeypatch.setenv("DISPLAY", d.name)  # this process talks to it (mss, pynput)
        yield d


def test_ctrl_shift_r_starts_and_stops_a_recording(display: XDisplay, home: Path) -> None:
    ctx = make_context(Paths(root=home, logs=home / "logs"), SystemClock())
    events: list[RecorderEvent] = []
    controller = RecordingController(ctx, AppSettings(fps=5), on_event=events.append)
    hotkey = HotkeyListener("<ctrl>+<shift>+r", controller.toggle)
    hotkey.start()
    try:
        display.run("xdotool", "key", "ctrl+shift+r")
        wait_until("recording to start", lambda: controller.state is RecorderState.RECORDING)
        session_id = controller.session_id
        assert session_id is not None
        display.run("xdotool", "mousemove", "10", "20", "click", "1")
        wait_until("the click to be recorded",
                 lambda: b"mouse_up" in (home / "sessions" / session_id / "actions.jsonl").read_bytes())
        display.run("xdotool", "key", "ctrl+shift+r")
        wait_until("the export", lambda: any(e.kind == "exported" for e in events))
        assert controller.state is RecorderState.IDLE
    finally:
        hotkey.stop()
        if controller.state is not RecorderState.IDLE:
            controller.stop()
    assert [e.kind for e in events] == ["started", "stopped", "exported"]
    meta = events[-1].meta
    assert meta is not None and meta.sessionId == session_id and meta.zipPath
    bundle = read_bundle(ctx.sessions.zip_path(meta))
    assert [(a["type"], a.get("x"), a.get("y")) for a in bundle.inputs if a["type"].startswith("mouse_")][:3] == [
        ("mouse_move", 10, 20), ("mouse_down", 10, 20), ("mouse_up", 10, 20)]
    assert not hotkey.running


def test_an_invalid_hotkey_is_reported_not_fatal(display: XDisplay) -> None:
    listener = HotkeyListener("<ctrl>+<nosuchkey>", lambda: None)
    with pytest.raises(HotkeyUnavailable) as err:
        listener.start()
    assert "<ctrl>+<nosuchkey>" in err.value.message and err.value.hint
    assert not listener.running


def test_hotkey_without_display_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    import sys

    if "pynput" in sys.modules:
        # pynput picked its backend when first imported with a display: a lost
        # display shows up when the listener connects instead.
        monkeypatch.setenv("DISPLAY", ":4097")
    listener = HotkeyListener("<ctrl>+<shift>+r", lambda: None)
    with pytest.raises(HotkeyUnavailable):
        listener.start()
