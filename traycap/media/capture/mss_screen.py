"""Capture through python-mss, the one module that imports mss: X11 (XShm), Windows (GDI) and macOS
(CoreGraphics). mss picks its platform code itself, so one backend serves the three.

Frames are BGRA views of mss's buffer (no copy), cropped to even sizes (H.264 in yuv420p).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from traycap.errors import CaptureLost, NoDisplay, RecorderError, TraycapError
from traycap.media import frames
from traycap.media.capture.base import Capabilities


class MssScreen:
    """Frames of one monitor: 0 = all monitors together, 1 = primary, N = Nth (mss numbering)."""

    capabilities = Capabilities("mss")  # polled: a copy of the screen at every grab; the pointer is not in it
    notice: TraycapError | None = None

    def __init__(self, monitor: int = 0) -> None:
        import mss
        import mss.exception

        self._errors = (mss.exception.ScreenShotError,)
        try:
            self._sct = mss.MSS() if hasattr(mss, "MSS") else mss.mss()
            monitors = list(self._sct.monitors)
        except Exception as exc:  # mss raises ScreenShotError, ctypes/xcb may raise others
            raise NoDisplay(f"Cannot open the display {os.environ.get('DISPLAY', '')!r}: {exc}") from exc
        self.monitors = [dict(m) for m in monitors]
        if monitor < 0 or monitor >= len(monitors):
            self.close()
            raise RecorderError(
                f"There is no monitor {monitor}: this display has {len(monitors) - 1} "
                "(0 = all monitors, 1 = primary)",
                "choose another monitor with --monitor or in settings",
            )
        self.monitor = monitor
        rect = monitors[monitor]
        # H.264 in yuv420p needs even sizes: the odd last column/row is left out.
        self._rect = {"left": rect["left"], "top": rect["top"], "width": rect["width"], "height": rect["height"]}
        self._w = int(rect["width"]) - int(rect["width"]) % 2
        self._h = int(rect["height"]) - int(rect["height"]) % 2
        if self._w < 2 or self._h < 2:
            raise CaptureLost(f"Monitor {monitor} has no usable size ({rect['width']}x{rect['height']})")

    @property
    def width(self) -> int:
        return self._w

    @property
    def height(self) -> int:
        return self._h

    def describe(self) -> dict[str, Any]:
        return {"monitor": self.monitor, "rect": dict(self._rect), "all": self.monitors,
                "width": self._w, "height": self._h, "backend": self.capabilities.name}

    @property
    def origin(self) -> tuple[int, int]:
        """Where the frame's top-left pixel is on the whole screen."""
        return int(self._rect["left"]), int(self._rect["top"])

    def grab(self) -> Any:
        shot = self._shot(self._rect)
        if shot.width != self._rect["width"] or shot.height != self._rect["height"]:
            raise CaptureLost(f"The screen size changed to {shot.width}x{shot.height} while recording")
        return frames.from_bgra(shot.raw, shot.width, shot.height)[: self._h, : self._w]

    def changed_areas(self) -> None:
        return None  # polled: every grab may differ anywhere

    def _shot(self, rect: dict[str, int]) -> Any:
        try:
            return self._sct.grab(rect)
        except Exception as exc:
            reason = str(exc).strip() or "the X display closed the connection"
            raise CaptureLost(f"Screen capture stopped working: {reason}") from exc

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._sct.close()
