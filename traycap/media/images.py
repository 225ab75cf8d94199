"""Pictures: lossless screenshots, JPEG/PNG pictures, thumbnails and the composed preview sheet, through
Pillow (the recording's pictures; the tray's icons are ui/icons.py's).

Pillow was a dependency already (pystray draws its icon with it), so OpenCV, 287 MB installed, is
not needed for these few jobs (docs/performance.md has the figures: a 1080p PNG takes about the
same time either way). Pictures are PIL images in RGB; screen frames come in as BGRA arrays
(media/frames.py). Pillow failures become RecorderError. PIL is imported where it is used:
`traycap sessions` never loads it.
"""

from __future__ import annotations

import io
from typing import Any

from traycap.errors import RecorderError
from traycap.media import frames

PNG_LEVEL = 1  # zlib level for screenshots: ~40 ms at 1080p; 6 halves the bytes and doubles the time
FONT_PX_PER_SCALE = 30  # label scale 1.0 = a 30 px font (0.5 for tile labels, 0.6 for the title)


def encode_png(bgra: Any) -> bytes:
    """A lossless screenshot of a BGRA frame (X11 leaves alpha undefined, so it is dropped)."""
    from PIL import Image

    height, width = bgra.shape[:2]
    try:
        image = Image.frombuffer("RGB", (width, height), frames.contiguous(bgra), "raw", "BGRX", 0, 1)
        out = io.BytesIO()
        image.save(out, "PNG", compress_level=PNG_LEVEL)
    except (OSError, ValueError) as exc:
        raise RecorderError(f"Could not encode a screenshot: {exc}") from exc
    return out.getvalue()


def resize(img: Any, size: tuple[int, int]) -> Any:
    """`img` resized to `size` (w, h), averaging pixels (sharp text when shrinking)."""
    from PIL import Image

    return img if img.size == size else img.resize(size, Image.Resampling.BOX)


def compose_image(size: tuple[int, int], background: tuple[int, int, int], tiles: list[tuple[Any, int, int]],
                  labels: list[tuple[str, int, int, float]], boxes: list[tuple[int, int, int, int]]) -> Any:
    """An RGB image of `size`: `boxes` (x, y, w, h) filled dark, `tiles` (image, x, y) pasted,
    `labels` (text, x, baseline y, scale) drawn in white, anti-aliased."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(img)
    for x, y, w, h in boxes:
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=(20, 24, 30))
    for tile, x, y in tiles:
        img.paste(tile, (x, y))
    for text, x, y, scale in labels:
        draw.text((x, y), text, fill=(255, 255, 255), font=_font(round(scale * FONT_PX_PER_SCALE)), anchor="ls")
    return img


def encode_image(img: Any, suffix: str, quality: int = 80) -> bytes:
    """`img` (RGB) as ".jpg" (at `quality`) or ".png" bytes."""
    out = io.BytesIO()
    try:
        if suffix == ".jpg":
            img.save(out, "JPEG", quality=quality)
        else:
            img.save(out, "PNG", compress_level=6)
    except (OSError, ValueError) as exc:
        raise RecorderError(f"Could not encode a {suffix} image: {exc}") from exc
    return out.getvalue()


def _font(px: int) -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size=px)  # Pillow's own scalable font (FreeType): no font files to find
