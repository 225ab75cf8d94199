"""traycap/bundle/preview.py: which frames the contact sheet shows and where (pure parts)."""

from __future__ import annotations

import itertools

import pytest

from traycap.bundle.preview import MAX_TILES, clock_label, grid_columns, pick_frames, plan_sheet
from traycap.errors import RecorderError


def test_picks_spread_from_the_first_frame_to_the_last() -> None:
    assert pick_frames(0) == []
    assert pick_frames(5) == [0, 1, 2, 3, 4]
    picks = pick_frames(36_000)
    assert len(picks) == MAX_TILES and picks[0] == 0 and picks[-1] == 35_999
    gaps = {b - a for a, b in itertools.pairwise(picks)}
    assert max(gaps) - min(gaps) <= 1


@pytest.mark.parametrize(("n", "cols"), [(1, 1), (3, 3), (4, 2), (6, 3), (9, 3), (10, 4), (12, 4)])
def test_grid_columns(n: int, cols: int) -> None:
    assert grid_columns(n) == cols


def test_plan_places_twelve_tiles_with_their_recording_times() -> None:
    frames = [{"i": i, "t": 50.0 + i * 100 + (5000 if i >= 300 else 0), "pts": 50 + i * 100} for i in range(600)]
    plan = plan_sheet(frames, (1920, 1080), "title")
    assert len(plan.tiles) == 12 and plan.columns == 4
    assert plan.width <= 1600
    assert plan.tile_w * 1080 // 1920 in (plan.tile_h - 1, plan.tile_h, plan.tile_h + 1)
    last = plan.tiles[-1]
    assert last.video_ms == 599 * 100  # video time counts from the first frame
    assert last.t_ms == 50 + 599 * 100 + 5000  # the label is recording time (pauses included)
    xs = sorted({t.x for t in plan.tiles})
    assert len(xs) == 4 and all(x + plan.tile_w <= plan.width for x in xs)
    assert all(t.y + plan.tile_h <= plan.height for t in plan.tiles)


def test_a_session_without_frames_has_no_sheet() -> None:
    with pytest.raises(RecorderError):
        plan_sheet([], (800, 600), "t")


def test_clock_label() -> None:
    assert clock_label(7_400) == "0:07"
    assert clock_label(3_723_000) == "1:02:03"
