"""Asking the running tray app to quit from another process (`traycap quit`, the Windows installer).

POSIX: SIGTERM to the pid in the tray's lock file; the tray already treats it as Quit
(traycap.osutil.signals). Windows: nothing reaches a windowed process from outside but
TerminateProcess, which kills at once (a recording unexported, an upload cut mid-part), so
the tray waits on a named event of the user's session, one per data dir; setting it is the
request. The installer quits the tray this way before it replaces or removes the program.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

# "Local\": the user's session, where the installer and the tray both run.
EVENT_PREFIX = "Local\\traycap-quit-"


def event_name(root: Path) -> str:
    """The event of the tray that keeps its files in `root` (Windows paths compare without case)."""
    key = os.path.normcase(os.path.abspath(root))
    return EVENT_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def request_quit(root: Path, pid: int | None) -> bool:
    """Ask the tray of `root` (process `pid`) to quit; False when no request could be delivered."""
    if sys.platform == "win32":
        return _set_event(event_name(root))
    if pid is None:
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def listen(root: Path, on_request: Callable[[], None]) -> Callable[[], None]:
    """Call `on_request` (once, on a helper thread) when another process asks this tray to quit.

    Returns the function that stops listening. POSIX needs nothing here: SIGTERM is the request.
    """
    if sys.platform == "win32":
        return _EventListener(event_name(root), on_request).stop
    return lambda: None


if sys.platform == "win32":  # pragma: no cover - run by the Windows installer test under Wine
    import ctypes
    from ctypes import wintypes

    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _kernel32.CreateEventW.restype = wintypes.HANDLE
    _kernel32.CreateEventW.argtypes = [ctypes.c_void_p, wintypes.BOOL, wintypes.BOOL, wintypes.LPCWSTR]
    _kernel32.OpenEventW.restype = wintypes.HANDLE
    _kernel32.OpenEventW.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.LPCWSTR]
    _kernel32.SetEvent.argtypes = [wintypes.HANDLE]
    _kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    _kernel32.WaitForMultipleObjects.restype = wintypes.DWORD
    _kernel32.WaitForMultipleObjects.argtypes = [wintypes.DWORD, ctypes.POINTER(wintypes.HANDLE), wintypes.BOOL,
                                                 wintypes.DWORD]
    _EVENT_MODIFY_STATE = 0x0002
    _INFINITE = 0xFFFFFFFF
    _WAIT_OBJECT_0 = 0

    def _set_event(name: str) -> bool:
        handle = _kernel32.OpenEventW(_EVENT_MODIFY_STATE, False, name)
        if not handle:
            return False  # no tray listens (not running, or a traycap older than this request)
        try:
            return bool(_kernel32.SetEvent(handle))
        finally:
            _kernel32.CloseHandle(handle)

    class _EventListener:
        def __init__(self, name: str, on_request: Callable[[], None]) -> None:
            self._quit = _kernel32.CreateEventW(None, True, False, name)
            if not self._quit:
                raise ctypes.WinError(ctypes.get_last_error())
            self._done = _kernel32.CreateEventW(None, True, False, None)  # unnamed: stop() wakes the thread
            self._on_request = on_request
            self._thread = threading.Thread(target=self._wait, name="traycap-quit-request", daemon=True)
            self._thread.start()

        def _wait(self) -> None:
            handles = (wintypes.HANDLE * 2)(self._quit, self._done)
            if _kernel32.WaitForMultipleObjects(2, handles, False, _INFINITE) == _WAIT_OBJECT_0:
                self._on_request()

        def stop(self) -> None:
            _kernel32.SetEvent(self._done)
            self._thread.join(timeout=5)
            _kernel32.CloseHandle(self._quit)
            _kernel32.CloseHandle(self._done)
