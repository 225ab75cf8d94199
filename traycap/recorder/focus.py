"""Which window has the keyboard focus: one small interface, a backend per platform, chosen once.

- X11: the window manager's `_NET_ACTIVE_WINDOW` on the root window, or the X
  input focus where no window manager runs (Xvfb); python-xlib, which pynput
  brings on Linux. Names: WM_CLASS (instance and class), _NET_WM_NAME/WM_NAME.
- Windows: GetForegroundWindow, GetWindowTextW, GetClassNameW and the
  executable's name (Qt/Electron windows share generic class names), by ctypes.
- macOS: NSWorkspace's frontmost application (bundle id and name; pyobjc,
  imported only there, only when excludedApps is set).
- NullFocus: no window ever has focus (no excludedApps, tests).

TRAYCAP_FOCUS=null|x11|windows|macos overrides the choice. A backend answers
None when it cannot tell (the window just closed); it never raises from
`active_window`.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from traycap.errors import RecorderError
from traycap.recorder import x11
from traycap.recorder.privacy import WindowInfo

log = logging.getLogger(__name__)

FOCUS_ENV = "TRAYCAP_FOCUS"
_HINT = "remove excludedApps from the settings to record without it, or run traycap in a desktop session"


class FocusBackend(Protocol):
    def active_window(self) -> WindowInfo | None: ...

    def close(self) -> None: ...


class NullFocus:
    def active_window(self) -> WindowInfo | None:
        return None

    def close(self) -> None:
        return None


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
                                _HINT) from exc
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


class WindowsFocus:
    def __init__(self) -> None:
        import ctypes

        self._ctypes: Any = ctypes
        windll: Any = getattr(ctypes, "windll", None)
        if windll is None:
            raise RecorderError("Cannot tell which window has focus: this is not Windows", _HINT)
        self._user32 = windll.user32
        self._kernel32 = windll.kernel32

    def active_window(self) -> WindowInfo | None:
        ctypes = self._ctypes
        try:
            hwnd = self._user32.GetForegroundWindow()
            if not hwnd:
                return None
            title = ctypes.create_unicode_buffer(512)
            self._user32.GetWindowTextW(hwnd, title, 512)
            klass = ctypes.create_unicode_buffer(256)
            self._user32.GetClassNameW(hwnd, klass, 256)
            classes = [klass.value] if klass.value else []
            exe = self._executable(hwnd)
            if exe:
                classes.append(exe)
            return WindowInfo(classes=tuple(classes), title=title.value)
        except Exception:
            log.debug("Windows focus query failed", exc_info=True)
            return None

    def _executable(self, hwnd: Any) -> str:
        """The foreground window's program, without .exe ("KeePassXC" for KeePassXC.exe)."""
        ctypes = self._ctypes
        pid = ctypes.c_ulong(0)
        self._user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
        process_query_limited_information = 0x1000
        handle = self._kernel32.OpenProcess(process_query_limited_information, False, pid.value)
        if not handle:
            return ""
        try:
            size = ctypes.c_ulong(1024)
            path = ctypes.create_unicode_buffer(size.value)
            if not self._kernel32.QueryFullProcessImageNameW(handle, 0, path, ctypes.byref(size)):
                return ""
            name = str(path.value).replace("/", "\\").rsplit("\\", 1)[-1]
            return name[:-4] if name.lower().endswith(".exe") else name
        finally:
            self._kernel32.CloseHandle(handle)

    def close(self) -> None:
        return None


class MacFocus:
    def __init__(self) -> None:
        try:
            appkit: Any = importlib.import_module("AppKit")  # pyobjc; only on macOS
        except Exception as exc:
            raise RecorderError(f"Cannot tell which app is in front: {exc}",
                                "install pyobjc-framework-Cocoa, or remove excludedApps from the settings") from exc
        self._workspace = appkit.NSWorkspace.sharedWorkspace()

    def active_window(self) -> WindowInfo | None:
        try:
            app = self._workspace.frontmostApplication()
            if app is None:
                return None
            bundle = str(app.bundleIdentifier() or "")
            name = str(app.localizedName() or "")
            return WindowInfo(classes=(bundle,) if bundle else (), app=name)
        except Exception:
            log.debug("macOS focus query failed", exc_info=True)
            return None

    def close(self) -> None:
        return None


def open_focus_backend(env: Mapping[str, str] | None = None) -> FocusBackend:
    """The backend for this platform (or TRAYCAP_FOCUS); RecorderError when it cannot be opened."""
    choice = (env if env is not None else os.environ).get(FOCUS_ENV, "").strip().lower()
    if not choice:
        choice = "windows" if sys.platform == "win32" else "macos" if sys.platform == "darwin" else "x11"
    if choice == "null":
        return NullFocus()
    if choice == "x11":
        return X11Focus()
    if choice == "windows":
        return WindowsFocus()
    if choice == "macos":
        return MacFocus()
    raise RecorderError(f"Unknown {FOCUS_ENV}={choice!r}", "use null, x11, windows or macos")
