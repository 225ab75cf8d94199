"""Input events -> action records (pure): privacy masking, move throttling, click-screenshot limits.

The input adapter (inputs.py) turns pynput's objects into the plain `Raw*`
events below, stamped with the recorder's monotonic clock; `ActionBuilder`
turns them into the JSON dicts appended to actions.jsonl. Nothing here
touches a library, a thread or a file, so tests drive it event by event.

Action schema (one JSON object per line; `t` is milliseconds since the
recording started, on the same monotonic clock as video frames and
screenshots):

    {"t": 1234.5, "type": "mouse_move", "x": 10, "y": 20}
    {"t": ..., "type": "mouse_down" | "mouse_up", "x": .., "y": .., "button": "left"}
    {"t": ..., "type": "scroll", "x": .., "y": .., "dx": 0, "dy": -1}
    {"t": ..., "type": "key_down" | "key_up", "key": "a"}            full
    {"t": ..., "type": "key_down" | "key_up", "key": "*", "masked": true}   no_text
    {"t": ..., "type": "pause" | "resume"}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from traycap.bundle.layout import MARKER_TYPES
from traycap.models import KeystrokePrivacy

MOVE_MIN_INTERVAL_S = 0.05  # at most 20 mouse moves a second are recorded
CLICK_SCREENSHOT_MIN_INTERVAL_S = 1.0
MASK = "*"



@dataclass(frozen=True)
class RawMove:
    t: float  # monotonic seconds
    x: int
    y: int


@dataclass(frozen=True)
class RawClick:
    t: float
    x: int
    y: int
    button: str  # "left", "right", "middle", "button8", ...
    pressed: bool


@dataclass(frozen=True)
class RawScroll:
    t: float
    x: int
    y: int
    dx: int
    dy: int


@dataclass(frozen=True)
class RawKey:
    t: float
    pressed: bool
    char: str | None  # the text the key produces, if any ("a", "A", "1", "!")
    name: str | None  # a special key's name ("shift", "enter", "f5"), if any
    vk: int | None = None  # platform virtual key code, for keys with neither


RawEvent = RawMove | RawClick | RawScroll | RawKey


def ms_since(origin: float, t: float) -> float:
    """Monotonic seconds -> milliseconds since `origin`, 0.1 ms resolution."""
    return round((t - origin) * 1000.0, 1)


def key_action(ev: RawKey, privacy: KeystrokePrivacy, t_ms: float) -> dict[str, Any] | None:
    """The recorded form of a key event under `privacy`; None = not recorded."""
    if privacy is KeystrokePrivacy.NONE:
        return None
    kind = "key_down" if ev.pressed else "key_up"
    if ev.name is not None:
        return {"t": t_ms, "type": kind, "key": ev.name}
    if ev.char is not None:
        if privacy is KeystrokePrivacy.NO_TEXT and _is_text(ev.char):
            return {"t": t_ms, "type": kind, "key": MASK, "masked": True}
        return {"t": t_ms, "type": kind, "key": ev.char}
    if privacy is KeystrokePrivacy.NO_TEXT:
        # A bare key code can still spell a letter: never record it in no_text.
        return {"t": t_ms, "type": kind, "key": MASK, "masked": True}
    return {"t": t_ms, "type": kind, "key": f"vk{ev.vk}" if ev.vk is not None else "unknown"}


def _is_text(char: str) -> bool:
    # Letters and digits of any script; control characters (ctrl+letter
    # arrives as \x01..\x1a on some platforms) spell letters too.
    return any(c.isalnum() or ord(c) < 32 for c in char)


class ActionBuilder:
    """Raw events in, action dicts out, in time order.

    Mouse moves are throttled to one per MOVE_MIN_INTERVAL_S; a move that is
    held back is not lost if it is the last before another event: it is
    emitted (with its own time) just before that event, so the pointer
    position at every click, scroll and key is exact.
    """

    def __init__(self, origin: float, privacy: KeystrokePrivacy, *, move_interval_s: float = MOVE_MIN_INTERVAL_S):
        self._origin = origin
        self._privacy = privacy
        self._move_interval = move_interval_s
        self._last_move_t: float | None = None
        self._pending_move: RawMove | None = None
        self.dropped_moves = 0

    def feed(self, ev: RawEvent) -> list[dict[str, Any]]:
        if isinstance(ev, RawMove):
            return self._move(ev)
        out = self.flush()
        t_ms = ms_since(self._origin, ev.t)
        if isinstance(ev, RawClick):
            kind = "mouse_down" if ev.pressed else "mouse_up"
            out.append({"t": t_ms, "type": kind, "x": ev.x, "y": ev.y, "button": ev.button})
        elif isinstance(ev, RawScroll):
            out.append({"t": t_ms, "type": "scroll", "x": ev.x, "y": ev.y, "dx": ev.dx, "dy": ev.dy})
        else:
            action = key_action(ev, self._privacy, t_ms)
            if action is not None:
                out.append(action)
        return out

    def marker(self, kind: str, t: float) -> list[dict[str, Any]]:
        """A pause/resume marker (after any held-back move)."""
        if kind not in MARKER_TYPES:
            raise ValueError(f"unknown marker {kind!r}")
        return [*self.flush(), {"t": ms_since(self._origin, t), "type": kind}]

    def flush(self) -> list[dict[str, Any]]:
        """The held-back move, if any (call before stopping)."""
        pending, self._pending_move = self._pending_move, None
        if pending is None:
            return []
        self._last_move_t = pending.t
        return [self._move_action(pending)]

    def flush_due(self, now: float) -> list[dict[str, Any]]:
        """The held-back move once its slot has come (so a resting pointer is recorded promptly)."""
        if self._pending_move is None or self._last_move_t is None:
            return []
        if now - self._last_move_t < self._move_interval - 1e-9:
            return []
        return self.flush()

    def discard_pending(self) -> None:
        """Forget a held-back move (the recording was paused before it was due)."""
        if self._pending_move is not None:
            self.dropped_moves += 1
        self._pending_move = None

    def _move(self, ev: RawMove) -> list[dict[str, Any]]:
        if self._last_move_t is None or ev.t - self._last_move_t >= self._move_interval - 1e-9:
            if self._pending_move is not None:
                self.dropped_moves += 1  # superseded by this one, which is due anyway
            self._pending_move = None
            self._last_move_t = ev.t
            return [self._move_action(ev)]
        if self._pending_move is not None:
            self.dropped_moves += 1
        self._pending_move = ev
        return []

    def _move_action(self, ev: RawMove) -> dict[str, Any]:
        return {"t": ms_since(self._origin, ev.t), "type": "mouse_move", "x": ev.x, "y": ev.y}


class RateLimiter:
    """True at most once per `interval_s` (click screenshots)."""

    def __init__(self, interval_s: float) -> None:
        self._interval = interval_s
        self._last: float | None = None

    def allow(self, t: float) -> bool:
        if self._last is not None and t - self._last < self._interval:
            return False
        self._last = t
        return True
