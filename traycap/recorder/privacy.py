"""Excluded apps (pure): which focused window is private, and what the recorder keeps while one has focus.

`excludedApps` patterns (fnmatch-style, case-insensitive) are matched against
the focused window's class names, app name and title. While a matching window
has focus:

- no key and no pointer motion is recorded; clicks and scrolls are, without
  coordinates (`"excluded": true`);
- when the span ends (focus leaves, pause, stop) ONE marker is written,
  `{"t": <start ms>, "type": "excluded", "endT": <end ms>}`, followed by the
  clicks of the span, so actions.jsonl stays in time order;
- every video frame (hence every screenshot) of the span is blank
  (`PrivateActions.screen_private`, asked by the capture thread).

The focus comes from a FocusBackend (focus.py) through `FocusGuard`, which asks
it at most every REFRESH_S for pointer motion and afresh for every key, click
and frame, so a key typed the instant a password manager gets focus is never
recorded, while a burst of mouse moves costs nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from traycap.recorder.actions import ActionBuilder, RawClick, RawEvent, RawKey, RawMove, RawScroll, ms_since

log = logging.getLogger(__name__)

REFRESH_S = 0.2  # the oldest focus answer pointer motion may rely on
EXCLUDED = "excluded"


@dataclass(frozen=True)
class WindowInfo:
    """What identifies the focused window: class names (X11 WM_CLASS, a Windows class and executable,
    a macOS bundle id), the app's name and the window title. Empty strings where a platform has none."""

    classes: tuple[str, ...] = ()
    title: str = ""
    app: str = ""

    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (*self.classes, self.app, self.title) if n)


class ExclusionRules:
    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(p.strip().casefold() for p in patterns if p.strip())

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, window: WindowInfo | None) -> bool:
        if window is None:
            return False
        names = [n.casefold() for n in window.names()]
        return any(fnmatchcase(name, pattern) for pattern in self.patterns for name in names)


class FocusGuard:
    """Thread-safe "is an excluded window focused now?", with the spans seen so far (monotonic seconds)."""

    def __init__(self, rules: ExclusionRules, active_window: Callable[[], WindowInfo | None],
                 monotonic: Callable[[], float]) -> None:
        self._rules = rules
        self._active_window = active_window
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._excluded = False
        self._open_since: float | None = None
        self._closed: list[tuple[float, float]] = []

    def excluded(self, max_age: float = REFRESH_S, *, at: float | None = None) -> bool:
        """`at`: when the event being judged happened; a span it opens starts no later than that."""
        with self._lock:
            now = self._monotonic()
            if self._checked_at is None or now - self._checked_at >= max_age:
                self._observe(self._ask(), now if at is None else min(now, at))
            return self._excluded

    def end_span(self, at: float | None = None) -> None:
        """Close an open span (pause, stop); the next check starts a new one if still excluded."""
        with self._lock:
            if self._open_since is not None:
                self._closed.append((self._open_since, at if at is not None else self._monotonic()))
                self._open_since = None
            self._checked_at = None

    def take_closed(self) -> list[tuple[float, float]]:
        with self._lock:
            closed, self._closed = self._closed, []
            return closed

    def _ask(self) -> bool:
        try:
            return self._rules.matches(self._active_window())
        except Exception:  # a backend hiccup must not stop the recording; keep the last answer
            log.debug("asking for the focused window failed", exc_info=True)
            return self._excluded

    def _observe(self, excluded: bool, now: float) -> None:
        self._checked_at = now
        if excluded and self._open_since is None:
            self._open_since = now
        elif not excluded and self._open_since is not None:
            self._closed.append((self._open_since, now))
            self._open_since = None
        self._excluded = excluded


class WindowSource(Protocol):
    """What PrivateActions needs of a focus backend (focus.FocusBackend)."""

    def active_window(self) -> WindowInfo | None: ...

    def close(self) -> None: ...


class PrivateActions:
    """An ActionBuilder that leaves out what happens in excluded apps (see the module doc).

    Same calls as ActionBuilder, so the recorder uses it in its place; with no
    guard (no excludedApps) every call goes straight through."""

    def __init__(self, inner: ActionBuilder, origin: float, guard: FocusGuard | None = None,
                 on_close: Callable[[], None] | None = None) -> None:
        self._inner = inner
        self._origin = origin
        self._guard = guard
        self._on_close = on_close
        self._held: list[dict[str, Any]] = []  # clicks of the open span, written after its marker

    @classmethod
    def for_patterns(cls, inner: ActionBuilder, origin: float, patterns: Sequence[str],
                     open_focus: Callable[[], WindowSource], monotonic: Callable[[], float]) -> PrivateActions:
        """The focus backend is opened only when there is something to exclude."""
        rules = ExclusionRules(patterns)
        if not rules:
            return cls(inner, origin)
        source = open_focus()
        return cls(inner, origin, FocusGuard(rules, source.active_window, monotonic), on_close=source.close)

    @property
    def dropped_moves(self) -> int:
        return self._inner.dropped_moves

    def screen_private(self) -> bool:
        """True when the screen must not be recorded now (asked per frame, before and after the grab)."""
        return self._guard is not None and self._guard.excluded(0.0)

    def sound_private(self) -> bool:
        """True when the computer's sound must not be recorded now: an excluded app has focus (the
        sound thread asks every few ms; the window system is asked at most every REFRESH_S)."""
        return self._guard is not None and self._guard.excluded(REFRESH_S)

    def feed(self, ev: RawEvent) -> list[dict[str, Any]]:
        guard = self._guard
        if guard is None:
            return self._inner.feed(ev)
        excluded = guard.excluded(REFRESH_S if isinstance(ev, RawMove) else 0.0, at=ev.t)
        out = self._settle()
        if not excluded:
            return out + self._inner.feed(ev)
        out += self._inner.flush()  # a move held back from before the span belongs before it
        t_ms = ms_since(self._origin, ev.t)
        if isinstance(ev, RawClick):
            self._held.append({"t": t_ms, "type": "mouse_down" if ev.pressed else "mouse_up",
                               "button": ev.button, EXCLUDED: True})
        elif isinstance(ev, RawScroll):
            self._held.append({"t": t_ms, "type": "scroll", "dx": ev.dx, "dy": ev.dy, EXCLUDED: True})
        elif not isinstance(ev, (RawKey, RawMove)):
            raise TypeError(f"unknown input event {ev!r}")
        return out

    def marker(self, kind: str, t: float) -> list[dict[str, Any]]:
        if self._guard is not None:
            self._guard.end_span(t)  # a pause ends the span; a resume finds no open one
        return self._settle() + self._inner.marker(kind, t)

    def flush(self) -> list[dict[str, Any]]:
        """At stop: the held-back move, and the span still open, ended now."""
        if self._guard is not None:
            self._guard.end_span()
        return self._inner.flush() + self._settle()

    def flush_due(self, now: float) -> list[dict[str, Any]]:
        return self._settle() + self._inner.flush_due(now)

    def discard_pending(self) -> None:
        self._inner.discard_pending()

    def close(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def _settle(self) -> list[dict[str, Any]]:
        """A marker for each span that ended, each followed by the clicks it held."""
        if self._guard is None:
            return []
        out: list[dict[str, Any]] = []
        for start, end in self._guard.take_closed():
            end_ms = ms_since(self._origin, end)
            out.append({"t": ms_since(self._origin, start), "type": EXCLUDED, "endT": end_ms})
            out += [a for a in self._held if a["t"] <= end_ms]
            self._held = [a for a in self._held if a["t"] > end_ms]
        return out
