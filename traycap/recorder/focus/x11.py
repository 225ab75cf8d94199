"""X11: the window manager's `_NET_ACTIVE_WINDOW` on the root window, or the X input focus where no
window manager runs (Xvfb); python-xlib (recorder/x11.py loads it). Names: WM_CLASS (instance and
class), _NET_WM_NAME/WM_NAME."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from traycap.errors import RecorderError
from traycap.recorder import x11
from traycap.recorder.focus.base import HINT
from traycap.recorder.privacy import WindowInfo

log = logging.getLogger(__name__)


def parse_active_window(value: Sequence[int] | None) -> int | None:
    """The window id in a _NET_ACTIVE_WINDOW property value (32-bit WINDOW list); None for none or 0."""
    if not value:
        return None
    wid = int(value[0])
    return wid if wid > 0 else None


class X11Focus:
    """One private X connection, used under a lock (the recorder asks from two threads)."""

    MAX_CLIMB = 32

    def __init__(self, display_name: str | None = None) -> None:
        try:
            xlib = x11.load()
            self._x: Any = xlib.X
            self._xerror: Any = xlib.error
            self._d: Any = xlib.display.Display(display_name)
        except Exception as exc:
            raise RecorderError(f"Cannot tell which window has focus, so excludedApps cannot be honoured: {exc}",
                                HINT) from exc
        self._root = self._d.screen().root
        self._net_active = self._d.intern_atom("_NET_ACTIVE_WINDOW")
        self._net_wm_name = self._d.intern_atom("_NET_WM_NAME")
        self._utf8 = self._d.intern_atom("UTF8_STRING")
        self._lock = threading.Lock()

    def active_window(self) -> WindowInfo | None:
        with self._lock:
            try:
                info = self._describe(self._wm_active())
                if info is not None:
                    return info
            except Exception:  # a stale _NET_ACTIVE_WINDOW (its window gone, the WM gone): use the input focus
                log.debug("_NET_ACTIVE_WINDOW unusable", exc_info=True)
            try:
                focus = self._d.get_input_focus().focus
                if isinstance(focus, int):  # X.NONE or X.PointerRoot: no window has focus
                    return None
                return self._describe(focus)
            except Exception:  # a window may vanish between two requests
                log.debug("X11 focus query failed", exc_info=True)
                return None

    def close(self) -> None:
        with self._lock:
            try:
                self._d.close()
            except Exception:
                log.debug("closing the X11 focus connection failed", exc_info=True)

    def _wm_active(self) -> Any:
        prop = self._root.get_full_property(self._net_active, self._x.AnyPropertyType)
        wid = parse_active_window(list(prop.value) if prop is not None else None)
        return self._d.create_resource_object("window", wid) if wid is not None else None

    def _describe(self, window: Any) -> WindowInfo | None:
        """The names of `window` or of the nearest ancestor that has them (the focus is often a child)."""
        root_id = self._root.id
        for _ in range(self.MAX_CLIMB):
            if window is None or window.id == root_id:
                return None
            classes = window.get_wm_class() or ()
            title = self._title(window)
            if classes or title:
                return WindowInfo(classes=tuple(str(c) for c in classes), title=title)
            window = window.query_tree().parent
        return None

    def _title(self, window: Any) -> str:
        prop = window.get_full_property(self._net_wm_name, self._utf8)
        if prop is not None and prop.value:
            value = prop.value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        name = window.get_wm_name()
        if isinstance(name, bytes):
            return name.decode("latin-1")
        return str(name or "")
