"""actions.py: privacy masking, mouse-move throttling, click-screenshot limits (pure)."""

from __future__ import annotations

import pytest

from traycap.models import KeystrokePrivacy
from traycap.recorder.actions import (
    MOVE_MIN_INTERVAL_S,
    ActionBuilder,
    RateLimiter,
    RawClick,
    RawKey,
    RawMove,
    RawScroll,
    key_action,
)

ORIGIN = 100.0


def key(char: str | None = None, name: str | None = None, vk: int | None = None, pressed: bool = True) -> RawKey:
    return RawKey(t=ORIGIN + 1, pressed=pressed, char=char, name=name, vk=vk)


def test_full_privacy_keeps_every_key() -> None:
    assert key_action(key("a"), KeystrokePrivacy.FULL, 1.0) == {"t": 1.0, "type": "key_down", "key": "a"}
    assert key_action(key(name="shift", pressed=False), KeystrokePrivacy.FULL, 2.0) == {
        "t": 2.0, "type": "key_up", "key": "shift"}
    assert key_action(key(vk=65027), KeystrokePrivacy.FULL, 3.0) == {"t": 3.0, "type": "key_down", "key": "vk65027"}


@pytest.mark.parametrize("char", ["a", "Z", "7", "é", "ж", "٣", "\x03"])
def test_no_text_masks_letters_digits_and_control_chars(char: str) -> None:
    action = key_action(key(char), KeystrokePrivacy.NO_TEXT, 1.0)
    assert action == {"t": 1.0, "type": "key_down", "key": "*", "masked": True}


def test_no_text_keeps_special_keys_and_punctuation_but_never_a_bare_key_code() -> None:
    assert key_action(key(name="enter"), KeystrokePrivacy.NO_TEXT, 1.0)["key"] == "enter"  # type: ignore[index]
    assert key_action(key(name="space"), KeystrokePrivacy.NO_TEXT, 1.0)["key"] == "space"  # type: ignore[index]
    assert key_action(key("!"), KeystrokePrivacy.NO_TEXT, 1.0)["key"] == "!"  # type: ignore[index]
    masked = key_action(key(vk=38), KeystrokePrivacy.NO_TEXT, 1.0)
    assert masked == {"t": 1.0, "type": "key_down", "key": "*", "masked": True}
    assert "38" not in str(masked)


def test_none_records_no_keys_at_all() -> None:
    for k in (key("a"), key(name="enter"), key(vk=9)):
        assert key_action(k, KeystrokePrivacy.NONE, 1.0) is None
    builder = ActionBuilder(ORIGIN, KeystrokePrivacy.NONE)
    assert builder.feed(key("a")) == []


def test_times_are_ms_since_origin() -> None:
    builder = ActionBuilder(ORIGIN, KeystrokePrivacy.FULL)
    out = builder.feed(RawClick(ORIGIN + 1.23456, 5, 6, "left", True))
    assert out == [{"t": 1234.6, "type": "mouse_down", "x": 5, "y": 6, "button": "left"}]
    assert builder.feed(RawScroll(ORIGIN + 2, 5, 6, 0, -1)) == [
        {"t": 2000.0, "type": "scroll", "x": 5, "y": 6, "dx": 0, "dy": -1}]


def test_moves_are_throttled_but_the_last_one_before_a_click_is_kept() -> None:
    builder = ActionBuilder(ORIGIN, KeystrokePrivacy.FULL)
    step = MOVE_MIN_INTERVAL_S / 5
    emitted = []
    for i in range(10):  # 10 moves within 2 intervals
        emitted += builder.feed(RawMove(ORIGIN + i * step, i, i))
    assert [(a["x"], a["t"]) for a in emitted] == [(0, 0.0), (5, 50.0)]
    assert builder.dropped_moves == 7  # 1..4 and 6..8 superseded; 9 is held back
    out = builder.feed(RawClick(ORIGIN + 1.0, 9, 9, "left", True))
    assert [a["type"] for a in out] == ["mouse_move", "mouse_down"]
    assert out[0] == {"t": 90.0, "type": "mouse_move", "x": 9, "y": 9}  # its own time, not the click's
    assert builder.flush() == []


def test_a_held_back_move_comes_out_when_its_slot_is_due_or_at_stop() -> None:
    builder = ActionBuilder(ORIGIN, KeystrokePrivacy.FULL)
    builder.feed(RawMove(ORIGIN, 1, 1))
    assert builder.feed(RawMove(ORIGIN + 0.01, 2, 2)) == []
    assert builder.flush_due(ORIGIN + 0.02) == []
    assert builder.flush_due(ORIGIN + MOVE_MIN_INTERVAL_S) == [{"t": 10.0, "type": "mouse_move", "x": 2, "y": 2}]
    builder.feed(RawMove(ORIGIN + 0.06, 3, 3))
    assert builder.feed(RawMove(ORIGIN + 0.07, 4, 4)) == []
    assert builder.flush() == [{"t": 70.0, "type": "mouse_move", "x": 4, "y": 4}]


def test_pause_marker_discards_nothing_but_a_held_move_when_asked() -> None:
    builder = ActionBuilder(ORIGIN, KeystrokePrivacy.FULL)
    builder.feed(RawMove(ORIGIN, 1, 1))
    builder.feed(RawMove(ORIGIN + 0.01, 2, 2))
    builder.discard_pending()
    assert builder.marker("pause", ORIGIN + 1) == [{"t": 1000.0, "type": "pause"}]
    with pytest.raises(ValueError):
        builder.marker("explode", ORIGIN)


def test_click_screenshots_are_rate_limited() -> None:
    limiter = RateLimiter(1.0)
    assert [limiter.allow(t) for t in (0.0, 0.5, 0.99, 1.0, 1.5, 2.2)] == [True, False, False, True, False, True]
