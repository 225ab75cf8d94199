"""Image work: the one module that imports cv2 (OpenCV).

Colour conversion for the encoder, resizing for thumbnails and the preview, PNG screenshots and
JPEG/PNG pictures, and the composed preview sheet (bundle/preview.py lays it out). cv2 failures
become RecorderError. cv2 is imported where it is used: `traycap sessions` never loads it.
"""

from __future__ import annotations

from typing import Any

from traycap.errors import RecorderError
from traycap.media import frames


def bgra_to_i420(bgra: Any) -> Any:
    """A BGRA frame as planar YUV 4:2:0 (what the H.264 encoder takes)."""
    import cv2

    return cv2.cvtColor(bgra, cv2.COLOR_BGRA2YUV_I420)


def encode_png(bgra: Any) -> bytes:
    """A lossless screenshot (X11 leaves alpha undefined, so it is dropped)."""
    import cv2

    bgr = cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR)
    ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RecorderError("Could not encode a screenshot")
    return bytes(buf)


def resize(img: Any, size: tuple[int, int]) -> Any:
    """`img` resized to `size` (w, h), averaging pixels (sharp text when shrinking)."""
    import cv2

    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def compose_image(size: tuple[int, int], background: tuple[int, int, int], tiles: list[tuple[Any, int, int]],
                  labels: list[tuple[str, int, int, float]], boxes: list[tuple[int, int, int, int]]) -> Any:
    """A BGR image of `size`: `boxes` (x, y, w, h) filled dark, `tiles` (image, x, y) pasted,
    `labels` (text, x, baseline y, scale) drawn in white, anti-aliased."""
    import cv2

    width, height = size
    img = frames.canvas(width, height, background)
    for x, y, w, h in boxes:
        cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (30, 24, 20), thickness=-1)
    for tile, x, y in tiles:
        th, tw = tile.shape[:2]
        img[y:y + th, x:x + tw] = tile
    for text, x, y, scale in labels:
        cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def encode_image(img: Any, suffix: str, quality: int = 80) -> bytes:
    """`img` (BGR) as ".jpg" (at `quality`) or ".png" bytes."""
    import cv2


    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if suffix == ".jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 6]
    ok, buf = cv2.imencode(suffix, img, params)
    if not ok:
        raise RecorderError(f"Could not encode a {suffix} image")
    return bytes(buf)
