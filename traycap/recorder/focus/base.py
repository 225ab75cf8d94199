"""Which window has the keyboard focus: the one small interface every OS backend implements.

A backend answers None when it cannot tell (the window just closed); it never raises from
`active_window`. `NullFocus`: no window ever has focus (no excludedApps, tests).
"""

from __future__ import annotations

from typing import Protocol

from traycap.recorder.privacy import WindowInfo

FOCUS_ENV = "TRAYCAP_FOCUS"
HINT = "remove excludedApps from the settings to record without it, or run traycap in a desktop session"


class FocusBackend(Protocol):
    def active_window(self) -> WindowInfo | None: ...

    def close(self) -> None: ...


class NullFocus:
    def active_window(self) -> WindowInfo | None:
        return None

    def close(self) -> None:
        return None
