"""Tray icon images: every state renders, states differ, recording is red, the ring is proportional."""

from __future__ import annotations

import itertools

import pytest
from PIL import Image

from traycap.ui import icons
from traycap.ui.menu import IconSpec, IconState


def pixels(img: Image.Image) -> list[tuple[int, int, int, int]]:
    rgba = img.convert("RGBA")
    w, h = rgba.size
    return [rgba.getpixel((x, y)) for y in range(h) for x in range(w)]  # type: ignore[misc]


def count_color(img: Image.Image, rgb: tuple[int, int, int], tol: int = 30) -> int:
    return sum(1 for p in pixels(img) if p[3] > 200 and all(abs(p[i] - rgb[i]) <= tol for i in range(3)))


@pytest.mark.parametrize("state", list(IconState))
def test_each_state_renders_a_64px_rgba_image(state: IconState) -> None:
    img = icons.render(IconSpec(state, 50))
    assert img.size == (64, 64) and img.mode == "RGBA"
    assert any(p[3] > 0 for p in pixels(img))


def test_states_are_pairwise_distinct() -> None:
    rendered = {s: pixels(icons.render(IconSpec(s, 50))) for s in IconState}
    for a, b in itertools.combinations(IconState, 2):
        differing = sum(1 for pa, pb in zip(rendered[a], rendered[b], strict=True) if pa != pb)
        assert differing > 100, (a, b, differing)


def test_recording_is_red_and_idle_is_not() -> None:
    red = icons.RECORD_RED[:3]
    rec = icons.render(IconSpec(IconState.RECORDING))
    assert rec.getpixel((32, 32))[:3] == red
    assert count_color(rec, red) > 600
    assert count_color(icons.render(IconSpec(IconState.IDLE)), red) == 0


def test_paused_is_amber_and_attention_has_an_orange_badge() -> None:
    assert count_color(icons.render(IconSpec(IconState.PAUSED)), icons.PAUSE_AMBER[:3]) > 300
    assert count_color(icons.render(IconSpec(IconState.ATTENTION)), icons.ATTENTION_ORANGE[:3]) > 300


def test_progress_ring_is_proportional() -> None:
    blue = icons.PROGRESS_BLUE[:3]
    arrow = count_color(icons.render(IconSpec(IconState.UPLOADING, 0)), blue)  # the arrow alone
    ring = {p: count_color(icons.render(IconSpec(IconState.UPLOADING, p)), blue) - arrow for p in (0, 25, 50, 75, 100)}
    assert ring[0] == 0
    full = ring[100]
    assert full > 800
    for p in (25, 50, 75):
        assert abs(ring[p] / full - p / 100) < 0.05, (p, ring[p], full)
    # The arc starts at 12 o'clock and runs clockwise: 25% covers the top-right quadrant only.
    quarter = icons.render(IconSpec(IconState.UPLOADING, 25))
    assert quarter.getpixel((56, 22))[:3] == blue  # right side, above the middle
    assert quarter.getpixel((8, 22))[:3] != blue  # left side stays grey


def test_image_key_groups_ticks_that_draw_the_same_picture() -> None:
    assert icons.image_key(IconSpec(IconState.UPLOADING, 44)) == icons.image_key(IconSpec(IconState.UPLOADING, 45))
    assert icons.image_key(IconSpec(IconState.UPLOADING, 44)) != icons.image_key(IconSpec(IconState.UPLOADING, 46))
    assert icons.image_key(IconSpec(IconState.IDLE, 70)) == icons.image_key(IconSpec(IconState.IDLE, 0))


def test_render_returns_a_copy_the_caller_may_change() -> None:
    a = icons.render(IconSpec(IconState.IDLE))
    a.putpixel((32, 32), (1, 2, 3, 255))
    assert icons.render(IconSpec(IconState.IDLE)).getpixel((32, 32)) != (1, 2, 3, 255)


def test_the_packaged_base_artwork_is_used() -> None:
    base = icons.base_image()
    assert base.size == (64, 64)
    # The dark disc of the artwork at the centre-left, the transparent corner.
    assert base.getpixel((8, 32))[:3] == pytest.approx(icons.BASE_BG[:3], abs=12)
    assert base.getpixel((0, 0))[3] == 0
