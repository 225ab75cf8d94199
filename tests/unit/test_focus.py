"""Focus backends for Windows and macOS behind fakes of their system interfaces (the X11 one runs on Xvfb in
tests/integration/test_excluded_apps.py), and the choice of backend."""

from __future__ import annotations

import ctypes
import sys
import types
from typing import Any

import pytest

from traycap.errors import RecorderError
from traycap.recorder.focus import NullFocus, open_focus_backend
from traycap.recorder.focus.macos import MacFocus
from traycap.recorder.focus.windows import WindowsFocus
from traycap.recorder.privacy import WindowInfo


class _User32:
    def __init__(self, hwnd: int, title: str, klass: str, pid: int) -> None:
        self.hwnd, self.title, self.klass, self.pid = hwnd, title, klass, pid

    def GetForegroundWindow(self) -> int:
        return self.hwnd

    def GetWindowTextW(self, hwnd: int, buf: Any, size: int) -> int:
        buf.value = self.title[: size - 1]
        return len(buf.value)

    def GetClassNameW(self, hwnd: int, buf: Any, size: int) -> int:
        buf.value = self.klass[: size - 1]
        return len(buf.value)

    def GetWindowThreadProcessId(self, hwnd: int, pid_ref: Any) -> int:
        pid_ref._obj.value = self.pid
        return 1


class _Kernel32:
    def __init__(self, images: dict[int, str]) -> None:
        self.images = images
        self.closed: list[int] = []

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int:
        return pid + 1000 if pid in self.images else 0

    def QueryFullProcessImageNameW(self, handle: int, flags: int, buf: Any, size_ref: Any) -> int:
        buf.value = self.images[handle - 1000]
        return 1

    def CloseHandle(self, handle: int) -> int:
        self.closed.append(handle)
        return 1


def _windows(monkeypatch: pytest.MonkeyPatch, user32: _User32, kernel32: _Kernel32) -> WindowsFocus:
    monkeypatch.setattr(ctypes, "windll", types.SimpleNamespace(user32=user32, kernel32=kernel32), raising=False)
    return WindowsFocus()


def test_windows_names_the_class_the_program_and_the_title(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel32 = _Kernel32({42: r"C:\Program Files\KeePassXC\KeePassXC.exe"})
    focus = _windows(monkeypatch, _User32(7, "Passwords.kdbx - KeePassXC", "Qt5QWindowIcon", 42), kernel32)
    assert focus.active_window() == WindowInfo(classes=("Qt5QWindowIcon", "KeePassXC"),
                                               title="Passwords.kdbx - KeePassXC")
    assert kernel32.closed == [1042]


def test_windows_with_no_foreground_window_or_no_process_access(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _windows(monkeypatch, _User32(0, "", "", 0), _Kernel32({})).active_window() is None
    elevated = _windows(monkeypatch, _User32(7, "Administrator: cmd", "ConsoleWindowClass", 9), _Kernel32({}))
    assert elevated.active_window() == WindowInfo(classes=("ConsoleWindowClass",), title="Administrator: cmd")


def test_windows_backend_refuses_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(ctypes, "windll", raising=False)
    with pytest.raises(RecorderError):
        WindowsFocus()


def _appkit(app: Any) -> types.ModuleType:
    module = types.ModuleType("AppKit")
    workspace = types.SimpleNamespace(frontmostApplication=lambda: app)
    module.NSWorkspace = types.SimpleNamespace(sharedWorkspace=lambda: workspace)  # type: ignore[attr-defined]
    return module


def test_macos_names_the_bundle_id_and_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    app = types.SimpleNamespace(bundleIdentifier=lambda: "com.agilebits.onepassword7",
                                localizedName=lambda: "1Password 7")
    monkeypatch.setitem(sys.modules, "AppKit", _appkit(app))
    assert MacFocus().active_window() == WindowInfo(classes=("com.agilebits.onepassword7",), app="1Password 7")
    monkeypatch.setitem(sys.modules, "AppKit", _appkit(None))
    assert MacFocus().active_window() is None


def test_macos_without_pyobjc_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "AppKit", None)  # import fails
    with pytest.raises(RecorderError, match="pyobjc"):
        MacFocus()


def test_backend_choice() -> None:
    assert isinstance(open_focus_backend({"TRAYCAP_FOCUS": "null"}), NullFocus)
    with pytest.raises(RecorderError, match="TRAYCAP_FOCUS"):
        open_focus_backend({"TRAYCAP_FOCUS": "wayland"})
