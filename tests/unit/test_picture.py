"""media/picture.py: the encoder's yuv420p picture, converted only where the frame changed, holds the
same bytes as converting the whole frame (within swscale's rounding)."""

from __future__ import annotations

import random

import av
import numpy as np

from traycap.media import frames, regions
from traycap.media.picture import YuvPicture

W, H = 96, 64


def _whole(bgra: np.ndarray) -> tuple[np.ndarray, ...]:
    frame = av.VideoFrame.from_numpy_buffer(bgra, format="bgra").reformat(format="yuv420p", interpolation="AREA")
    return tuple(np.array(p) for p in frames.yuv420p_planes(frame.planes, W, H))


def test_changed_parts_converted_alone_give_the_whole_frame_s_bytes() -> None:
    rng = np.random.default_rng(5)
    pick = random.Random(5)
    screen = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    picture = YuvPicture(W, H)
    picture.update(screen, None)
    for _ in range(40):
        screen = screen.copy()
        rects = []
        for _ in range(pick.randint(1, 3)):
            w, h = pick.randint(1, 30), pick.randint(1, 20)
            x, y = pick.randrange(0, W - w + 1), pick.randrange(0, H - h + 1)
            screen[y:y + h, x:x + w] = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
            rects.append((x, y, w, h))
        mine = frames.yuv420p_planes(picture.update(screen, tuple(rects)).planes, W, H)
        for got, want in zip(mine, _whole(screen), strict=True):
            assert int(np.abs(got.astype(int) - want.astype(int)).max()) <= 1


def test_nothing_changed_converts_nothing_and_much_changed_converts_the_whole_frame() -> None:
    screen = np.zeros((H, W, 4), dtype=np.uint8)
    picture = YuvPicture(W, H)
    first = picture.update(screen, None)
    assert picture.converted_px == W * H
    assert picture.update(screen, ()) is first and picture.converted_px == W * H
    picture.update(screen, ((0, 0, 8, 8),))
    part = regions.SIDE_STEP ** 2  # sides rounded up: a few sizes, each with its conversion context kept
    assert picture.converted_px == W * H + part
    picture.update(screen, ((0, 0, W, H // 2 + 2),))  # over half of it: the whole frame at once
    assert picture.converted_px == 2 * W * H + part
