"""Recorded input: the bytes the kernel writes to /dev/input/event* for a few things a person does.

This machine has no input devices and no uinput, so the recordings are written out here, event by
event, as the kernel emits them (linux/input-event-codes.h; the order is the kernel's: MSC_SCAN
before the key it belongs to, a SYN_REPORT closing each frame, the high-resolution wheel event
beside the classic one). Times are CLOCK_REALTIME seconds and microseconds, 8 ms apart like a
125 Hz device. `record` packs one struct input_event with the machine's layout (evdev.EVENT);
tests/unit/test_evdev.py checks that layout against literal bytes.
"""

from __future__ import annotations

import struct

EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_MSC = 0, 1, 2, 3, 4
SYN_REPORT, SYN_DROPPED = 0, 3
MSC_SCAN = 4
REL_X, REL_Y, REL_HWHEEL, REL_WHEEL, REL_WHEEL_HI_RES = 0, 1, 6, 8, 11
ABS_X, ABS_Y = 0, 1
KEY_LEFTSHIFT, KEY_H, KEY_I, KEY_A, KEY_1, KEY_ENTER, KEY_CAPSLOCK, KEY_F5 = 42, 35, 23, 30, 2, 28, 58, 63
BTN_LEFT, BTN_RIGHT, BTN_TOUCH = 0x110, 0x111, 0x14A

START_S = 1_700_000_000
_EVENT = struct.Struct("@llHHi")


class Recording:
    """Events appended at a device's pace; `bytes()` is what a read() of the device returns."""

    def __init__(self, start_s: int = START_S) -> None:
        self._usec = start_s * 1_000_000
        self.data = bytearray()

    def event(self, type_: int, code: int, value: int) -> Recording:
        self.data += _EVENT.pack(self._usec // 1_000_000, self._usec % 1_000_000, type_, code, value)
        return self

    def syn(self) -> Recording:
        self.event(EV_SYN, SYN_REPORT, 0)
        self._usec += 8000  # the next frame, 8 ms later
        return self

    def key(self, code: int, value: int, scancode: int | None = None) -> Recording:
        if scancode is not None:
            self.event(EV_MSC, MSC_SCAN, scancode)
        return self.event(EV_KEY, code, value).syn()

    def __bytes__(self) -> bytes:
        return bytes(self.data)


def keyboard_types_Hi() -> bytes:
    """Shift down, h, shift up, i, Enter; with the AT keyboard's scan codes."""
    r = Recording()
    r.key(KEY_LEFTSHIFT, 1, 0x2A).key(KEY_H, 1, 0x23).key(KEY_H, 0, 0x23).key(KEY_LEFTSHIFT, 0, 0x2A)
    r.key(KEY_I, 1, 0x17).key(KEY_I, 0, 0x17).key(KEY_ENTER, 1, 0x1C).key(KEY_ENTER, 0, 0x1C)
    return bytes(r)


def keyboard_holds_a() -> bytes:
    """`a` held long enough to repeat twice (value 2), then released."""
    r = Recording()
    r.key(KEY_A, 1, 0x1E).key(KEY_A, 2).key(KEY_A, 2).key(KEY_A, 0, 0x1E)
    return bytes(r)


def mouse_moves_clicks_scrolls() -> bytes:
    """Motion, a left click (MSC_SCAN 0x90001 first, as USB mice send), a right click, one wheel notch up."""
    r = Recording()
    r.event(EV_REL, REL_X, 5).event(EV_REL, REL_Y, -3).syn()
    r.event(EV_REL, REL_X, 10).syn()
    r.event(EV_MSC, MSC_SCAN, 0x90001).event(EV_KEY, BTN_LEFT, 1).syn()
    r.event(EV_MSC, MSC_SCAN, 0x90001).event(EV_KEY, BTN_LEFT, 0).syn()
    r.event(EV_MSC, MSC_SCAN, 0x90002).event(EV_KEY, BTN_RIGHT, 1).syn()
    r.event(EV_MSC, MSC_SCAN, 0x90002).event(EV_KEY, BTN_RIGHT, 0).syn()
    r.event(EV_REL, REL_WHEEL, 1).event(EV_REL, REL_WHEEL_HI_RES, 120).syn()
    return bytes(r)


def mouse_overflows() -> bytes:
    """A frame cut by SYN_DROPPED (the reader was too slow): its events are not to be trusted."""
    r = Recording()
    r.event(EV_REL, REL_X, 7).syn()
    r.event(EV_KEY, BTN_LEFT, 1).event(EV_SYN, SYN_DROPPED, 0)
    r.event(EV_REL, REL_X, 100).syn()  # the rest of the broken frame
    r.event(EV_REL, REL_Y, 2).syn()
    return bytes(r)


def touchscreen_taps(x: int, y: int) -> bytes:
    """A finger down at (x, y) in the touchscreen's own units, and up."""
    r = Recording()
    r.event(EV_KEY, BTN_TOUCH, 1).event(EV_ABS, ABS_X, x).event(EV_ABS, ABS_Y, y).syn()
    r.event(EV_KEY, BTN_TOUCH, 0).syn()
    return bytes(r)


def touchpad_drags(x0: int, y0: int, dx: int) -> bytes:
    """A finger put down on a touchpad and moved right by `dx` pad units, then lifted."""
    r = Recording()
    r.event(EV_KEY, BTN_TOUCH, 1).event(EV_ABS, ABS_X, x0).event(EV_ABS, ABS_Y, y0).syn()
    r.event(EV_ABS, ABS_X, x0 + dx).syn()
    r.event(EV_KEY, BTN_TOUCH, 0).syn()
    return bytes(r)
