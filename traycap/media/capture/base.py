"""What the recorder needs from a screen (FrameSource) and what a capture backend can do (Capabilities)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from traycap.errors import TraycapError
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
    `cursor`: "embedded" (the pointer is drawn into the frames), "metadata" (sent beside them),
    "hidden" (not in the frames: mss on X11, where the pointer track comes from input events).
    `window_pick`: the person could pick a single window (the recording holds only that window).
    `remembers_choice`: the desktop remembers what was picked; the next recording starts without asking.
    """

    name: str
    damage_driven: bool = False
    monitors: bool = True
    cursor: str = "hidden"
    window_pick: bool = False
    remembers_choice: bool = False

    def describe(self) -> dict[str, Any]:
        """The meta's "capture" part."""
        return {"backend": self.name, "damageDriven": self.damage_driven, "cursor": self.cursor,
                "windowPick": self.window_pick, "remembersChoice": self.remembers_choice}


class FrameSource(Protocol):
    """One monitor's frames: BGRA arrays (media/frames.py) of `height` x `width`, both even (H.264)."""

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def notice(self) -> TraycapError | None:
        """Something to tell the person once, at start (the recording goes on): an old portal that asks
        at every recording, a window pick the desktop does not offer. None for most backends."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the session's meta says about the screen (monitor, rectangle, backend)."""
        ...

    def grab(self) -> Any:
        """The current frame; None when there is none yet (a damage-driven source before the screen's first
        change: the recorder skips that slot). Raises CaptureLost when the screen cannot be read any more.

        A damage-driven backend returns the very same object as the grab before when nothing
        changed: the recorder then repeats the last frame instead of converting and encoding it."""
        ...

    def changed_areas(self) -> Changes:
        """Where the frame the last grab returned differs from the one before it: rectangles in frame
        pixels, () for nowhere, None when the backend cannot tell (all of it may have changed)."""
        ...

    def close(self) -> None: ...
