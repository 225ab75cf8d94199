"""traycap/viewer/model.py: bundle contents -> the page's data (coordinates, captions, facts)."""

from __future__ import annotations

from typing import Any

import pytest

from traycap.viewer.model import (
    Kind,
    LocalCopy,
    UploadFacts,
    VideoMapping,
    captions,
    facts,
    frame_columns,
    info_from_meta,
    page_data,
    video_mapping,
)

INFO: dict[str, Any] = {
    "sessionId": "s1", "createdAt": 1_800_000_000_000, "durationMs": 65_000, "pausedMs": 5_000,
    "fps": {"requested": 10, "achieved": 9.87}, "droppedFrames": {"late": 2, "encoderBusy": 1, "total": 3},
    "counts": {"actions": 4, "markers": 2, "frames": 600, "screenshots": 3},
    "video": {"width": 1280, "height": 1024, "codec": "h264"},
    "monitors": {"monitor": 2, "rect": {"left": 1920, "top": 0, "width": 1280, "height": 1024}},
    "keystrokePrivacy": "no_text",
}


def keys(*pairs: tuple[float, str, str], masked: bool = False) -> list[dict[str, Any]]:
    out = []
    for t, kind, key in pairs:
        a: dict[str, Any] = {"t": t, "type": kind, "key": key}
        if masked:
            a["masked"] = True
        out.append(a)
    return out


def test_pointer_coordinates_are_mapped_through_the_recorded_monitor() -> None:
    m = video_mapping(INFO)
    assert m == VideoMapping(left=1920, top=0, scale=1.0, width=1280, height=1024)
    assert m.point(1920 + 100, 50) == (100, 50)
    assert m.point(100, 50) is None  # on the other monitor: not in the video


def test_a_recorded_scale_maps_logical_input_coordinates_to_capture_pixels() -> None:
    info = {**INFO, "monitors": {"rect": {"left": 0, "top": 0, "width": 2560, "height": 1600}, "scale": 2.0},
            "video": {"width": 2560, "height": 1600}}
    assert video_mapping(info).point(100, 200) == (200, 400)


def test_odd_sized_monitors_lose_their_last_column_like_the_video() -> None:
    info = {"monitors": {"rect": {"left": 0, "top": 0, "width": 801, "height": 601}},
            "video": {"width": 800, "height": 600}}
    assert video_mapping(info).point(800, 10) is None
    assert video_mapping(info).point(799, 599) == (799, 599)


def test_masked_keys_stay_masked_in_captions() -> None:
    caps = captions(keys((10, "key_down", "*"), (11, "key_up", "*"), (20, "key_down", "*"), masked=True))
    assert [c.text for c in caps] == ["**"]


def test_captions_group_typing_into_runs_with_symbols_and_shortcuts() -> None:
    actions = keys(
        (0, "key_down", "h"), (50, "key_down", "i"), (100, "key_down", "space"), (150, "key_down", "enter"),
        (5000, "key_down", "ctrl_l"), (5010, "key_down", "c"), (5020, "key_up", "c"), (5030, "key_up", "ctrl_l"),
        (5100, "key_down", "shift"), (5110, "key_down", "A"), (5120, "key_up", "shift"), (5200, "key_down", "f5"),
    )
    caps = captions(actions)
    assert [c.text for c in caps] == ["hi ⏎", "[Ctrl+C]A[F5]"]
    assert caps[0].start == 0 and caps[0].end == 150 + 2000
    assert caps[1].start == 5010


def test_a_click_between_typing_starts_a_new_caption() -> None:
    actions = [*keys((0, "key_down", "a"), (100, "key_down", "b")),
               {"t": 300, "type": "mouse_down", "x": 1, "y": 1, "button": "left"},
               *keys((600, "key_down", "c"))]
    assert [(c.start, c.text) for c in captions(actions)] == [(0, "ab"), (600, "c")]


def test_frames_map_to_video_seconds_from_the_first_frame() -> None:
    cols = frame_columns([{"t": 134.1, "pts": 134}, {"t": 234.0, "pts": 234}, {"t": 9000.0, "pts": 4000}])
    assert cols == {"t": [134.1, 234.0, 9000.0], "v": [0.0, 0.1, 3.866]}


def test_facts_say_what_a_reviewer_asks() -> None:
    lines = dict(facts(INFO, UploadFacts("done", uploaded_at=1_800_000_100_000), LocalCopy(True, 5_000_000)))
    assert lines["Length"] == "1:05 (0:05 paused)"
    assert lines["Frame rate"] == "9.87 fps achieved of 10 asked"
    assert lines["Dropped frames"] == "3 (2 late, 1 encoder busy)"
    assert lines["Keystrokes"] == "letters and digits masked"
    assert lines["Size"] == "4.8 MB"
    assert lines["Upload"].startswith("uploaded ")


def test_a_session_whose_zip_was_deleted_after_upload_says_so_and_offers_the_link() -> None:
    meta = {"sessionId": "s1", "createdAt": 1_800_000_000_000, "durationMs": 65_000, "fpsAchieved": 9.9,
            "actionCount": 4, "screenshotCount": 1, "frameCount": 600,
            "recorder": {"fps": 10, "keystrokePrivacy": "full", "droppedFrames": {"late": 0, "encoderBusy": 0,
                                                                                  "total": 0}}}
    data = page_data("s1", info_from_meta(meta), [], [], [], UploadFacts("done", link_available=True),
                     LocalCopy(False))
    assert data["video"]["url"] is None
    assert "deleted after it was uploaded" in data["notice"]
    assert data["upload"] == {"status": "done", "link": True}
    assert ["Local copy", "deleted after upload"] in data["facts"]
    assert ["Frame rate", "9.9 fps achieved of 10 asked"] in data["facts"]


def test_page_data_has_one_row_per_action_in_column_arrays() -> None:
    actions: list[dict[str, Any]] = [
        {"t": 1.0, "type": "mouse_move", "x": 1930, "y": 5},
        {"t": 2.0, "type": "mouse_down", "x": 1930, "y": 5, "button": "right"},
        {"t": 3.0, "type": "scroll", "x": 10, "y": 5, "dx": 0, "dy": -2},
        {"t": 4.0, "type": "key_down", "key": "*", "masked": True},
        {"t": 5.0, "type": "pause"},
        {"t": 9.0, "type": "resume"},
    ]
    data = page_data("s1", INFO, actions, [], [{"t": 2.5, "file": "000000002-click.png", "reason": "click"}],
                     UploadFacts("not_uploaded"), LocalCopy(True, 10))
    cols = data["actions"]
    assert cols["kind"] == [Kind.MOVE, Kind.DOWN, Kind.SCROLL, Kind.KEY_DOWN, Kind.PAUSE, Kind.RESUME]
    assert cols["x"] == [10, 10, None, None, None, None]
    assert cols["detail"] == ["", "right", "down 2", "*", "", ""]
    assert cols["masked"] == [0, 0, 0, 1, 0, 0]
    assert data["video"]["url"] == "video.mp4"
    assert data["shots"] == [{"t": 2.5, "file": "000000002-click.png", "reason": "click"}]
    assert data["end"] == 65_000
    assert data["notice"] is None


@pytest.mark.parametrize(("privacy", "text"), [("full", "recorded as typed"), ("no_text", "letters and digits masked"),
                                               ("none", "not recorded")])
def test_keystroke_privacy_is_shown(privacy: str, text: str) -> None:
    lines = dict(facts({**INFO, "keystrokePrivacy": privacy}, UploadFacts("not_uploaded"), LocalCopy(True, 1)))
    assert lines["Keystrokes"] == text
