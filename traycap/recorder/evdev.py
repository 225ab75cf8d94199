"""Linux input events (struct input_event, as read from /dev/input/event*) -> the recorder's Raw* events (pure).

On Wayland no unprivileged API tells an app about keys and clicks outside its own windows. A
person who opts in (their user in the `input` group) lets traycap read the input devices
themselves; this module turns what the kernel writes there into the RawKey / RawClick / RawMove /
RawScroll events of recorder/actions.py, so the action model, privacy masking and throttling are
the same as on X11. evdev_devices.py finds, opens and reads the devices.

What evdev cannot tell, and how it is handled:
- Characters: the kernel reports key *positions* (KEY_A), not what the person's layout makes of
  them. Letters, digits and punctuation are named as on a US layout, with shift and caps lock
  applied; special keys get the names pynput uses on X11 ("shift", "ctrl_r", "enter", "f5").
- Pointer position: a mouse reports motion (REL_X/REL_Y), not where the pointer is, and the
  compositor applies acceleration it does not tell. The position is estimated by adding up the
  motion from the middle of the screen, clamped to it (`positions_exact` False). A touchscreen
  or tablet (INPUT_PROP_DIRECT) reports absolute positions, which map onto the screen exactly; a
  touchpad's absolute finger positions become motion while a finger is down.

Layout of one record (linux/input.h): struct timeval (two longs), __u16 type, __u16 code, __s32
value; 24 bytes on 64-bit machines, 16 on 32-bit ones. Events come in frames ended by
SYN_REPORT; SYN_DROPPED means the kernel's buffer overflowed and the frame is unreliable.
Codes are the kernel's (linux/input-event-codes.h).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from traycap.recorder.actions import RawClick, RawEvent, RawKey, RawMove, RawScroll

EVENT = struct.Struct("@llHHi")

EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_MSC = 0x00, 0x01, 0x02, 0x03, 0x04
SYN_REPORT, SYN_DROPPED = 0, 3
REL_X, REL_Y, REL_HWHEEL, REL_WHEEL = 0x00, 0x01, 0x06, 0x08
ABS_X, ABS_Y = 0x00, 0x01
KEY_RELEASE, KEY_PRESS, KEY_REPEAT = 0, 1, 2
INPUT_PROP_POINTER, INPUT_PROP_DIRECT = 0x00, 0x01

KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK = 42, 54, 58
BTN_MISC = 0x100  # codes from here on are buttons, not keys
BTN_LEFT, BTN_RIGHT, BTN_MIDDLE, BTN_SIDE, BTN_EXTRA = 0x110, 0x111, 0x112, 0x113, 0x114
BTN_TOUCH = 0x14A

# Mouse buttons by the names pynput gives them on X11 (side/extra are X buttons 8 and 9).
BUTTON_NAMES = {BTN_LEFT: "left", BTN_RIGHT: "right", BTN_MIDDLE: "middle", BTN_SIDE: "button8",
                BTN_EXTRA: "button9", 0x115: "button10", 0x116: "button11", 0x117: "button12"}

# Keys that type something: code -> (unshifted, shifted), US layout.
_ROWS = {
    2: "1!", 3: "2@", 4: "3#", 5: "4$", 6: "5%", 7: "6^", 8: "7&", 9: "8*", 10: "9(", 11: "0)", 12: "-_", 13: "=+",
    26: "[{", 27: "]}", 39: ";:", 40: "'\"", 41: "`~", 43: "\\|", 51: ",<", 52: ".>", 53: "/?", 86: "<>",
    55: "**", 71: "77", 72: "88", 73: "99", 74: "--", 75: "44", 76: "55", 77: "66", 78: "++", 79: "11", 80: "22",
    81: "33", 82: "00", 83: "..", 98: "//", 117: "==",  # the keypad (num lock on)
}
_LETTERS = {16: "q", 17: "w", 18: "e", 19: "r", 20: "t", 21: "y", 22: "u", 23: "i", 24: "o", 25: "p",
            30: "a", 31: "s", 32: "d", 33: "f", 34: "g", 35: "h", 36: "j", 37: "k", 38: "l",
            44: "z", 45: "x", 46: "c", 47: "v", 48: "b", 49: "n", 50: "m"}
# Keys with a name (pynput's Key names, so actions read the same as on X11).
KEY_NAMES = {
    1: "esc", 14: "backspace", 15: "tab", 28: "enter", 29: "ctrl", 42: "shift", 54: "shift_r", 56: "alt",
    57: "space", 58: "caps_lock", 69: "num_lock", 70: "scroll_lock", 96: "enter", 97: "ctrl_r", 99: "print_screen",
    100: "alt_r", 102: "home", 103: "up", 104: "page_up", 105: "left", 106: "right", 107: "end", 108: "down",
    109: "page_down", 110: "insert", 111: "delete", 113: "media_volume_mute", 114: "media_volume_down",
    115: "media_volume_up", 119: "pause", 125: "cmd", 126: "cmd_r", 127: "menu", 163: "media_next",
    164: "media_play_pause", 165: "media_previous",
    **{59 + i: f"f{i + 1}" for i in range(10)}, 87: "f11", 88: "f12",
    **{183 + i: f"f{i + 13}" for i in range(12)},
}


@dataclass(frozen=True)
class InputEvent:
    sec: int
    usec: int
    type: int
    code: int
    value: int

    @property
    def time(self) -> float:
        """The kernel's timestamp (CLOCK_REALTIME unless the reader asked otherwise), seconds."""
        return self.sec + self.usec / 1_000_000


def decode(data: bytes) -> tuple[list[InputEvent], bytes]:
    """Whole records out of `data`, and the bytes of a record cut short (kept for the next read)."""
    whole = len(data) - len(data) % EVENT.size
    events = [InputEvent(*fields) for fields in EVENT.iter_unpack(data[:whole])]
    return events, data[whole:]


def encode(event: InputEvent) -> bytes:
    """The bytes the kernel writes for `event` (for fixtures and tests)."""
    return EVENT.pack(event.sec, event.usec, event.type, event.code, event.value)


class DeviceKind(enum.Enum):
    KEYBOARD = "keyboard"
    MOUSE = "mouse"  # relative motion
    TOUCHPAD = "touchpad"  # absolute finger positions, moving a pointer (INPUT_PROP_POINTER)
    DIRECT = "direct"  # absolute positions on the screen itself: touchscreen, pen tablet (INPUT_PROP_DIRECT)


@dataclass(frozen=True)
class AxisRange:
    minimum: int
    maximum: int

    @property
    def span(self) -> int:
        return max(1, self.maximum - self.minimum)


class EvdevTranslator:
    """One device's events -> Raw* events, frame by frame (a frame ends at SYN_REPORT).

    `feed(events, now)` takes what one read returned and the recorder's monotonic time of that
    read; each event's time is `now` less how much earlier the kernel stamped it than the batch's
    last event, so events keep their spacing and land on the recording clock.
    """

    def __init__(self, kind: DeviceKind, screen: tuple[int, int], *, x_range: AxisRange | None = None,
                 y_range: AxisRange | None = None, keys: bool = True) -> None:
        self.kind = kind
        self._w, self._h = screen
        self._x_range, self._y_range = x_range, y_range
        self._keys = keys
        self.x, self.y = self._w // 2, self._h // 2
        self.positions_exact = kind is DeviceKind.DIRECT
        self._frame: list[InputEvent] = []
        self._dropping = False
        self._shift: set[int] = set()
        self._caps = False
        self._touching = False
        self._last_abs: dict[int, int] = {}
        self._last_t = float("-inf")
        self.dropped_frames = 0

    def feed(self, events: list[InputEvent], now: float) -> list[RawEvent]:
        out: list[RawEvent] = []
        if not events:
            return out
        newest = events[-1].time
        for ev in events:
            t = max(now - max(0.0, newest - ev.time), self._last_t)
            self._last_t = t
            if ev.type == EV_SYN and ev.code == SYN_DROPPED:
                self._frame.clear()
                self._dropping = True  # until the next SYN_REPORT: that frame is incomplete
                self.dropped_frames += 1
            elif ev.type == EV_SYN and ev.code == SYN_REPORT:
                if not self._dropping:
                    out += self._frame_events(t)
                self._frame.clear()
                self._dropping = False
            elif not self._dropping:
                self._frame.append(ev)
        return out

    # --- one frame ---------------------------------------------------------------------------
    def _frame_events(self, t: float) -> list[RawEvent]:
        out: list[RawEvent] = []
        dx = dy = wheel = hwheel = 0
        new_abs: dict[int, int] = {}
        for ev in self._frame:
            if ev.type == EV_REL:
                if ev.code == REL_X:
                    dx += ev.value
                elif ev.code == REL_Y:
                    dy += ev.value
                elif ev.code == REL_WHEEL:
                    wheel += ev.value
                elif ev.code == REL_HWHEEL:
                    hwheel += ev.value
            elif ev.type == EV_ABS and ev.code in (ABS_X, ABS_Y):
                new_abs[ev.code] = ev.value
            elif ev.type == EV_KEY and ev.code == BTN_TOUCH:
                self._touching = ev.value != KEY_RELEASE
                if not self._touching:
                    self._last_abs.clear()
        moved = self._move(dx, dy, new_abs)
        if moved:
            out.append(RawMove(t=t, x=self.x, y=self.y))
        for ev in self._frame:
            if ev.type != EV_KEY:
                continue
            if ev.code >= BTN_MISC:
                button = self._button(ev.code)
                if button is not None and ev.value in (KEY_PRESS, KEY_RELEASE):
                    out.append(RawClick(t=t, x=self.x, y=self.y, button=button, pressed=ev.value == KEY_PRESS))
            else:
                key = self._key(ev, t)
                if key is not None:
                    out.append(key)
        if wheel or hwheel:
            out.append(RawScroll(t=t, x=self.x, y=self.y, dx=hwheel, dy=wheel))
        return out

    def _move(self, dx: int, dy: int, new_abs: dict[int, int]) -> bool:
        if self.kind is DeviceKind.DIRECT:
            x = self._scale(new_abs[ABS_X], self._x_range, self._w) if ABS_X in new_abs and self._x_range else self.x
            y = self._scale(new_abs[ABS_Y], self._y_range, self._h) if ABS_Y in new_abs and self._y_range else self.y
        else:
            if self.kind is DeviceKind.TOUCHPAD:
                tdx, tdy = self._touchpad_motion(new_abs)
                dx, dy = dx + tdx, dy + tdy
            x, y = self.x + dx, self.y + dy
        x, y = min(max(0, x), self._w - 1), min(max(0, y), self._h - 1)
        if (x, y) == (self.x, self.y):
            return False
        self.x, self.y = x, y
        return True

    def _touchpad_motion(self, new_abs: dict[int, int]) -> tuple[int, int]:
        """A finger moving on the pad moves the pointer by as much, the pad scaled to the screen."""
        dx = dy = 0
        for axis, value in new_abs.items():
            before = self._last_abs.get(axis)
            self._last_abs[axis] = value
            if before is None or not self._touching:
                continue
            if axis == ABS_X and self._x_range is not None:
                dx += round((value - before) * self._w / self._x_range.span)
            elif axis == ABS_Y and self._y_range is not None:
                dy += round((value - before) * self._h / self._y_range.span)
        return dx, dy

    def _button(self, code: int) -> str | None:
        if code == BTN_TOUCH:
            return "left" if self.kind is DeviceKind.DIRECT else None  # a tap on a touchpad is the compositor's
        return BUTTON_NAMES.get(code)

    def _key(self, ev: InputEvent, t: float) -> RawKey | None:
        pressed = ev.value != KEY_RELEASE  # a repeat is another press, as X11 reports autorepeat
        if ev.code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            if pressed:
                self._shift.add(ev.code)
            else:
                self._shift.discard(ev.code)
        elif ev.code == KEY_CAPSLOCK and ev.value == KEY_PRESS:
            self._caps = not self._caps
        if not self._keys:
            return None
        if ev.code in KEY_NAMES:
            return RawKey(t=t, pressed=pressed, char=None, name=KEY_NAMES[ev.code])
        if ev.code in _LETTERS:
            letter = _LETTERS[ev.code]
            upper = bool(self._shift) != self._caps
            return RawKey(t=t, pressed=pressed, char=letter.upper() if upper else letter, name=None)
        if ev.code in _ROWS:
            pair = _ROWS[ev.code]  # unshifted, shifted
            return RawKey(t=t, pressed=pressed, char=pair[1] if self._shift else pair[0], name=None)
        return RawKey(t=t, pressed=pressed, char=None, name=None, vk=ev.code)

    @staticmethod
    def _scale(value: int, axis: AxisRange, size: int) -> int:
        return round((value - axis.minimum) * (size - 1) / axis.span)
