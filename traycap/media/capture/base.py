"""What the recorder needs from a screen (FrameSource) and what a capture backend can do (Capabilities)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from traycap.media.regions import Changes


@dataclass(frozen=True)
class Capabilities:
    """Declared by each backend, read by the recorder and written into the session's meta.

    `damage_driven`: the backend learns of new pixels only when the screen changes (the Wayland
    ScreenCast portal, XDamage); `grab()` then returns the newest frame at once, the same one until
    the screen changes, and never blocks waiting for a change. A polled backend (mss) copies the
    screen at every `grab()`.
    `monitors`: a monitor can be chosen by number (0 = all, 1 = primary); a backend where the user
    picks what to share (a portal dialog) has False.
    """

    name: str
    damage_driven: bool = False
    monitors: bool = True


class FrameSource(Protocol):
    """One monitor's frames: BGRA arrays (media/frames.py) of `height` x `width`, both even (H.264)."""

    capabilities: Capabilities

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    def describe(self) -> dict[str, Any]:
        """What the session's meta says about the screen (monitor, rectangle, backend)."""
        ...

    def grab(self) -> Any:
        """The current frame. Raises CaptureLost when the screen cannot be read any more.

        A damage-driven backend returns the very same object as the grab before when nothing
        changed: the recorder then repeats the last frame instead of converting and encoding it."""
        ...

    def changed_areas(self) -> Changes:
        """Where the frame the last grab returned differs from the one before it: rectangles in frame
        pixels, () for nowhere, None when the backend cannot tell (all of it may have changed)."""
        ...

    def close(self) -> None: ...
