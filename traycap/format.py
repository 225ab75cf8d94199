"""Values as a person writes and reads them: sizes, durations, times, key combinations (pure; used by
the CLI, the tray and the settings dialog)."""

from __future__ import annotations

import re
import sys
import time

from traycap.models import SessionListItem, UploadStatus


def human_size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def human_duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    total = round(ms / 1000)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def local_time(ms: int) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))
    except (OverflowError, OSError, ValueError):  # a hand-edited createdAt far outside the calendar
        return "?"


def status_text(item: SessionListItem) -> str:
    if item.problem and item.uploadStatus is UploadStatus.NOT_UPLOADED:
        return "problem"
    if item.uploadStatus is UploadStatus.UPLOADING:
        return f"uploading {item.uploadProgress}%"
    if item.uploadStatus is UploadStatus.LIVE:
        return f"uploading while recording: {human_size(item.uploadedBytes)} sent"
    if item.uploadStatus is UploadStatus.NOT_UPLOADED:
        return "not uploaded" if item.isExported else "not exported"
    if item.uploadStatus is UploadStatus.DONE and not item.localCopy:
        return "uploaded, local copy removed"
    return str(item.uploadStatus.value)


# --- key combinations ------------------------------------------------------------------------------
# Stored as pynput writes them ("<ctrl>+<shift>+r", what the hotkey listener takes), written and
# shown as people write them ("Ctrl+Shift+R"). `parse_hotkey` takes either, in any case.

MODIFIER_ORDER = ("ctrl", "shift", "alt", "cmd")
_MODIFIERS = {
    "ctrl": "ctrl", "control": "ctrl", "ctl": "ctrl", "strg": "ctrl", "ctrl_l": "ctrl", "ctrl_r": "ctrl", "⌃": "ctrl",
    "shift": "shift", "shift_l": "shift", "shift_r": "shift", "⇧": "shift",
    "alt": "alt", "option": "alt", "opt": "alt", "alt_l": "alt", "alt_r": "alt", "⌥": "alt",
    "cmd": "cmd", "command": "cmd", "super": "cmd", "win": "cmd", "windows": "cmd", "meta": "cmd", "mod4": "cmd",
    "cmd_l": "cmd", "cmd_r": "cmd", "⌘": "cmd",
}
# pynput's names of the keys that are not one character, and what people call them.
_SPECIAL_KEYS = {
    **{f"f{n}": f"f{n}" for n in range(1, 21)},
    "esc": "esc", "escape": "esc", "enter": "enter", "return": "enter", "space": "space", "spacebar": "space",
    "tab": "tab", "backspace": "backspace", "bksp": "backspace", "delete": "delete", "del": "delete",
    "insert": "insert", "ins": "insert", "home": "home", "end": "end",
    "page_up": "page_up", "pageup": "page_up", "pgup": "page_up", "prior": "page_up",
    "page_down": "page_down", "pagedown": "page_down", "pgdn": "page_down", "next": "page_down",
    "up": "up", "down": "down", "left": "left", "right": "right",
    "print_screen": "print_screen", "printscreen": "print_screen", "prtsc": "print_screen", "print": "print_screen",
    "pause": "pause", "break": "pause", "scroll_lock": "scroll_lock", "scrolllock": "scroll_lock",
    "menu": "menu", "caps_lock": "caps_lock", "capslock": "caps_lock", "num_lock": "num_lock", "numlock": "num_lock",
}
_SPECIAL_LABELS = {"esc": "Esc", "page_up": "PageUp", "page_down": "PageDown", "print_screen": "PrintScreen",
                   "scroll_lock": "ScrollLock", "caps_lock": "CapsLock", "num_lock": "NumLock"}
# What each OS calls pynput's <cmd> and <alt> keys on its keyboards and in its menus.
_SYSTEM_KEY = {"win32": "Win", "darwin": "Cmd"}
_ALT_KEY = {"darwin": "Option"}
HOTKEY_EXAMPLE = "Ctrl+Shift+R"


def parse_hotkey(text: str) -> str:
    """A key combination as people write it ("Ctrl+Shift+R", "ctrl+alt+F9", "Cmd-Option-R") or as pynput
    does ("<ctrl>+<shift>+r"), in pynput's form with the modifiers in one order. ValueError says why not.

    One key and its modifiers; a letter, digit or sign needs Ctrl, Alt or the system key with it (alone,
    or with Shift only, a global shortcut would catch what you type); a function or other named key may
    stand alone."""
    parts = _split_keys(text)
    if not parts:
        raise ValueError(f"write a key combination, for example {HOTKEY_EXAMPLE}")
    modifiers: set[str] = set()
    keys: list[str] = []
    for raw in parts:
        name = raw.strip().strip("<>").strip()
        low = name.lower()
        if low in _MODIFIERS:
            modifiers.add(_MODIFIERS[low])
        elif low.replace(" ", "_") in _SPECIAL_KEYS:
            keys.append(f"<{_SPECIAL_KEYS[low.replace(' ', '_')]}>")
        elif len(name) == 1 and name.isprintable() and not name.isspace():
            keys.append(low)
        else:
            raise ValueError(f"{name!r} is not a key traycap knows (write it like {HOTKEY_EXAMPLE} or Ctrl+Alt+F9)")
    if len(keys) != 1:
        what = "no key, only modifiers" if not keys else f"{len(keys)} keys"
        raise ValueError(f"a shortcut is one key with its modifiers, not {what} (for example {HOTKEY_EXAMPLE})")
    key = keys[0]
    if not key.startswith("<") and not modifiers - {"shift"}:
        raise ValueError(f"{hotkey_label(key)} needs Ctrl, Alt or the system key with it, or every "
                         f"{hotkey_label(key)} you type would start or stop a recording (for example {HOTKEY_EXAMPLE})")
    return "+".join([*(f"<{m}>" for m in MODIFIER_ORDER if m in modifiers), key])


def _split_keys(text: str) -> list[str]:
    text = text.strip()
    if "+" in text:
        if text.endswith("++") or text == "+":
            raise ValueError("the + key cannot be part of a shortcut; choose another key")
        return [p for p in text.split("+") if p.strip()]
    if "-" in text[1:]:  # Ctrl-Shift-R, as some menus write it
        return [p for p in text.split("-") if p.strip()]
    return text.split()


def hotkey_label(spec: str, platform: str = sys.platform) -> str:
    """pynput's "<ctrl>+<shift>+r" as a person of this OS writes it: "Ctrl+Shift+R" (Win+Alt+R, Cmd+Option+R)."""
    system = _SYSTEM_KEY.get(platform, "Super")
    names = {"ctrl": "Ctrl", "shift": "Shift", "alt": _ALT_KEY.get(platform, "Alt"),
             "cmd": system, "super": system, "win": system}
    parts = []
    for raw in spec.split("+"):
        key = raw.strip().strip("<>").lower()
        if not key:
            continue
        base = re.sub(r"_[lr]$", "", key)  # ctrl_l -> ctrl
        if base in names:
            parts.append(names[base])
        elif len(key) == 1:
            parts.append(key.upper())
        else:
            parts.append(_SPECIAL_LABELS.get(key, key.capitalize()))
    return "+".join(parts)
