"""Finding and reading input devices (traycap/recorder/evdev_devices.py) without any: a sysfs tree and FIFOs.

The tree has the files the kernel gives a keyboard, a mouse, a touchpad, a touchscreen and a power
button (their capability bitmasks as sysfs prints them); each /dev node is a FIFO the test
writes recorded kernel bytes into. Reading a device the user may not read: tests/integration/
test_evdev_permission.py.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import evdev_fixtures as fx
from tests.support.waiting import wait_until
from traycap.errors import RecorderError
from traycap.recorder.actions import RawClick, RawEvent, RawKey, RawMove
from traycap.recorder.evdev import DeviceKind
from traycap.recorder.evdev_devices import EvdevInput, classify, find_devices, parse_bitmask

# Capability bitmasks as sysfs shows them for real devices (64-bit words, most significant first).
KEYBOARD = {"name": "AT Translated Set 2 keyboard", "capabilities/ev": "120013",
            "capabilities/key": "402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe",
            "capabilities/rel": "0", "capabilities/abs": "0", "properties": "0"}
MOUSE = {"name": "Logitech USB Optical Mouse", "capabilities/ev": "17",
         "capabilities/key": "ff0000 0 0 0 0", "capabilities/rel": "903", "capabilities/abs": "0",
         "properties": "0"}
TOUCHPAD = {"name": "SynPS/2 Synaptics TouchPad", "capabilities/ev": "b",
            "capabilities/key": "e520 10000 0 0 0 0", "capabilities/rel": "0",
            "capabilities/abs": "660800011000003", "properties": "5"}
TOUCHSCREEN = {"name": "ELAN Touchscreen", "capabilities/ev": "b", "capabilities/key": "400 0 0 0 0 0",
               "capabilities/rel": "0", "capabilities/abs": "3", "properties": "2"}
POWER = {"name": "Power Button", "capabilities/ev": "3", "capabilities/key": "10000000000000 0",
         "capabilities/rel": "0", "capabilities/abs": "0", "properties": "0"}


def make_tree(root: Path, devices: dict[str, dict[str, str]]) -> tuple[Path, Path]:
    sys_root, dev_root = root / "sys", root / "dev"
    dev_root.mkdir(parents=True)
    for event, files in devices.items():
        for name, text in files.items():
            path = sys_root / event / "device" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n")
        os.mkfifo(dev_root / event)
    return sys_root, dev_root


def test_bitmasks_are_read_word_by_word() -> None:
    assert parse_bitmask("17") == 0x17
    assert parse_bitmask("1 0") == 1 << 64
    assert parse_bitmask("") == 0


def test_devices_are_told_apart_by_what_they_can_do(tmp_path: Path) -> None:
    sys_root, dev_root = make_tree(tmp_path, {"event0": POWER, "event3": KEYBOARD, "event12": MOUSE,
                                              "event5": TOUCHPAD, "event7": TOUCHSCREEN})
    found = find_devices(sys_root, dev_root)
    assert [(d.path.name, d.kind, d.name) for d in found] == [
        ("event3", DeviceKind.KEYBOARD, "AT Translated Set 2 keyboard"),
        ("event5", DeviceKind.TOUCHPAD, "SynPS/2 Synaptics TouchPad"),
        ("event7", DeviceKind.DIRECT, "ELAN Touchscreen"),
        ("event12", DeviceKind.MOUSE, "Logitech USB Optical Mouse"),
    ]  # the power button is not read
    assert classify(0, 0, 0, 0, 0) is None


class Sink:
    def __init__(self) -> None:
        self.events: list[RawEvent] = []
        self.lock = threading.Lock()

    def __call__(self, event: RawEvent) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, kind: type) -> list[RawEvent]:
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    return make_tree(tmp_path, {"event3": KEYBOARD, "event12": MOUSE})


@pytest.fixture
def reading(tree: tuple[Path, Path]) -> Iterator[tuple[EvdevInput, Sink, Path]]:
    sink = Sink()
    source = EvdevInput(sink, lambda: 50.0, True, (1280, 720), sys_root=tree[0], dev_root=tree[1])
    source.start()
    yield source, sink, tree[1]
    source.stop()


def writer(path: Path) -> int:
    """The device's writing end, kept open for the whole test: closing it is an unplug to the reader."""
    return os.open(path, os.O_WRONLY)


def test_events_written_to_the_devices_reach_the_recorder(reading: tuple[EvdevInput, Sink, Path]) -> None:
    source, sink, dev = reading
    assert [d.kind for d in source.devices] == [DeviceKind.KEYBOARD, DeviceKind.MOUSE]
    data = fx.keyboard_types_Hi()
    keyboard, mouse = writer(dev / "event3"), writer(dev / "event12")
    try:
        os.write(keyboard, data[:40])  # a read may end inside a record (decode keeps the rest)
        os.write(keyboard, data[40:])
        os.write(mouse, fx.mouse_moves_clicks_scrolls())
        wait_until("8 keys and 4 clicks", lambda: len(sink.of(RawKey)) == 8 and len(sink.of(RawClick)) == 4, 10)
    finally:
        os.close(keyboard)
        os.close(mouse)
    assert [k.char or k.name for k in sink.of(RawKey) if k.pressed] == ["shift", "H", "i", "enter"]  # type: ignore[attr-defined]
    assert len(sink.of(RawMove)) == 2 and source.positions_exact is False
    assert source.failure is None


def test_without_the_keyboard_only_pointers_are_opened(tree: tuple[Path, Path]) -> None:
    source = EvdevInput(Sink(), lambda: 0.0, False, (1280, 720), sys_root=tree[0], dev_root=tree[1])
    source.start()
    try:
        assert [d.kind for d in source.devices] == [DeviceKind.MOUSE]
    finally:
        source.stop()


def test_no_device_at_all_says_so(tmp_path: Path) -> None:
    sys_root, dev_root = make_tree(tmp_path, {"event0": POWER})
    with pytest.raises(RecorderError, match="No keyboard or mouse was found"):
        EvdevInput(Sink(), lambda: 0.0, True, (1280, 720), sys_root=sys_root, dev_root=dev_root).start()


def test_an_unplugged_device_is_dropped_and_stop_still_ends_the_reader(
        reading: tuple[EvdevInput, Sink, Path]) -> None:
    source, sink, dev = reading
    mouse = writer(dev / "event12")
    os.write(mouse, fx.mouse_moves_clicks_scrolls())
    os.close(mouse)  # the mouse is gone: the reader sees the end of its stream
    wait_until("the mouse's clicks", lambda: len(sink.of(RawClick)) == 4, 10)
    source.stop()
    assert source.devices == [] and source.failure is None
