"""The evdev decoder (traycap/recorder/evdev.py) on recorded kernel input (tests/support/evdev_fixtures.py)."""

from __future__ import annotations

import pytest

from tests.support import evdev_fixtures as fx
from traycap.models import KeystrokePrivacy
from traycap.recorder.actions import ActionBuilder, RawClick, RawKey, RawMove, RawScroll
from traycap.recorder.evdev import EVENT, AxisRange, DeviceKind, EvdevTranslator, InputEvent, decode, encode

SCREEN = (1280, 720)


def test_one_record_has_the_kernels_layout() -> None:
    """KEY_A pressed at 1700000000.123456 s, as x86-64 and arm64 kernels write it (struct timeval of two longs)."""
    assert EVENT.size == 24, "traycap reads input events on 64-bit Linux only"
    literal = bytes.fromhex("00f1536500000000" "40e2010000000000" "0100" "1e00" "01000000")
    events, rest = decode(literal)
    assert events == [InputEvent(sec=1_700_000_000, usec=123_456, type=1, code=30, value=1)] and rest == b""
    assert encode(events[0]) == literal
    assert events[0].time == pytest.approx(1_700_000_000.123456)


def test_a_record_cut_short_waits_for_the_rest() -> None:
    data = fx.keyboard_types_Hi()
    events, rest = decode(data[:30])
    assert len(events) == 1 and rest == data[24:30]
    more, rest = decode(rest + data[30:48])
    assert len(more) == 1 and rest == b""


def feed(kind: DeviceKind, data: bytes, now: float = 100.0, **kwargs: object) -> list[object]:
    events, _rest = decode(data)
    return EvdevTranslator(kind, SCREEN, **kwargs).feed(events, now)  # type: ignore[arg-type]


def test_typing_gives_names_and_characters_with_shift() -> None:
    raw = feed(DeviceKind.KEYBOARD, fx.keyboard_types_Hi())
    keys = [(k.pressed, k.char, k.name) for k in raw if isinstance(k, RawKey)]
    assert keys == [(True, None, "shift"), (True, "H", None), (False, "H", None), (False, None, "shift"),
                    (True, "i", None), (False, "i", None), (True, None, "enter"), (False, None, "enter")]


def test_event_times_keep_their_spacing_on_the_recording_clock() -> None:
    raw = feed(DeviceKind.KEYBOARD, fx.keyboard_types_Hi(), now=100.0)
    times = [r.t for r in raw]  # type: ignore[attr-defined]
    assert times[-1] == pytest.approx(100.0)  # the last event is stamped with the read's time
    assert times[0] == pytest.approx(100.0 - 7 * 0.008)  # 8 frames, 8 ms apart
    assert times == sorted(times)


def test_a_held_key_repeats_as_presses() -> None:
    raw = feed(DeviceKind.KEYBOARD, fx.keyboard_holds_a())
    assert [(k.pressed, k.char) for k in raw if isinstance(k, RawKey)] == [(True, "a"), (True, "a"), (True, "a"),
                                                                           (False, "a")]


def test_caps_lock_and_digits_with_shift() -> None:
    r = fx.Recording()
    r.key(fx.KEY_CAPSLOCK, 1).key(fx.KEY_CAPSLOCK, 0).key(fx.KEY_A, 1).key(fx.KEY_A, 0)
    r.key(fx.KEY_LEFTSHIFT, 1).key(fx.KEY_1, 1).key(fx.KEY_1, 0).key(fx.KEY_A, 1).key(fx.KEY_LEFTSHIFT, 0)
    r.key(fx.KEY_F5, 1).key(222, 1)  # f5, then a code traycap has no name for (KEY_ALTERASE): its number is kept
    keys = [(k.char, k.name, k.vk) for k in feed(DeviceKind.KEYBOARD, bytes(r)) if isinstance(k, RawKey) and k.pressed]
    assert keys == [(None, "caps_lock", None), ("A", None, None), (None, "shift", None), ("!", None, None),
                    ("a", None, None), (None, "f5", None), (None, None, 222)]  # caps lock + shift: lower case


def test_keys_are_left_out_when_the_keyboard_is_not_recorded() -> None:
    assert feed(DeviceKind.KEYBOARD, fx.keyboard_types_Hi(), keys=False) == []


def test_a_mouse_moves_an_estimated_pointer_and_clicks_where_it_is() -> None:
    raw = feed(DeviceKind.MOUSE, fx.mouse_moves_clicks_scrolls())
    cx, cy = SCREEN[0] // 2, SCREEN[1] // 2
    assert [type(r).__name__ for r in raw] == ["RawMove", "RawMove", "RawClick", "RawClick", "RawClick", "RawClick",
                                               "RawScroll"]
    moves = [(r.x, r.y) for r in raw if isinstance(r, RawMove)]
    assert moves == [(cx + 5, cy - 3), (cx + 15, cy - 3)]
    clicks = [(r.button, r.pressed, r.x, r.y) for r in raw if isinstance(r, RawClick)]
    assert clicks == [("left", True, cx + 15, cy - 3), ("left", False, cx + 15, cy - 3),
                      ("right", True, cx + 15, cy - 3), ("right", False, cx + 15, cy - 3)]
    scroll = raw[-1]
    assert isinstance(scroll, RawScroll) and (scroll.dx, scroll.dy) == (0, 1)  # the hi-res event is not counted twice


def test_the_estimate_stays_on_the_screen() -> None:
    r = fx.Recording()
    r.event(fx.EV_REL, fx.REL_X, -5000).event(fx.EV_REL, fx.REL_Y, 9000).syn()
    translator = EvdevTranslator(DeviceKind.MOUSE, SCREEN)
    raw = translator.feed(decode(bytes(r))[0], 1.0)
    assert [(m.x, m.y) for m in raw if isinstance(m, RawMove)] == [(0, SCREEN[1] - 1)]
    assert translator.positions_exact is False


def test_a_frame_cut_by_an_overflow_is_dropped() -> None:
    translator = EvdevTranslator(DeviceKind.MOUSE, SCREEN)
    raw = translator.feed(decode(fx.mouse_overflows())[0], 1.0)
    cx, cy = SCREEN[0] // 2, SCREEN[1] // 2
    assert [(type(r).__name__, r.x, r.y) for r in raw] == [("RawMove", cx + 7, cy), ("RawMove", cx + 7, cy + 2)]
    assert translator.dropped_frames == 1  # the click and the +100 motion of the broken frame are not recorded


def test_a_touchscreen_maps_onto_the_screen_exactly() -> None:
    axes = {"x_range": AxisRange(0, 4095), "y_range": AxisRange(0, 4095)}
    translator = EvdevTranslator(DeviceKind.DIRECT, SCREEN, **axes)  # type: ignore[arg-type]
    raw = translator.feed(decode(fx.touchscreen_taps(4095, 2048))[0], 5.0)
    assert [(type(r).__name__, r.x, r.y) for r in raw] == [("RawMove", 1279, 360), ("RawClick", 1279, 360),
                                                           ("RawClick", 1279, 360)]
    assert [r.pressed for r in raw if isinstance(r, RawClick)] == [True, False]
    assert translator.positions_exact is True


def test_a_touchpad_moves_the_pointer_by_the_fingers_motion() -> None:
    axes = {"x_range": AxisRange(0, 1000), "y_range": AxisRange(0, 600)}
    raw = feed(DeviceKind.TOUCHPAD, fx.touchpad_drags(100, 300, 250), **axes)
    moves = [(r.x, r.y) for r in raw if isinstance(r, RawMove)]
    assert moves == [(SCREEN[0] // 2 + 320, SCREEN[1] // 2)]  # 250 of 1000 pad units = 320 of 1280 pixels
    assert not [r for r in raw if isinstance(r, RawClick)]  # a touch on a pad is no click (tap-to-click is libinput's)


def test_decoded_input_feeds_todays_action_model() -> None:
    """evdev events become the same action records as pynput's on X11, privacy masking included."""
    raw = feed(DeviceKind.KEYBOARD, fx.keyboard_types_Hi(), now=10.0) + \
        feed(DeviceKind.MOUSE, fx.mouse_moves_clicks_scrolls(), now=11.0)
    builder = ActionBuilder(origin=9.0, privacy=KeystrokePrivacy.NO_TEXT, move_interval_s=0.0)
    actions = [a for ev in raw for a in builder.feed(ev)] + builder.flush()  # type: ignore[arg-type]
    kinds = [a["type"] for a in actions]
    assert kinds.count("key_down") == 4 and kinds.count("mouse_down") == 2 and kinds.count("scroll") == 1
    typed = [a["key"] for a in actions if a["type"] == "key_down"]
    assert typed == ["shift", "*", "*", "enter"]  # letters masked in no_text, named keys kept
    assert actions[0]["t"] == pytest.approx((10.0 - 7 * 0.008 - 9.0) * 1000, abs=0.1)
