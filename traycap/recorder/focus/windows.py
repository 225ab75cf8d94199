"""Windows: GetForegroundWindow, GetWindowTextW, GetClassNameW and the executable's name (Qt/Electron
windows share generic class names), by ctypes."""

from __future__ import annotations

import logging
from typing import Any

from traycap.errors import RecorderError
from traycap.recorder.focus.base import HINT
from traycap.recorder.privacy import WindowInfo

log = logging.getLogger(__name__)


class WindowsFocus:
    def __init__(self) -> None:
        import ctypes

        self._ctypes: Any = ctypes
        windll: Any = getattr(ctypes, "windll", None)
        if windll is None:
            raise RecorderError("Cannot tell which window has focus: this is not Windows", HINT)
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
