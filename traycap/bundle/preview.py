"""The bundle's preview picture: a contact sheet of up to 12 frames across the session, with their times.

`plan_sheet` is pure (which frames, where each tile goes, what each label
says); `render_sheet` asks media/video.py to decode those frames and media/images.py
to draw the sheet; `add_preview` is the export's hook that puts `preview.jpg` in the
zip. The JPEG is re-encoded at lower quality (and then at a smaller size)
until it fits PREVIEW_MAX_BYTES, so a 1080p session gives a picture small
enough for a chat.

Both bundle writers put it in the zip (export.py at Stop, bundler.py from frames kept while
recording); the viewer (`traycap view ID --sheet OUT`) calls the same code for any bundle.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from traycap.errors import RecorderError
from traycap.format import human_duration
from traycap.media.images import compose_image, encode_image, resize
from traycap.media.video import decode_frames_at

log = logging.getLogger(__name__)

PREVIEW_NAME = "preview.jpg"
PREVIEW_MAX_BYTES = 300 * 1024
MAX_TILES = 12
SHEET_MAX_WIDTH = 1600
GAP = 8
HEADER_H = 36
LABEL_H = 24
BACKGROUND = (32, 38, 46)  # RGB: the viewer page's dark slate
QUALITIES = (80, 70, 60, 50, 40)


@dataclass(frozen=True)
class Tile:
    frame_index: int
    video_ms: int  # where to decode: ms from the first frame
    t_ms: float  # recording time, for the label
    x: int
    y: int


@dataclass(frozen=True)
class SheetPlan:
    width: int
    height: int
    tile_w: int
    tile_h: int
    columns: int
    tiles: tuple[Tile, ...]
    title: str


def pick_frames(count: int, limit: int = MAX_TILES) -> list[int]:
    """Up to `limit` frame indices spread evenly from the first frame to the last."""
    if count <= 0:
        return []
    if count <= limit:
        return list(range(count))
    return sorted({round(k * (count - 1) / (limit - 1)) for k in range(limit)})


def grid_columns(n: int) -> int:
    if n <= 3:
        return max(1, n)
    if n == 4:
        return 2
    return 3 if n <= 9 else 4


def clock_label(t_ms: float) -> str:
    """Recording time as on a player: 0:07, 12:30, 1:02:03."""
    return human_duration(int(max(0.0, t_ms)))


def plan_sheet(frames: list[dict[str, Any]], video_size: tuple[int, int], title: str,
               max_width: int = SHEET_MAX_WIDTH) -> SheetPlan:
    """Where each picked frame goes. `frames` is frames.json (index order); `video_size` (w, h)."""
    usable = [f for f in frames if isinstance(f.get("pts"), (int, float)) and isinstance(f.get("t"), (int, float))]
    if not usable:
        raise RecorderError("The session has no video frames to preview")
    picks = pick_frames(len(usable))
    cols = grid_columns(len(picks))
    rows = -(-len(picks) // cols)
    vw, vh = video_size
    tile_w = min(vw, (max_width - GAP * (cols + 1)) // cols)
    tile_w -= tile_w % 2
    tile_h = max(2, round(tile_w * vh / max(1, vw)))
    pts0 = float(usable[0]["pts"])
    tiles = []
    for n, i in enumerate(picks):
        row, col = divmod(n, cols)
        f = usable[i]
        tiles.append(Tile(frame_index=i, video_ms=round(float(f["pts"]) - pts0), t_ms=float(f["t"]),
                          x=GAP + col * (tile_w + GAP), y=HEADER_H + row * (tile_h + LABEL_H + GAP)))
    width = GAP + cols * (tile_w + GAP)
    height = HEADER_H + rows * (tile_h + LABEL_H + GAP)
    return SheetPlan(width, height, tile_w, tile_h, cols, tuple(tiles), title)


def render_sheet(video: Path | IO[bytes], plan: SheetPlan) -> Any:
    """The sheet as an RGB picture (decoded by media/video.py)."""
    decoded = decode_frames_at(video, [t.video_ms for t in plan.tiles], (plan.tile_w, plan.tile_h))
    return compose_sheet(plan, decoded)


def compose_sheet(plan: SheetPlan, images: list[Any]) -> Any:
    """The sheet from its tiles' images (already tile-sized)."""
    labels = [(plan.title, GAP, HEADER_H - 12, 0.6)]
    labels += [(clock_label(t.t_ms), t.x + 6, t.y + plan.tile_h + LABEL_H - 7, 0.5) for t in plan.tiles]
    boxes = [(t.x, t.y + plan.tile_h, plan.tile_w, LABEL_H) for t in plan.tiles]
    placed = [(img, t.x, t.y) for img, t in zip(images, plan.tiles, strict=True)]
    return compose_image((plan.width, plan.height), BACKGROUND, placed, labels, boxes)


def sheet_title(info: dict[str, Any]) -> str:
    duration = info.get("durationMs")
    length = clock_label(float(duration)) if isinstance(duration, (int, float)) else "?"
    return f"traycap  {info.get('sessionId', '')}  length {length}"


def video_size(info: dict[str, Any]) -> tuple[int, int]:
    video = info.get("video") or {}
    w, h = video.get("width"), video.get("height")
    if isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0:
        return w, h
    return 1280, 720  # an old bundle without sizes: tiles keep a common aspect


def preview_jpeg(video: Path | IO[bytes], frames: list[dict[str, Any]], info: dict[str, Any]) -> bytes:
    """preview.jpg: the sheet, as JPEG, at most PREVIEW_MAX_BYTES."""
    return _jpeg_sheet(frames, info, lambda plan: render_sheet(video, plan))


def preview_from_thumbnails(thumbs: list[tuple[float, Any]], info: dict[str, Any]) -> bytes:
    """preview.jpg from frames kept while recording ((recording time ms, RGB picture) in time
    order; the live bundler's Thumbnails): no video decoding at Stop."""
    if not thumbs:
        raise RecorderError("No frames to preview")
    frames = [{"pts": float(i), "t": float(t)} for i, (t, _img) in enumerate(thumbs)]

    def render(plan: SheetPlan) -> Any:
        size = (plan.tile_w, plan.tile_h)
        return compose_sheet(plan, [resize(thumbs[t.frame_index][1], size) for t in plan.tiles])

    return _jpeg_sheet(frames, info, render)


def _jpeg_sheet(frames: list[dict[str, Any]], info: dict[str, Any], render: Callable[[SheetPlan], Any]) -> bytes:
    width = SHEET_MAX_WIDTH
    while True:
        plan = plan_sheet(frames, video_size(info), sheet_title(info), max_width=width)
        img = render(plan)
        for quality in QUALITIES:
            data = encode_image(img, ".jpg", quality)
            if len(data) <= PREVIEW_MAX_BYTES:
                return data
        if width <= 400:
            return data  # busy screens at thumbnail size: as small as it gets
        width = width * 3 // 4


def sheet_bytes(video: Path | IO[bytes], frames: list[dict[str, Any]], info: dict[str, Any], suffix: str) -> bytes:
    """The sheet for `traycap view --sheet`: PNG (lossless) unless `suffix` asks for JPEG."""
    if suffix in (".jpg", ".jpeg"):
        return preview_jpeg(video, frames, info)
    plan = plan_sheet(frames, video_size(info), sheet_title(info))
    return encode_image(render_sheet(video, plan), ".png")


def preview_or_none(video: Path, frames: list[dict[str, Any]], info: dict[str, Any]) -> bytes | None:
    """preview.jpg's bytes, or None (logged, never raised): a session without a preview is still
    a good session."""
    if not video.is_file() or not frames:
        return None
    try:
        return preview_jpeg(video, frames, info)
    except (RecorderError, OSError, ValueError) as exc:
        log.warning("no preview for %s: %s", info.get("sessionId"), exc)
        return None


class Thumbnails:
    """A few frames kept while recording, spread evenly over however long it lasts, so the live
    bundle's preview needs no decoding at Stop. Offered one per video segment (every 5 s): keeps
    every `stride`-th; past 2 x MAX_TILES it drops every other one and doubles the stride."""

    def __init__(self, limit: int = 2 * MAX_TILES) -> None:
        self.limit = limit
        self.stride = 1
        self.items: list[tuple[int, int, Any]] = []  # (segment number, video ms, image)

    def wants(self, n: int) -> bool:
        return n % self.stride == 0

    def add(self, n: int, video_ms: int, image: Any) -> None:
        self.items.append((n, video_ms, image))
        if len(self.items) > self.limit:
            self.stride *= 2
            self.items = [item for item in self.items if item[0] % self.stride == 0]

    def with_times(self, frames: list[dict[str, Any]]) -> list[tuple[float, Any]]:
        """(recording time ms, image) for each kept frame, from frames.jsonl's pts -> t."""
        by_pts = {int(f["pts"]): float(f["t"]) for f in frames
                  if isinstance(f.get("pts"), (int, float)) and isinstance(f.get("t"), (int, float))}
        pts0 = min(by_pts) if by_pts else 0
        return [(by_pts.get(ms + pts0, by_pts.get(ms, float(ms))), img) for _n, ms, img in self.items]


def add_preview(zf: zipfile.ZipFile, video: Path, frames: list[dict[str, Any]], info: dict[str, Any]) -> bool:
    """The export's hook: preview.jpg into the bundle (format 1)."""
    data = preview_or_none(video, frames, info)
    if data is None:
        return False
    zf.writestr(PREVIEW_NAME, data, compress_type=zipfile.ZIP_STORED)  # JPEG does not deflate
    return True
