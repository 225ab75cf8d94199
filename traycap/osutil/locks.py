"""Exclusive whole-file locks that the OS drops when the holding process dies, even on SIGKILL.

POSIX: `flock`, which belongs to an open file description. Windows: `LockFileEx`
on one byte far past the end of the file, which belongs to a handle; far past the
end so the pid a holder writes at the start stays readable by others (Windows
locks are mandatory: a locked byte cannot be read). Either way two descriptors in
one process exclude each other just as two processes do.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if sys.platform == "win32":  # pragma: no cover - run by the Windows bench under Wine
    import ctypes
    import msvcrt
    from ctypes import wintypes

    _LOCKFILE_FAIL_IMMEDIATELY = 0x1
    _LOCKFILE_EXCLUSIVE_LOCK = 0x2
    _ERROR_LOCK_VIOLATION = 33
    _ERROR_IO_PENDING = 997
    _LOCK_OFFSET_HIGH = 0x4000_0000  # byte 2**62: far past any real lock file's end

    class _Overlapped(ctypes.Structure):
        _fields_ = [
            ("Internal", ctypes.c_void_p),
            ("InternalHigh", ctypes.c_void_p),
            ("Offset", wintypes.DWORD),
            ("OffsetHigh", wintypes.DWORD),
            ("hEvent", wintypes.HANDLE),
        ]

    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _LockFileEx = _kernel32.LockFileEx
    _LockFileEx.argtypes = [
        wintypes.HANDLE, wintypes.DWORD, wintypes.DWORD, wintypes.DWORD, wintypes.DWORD, ctypes.POINTER(_Overlapped)
    ]
    _LockFileEx.restype = wintypes.BOOL
    _UnlockFileEx = _kernel32.UnlockFileEx
    _UnlockFileEx.argtypes = [
        wintypes.HANDLE, wintypes.DWORD, wintypes.DWORD, wintypes.DWORD, ctypes.POINTER(_Overlapped)
    ]
    _UnlockFileEx.restype = wintypes.BOOL

    def _overlapped() -> _Overlapped:
        return _Overlapped(None, None, 0, _LOCK_OFFSET_HIGH, None)

    def _lock(fd: int, *, wait: bool) -> bool:
        flags = _LOCKFILE_EXCLUSIVE_LOCK | (0 if wait else _LOCKFILE_FAIL_IMMEDIATELY)
        handle = msvcrt.get_osfhandle(fd)
        if _LockFileEx(handle, flags, 0, 1, 0, ctypes.byref(_overlapped())):
            return True
        err = ctypes.get_last_error()
        if err in (_ERROR_LOCK_VIOLATION, _ERROR_IO_PENDING) and not wait:
            return False
        raise ctypes.WinError(err)

    def unlock(fd: int) -> None:
        """Release the lock taken through `fd` (closing `fd` releases it too)."""
        if not _UnlockFileEx(msvcrt.get_osfhandle(fd), 0, 1, 0, ctypes.byref(_overlapped())):
            raise ctypes.WinError(ctypes.get_last_error())

    # O_BINARY: without it Windows rewrites the "\n" of the holder's pid as "\r\n".
    _OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_BINARY | os.O_NOINHERIT
    OPEN_FILES_DELETABLE = False  # os.open shares no FILE_SHARE_DELETE: unlink fails while open

else:
    import fcntl

    def _lock(fd: int, *, wait: bool) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True

    def unlock(fd: int) -> None:
        """Release the lock taken through `fd` (closing `fd` releases it too)."""
        fcntl.flock(fd, fcntl.LOCK_UN)

    _OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
    OPEN_FILES_DELETABLE = True


def open_lock_file(path: Path) -> int:
    """A descriptor on `path` (created, user-only where modes exist) to lock; never inherited by children."""
    return os.open(path, _OPEN_FLAGS, 0o600)


def try_lock(fd: int) -> bool:
    """Take the lock if it is free; False at once if another descriptor holds it."""
    return _lock(fd, wait=False)


def lock(fd: int) -> None:
    """Take the lock, waiting for as long as another descriptor holds it."""
    _lock(fd, wait=True)
