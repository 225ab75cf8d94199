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


def crop(image: Any, x: int, y: int, width: int, height: int) -> Any:
    """A view of part of `image` (no copy)."""
    return image[y : y + height, x : x + width]


def same(a: Any, b: Any) -> bool:
    """The two frames hold the same pixels. Every 8th row first: a frame that changed usually differs
    there, and that look costs an eighth of the whole one."""
    import numpy as np

    if a is b:
        return True
    return a.shape == b.shape and bool(np.array_equal(a[::8], b[::8])) and bool(np.array_equal(a, b))


def digest(image: Any) -> bytes:
    """A fingerprint of the pixels (SHA-1: ~5 ms at 1080p here; equal frames, equal digests)."""
    import hashlib

    return hashlib.sha1(contiguous(image).data, usedforsecurity=False).digest()


def contiguous(image: Any) -> Any:
    """`image` as one run of bytes (a copy only when it is a view with gaps, e.g. cropped)."""
    import numpy as np

    return np.ascontiguousarray(image)


def yuv420p_planes(planes: Any, width: int, height: int) -> tuple[Any, Any, Any]:
    """Writable Y, U, V views of a yuv420p picture's planes (buffers with `line_size`; rows may be padded)."""
    import numpy as np

    views = []
    for plane, (w, h) in zip(planes, ((width, height), (width // 2, height // 2), (width // 2, height // 2)),
                             strict=True):
        rows = np.frombuffer(plane, dtype=np.uint8, count=plane.line_size * h).reshape(h, plane.line_size)
        views.append(rows[:, :w])
    return views[0], views[1], views[2]


def paste_yuv420p(into: tuple[Any, Any, Any], part: tuple[Any, Any, Any], x: int, y: int) -> None:
    """Copy the yuv420p planes `part` into `into` at (x, y) (both even)."""
    for i, (dst, src) in enumerate(zip(into, part, strict=True)):
        px, py = (x, y) if i == 0 else (x // 2, y // 2)
        h, w = src.shape
        dst[py : py + h, px : px + w] = src
