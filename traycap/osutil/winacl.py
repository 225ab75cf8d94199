"""A protected, user-only ACL on a Windows folder (the Windows side of traycap.osutil.private).

SDDL `D:P(A;OICI;FA;;;<user SID>)`: the inherited ACEs (Users, Administrators, ...)
are cut off (P) and the current user alone gets full access, inherited by every
file (OI) and folder (CI) created inside. Through ctypes so that traycap needs no
pywin32.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

if sys.platform == "win32":  # pragma: no cover - run by the Windows bench under Wine
    import ctypes
    from ctypes import wintypes

    _advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)

    # Handles are 64-bit: without these, ctypes would pass them as 32-bit C ints.
    _kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    _kernel32.GetCurrentProcess.argtypes = []
    _advapi32.OpenProcessToken.argtypes = [wintypes.HANDLE, wintypes.DWORD, ctypes.POINTER(wintypes.HANDLE)]
    _kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    _kernel32.LocalFree.argtypes = [ctypes.c_void_p]

    _TOKEN_QUERY = 0x0008
    _TOKEN_USER = 1
    _SE_FILE_OBJECT = 1
    _DACL_SECURITY_INFORMATION = 0x4
    _PROTECTED_DACL_SECURITY_INFORMATION = 0x8000_0000
    _SDDL_REVISION_1 = 1

    def _check(ok: int) -> None:
        if not ok:
            raise ctypes.WinError(ctypes.get_last_error())

    def _string_out(call: Callable[[Any], int]) -> str:
        """Run `call` with a pointer to an LPWSTR the API allocates; return the text, freed."""
        text = wintypes.LPWSTR()
        _check(call(ctypes.byref(text)))
        try:
            return str(text.value)
        finally:
            _kernel32.LocalFree(ctypes.cast(text, ctypes.c_void_p))

    def _user_sid() -> str:
        token = wintypes.HANDLE()
        _check(_advapi32.OpenProcessToken(_kernel32.GetCurrentProcess(), _TOKEN_QUERY, ctypes.byref(token)))
        try:
            size = wintypes.DWORD()
            _advapi32.GetTokenInformation(token, _TOKEN_USER, None, 0, ctypes.byref(size))
            buf = ctypes.create_string_buffer(size.value)
            _check(_advapi32.GetTokenInformation(token, _TOKEN_USER, buf, size, ctypes.byref(size)))
            psid = ctypes.cast(buf, ctypes.POINTER(ctypes.c_void_p))[0]  # TOKEN_USER.User.Sid
            return _string_out(lambda text: _advapi32.ConvertSidToStringSidW(ctypes.c_void_p(psid), text))
        finally:
            _kernel32.CloseHandle(token)

    def dacl_sddl(path: Path) -> str:
        """The folder's DACL as SDDL, e.g. `D:P(A;OICI;FA;;;S-1-5-21-...)`."""
        pdacl = ctypes.c_void_p()
        psd = ctypes.c_void_p()
        err = _advapi32.GetNamedSecurityInfoW(
            str(path), _SE_FILE_OBJECT, _DACL_SECURITY_INFORMATION, None, None, ctypes.byref(pdacl), None,
            ctypes.byref(psd),
        )
        if err:
            raise ctypes.WinError(err)
        try:
            return _string_out(lambda text: _advapi32.ConvertSecurityDescriptorToStringSecurityDescriptorW(
                psd, _SDDL_REVISION_1, _DACL_SECURITY_INFORMATION, text, None
            ))
        finally:
            _kernel32.LocalFree(psd)

    def _set_user_only(path: Path, sid: str) -> None:
        psd = ctypes.c_void_p()
        _check(_advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(
            user_only_sddl(sid), _SDDL_REVISION_1, ctypes.byref(psd), None
        ))
        try:
            present, defaulted = wintypes.BOOL(), wintypes.BOOL()
            pdacl = ctypes.c_void_p()
            _check(_advapi32.GetSecurityDescriptorDacl(psd, ctypes.byref(present), ctypes.byref(pdacl),
                                                        ctypes.byref(defaulted)))
            err = _advapi32.SetNamedSecurityInfoW(
                str(path), _SE_FILE_OBJECT, _DACL_SECURITY_INFORMATION | _PROTECTED_DACL_SECURITY_INFORMATION,
                None, None, pdacl, None,
            )
            if err:
                raise ctypes.WinError(err)
        finally:
            _kernel32.LocalFree(psd)

    def is_user_only(path: Path) -> bool:
        """True when only the current user is granted anything on `path`, and nothing is inherited."""
        try:
            return sddl_is_user_only(dacl_sddl(path), _user_sid())
        except OSError:
            return True  # unreadable or missing: nothing we could tighten

    def restrict_to_user(path: Path) -> bool:
        """Give `path` the user-only ACL; True when it was wider before. An OSError propagates."""
        sid = _user_sid()
        if sddl_is_user_only(dacl_sddl(path), sid):
            return False
        _set_user_only(path, sid)
        if not sddl_is_user_only(dacl_sddl(path), sid):
            # Wine 8 reports success and keeps the DACL it derives from the Unix mode.
            raise OSError(f"the file system kept its own permissions on {path}")
        return True


_ACE = re.compile(r"\(([^)]*)\)")


def user_only_sddl(sid: str) -> str:
    return f"D:P(A;OICI;FA;;;{sid})"


def sddl_is_user_only(sddl: str, sid: str) -> bool:
    """A protected DACL whose every allow ACE is for `sid` (pure: unit-tested on every OS)."""
    dacl = sddl.split("D:", 1)[1] if "D:" in sddl else ""
    flags = dacl.split("(", 1)[0]
    if "P" not in flags:
        return False
    aces = _ACE.findall(dacl)
    if not aces:
        return False
    for ace in aces:
        fields = ace.split(";")
        if len(fields) < 6:
            return False
        kind, trustee = fields[0], fields[5]
        if kind == "A" and trustee not in (sid, "OW"):
            return False
    return True
