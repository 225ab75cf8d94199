"""Tray icon images (the only Pillow importer in traycap.ui).

The base artwork (traycap/assets/traycap.png: a dark disc with a lens ring) is
drawn on for each state: idle as is, recording a red dot, paused two amber
bars, uploading a blue progress ring whose arc is proportional to the
progress, attention an orange badge with "!". Images are cached per
(state, progress), so a progress tick that does not change the picture costs
nothing.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from PIL import Image, ImageDraw

from traycap.ui.menu import IconSpec, IconState

SIZE = 64
ASSET = "traycap.png"

BASE_BG = (38, 45, 56, 255)
BASE_RING = (200, 208, 220, 255)
RECORD_RED = (228, 32, 32, 255)
PAUSE_AMBER = (245, 176, 20, 255)
PROGRESS_BLUE = (40, 150, 255, 255)
TRACK_GREY = (90, 98, 110, 255)
ATTENTION_ORANGE = (255, 122, 0, 255)
WHITE = (255, 255, 255, 255)


def draw_base(size: int = SIZE) -> Image.Image:
    """The artwork itself: used to (re)generate assets/traycap.png and if the asset is missing."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    s = size / 64
    d.ellipse((2 * s, 2 * s, 62 * s, 62 * s), fill=BASE_BG)
    d.ellipse((16 * s, 16 * s, 48 * s, 48 * s), outline=BASE_RING, width=max(1, round(5 * s)))
    return img


@functools.lru_cache(maxsize=1)
def base_image() -> Image.Image:
    try:
        with resources.files("traycap").joinpath("assets", ASSET).open("rb") as f:
            img = Image.open(f)
            img.load()
        return img.convert("RGBA").resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    except (FileNotFoundError, OSError):
        return draw_base(SIZE)


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
    img = base_image().copy()
    d = ImageDraw.Draw(img)
    if spec.state is IconState.RECORDING:
        d.ellipse((14, 14, 50, 50), fill=RECORD_RED)
    elif spec.state is IconState.PAUSED:
        d.rectangle((20, 18, 28, 46), fill=PAUSE_AMBER)
        d.rectangle((36, 18, 44, 46), fill=PAUSE_AMBER)
    elif spec.state is IconState.UPLOADING:
        box = (4, 4, 60, 60)
        d.arc(box, 0, 360, fill=TRACK_GREY, width=7)
        if spec.progress > 0:
            # Clockwise from 12 o'clock, like every progress ring.
            d.arc(box, -90, -90 + 360 * spec.progress / 100, fill=PROGRESS_BLUE, width=7)
        d.polygon([(32, 20), (43, 33), (36, 33), (36, 44), (28, 44), (28, 33), (21, 33)], fill=PROGRESS_BLUE)
    elif spec.state is IconState.ATTENTION:
        d.ellipse((34, 34, 63, 63), fill=ATTENTION_ORANGE)
        d.rectangle((46, 39, 51, 53), fill=WHITE)
        d.rectangle((46, 56, 51, 60), fill=WHITE)
    return img


def write_assets(directory: Path) -> list[Path]:
    """Regenerate the base artwork and a preview per state (`python -m traycap.ui.icons DIR`)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / ASSET]
    draw_base(256).save(written[0])
    for state in IconState:
        path = directory / f"state-{state.value}.png"
        _render(IconSpec(state, 60 if state is IconState.UPLOADING else 0)).save(path)
        written.append(path)
    return written


if __name__ == "__main__":
    import sys

    for p in write_assets(Path(sys.argv[1] if len(sys.argv) > 1 else "traycap/assets")):
        print(p)
