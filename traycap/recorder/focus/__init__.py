"""Which window has the keyboard focus (for excludedApps): one small interface, one module per OS,
picked by a factory.

    base.py      FocusBackend (the interface), NullFocus, FOCUS_ENV
    factory.py   open_focus_backend(): the backend for this platform, or TRAYCAP_FOCUS
    x11.py       X11Focus (python-xlib)
    windows.py   WindowsFocus (ctypes)
    macos.py     MacFocus (pyobjc's AppKit)
"""

from traycap.recorder.focus.base import FOCUS_ENV, FocusBackend, NullFocus
from traycap.recorder.focus.factory import open_focus_backend

__all__ = ["FOCUS_ENV", "FocusBackend", "NullFocus", "open_focus_backend"]
