"""media/capture/xdamage.py on a real X server (Xvfb has DAMAGE and XFIXES): a screen that did not
change is the same frame at no cost, a change is read where it happened, and what is read is exactly
the screen (compared with a whole-screen read through mss)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from tests.support.display import XDisplay, have_xvfb, xvfb
from tests.support.waiting import stop_process, wait_until
from traycap.media.capture import open_capture
from traycap.media.capture.mss_screen import MssScreen
from traycap.media.capture.xdamage import DamageScreen

pytestmark = [pytest.mark.x11, pytest.mark.skipif(not have_xvfb(), reason="needs Xvfb and xdotool")]

W, H = 320, 240
# A 40 x 30 window at (100, 80) whose colour is what it reads on stdin, one name a line.
PATCH = """
import sys, tkinter as tk
root = tk.Tk()
root.overrideredirect(True)
root.geometry("40x30+100+80")
root.configure(bg="white")
def read():
    line = sys.stdin.readline().strip()
    if line:
        root.configure(bg=line)
        root.update_idletasks()
        print("ok", flush=True)
    root.after(20, read)
root.after(20, read)
print("up", flush=True)
root.mainloop()
"""


@pytest.fixture(scope="module")
def display() -> Iterator[XDisplay]:
    with xvfb(W, H) as d:
        yield d


def test_damage_reads_only_what_changed_and_exactly_the_screen(display: XDisplay, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    monkeypatch.setenv("DISPLAY", display.name)
    screen = open_capture(env={"DISPLAY": display.name})
    assert isinstance(screen, DamageScreen) and screen.capabilities.damage_driven
    reference = MssScreen(0)
    patch = subprocess.Popen([sys.executable, "-c", PATCH], env=display.env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert patch.stdout is not None and patch.stdin is not None
        assert patch.stdout.readline().strip() == "up"
        first = screen.grab()
        assert screen.changed_areas() is None  # the first frame is read whole
        wait_until("the window drawn", lambda: screen.grab() is not first or None, 10)
        [settled] = wait_until("a still screen", lambda: _still(screen), 10)
        assert screen.grab() is settled and screen.changed_areas() == ()  # nothing changed: the same frame
        assert np.array_equal(settled, reference.grab())

        patch.stdin.write("red\n")
        patch.stdin.flush()
        assert patch.stdout.readline().strip() == "ok"
        [changed] = wait_until("the change", lambda: [f for f in [screen.grab()] if f is not settled], 10)
        areas = screen.changed_areas()
        assert areas is not None and areas != ()
        x0 = min(a[0] for a in areas)
        y0 = min(a[1] for a in areas)
        x1 = max(a[0] + a[2] for a in areas)
        y1 = max(a[1] + a[3] for a in areas)
        assert (x0, y0, x1, y1) == (100, 80, 140, 110)  # the window, not the screen
        wait_until("the screen still again", lambda: _still(screen), 10)
        assert np.array_equal(screen.grab(), reference.grab())
        assert tuple(int(v) for v in changed[95, 120, :3]) == (0, 0, 255)  # BGRA: red

        display.run("xsetroot", "-solid", "#204080")  # the whole background: read whole
        wait_until("the background", lambda: tuple(int(v) for v in screen.grab()[5, 5, :3]) == (0x80, 0x40, 0x20),
                   10)
        assert np.array_equal(screen.grab(), reference.grab())
    finally:
        stop_process(patch)
        reference.close()
        screen.close()


def _still(screen: DamageScreen) -> list[object]:
    """[the frame], once two grabs in a row gave the same one."""
    a = screen.grab()
    return [a] if screen.grab() is a else []
