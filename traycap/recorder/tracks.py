"""What a recording holds besides its video, and why (pure): the input backend a desktop session gets,
the excluded apps it can honour, and the `tracks` of session.json that the tray and the replay page show.

    X11, Windows, macOS   pynput hears every click and key: pointer positions, clicks, keys (by keystrokePrivacy)
    Wayland               no app hears clicks and keys outside its own windows: no click or key track, the
                          pointer drawn into the video by the compositor; with waylandInput=devices (the
                          person in the `input` group) the input devices themselves: clicks, keys, pointer
                          positions estimated from mouse motion (exact on a touchscreen)

session.json's "tracks" says it plainly, e.g. on Wayland without devices:
    {"video": true, "cursor": "embedded", "pointer": "none", "clicks": false, "keys": false,
     "why": "on Wayland no app can hear clicks and keys outside its own windows; ..."}
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

from traycap.errors import RecorderError
from traycap.models import AppSettings, KeystrokePrivacy, WaylandInput, WaylandSource
from traycap.osutil.desktop import WAYLAND

WAYLAND_NO_INPUT = ("on Wayland no app can hear clicks and keys outside its own windows; to record them, set "
                    "Clicks and keys to devices in the settings (waylandInput=devices, your user in the input group)")
NO_KEYS_BY_SETTING = "keystrokes are not recorded (Keystrokes is none)"
EXCLUSIONS_ON_WAYLAND = RecorderError(
    "On Wayland traycap cannot see which window has focus, so \"Never record these apps\" cannot be honoured",
    "record only one window instead (Wayland: what to record = window, clicks and keys = none), or clear the "
    "list of apps to exclude",
)


class InputBackend(str, enum.Enum):
    PYNPUT = "pynput"  # X11, Windows, macOS
    EVDEV = "evdev"  # Wayland, the input devices (opted in)
    NONE = "none"  # Wayland without the input devices: no click or key track


@dataclass(frozen=True)
class InputPlan:
    backend: InputBackend
    why_not: str | None = None  # why there is no input track (NONE)


def plan_input(session: str, settings: AppSettings) -> InputPlan:
    if session != WAYLAND:
        return InputPlan(InputBackend.PYNPUT)
    if settings.waylandInput is WaylandInput.DEVICES:
        return InputPlan(InputBackend.EVDEV)
    return InputPlan(InputBackend.NONE, WAYLAND_NO_INPUT)


def exclusions(session: str, settings: AppSettings, *, window_pick: bool | None = None) -> tuple[str, ...]:
    """The excludedApps patterns a recording applies; RecorderError when they cannot be honoured.

    On Wayland nothing tells an app which window has focus. A recording of one window (the person picked
    it) with no input devices read holds nothing of any other app, so the list is moot; anything else
    could record an excluded app's screen or keys, so it does not start. `window_pick` None: asked before
    the picker (a window is asked for), True/False: what the desktop gave.
    """
    if not settings.excludedApps or session != WAYLAND:
        return settings.excludedApps
    window = settings.waylandSource is WaylandSource.WINDOW if window_pick is None else window_pick
    if window and settings.waylandInput is WaylandInput.NONE:
        return ()
    raise EXCLUSIONS_ON_WAYLAND


@dataclass(frozen=True)
class Tracks:
    """What the recording holds: session.json's "tracks"."""

    video: bool = True
    cursor: str = "hidden"  # the pointer in the video: embedded (drawn in), metadata, hidden
    pointer: str = "exact"  # pointer positions among the actions: exact, estimated, none
    clicks: bool = True
    keys: bool = True
    why: str | None = None  # why a track is missing, in words

    @classmethod
    def of(cls, *, cursor: str, input_running: bool, positions_exact: bool, keyboard: bool,
           why_no_input: str | None) -> Tracks:
        if not input_running:
            return cls(cursor=cursor, pointer="none", clicks=False, keys=False, why=why_no_input)
        return cls(cursor=cursor, pointer="exact" if positions_exact else "estimated", clicks=True, keys=keyboard,
                   why=None if keyboard else NO_KEYS_BY_SETTING)

    def with_(self, **changes: Any) -> Tracks:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {"video": self.video, "cursor": self.cursor, "pointer": self.pointer, "clicks": self.clicks,
                "keys": self.keys, "why": self.why}


def keyboard_wanted(settings: AppSettings) -> bool:
    return settings.keystrokePrivacy is not KeystrokePrivacy.NONE


def summary(tracks: dict[str, Any] | None) -> str | None:
    """The tray's line while recording: what this recording holds (None: a recording of an older traycap)."""
    if not tracks:
        return None
    held = ["screen"]
    if tracks.get("pointer") in ("exact", "estimated"):
        held.append("pointer" if tracks["pointer"] == "exact" else "pointer (estimated)")
    elif tracks.get("cursor") == "embedded":
        held[0] = "screen with pointer"
    if tracks.get("clicks"):
        held.append("clicks")
    if tracks.get("keys"):
        held.append("keys")
    text = "Recording " + ", ".join(held)
    missing = [name for name in ("clicks", "keys") if not tracks.get(name)]
    if missing:
        text += f"; no {' or '.join(missing)}"
        if tracks.get("pointer") == "none" and tracks.get("why") == WAYLAND_NO_INPUT:
            text += " (Wayland)"
    return text
