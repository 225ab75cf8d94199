"""A polled screen made damage-driven by comparing each grab with the one before.

mss copies the whole screen at every grab (GDI BitBlt on Windows, CoreGraphics on macOS, X11 servers
without DAMAGE). When no pixel changed, `ChangedOnly.grab` returns the previous frame itself, which
the recorder takes for "nothing changed": it is then neither converted nor encoded (recorder/loops.py),
which is most of the cost of a still screen. The grab itself still runs at every slot; the comparison
looks at every 8th row first, so a frame that changed is told apart in a fraction of a millisecond.

Windows' DXGI Desktop Duplication API would also report dirty rectangles and skip the grab itself; it
is not used: without a Windows machine with a GPU to test it on, a GDI capture with this check is the
honest choice (docs/performance.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from traycap.errors import TraycapError
from traycap.media import frames, regions
from traycap.media.capture.base import Capabilities, FrameSource


class ChangedOnly:
    """`source`'s frames, the previous one again when nothing changed."""

    def __init__(self, source: FrameSource) -> None:
        self._source = source
        self._frame: Any = None
        self._changed: regions.Changes = None
        self.capabilities: Capabilities = dataclasses.replace(source.capabilities, damage_driven=True)
        self.notice: TraycapError | None = source.notice

    @property
    def width(self) -> int:
        return self._source.width

    @property
    def height(self) -> int:
        return self._source.height

    def describe(self) -> dict[str, Any]:
        return {**self._source.describe(), "changes": "frame difference"}

    def grab(self) -> Any:
        image = self._source.grab()
        if self._frame is not None and frames.same(image, self._frame):
            self._changed = ()
            return self._frame
        self._frame = image
        self._changed = None
        return image

    def changed_areas(self) -> regions.Changes:
        return self._changed

    def close(self) -> None:
        self._source.close()
