"""The focus backend for this platform, chosen once per recording: x11 (Linux, BSD), windows, macos;
TRAYCAP_FOCUS=null|x11|windows|macos overrides the choice."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from traycap.errors import RecorderError
from traycap.recorder.focus.base import FOCUS_ENV, FocusBackend, NullFocus


def open_focus_backend(env: Mapping[str, str] | None = None) -> FocusBackend:
    """The backend for this platform (or TRAYCAP_FOCUS); RecorderError when it cannot be opened."""
    choice = (env if env is not None else os.environ).get(FOCUS_ENV, "").strip().lower()
    if not choice:
        choice = "windows" if sys.platform == "win32" else "macos" if sys.platform == "darwin" else "x11"
    if choice == "null":
        return NullFocus()
    if choice == "x11":
        from traycap.recorder.focus.x11 import X11Focus

        return X11Focus()
    if choice == "windows":
        from traycap.recorder.focus.windows import WindowsFocus

        return WindowsFocus()
    if choice == "macos":
        from traycap.recorder.focus.macos import MacFocus

        return MacFocus()
    raise RecorderError(f"Unknown {FOCUS_ENV}={choice!r}", "use null, x11, windows or macos")
