"""The input adapter: the only module that imports pynput (and its python-xlib).

pynput is imported lazily: without a display, `import pynput` itself raises.
Events become the plain `Raw*` records of actions.py, stamped with the
recorder's monotonic clock the moment the callback runs.

On X11 a pynput listener blocks in the RECORD extension and returns from
stop() only after one more event arrives, so stopping sends a harmless XTEST
"nudge": a zero-distance pointer motion and a press/release of a key code
that has no symbol on this keyboard.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

from traycap.errors import HotkeyUnavailable, NoDisplay, RecorderError, TraycapError
from traycap.recorder import x11
from traycap.recorder.actions import RawClick, RawEvent, RawKey, RawMove, RawScroll

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class InputSource(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def positions_exact(self) -> bool:
        """Pointer positions are where the pointer was (pynput, a touchscreen), not estimated from motion."""
        ...


InputFactory = Callable[[Callable[[RawEvent], None], Callable[[], float], bool], InputSource]


def _pynput() -> Any:
    try:
        import pynput
        import pynput.keyboard
        import pynput.mouse
    except Exception as exc:  # pynput raises ImportError (or Xlib errors) when it finds no display
        raise NoDisplay(f"Cannot listen to the mouse and keyboard: {_first_line(exc)}") from exc
    return pynput


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def key_to_raw(key: Any, pressed: bool, t: float) -> RawKey:
    """pynput Key / KeyCode -> RawKey."""
    name = getattr(key, "name", None)
    if name is not None and not hasattr(key, "char"):  # a keyboard.Key enum member (shift, enter, f5...)
        return RawKey(t=t, pressed=pressed, char=None, name=str(name))
    char = getattr(key, "char", None)
    vk = getattr(key, "vk", None)
    return RawKey(t=t, pressed=pressed, char=char if isinstance(char, str) else None, name=None,
                  vk=vk if isinstance(vk, int) else None)


def button_name(button: Any) -> str:
    name = getattr(button, "name", None)
    if isinstance(name, str) and name != "unknown":
        return name
    value = getattr(button, "value", button)
    return f"button{value}"


def _wait_ready(listener: Any, what: str) -> None:
    """listener.wait() with a deadline: pynput waits forever if its thread died before getting ready."""
    ready = threading.Event()

    def waiter() -> None:
        listener.wait()
        ready.set()

    threading.Thread(target=waiter, name=f"{what}-ready", daemon=True).start()
    deadline_step = 0.05
    waited = 0.0
    while not ready.wait(deadline_step):
        waited += deadline_step
        if not listener.is_alive() or waited >= READY_TIMEOUT_S:
            error: BaseException | None = None
            try:
                listener.join(0.1)  # re-raises what killed the listener thread
            except Exception as exc:
                error = exc
            reason = _first_line(error) if error else "it did not start"
            raise RecorderError(
                f"Cannot listen to the {what}: {reason}",
                "the X server needs the RECORD extension; check DISPLAY",
            )


def nudge() -> None:
    """Wake X11 RECORD listeners blocked waiting for an event (see module doc)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        xlib = x11.load()
    except Exception:
        return
    xdisplay, xtest, x = xlib.display, xlib.xtest, xlib.X
    display: Any = None
    try:
        display = xdisplay.Display()
        pointer = display.screen().root.query_pointer()
        xtest.fake_input(display, x.MotionNotify, x=pointer.root_x, y=pointer.root_y)
        keycode = _unmapped_keycode(display)
        if keycode is not None:
            xtest.fake_input(display, x.KeyPress, keycode)
            xtest.fake_input(display, x.KeyRelease, keycode)
        display.sync()
    except Exception as exc:  # a display that went away needs no nudge
        log.debug("nudge failed: %s", exc)
    finally:
        if display is not None:
            with contextlib.suppress(Exception):
                display.close()


_unmapped: dict[str, int | None] = {}


def _unmapped_keycode(display: Any) -> int | None:
    name = str(display.get_display_name())
    if name not in _unmapped:
        info = display.display.info
        found = None
        for keycode in range(info.min_keycode, info.max_keycode + 1):
            if all(display.keycode_to_keysym(keycode, index) == 0 for index in range(4)):
                found = keycode
                break
        _unmapped[name] = found
    return _unmapped[name]


def _guard(listener: Any, what: str) -> Any:
    """Keep a listener thread that dies (the display went away) from printing a traceback.

    The screen capture notices a lost display too and stops the recording
    with a readable reason; here the loss is only logged.
    """
    run = listener.run

    def guarded_run() -> None:
        try:
            run()
        except Exception as exc:
            log.warning("the %s listener stopped: %s", what, _first_line(exc) or type(exc).__name__)

    listener.run = guarded_run
    return listener


def _quiet_stop(listener: Any) -> None:
    with contextlib.suppress(Exception):
        listener.stop()


def _stop_listeners(listeners: list[Any]) -> None:
    for listener in listeners:
        if not listener.is_alive():
            continue  # died (or never started): pynput's stop() would wait forever for it to get ready
        stopper = threading.Thread(target=_quiet_stop, args=(listener,), name="listener-stop", daemon=True)
        stopper.start()
        stopper.join(STOP_TIMEOUT_S)
    if any(listener.is_alive() for listener in listeners):
        nudge()
    for listener in listeners:
        # Thread.join, not pynput's join: that one also waits for an exception
        # report which a guarded (already logged) failure never sends.
        threading.Thread.join(listener, STOP_TIMEOUT_S)
        if listener.is_alive():
            log.warning("an input listener did not stop within %.0f s; left as a daemon thread", STOP_TIMEOUT_S)


class PynputInput:
    """Mouse (and optionally keyboard) listeners feeding `sink`."""

    positions_exact = True  # the window system says where the pointer is

    def __init__(self, sink: Callable[[RawEvent], None], monotonic: Callable[[], float], keyboard: bool) -> None:
        self._sink = sink
        self._now = monotonic
        self._keyboard = keyboard
        self._listeners: list[Any] = []

    def start(self) -> None:
        pynput = _pynput()
        now = self._now
        sink = self._sink

        def on_move(x: int, y: int) -> None:
            sink(RawMove(now(), int(x), int(y)))

        def on_click(x: int, y: int, button: Any, pressed: bool) -> None:
            sink(RawClick(now(), int(x), int(y), button_name(button), bool(pressed)))

        def on_scroll(x: int, y: int, dx: int, dy: int) -> None:
            sink(RawScroll(now(), int(x), int(y), int(dx), int(dy)))

        mouse = _guard(pynput.mouse.Listener(on_move=on_move, on_click=on_click, on_scroll=on_scroll), "mouse")
        mouse.start()
        self._listeners.append(mouse)
        if self._keyboard:
            keyboard = _guard(pynput.keyboard.Listener(
                on_press=lambda key: sink(key_to_raw(key, True, now())),
                on_release=lambda key: sink(key_to_raw(key, False, now())),
            ), "keyboard")
            keyboard.start()
            self._listeners.append(keyboard)
        try:
            _wait_ready(mouse, "mouse")
            if self._keyboard:
                _wait_ready(self._listeners[1], "keyboard")
        except RecorderError:
            self.stop()
            raise

    def stop(self) -> None:
        listeners, self._listeners = self._listeners, []
        _stop_listeners(listeners)


def pynput_input(sink: Callable[[RawEvent], None], monotonic: Callable[[], float], keyboard: bool) -> InputSource:
    return PynputInput(sink, monotonic, keyboard)


def check_hotkey(hotkey: str) -> None:
    """HotkeyUnavailable when `hotkey` is not valid pynput syntax (e.g. "<ctrl>+<shift>+r")."""
    pynput = _hotkey_pynput(hotkey)
    try:
        keys = pynput.keyboard.HotKey.parse(hotkey)
    except Exception as exc:
        raise HotkeyUnavailable(f"The hotkey {hotkey!r} is not valid: {_first_line(exc)}",
                                "write it like <ctrl>+<shift>+r") from exc
    if not keys:
        raise HotkeyUnavailable(f"The hotkey {hotkey!r} is empty", "write it like <ctrl>+<shift>+r")


def _hotkey_pynput(hotkey: str) -> Any:
    try:
        return _pynput()
    except NoDisplay as exc:
        raise HotkeyUnavailable(f"The hotkey {hotkey} cannot be registered: {exc.message}") from exc


class GlobalHotkey:
    """pynput GlobalHotKeys for one combination; `callback` runs on its own thread."""

    def __init__(self, hotkey: str, callback: Callable[[], None]) -> None:
        self._hotkey = hotkey
        self._callback = callback
        self._listener: Any = None

    def start(self) -> None:
        check_hotkey(self._hotkey)
        pynput = _hotkey_pynput(self._hotkey)

        callback = self._callback

        def act() -> None:
            try:
                callback()
            except Exception as exc:  # e.g. a second press while the first start() runs
                text = exc.user_text() if isinstance(exc, TraycapError) else repr(exc)
                log.warning("hotkey %s: %s", self._hotkey, text)

        def fire() -> None:
            # The listener thread must keep reading keys while the action (stop + export) runs.
            threading.Thread(target=act, name="hotkey-action", daemon=True).start()

        try:
            listener = _guard(pynput.keyboard.GlobalHotKeys({self._hotkey: fire}), "hotkey")
            listener.start()
        except Exception as exc:
            raise HotkeyUnavailable(f"The hotkey {self._hotkey} cannot be registered: {_first_line(exc)}") from exc
        self._listener = listener
        try:
            _wait_ready(listener, "keyboard")
        except RecorderError as exc:
            self.stop()
            raise HotkeyUnavailable(f"The hotkey {self._hotkey} cannot be registered: {exc.message}") from exc

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _stop_listeners([listener])
