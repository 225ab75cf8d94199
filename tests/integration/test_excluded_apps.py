"""Excluded apps on a real Xvfb: two windows of different classes, focused and typed into with xdotool.

Xvfb runs no window manager, so the recorder reads the X input focus; the
window manager's _NET_ACTIVE_WINDOW is set on the root window by hand (xprop)
to check that path too.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.display import XDisplay, xvfb
from tests.support.recording import read_bundle, start_record
from tests.support.waiting import stop_process, wait_until
from traycap.context import make_context
from traycap.paths import Paths
from traycap.recorder.focus.x11 import X11Focus, parse_active_window

pytestmark = pytest.mark.x11

W, H = 640, 480
_WINDOW = """
import tkinter as tk
root = tk.Tk(className={cls!r})
root.title({title!r})
root.geometry("{w}x{h}+0+0")
tk.Text(root).pack(fill="both", expand=True)
root.mainloop()
"""


@pytest.fixture(scope="module")
def display() -> Iterator[XDisplay]:
    with xvfb(W, H) as d:
        yield d


@pytest.fixture(scope="module")
def windows(display: XDisplay) -> Iterator[dict[str, str]]:
    """Window ids by name: "vault" (class KeePassXC) and "notes" (class Notes), both filling the screen."""
    procs = []
    ids: dict[str, str] = {}
    try:
        for name, cls, title in (("vault", "KeePassXC", "Vault.kdbx - KeePassXC"), ("notes", "Notes", "notes.txt")):
            code = _WINDOW.format(cls=cls, title=title, w=W, h=H)
            procs.append(subprocess.Popen([sys.executable, "-c", code], env=display.env))
            found = wait_until(f"the {name} window", lambda t=title: display.run(
                "xdotool", "search", "--onlyvisible", "--name", f"^{t}$", check=False).stdout.split())
            ids[name] = found[0]
        yield ids
    finally:
        for proc in procs:
            stop_process(proc)


def focus(display: XDisplay, window_id: str) -> None:
    display.run("xdotool", "windowfocus", "--sync", window_id)


def test_x11_focus_follows_the_input_focus_and_prefers_net_active_window(
        display: XDisplay, windows: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    backend = X11Focus(display.name)
    try:
        focus(display, windows["notes"])
        notes = backend.active_window()
        assert notes is not None and notes.classes == ("notes", "Notes") and notes.title == "notes.txt"
        focus(display, windows["vault"])
        vault = backend.active_window()
        assert vault is not None and "KeePassXC".casefold() in [c.casefold() for c in vault.classes]
        # A window manager names the active window on the root window; that wins over the input focus.
        display.run("xprop", "-root", "-f", "_NET_ACTIVE_WINDOW", "32x", "-set", "_NET_ACTIVE_WINDOW",
                    str(int(windows["notes"])))
        try:
            wm = backend.active_window()
            assert wm is not None and wm.title == "notes.txt"
            # A window manager that died leaves a stale id behind: the input focus answers instead.
            display.run("xprop", "-root", "-f", "_NET_ACTIVE_WINDOW", "32x", "-set", "_NET_ACTIVE_WINDOW",
                        str(0x7FFFFFF))
            stale = backend.active_window()
            assert stale is not None and stale.title == "Vault.kdbx - KeePassXC"
        finally:
            display.run("xprop", "-root", "-remove", "_NET_ACTIVE_WINDOW")
        back = backend.active_window()
        assert back is not None and back.title == "Vault.kdbx - KeePassXC"
    finally:
        backend.close()


def test_net_active_window_values() -> None:
    assert parse_active_window([0x2a00007]) == 0x2a00007
    assert parse_active_window([0]) is None  # a WM with no active window
    assert parse_active_window([]) is None
    assert parse_active_window(None) is None


def _frame_means(video: Path) -> list[float]:
    import av
    import numpy as np

    with av.open(str(video)) as container:
        return [float(np.asarray(frame.to_ndarray(format="rgb24")).mean()) for frame in container.decode(video=0)]


def _image_mean(data: bytes) -> float:
    import io

    import numpy as np
    from PIL import Image

    return float(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).mean())


def _keys(actions: list[dict[str, Any]]) -> str:
    return "".join(str(a["key"]) for a in actions if a["type"] == "key_down")


def test_keys_typed_into_an_excluded_window_are_absent_and_its_frames_are_blank(
        display: XDisplay, windows: dict[str, str], home: Path, tmp_path: Path) -> None:
    (home / "app-settings.json").write_text(json.dumps({"excludedApps": ["keepassxc"], "screenshotIntervalS": 0.5}))
    focus(display, windows["notes"])
    rec = start_record(display.env, home, "--fps", "10")
    session_id = rec.wait_ready()
    display.run("xdotool", "type", "--delay", "30", "ab")
    wait_until("a and b recorded", lambda: _keys(rec.actions()) == "ab")
    seen = rec.recorded_ms()
    wait_until("frames of the notes window", lambda: rec.recorded_ms() >= seen + 500)

    focus(display, windows["vault"])
    display.run("xdotool", "type", "--delay", "30", "hunter2")
    display.run("xdotool", "click", "1")
    seen = rec.recorded_ms()
    wait_until("a second of the vault window", lambda: rec.recorded_ms() >= seen + 1000)

    focus(display, windows["notes"])
    display.run("xdotool", "type", "--delay", "30", "cd")
    wait_until("c and d recorded", lambda: _keys(rec.actions()) == "abcd")
    seen = rec.recorded_ms()
    wait_until("frames of the notes window again", lambda: rec.recorded_ms() >= seen + 500)
    rec.proc.send_signal(signal.SIGINT)
    code, _out, err = rec.finish()
    assert code == 0, err

    ctx = make_context(Paths(root=home, logs=home / "logs"))
    bundle = read_bundle(ctx.sessions.zip_path(ctx.sessions.read_meta(session_id)))
    assert _keys(bundle.actions) == "abcd"  # nothing typed into the vault
    markers = [a for a in bundle.actions if a["type"] == "excluded"]
    assert len(markers) == 1, markers
    start, end = markers[0]["t"], markers[0]["endT"]
    assert end - start >= 900
    clicks = [a for a in bundle.actions if a["type"] == "mouse_down"]
    assert clicks == [{"t": clicks[0]["t"], "type": "mouse_down", "button": "left", "excluded": True}]
    assert start <= clicks[0]["t"] <= end
    assert not [a for a in bundle.actions if a["type"] == "mouse_move" and start <= a["t"] <= end]

    means = _frame_means(bundle.extract("video/screen.mp4", tmp_path))
    assert len(means) == len(bundle.frames)
    margin = 150  # a frame is grabbed over a few ms; stay clear of the span's edges
    inside = [m for f, m in zip(bundle.frames, means, strict=True) if start + margin < f["t"] < end - margin]
    outside = [m for f, m in zip(bundle.frames, means, strict=True)
               if f["t"] < start - margin or f["t"] > end + margin]
    # A black screen does not change: about a frame a second (recorder/timing.py Repeats).
    assert len(inside) >= 1 and all(m < 8 for m in inside), inside  # black
    assert len(outside) >= 2 and all(m > 100 for m in outside), outside  # the light Tk windows

    import zipfile

    with zipfile.ZipFile(bundle.path) as zf:
        shots = [(s["t"], _image_mean(zf.read(f"screenshots/{s['file']}"))) for s in bundle.shots]
    inside_shots = [m for t, m in shots if start + margin < t < end - margin]
    assert inside_shots and all(m < 8 for m in inside_shots), shots
    assert all(m > 100 for t, m in shots if t < start - margin or t > end + margin), shots
