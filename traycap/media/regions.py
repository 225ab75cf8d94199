"""Where a frame changed: rectangles in frame pixels, clipped, merged and aligned (pure).

A capture backend that knows what changed (XDamage) reports rectangles; the recorder keeps the
changes of frames it did not hand to the encoder (a frame dropped, a paused grab) so the next
frame carries them too; the encoder converts only those parts to yuv420p (media/picture.py).
`None` stands for "all of it" (a backend that cannot tell, a first frame, a blanked screen);
an empty tuple for "nothing".

    Rect = (x, y, width, height)
"""

from __future__ import annotations

from collections.abc import Iterable

Rect = tuple[int, int, int, int]
Changes = tuple[Rect, ...] | None  # None: the whole frame

MAX_RECTS = 8  # beyond that, their bounding box: one conversion costs less than many small ones
WHOLE_SHARE = 0.5  # changes covering more of the frame than this are treated as the whole frame


def clip(rects: Iterable[Rect], width: int, height: int, *, dx: int = 0, dy: int = 0) -> tuple[Rect, ...]:
    """`rects` moved by (-dx, -dy) (screen -> frame coordinates) and cut to the frame; empty ones dropped."""
    out = []
    for x, y, w, h in rects:
        x0, y0 = max(0, x - dx), max(0, y - dy)
        x1, y1 = min(width, x - dx + w), min(height, y - dy + h)
        if x1 > x0 and y1 > y0:
            out.append((x0, y0, x1 - x0, y1 - y0))
    return tuple(out)


def union(a: Changes, b: Changes) -> Changes:
    """Both changes (None absorbs everything)."""
    if a is None or b is None:
        return None
    return a + b


def area(rects: Iterable[Rect]) -> int:
    """Pixels covered, counting overlaps twice (an upper bound, which is what the choices below need)."""
    return sum(w * h for _x, _y, w, h in rects)


def bounding(rects: Iterable[Rect]) -> Rect:
    items = list(rects)
    x0 = min(r[0] for r in items)
    y0 = min(r[1] for r in items)
    x1 = max(r[0] + r[2] for r in items)
    y1 = max(r[1] + r[3] for r in items)
    return x0, y0, x1 - x0, y1 - y0


MIN_SIDE = 4  # swscale turns a part 2 pixels high or wide into other chroma than the whole frame gives
SIDE_STEP = 32  # sides rounded up to this: parts of few sizes, so their conversion contexts are kept


def even(rect: Rect, width: int, height: int) -> Rect:
    """`rect` grown to even coordinates, sides a multiple of SIDE_STEP (a 4:2:0 chroma sample covers
    2 x 2 pixels; at least MIN_SIDE), within a frame of even `width` and `height`."""
    x, y, w, h = rect
    x0, x1 = _even_span(x, x + w, width)
    y0, y1 = _even_span(y, y + h, height)
    return x0, y0, x1 - x0, y1 - y0


def _even_span(start: int, end: int, limit: int) -> tuple[int, int]:
    lo, hi = start - start % 2, end + end % 2
    side = max(MIN_SIDE, -(-(hi - lo) // SIDE_STEP) * SIDE_STEP)
    hi = min(limit, lo + side)
    lo = max(0, hi - side)
    return lo, hi


def simplify(changes: Changes, width: int, height: int) -> Changes:
    """Few enough rectangles to work on one by one, or None when the whole frame is cheaper."""
    if changes is None:
        return None
    rects = clip(changes, width, height)
    if not rects:
        return ()
    if len(rects) > MAX_RECTS:
        rects = (bounding(rects),)
    if area(rects) > WHOLE_SHARE * width * height:
        return None
    return rects
