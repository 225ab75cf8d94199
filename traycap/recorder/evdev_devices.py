"""The input devices (/dev/input/event*) for people who opt in to clicks and keys on Wayland.

Reading them needs the person's user in the `input` group (sudo usermod -aG input $USER, then
log in again): it lets every program of that user read every key, which is why traycap never
asks for it by itself and records no key or click track without it (docs/wayland.md). Without
the permission `EvdevInput.start` raises InputDevicesDenied, whose hint says exactly that.

Devices are found and classified from sysfs (/sys/class/input/eventN/device: name, capability
bitmasks, properties), so nothing is opened that is not a keyboard or a pointer. Each open
device is read by one thread (select over all of them and a wake pipe), decoded by evdev.py, and
its Raw* events go to the recorder's sink, like pynput's on X11 (recorder/inputs.py:
`InputFactory`). The only ioctl is EVIOCGABS, for a touchscreen's or touchpad's axis ranges.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import select
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from traycap.errors import InputDevicesDenied, RecorderError
from traycap.recorder.actions import RawEvent
from traycap.recorder.evdev import (
    ABS_X,
    ABS_Y,
    BTN_LEFT,
    BTN_TOUCH,
    EV_ABS,
    EV_KEY,
    EV_REL,
    EVENT,
    INPUT_PROP_DIRECT,
    INPUT_PROP_POINTER,
    REL_X,
    REL_Y,
    AxisRange,
    DeviceKind,
    EvdevTranslator,
    decode,
)

log = logging.getLogger(__name__)

SYS_INPUT = Path("/sys/class/input")
DEV_INPUT = Path("/dev/input")
READ_BYTES = EVENT.size * 64
WORD_BITS = struct.calcsize("@L") * 8  # sysfs prints bitmasks as unsigned longs
KEY_Q, KEY_P, KEY_A, KEY_Z = 16, 25, 30, 44
STOP_TIMEOUT_S = 5.0
_ABSINFO = struct.Struct("@6i")  # value, minimum, maximum, fuzz, flat, resolution


def _eviocgabs(axis: int) -> int:
    # _IOR('E', 0x40 + axis, struct input_absinfo)
    return (2 << 30) | (_ABSINFO.size << 16) | (ord("E") << 8) | (0x40 + axis)


@dataclass(frozen=True)
class InputDevice:
    path: Path
    name: str
    kind: DeviceKind


def parse_bitmask(text: str) -> int:
    """A sysfs capability bitmask ("120013" or "1 0 ffff0000 0"): words of WORD_BITS, most significant first."""
    value = 0
    for word in text.split():
        value = (value << WORD_BITS) | int(word, 16)
    return value


def classify(ev: int, keys: int, rel: int, absolute: int, props: int) -> DeviceKind | None:
    """What a device is, from its capability bitmasks; None for what traycap does not read (power button...)."""
    def has(mask: int, bit: int) -> bool:
        return bool(mask >> bit & 1)

    if has(ev, EV_ABS) and has(absolute, ABS_X) and has(absolute, ABS_Y):
        if has(props, INPUT_PROP_DIRECT):
            return DeviceKind.DIRECT
        if has(props, INPUT_PROP_POINTER) or has(keys, BTN_TOUCH):
            return DeviceKind.TOUCHPAD
    if has(ev, EV_REL) and has(rel, REL_X) and has(rel, REL_Y) and has(keys, BTN_LEFT):
        return DeviceKind.MOUSE
    letters = all(has(keys, k) for k in (KEY_Q, KEY_P, KEY_A, KEY_Z))
    if has(ev, EV_KEY) and letters:
        return DeviceKind.KEYBOARD
    return None


def find_devices(sys_root: Path = SYS_INPUT, dev_root: Path = DEV_INPUT) -> list[InputDevice]:
    """Keyboards and pointers, as sysfs describes them, with their /dev node."""
    found = []
    for entry in sorted(sys_root.glob("event*"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0)):
        device = entry / "device"

        def read(name: str, device: Path = device) -> str:
            try:
                return (device / name).read_text().strip()
            except OSError:
                return "0"

        kind = classify(parse_bitmask(read("capabilities/ev")), parse_bitmask(read("capabilities/key")),
                        parse_bitmask(read("capabilities/rel")), parse_bitmask(read("capabilities/abs")),
                        parse_bitmask(read("properties")))
        if kind is not None:
            found.append(InputDevice(path=dev_root / entry.name, name=read("name"), kind=kind))
    return found


@dataclass
class _Open:
    device: InputDevice
    fd: int
    translator: EvdevTranslator
    rest: bytes = field(default=b"")


class EvdevInput:
    """Raw* events from the keyboards and pointers in /dev/input, to `sink` (an InputSource: start/stop)."""

    def __init__(self, sink: Callable[[RawEvent], None], monotonic: Callable[[], float], keyboard: bool,
                 screen: tuple[int, int], *, devices: list[InputDevice] | None = None,
                 sys_root: Path | None = None, dev_root: Path | None = None) -> None:
        self._sink = sink
        self._monotonic = monotonic
        self._keyboard = keyboard
        self._screen = screen
        self._devices = devices
        self._sys_root, self._dev_root = sys_root or SYS_INPUT, dev_root or DEV_INPUT
        self._open: list[_Open] = []
        self._wake_r = self._wake_w = -1
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.failure: BaseException | None = None

    @property
    def devices(self) -> list[InputDevice]:
        return [o.device for o in self._open]

    @property
    def positions_exact(self) -> bool:
        """Pointer positions come from a touchscreen or tablet (exact), not summed-up mouse motion."""
        pointers = [o for o in self._open if o.device.kind is not DeviceKind.KEYBOARD]
        return bool(pointers) and all(o.translator.positions_exact for o in pointers)

    def start(self) -> None:
        if sys.platform == "win32":
            raise RecorderError("Input devices are read this way on Linux only")
        devices = self._devices if self._devices is not None else find_devices(self._sys_root, self._dev_root)
        wanted = [d for d in devices if self._keyboard or d.kind is not DeviceKind.KEYBOARD]
        denied: list[str] = []
        for device in wanted:
            try:
                fd = os.open(device.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except PermissionError:
                denied.append(str(device.path))
                continue
            except OSError as exc:
                log.info("input device %s (%s) not opened: %s", device.path, device.name, exc)
                continue
            self._open.append(_Open(device, fd, self._translator(device, fd)))
        if not self._open:
            if denied:
                raise InputDevicesDenied(f"No permission to read the input devices ({denied[0]}: permission "
                                         "denied): clicks and keys cannot be recorded on Wayland")
            raise RecorderError("No keyboard or mouse was found in /dev/input: clicks and keys cannot be recorded",
                                "the screen is recorded without a click and key track")
        if denied:
            log.warning("input devices not readable (%s): their clicks and keys are not recorded", ", ".join(denied))
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="traycap-evdev", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
        for opened in self._open:
            with contextlib.suppress(OSError):
                os.close(opened.fd)
        self._open.clear()
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wake_r = self._wake_w = -1

    # --- the reader thread --------------------------------------------------------------------
    def _run(self) -> None:
        try:
            live = list(self._open)
            while live and not self._stopping.is_set():
                ready, _w, _x = select.select([o.fd for o in live] + [self._wake_r], [], [], 1.0)
                for opened in [o for o in live if o.fd in ready]:
                    if not self._read(opened):
                        live.remove(opened)  # unplugged (or the fixture's writer closed)
        except BaseException as exc:  # kept for the recorder to report, never silently lost
            self.failure = exc
            log.exception("reading the input devices failed")

    def _read(self, opened: _Open) -> bool:
        try:
            data = os.read(opened.fd, READ_BYTES)
        except BlockingIOError:
            return True
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                log.info("input device %s went away", opened.device.path)
                return False
            raise
        if not data:
            return False
        events, opened.rest = decode(opened.rest + data)
        for raw in opened.translator.feed(events, self._monotonic()):
            self._sink(raw)
        return True

    def _translator(self, device: InputDevice, fd: int) -> EvdevTranslator:
        x_range = y_range = None
        if device.kind in (DeviceKind.DIRECT, DeviceKind.TOUCHPAD):
            x_range, y_range = _axis_range(fd, ABS_X), _axis_range(fd, ABS_Y)
        return EvdevTranslator(device.kind, self._screen, x_range=x_range, y_range=y_range, keys=self._keyboard)


def _axis_range(fd: int, axis: int) -> AxisRange | None:
    if sys.platform == "win32":
        return None
    import fcntl

    buf = bytearray(_ABSINFO.size)
    try:
        fcntl.ioctl(fd, _eviocgabs(axis), buf)
    except OSError:
        return None
    _value, minimum, maximum, _fuzz, _flat, _res = _ABSINFO.unpack(bytes(buf))
    return AxisRange(minimum, maximum) if maximum > minimum else None


def evdev_input_factory(screen: tuple[int, int]) -> Callable[[Callable[[RawEvent], None], Callable[[], float], bool],
                                                             EvdevInput]:
    """An InputFactory (recorder/inputs.py) for a screen of `screen` (w, h): what the recorder calls at Start."""
    def factory(sink: Callable[[RawEvent], None], monotonic: Callable[[], float], keyboard: bool) -> EvdevInput:
        return EvdevInput(sink, monotonic, keyboard, screen)

    return factory
