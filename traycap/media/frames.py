"""Frames as numpy arrays: the one module that imports numpy.

A frame is a height x width x 4 BGRA uint8 array (what screen capture gives); pictures for the
preview are height x width x 3 BGR. The capture backends and the image work make and read them
through these few functions, so numpy has one owner (imported where used, like the other adapters).
"""

from __future__ import annotations

from typing import Any


def from_bgra(raw: Any, width: int, height: int) -> Any:
    """A BGRA frame over a capture buffer of `width` x `height` pixels (no copy)."""
    import numpy as np

    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 4)


def from_padded_bgrx(data: bytes, width: int, height: int, *, even: bool = False) -> Any:
    """A BGRx frame over rows of `width` pixels that may each be padded (a PipeWire buffer's stride),
    cropped to even sizes when `even` (H.264 in yuv420p needs them). None when `data` is too short."""
    import numpy as np

    if width < 2 or height < 2:
        return None
    stride = len(data) // height
    if stride < width * 4:
        return None
    rows = np.frombuffer(data, dtype=np.uint8, count=stride * height).reshape(height, stride)
    image = rows[:, : width * 4].reshape(height, width, 4)
    return image[: height - height % 2, : width - width % 2] if even else image


def blank_like(image: Any) -> Any:
    """A black frame of the same size, in place of a screen that must not be recorded (excluded apps)."""
    import numpy as np

    return np.zeros_like(image)


def test_pattern(width: int, height: int, n: int) -> Any:
    """A black BGRA frame with a white bar that moves 3 px per frame: what the null backend shows."""
    import numpy as np

    image = np.zeros((height, width, 4), dtype=np.uint8)
    x = (n * 3) % width
    image[:, x : x + 4] = 255
    return image


def canvas(width: int, height: int, bgr: tuple[int, int, int]) -> Any:
    """A BGR picture of one colour, to draw on."""
    import numpy as np

    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:, :] = bgr
    return image
