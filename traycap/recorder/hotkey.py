"""The global start/stop hotkey, via the input adapter: pynput syntax ("<ctrl>+<shift>+r"); a combination
written as people write it ("Ctrl+Shift+R", in a hand-edited settings file) is read as that."""

from __future__ import annotations

from collections.abc import Callable

from traycap.format import parse_hotkey
from traycap.recorder.inputs import GlobalHotkey, check_hotkey

DEFAULT_HOTKEY = "<ctrl>+<shift>+r"

__all__ = ["DEFAULT_HOTKEY", "HotkeyListener", "check_hotkey"]


class HotkeyListener:
    """Calls `callback` (on a thread of its own; exceptions are logged) each time `hotkey` is pressed.

    start() raises HotkeyUnavailable with a readable message when the
    combination is invalid or cannot be listened for; the caller reports it
    and carries on (the tray menu still works).
    """

    def __init__(self, hotkey: str = DEFAULT_HOTKEY, callback: Callable[[], None] | None = None) -> None:
        try:
            self.hotkey = parse_hotkey(hotkey)
        except ValueError:
            self.hotkey = hotkey  # start() says what pynput makes of it
        self._callback = callback or (lambda: None)
        self._impl: GlobalHotkey | None = None

    def start(self) -> None:
        if self._impl is not None:
            return
        impl = GlobalHotkey(self.hotkey, self._callback)
        impl.start()
        self._impl = impl

    def stop(self) -> None:
        impl, self._impl = self._impl, None
        if impl is not None:
            impl.stop()

    @property
    def running(self) -> bool:
        return self._impl is not None
