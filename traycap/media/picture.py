"""The encoder's input picture: the screen as one yuv420p frame, converted only where it changed.

Colour conversion (BGRA -> yuv420p) is FFmpeg's swscale through PyAV: at 1080p a whole frame
takes ~3 ms here, which is why a frame whose changes the capture knows (XDamage rectangles,
media/regions.py) converts only those rectangles into the picture it keeps. Chroma is the average of
each 2 x 2 block (swscale's "area" filter, as OpenCV's I420 did): a pixel's colour depends on its own
block only, so a rectangle converted alone (on even coordinates) gives the very bytes the whole frame's
conversion gives; swscale's default bilinear filter reaches into the neighbours and would leave
seams at the rectangles' edges. The picture is one
av.VideoFrame handed to the encoder again and again; `make_writable` before a change copies it
first if the encoder still held a reference, so a frame being encoded is never written to.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from traycap.media import frames, regions

SCALERS_KEPT = 8  # swscale contexts kept, by size


class YuvPicture:
    """The screen as yuv420p, `width` x `height` (both even)."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self._frame: Any = None
        self._scalers: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self.converted_px = 0  # pixels converted so far (whole frames and parts)

    @property
    def frame(self) -> Any:
        """The current picture (an av.VideoFrame), None before the first update."""
        return self._frame

    def update(self, bgra: Any, changed: regions.Changes) -> Any:
        """The picture of `bgra` (a BGRA frame of the picture's size), of which only `changed` differs
        from the frame before. Returns the picture."""
        import av

        parts = regions.simplify(changed, self.width, self.height)
        if self._frame is None or parts is None:
            self._frame = self._to_yuv(av.VideoFrame.from_numpy_buffer(bgra, format="bgra"))
            self.converted_px += self.width * self.height
            return self._frame
        if not parts:
            return self._frame
        self._frame.make_writable()
        planes = frames.yuv420p_planes(self._frame.planes, self.width, self.height)
        for rect in parts:
            x, y, w, h = regions.even(rect, self.width, self.height)
            part = av.VideoFrame.from_numpy_buffer(frames.crop(bgra, x, y, w, h), format="bgra")
            converted = self._to_yuv(part)
            frames.paste_yuv420p(planes, frames.yuv420p_planes(converted.planes, w, h), x, y)
            self.converted_px += w * h
        return self._frame

    def _to_yuv(self, frame: Any) -> Any:
        """`frame` as yuv420p through a swscale context of its size, kept: making one costs ~0.3 ms
        (its filters), more than converting a small part (rectangles come in sizes rounded up to
        regions.SIDE_STEP, so a box that moves keeps its context)."""
        from av.video.reformatter import VideoReformatter

        size = (frame.width, frame.height)
        scaler = self._scalers.pop(size, None) or VideoReformatter()
        self._scalers[size] = scaler
        while len(self._scalers) > SCALERS_KEPT:
            self._scalers.popitem(last=False)
        return scaler.reformat(frame, format="yuv420p", interpolation="AREA")
