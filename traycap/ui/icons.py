"""Tray icon images (the only Pillow importer in traycap.ui).

The base artwork (traycap/assets/traycap.png, generated from assets/traycap-master.png by
scripts/make_icons.py: a dark disc with a lens ring) is drawn on for each state: idle as is,
recording a red dot, paused two amber bars, uploading a blue progress ring whose arc is
proportional to the progress, attention an orange badge with "!". Everything is drawn at
SUPERSAMPLE times the size and scaled down, so edges are smooth. Images are cached per
(state, progress), so a progress tick that does not change the picture costs nothing.
"""

from __future__ import annotations

import functools
from importlib import resources

from PIL import Image, ImageDraw

from traycap.ui.menu import IconSpec, IconState

SIZE = 64
SUPERSAMPLE = 4
ASSET = "traycap.png"

BASE_BG = (38, 45, 56, 255)
BASE_RING = (200, 208, 220, 255)
RECORD_RED = (228, 32, 32, 255)
PAUSE_AMBER = (245, 176, 20, 255)
PROGRESS_BLUE = (40, 150, 255, 255)
TRACK_GREY = (90, 98, 110, 255)
ATTENTION_ORANGE = (255, 122, 0, 255)
WHITE = (255, 255, 255, 255)


class _Pen:
    """Draws in a 64-unit design grid on an image of any size."""

    def __init__(self, img: Image.Image) -> None:
        self.draw = ImageDraw.Draw(img)
        self.k = img.width / 64

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return x0 * self.k, y0 * self.k, x1 * self.k, y1 * self.k

    def width(self, units: float) -> int:
        return max(1, round(units * self.k))


def draw_base(size: int = SIZE) -> Image.Image:
    """The artwork itself: scripts/make_icons.py draws the master from it (and the app, if the asset is missing)."""
    scale = min(SUPERSAMPLE, max(2, 2048 // size))
    img = Image.new("RGBA", (size * scale, size * scale), (0, 0, 0, 0))
    pen = _Pen(img)
    pen.draw.ellipse(pen.box(2, 2, 62, 62), fill=BASE_BG)
    pen.draw.ellipse(pen.box(15, 15, 49, 49), outline=BASE_RING, width=pen.width(6))
    return img if scale == 1 else img.resize((size, size), Image.Resampling.BOX)


@functools.lru_cache(maxsize=1)
def _base_hires() -> Image.Image:
    size = SIZE * SUPERSAMPLE
    try:
        with resources.files("traycap").joinpath("assets", ASSET).open("rb") as f:
            img = Image.open(f)
            img.load()
        return img.convert("RGBA").resize((size, size), Image.Resampling.LANCZOS)
    except (FileNotFoundError, OSError):
        return draw_base(size)


def base_image() -> Image.Image:
    """The idle artwork at the tray's size."""
    return _base_hires().resize((SIZE, SIZE), Image.Resampling.BOX)


def _quantize(spec: IconSpec) -> IconSpec:
    # 2% steps: smooth enough to watch, few enough to cache and redraw rarely.
    if spec.state is IconState.UPLOADING:
        return IconSpec(spec.state, max(0, min(100, spec.progress)) // 2 * 2)
    return IconSpec(spec.state, 0)


def render(spec: IconSpec) -> Image.Image:
    return _render(_quantize(spec)).copy()


def image_key(spec: IconSpec) -> IconSpec:
    """Two specs with the same key give the same picture (the tray skips redraws)."""
    return _quantize(spec)


@functools.lru_cache(maxsize=64)
def _render(spec: IconSpec) -> Image.Image:
    return draw_state(_base_hires(), spec)


def draw_state(base: Image.Image, spec: IconSpec) -> Image.Image:
    """`spec`'s picture drawn on `base` (SIZE * SUPERSAMPLE px square), returned at SIZE px."""
    img = base.copy()
    pen = _Pen(img)
    d = pen.draw
    if spec.state is IconState.RECORDING:
        d.ellipse(pen.box(14, 14, 50, 50), fill=RECORD_RED)
    elif spec.state is IconState.PAUSED:
        d.ellipse(pen.box(12, 12, 52, 52), fill=BASE_BG)  # the bars alone: at 16 px the lens would blur into them
        d.rectangle(pen.box(20, 18, 28, 46), fill=PAUSE_AMBER)
        d.rectangle(pen.box(36, 18, 44, 46), fill=PAUSE_AMBER)
    elif spec.state is IconState.UPLOADING:
        box = pen.box(4, 4, 60, 60)
        d.ellipse(pen.box(11, 11, 53, 53), fill=BASE_BG)  # ring and arrow only, legible at 16 px
        d.arc(box, 0, 360, fill=TRACK_GREY, width=pen.width(7))
        if spec.progress > 0:
            # Clockwise from 12 o'clock, like every progress ring.
            d.arc(box, -90, -90 + 360 * spec.progress / 100, fill=PROGRESS_BLUE, width=pen.width(7))
        arrow = [(32, 20), (43, 33), (36, 33), (36, 44), (28, 44), (28, 33), (21, 33)]
        d.polygon([(x * pen.k, y * pen.k) for x, y in arrow], fill=PROGRESS_BLUE)
    elif spec.state is IconState.ATTENTION:
        d.ellipse(pen.box(34, 34, 63, 63), fill=ATTENTION_ORANGE)
        d.rectangle(pen.box(46, 39, 51, 53), fill=WHITE)
        d.rectangle(pen.box(46, 56, 51, 60), fill=WHITE)
    return img.resize((SIZE, SIZE), Image.Resampling.BOX)  # whole pixels of 4x4: smooth edges, exact fills
