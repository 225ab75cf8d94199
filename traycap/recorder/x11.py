"""python-xlib, loaded for the recorder's two X11 needs: waking the RECORD listeners (inputs.nudge)
and asking which window has focus (focus/x11.py X11Focus). The one module that imports Xlib.

python-xlib comes with pynput on Linux and has no type information; it is loaded lazily because
importing it elsewhere (Windows, macOS, no display) fails.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Xlib:
    display: Any  # Xlib.display
    X: Any  # Xlib.X
    error: Any  # Xlib.error
    xtest: Any  # Xlib.ext.xtest


def load() -> Xlib:
    """The Xlib modules; ImportError (or another Exception) where python-xlib cannot load."""
    return Xlib(
        display=importlib.import_module("Xlib.display"),
        X=importlib.import_module("Xlib.X"),
        error=importlib.import_module("Xlib.error"),
        xtest=importlib.import_module("Xlib.ext.xtest"),
    )
