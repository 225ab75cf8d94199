"""recorder/loops.py on a still screen: slots of an unchanged screen cost nothing, a frame a second
repeats the last picture, and the frame-time index stays exact. Driven slot by slot on the FakeClock
(tests/support/still_screen.py: the recorder's own capture, encoder, screenshots and export, without
the threads), with a real H.264 encoder; the video is decoded to check what each frame shows."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import av
import pytest

from tests.support.recording import read_bundle, video_positions_ms
from tests.support.still_screen import ScriptedScreen, SteppedRecording, bgr_mean
from traycap.clock import FakeClock
from traycap.context import Context

RED, GREEN, BLUE, WHITE = (0, 0, 255), (0, 255, 0), (255, 0, 0), (255, 255, 255)
FPS = 5
PERIOD_MS = 1000 / FPS


def _decoded(video: Path) -> list[Any]:
    with av.open(str(video)) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def _close(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_a_still_screen_is_a_frame_a_second_and_each_frame_keeps_the_moment_it_was_grabbed(
        ctx: Context, clock: FakeClock, tmp_path: Path) -> None:
    changes = [(0.0, RED), (7.3, GREEN), (7.5, BLUE), (20.0, RED)]
    screen = ScriptedScreen(64, 48, changes, clock)
    run = SteppedRecording(ctx, clock, screen, fps=FPS)
    run.until(30.0, screenshots_every_s=5.0)
    meta = run.stop_and_export()
    bundle = read_bundle(ctx.sessions.zip_path(meta))
    frames = bundle.frames
    slot_ms = {round(t * 1000, 1) for t in run.grab_times}

    # Every frame is a slot's grab, at that slot's time; most slots of the still screen are skipped.
    assert all(f["t"] in slot_ms for f in frames)
    assert [f["i"] for f in frames] == list(range(len(frames)))
    assert all(b["t"] > a["t"] and b["pts"] > a["pts"] for a, b in itertools.pairwise(frames))
    recorder = meta.extra["recorder"]
    assert len(frames) + recorder["unchangedFrames"] == run.slots == recorder["framesCaptured"] \
        + recorder["unchangedFrames"]
    assert len(frames) < run.slots / 3
    assert bundle.info["unchangedFrames"] == recorder["unchangedFrames"] > 0
    assert bundle.info["fps"]["achieved"] == pytest.approx(FPS, rel=0.05)  # every slot shown
    assert bundle.info["fps"]["encoded"] < FPS / 3
    # A repeat at least every second, so the video's fragments keep closing.
    assert max(b["t"] - a["t"] for a, b in itertools.pairwise(frames)) <= 1000 + PERIOD_MS
    assert recorder["repeatedFrames"] >= 25

    # Each change shows in the first frame grabbed at or after it, within one frame interval.
    video = bundle.extract("video/screen.mp4", tmp_path)
    pictures = _decoded(video)
    assert len(pictures) == len(frames)
    for change_s, colour in changes:
        first = next(i for i, f in enumerate(frames) if f["t"] >= change_s * 1000)
        assert frames[first]["t"] - change_s * 1000 < PERIOD_MS
        if first > 0:
            assert frames[first - 1]["t"] < change_s * 1000
        assert _close(bgr_mean(pictures[first]), colour), (change_s, bgr_mean(pictures[first]))
    # ... and every frame shows what the screen showed when it was grabbed.
    for frame, picture in zip(frames, pictures, strict=True):
        assert _close(bgr_mean(picture), screen.colour_at(frame["t"] / 1000)), frame
    # A player's position in the video is the frame's pts (an independent reader: Debian's ffprobe).
    assert video_positions_ms(video) == pytest.approx([f["pts"] for f in frames], abs=1)
    # A keyframe at the first frame 5 s or more after the one before (a still screen's are a second apart;
    # x264 adds one where the whole picture changes).
    keyframes = _keyframe_times(video)
    gaps = [b - a for a, b in itertools.pairwise(keyframes)]
    assert keyframes[0] == 0 and len(keyframes) >= 5 and max(gaps) <= 6000, keyframes

    # Screenshots every 5 s: a new PNG only when the screen changed since the one before. A screenshot is
    # a frame of the video: at 10 s the slot was skipped (nothing changed since 7.6 s), so the next slot
    # makes the frame; at 20 s the screen changed, so that slot's frame is the screenshot.
    shots = bundle.shots
    assert [s["t"] for s in shots] == [0, 5000, 10200, 15000, 20000, 25000, 30000]
    written = [s for s in shots if not s.get("unchanged")]
    assert [s["t"] for s in written] == [0, 10200, 20000]
    assert all(s["t"] in {f["t"] for f in frames} for s in written)
    assert all(s["file"] == "000000000-periodic.png" for s in shots[:2])
    assert meta.screenshotCount == len(shots) and len({n for n in bundle.names if n.endswith(".png")}) == 3


def test_a_change_whose_frame_the_busy_encoder_dropped_goes_with_the_next_frame(
        ctx: Context, clock: FakeClock, tmp_path: Path) -> None:
    """The capture keeps what changed since the last frame the encoder got: a dropped frame's change
    is converted with the next frame (never a repeat of the stale picture)."""
    screen = ScriptedScreen(64, 48, [(0.0, RED), (5.0, BLUE)], clock)
    run = SteppedRecording(ctx, clock, screen, fps=FPS)
    run.until(0.8)
    capacity = run.rec.queue.maxsize
    for _ in range(capacity):  # the encoder stalls: frames a screenshot asks for fill its queue
        clock.advance(PERIOD_MS / 1000)
        run.rec.frame_wanted.set()
        run.slot(drain=False)
    assert run.rec.queue.full()
    clock.advance(5.0 - run.now_s())
    run.slot(drain=False)  # the screen turned blue: no room for that frame
    assert run.rec.busy_drops == 1
    run.drain()
    clock.advance(PERIOD_MS / 1000)
    run.slot()  # the same blue screen as the dropped frame: still a new frame for the encoder
    meta = run.stop_and_export()
    bundle = read_bundle(ctx.sessions.zip_path(meta))
    pictures = _decoded(bundle.extract("video/screen.mp4", tmp_path))
    blue = [i for i, f in enumerate(bundle.frames) if f["t"] > 5000]
    assert blue and all(_close(bgr_mean(pictures[i]), BLUE) for i in blue)
    assert meta.extra["recorder"]["droppedFrames"]["encoderBusy"] == 1


def test_a_change_of_part_of_the_screen_is_converted_there_only_and_shows_exactly(
        ctx: Context, clock: FakeClock, tmp_path: Path) -> None:
    square = (8, 10, 16, 12)
    # The second patch is on odd coordinates: converted with the 2 x 2 blocks around it.
    screen = ScriptedScreen(64, 48, [(0.0, RED)], clock, patches=[(3.0, WHITE, square), (4.1, GREEN, (41, 31, 5, 5))])
    run = SteppedRecording(ctx, clock, screen, fps=FPS)
    run.until(6.0)
    converted = run.rec.encoder.converted_px
    meta = run.stop_and_export()
    assert converted < 2 * 64 * 48  # the first frame whole, then two small parts
    bundle = read_bundle(ctx.sessions.zip_path(meta))
    pictures = _decoded(bundle.extract("video/screen.mp4", tmp_path))
    last = pictures[-1]
    # Points whose 2 x 2 chroma block is of one colour (4:2:0 mixes a block across a colour edge).
    for x, y in ((8, 10), (23, 21), (15, 15), (42, 32), (45, 35), (6, 10), (24, 22), (0, 0), (63, 47), (39, 30)):
        expected = screen.colour_at(6.0, x, y)
        got = tuple(int(v) for v in last[y, x])
        assert _close(got, expected, 40), (x, y, got, expected)  # H.264 at CRF 23: edges are soft


def _keyframe_times(video: Path) -> list[int]:
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base or 0.001)
        return [round(packet.pts * tb * 1000) for packet in container.demux(stream)
                if packet.size and packet.is_keyframe and packet.pts is not None]


def test_a_screenshot_asked_for_while_a_grab_runs_gets_a_frame_grabbed_after_it(
        ctx: Context, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A click heard while a grab runs: that grab's frame stands for a moment before the click, so it does
    not answer the click screenshot's request; the next slot makes a frame too. (The request used to be
    consumed by that grab: on a still screen the next frame then came a second later, and the screenshot
    waited for it in vain and took the earlier frame: a screenshot from before its click.)"""
    screen = ScriptedScreen(64, 48, [(0.0, RED)], clock)
    run = SteppedRecording(ctx, clock, screen, fps=FPS)
    run.until(2.0)  # a still screen: its slots are skipped
    grab = screen.grab
    asked: list[float] = []

    def grab_while_a_click_comes() -> Any:
        clock.advance(0.015)
        asked.append(clock.monotonic())  # the click's screenshot asks for a frame at or after now
        run.rec.frame_wanted_t = asked[0]  # as ScreenshotLoop.take asks
        run.rec.frame_wanted.set()
        clock.advance(0.005)
        return grab()

    monkeypatch.setattr(screen, "grab", grab_while_a_click_comes)
    clock.advance(PERIOD_MS / 1000)
    run.slot()
    monkeypatch.setattr(screen, "grab", grab)
    assert run.rec.latest is not None and run.rec.latest.t < asked[0]  # the frame's moment: mid-grab
    assert run.rec.frame_wanted.is_set()  # so the request stands
    clock.advance(PERIOD_MS / 1000)
    run.slot()
    assert run.rec.latest.t >= asked[0]  # the screenshot's frame, a slot later (not a second)
    run.stop_and_export()
