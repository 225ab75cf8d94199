"""The Upload settings form, pure: which fields there are and on which page, what the widgets show
for the saved settings (`form_values`), and what the typed values mean (`parse_form`: the config,
the settings and an error per field). The Tk dialog (settings.py) only moves strings between its
widgets and these functions; tests drive them without Tk.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from traycap.format import MODIFIER_ORDER, hotkey_label
from traycap.models import (
    MIB,
    AppSettings,
    AudioMode,
    KeystrokePrivacy,
    UploadConfig,
    VideoEncoderSetting,
    WaylandInput,
    WaylandSource,
)
from traycap.storage.config_store import SSE_MODES, check_assignments, check_settings_assignments


@dataclass(frozen=True)
class Field:
    key: str  # UploadConfig / AppSettings JSON name
    label: str
    kind: str  # text | secret | bool | int | choice | device (a choice among the microphones found)
    target: str  # config | settings
    choices: tuple[str, ...] = ()
    hint: str = ""
    tab: str = ""  # the notebook page; "" = the target's page (Upload / Recording)
    wayland: bool | None = None  # shown only on Wayland (True), never there (False), or always (None)

    @property
    def page(self) -> str:
        return self.tab or ("Upload" if self.target == "config" else "Recording")


FIELDS: tuple[Field, ...] = (
    Field("bucket", "Bucket", "text", "config"),
    Field("region", "Region", "text", "config", hint="for example us-east-1"),
    Field("keyPrefix", "Key prefix", "text", "config",
          hint="sessions/ puts sessions/ID.zip in the bucket; {host} {user} {yyyy} {mm} {dd} are filled in"),
    Field("endpointUrl", "Endpoint URL", "text", "config", hint="blank for AWS; http://host:port for MinIO etc."),
    Field("pathStyle", "Path-style addressing", "bool", "config"),
    Field("accessKeyId", "Access key ID", "text", "config"),
    Field("secretAccessKey", "Secret access key", "secret", "config"),
    Field("sessionToken", "Session token (optional)", "secret", "config"),
    Field("profile", "AWS profile (instead of keys)", "text", "config"),
    Field("useDefaultCredentials", "Use the standard AWS credential chain (no keys here)", "bool", "config"),
    Field("maxRetries", "Max retries", "int", "config"),
    Field("partSizeMiB", "Part size (MiB)", "int", "config", hint="5 or more"),
    Field("maxUploadMBps", "Upload rate cap (MB/s)", "text", "config", hint="0 = no cap; 2.5 = 2.5 MB/s"),
    Field("sse", "Server-side encryption", "choice", "config", SSE_MODES,
          hint="none, AES256 (keys kept by S3) or aws:kms"),
    Field("sseKmsKeyId", "KMS key (with aws:kms)", "text", "config", hint="key id, key ARN or alias/NAME"),
    Field("autoUpload", "Upload automatically after a recording stops", "bool", "config"),
    Field("uploadWhileRecording", "Upload while recording (the link is ready moments after Stop)", "bool",
          "config", hint="with automatic upload"),
    Field("hotkey", "Start/stop shortcut", "text", "settings", hint="for example Ctrl+Shift+R", wayland=False),
    Field("fps", "Frames per second", "int", "settings"),
    Field("screenshotIntervalS", "Screenshot every (seconds)", "text", "settings"),
    Field("keystrokePrivacy", "Keystrokes", "choice", "settings", tuple(k.value for k in KeystrokePrivacy),
          hint="full, no_text (letters masked) or none"),
    Field("encoder", "Video encoder", "choice", "settings", tuple(e.value for e in VideoEncoderSetting),
          hint="auto (a hardware encoder when one works), hardware, or x264 (the CPU)"),
    Field("excludedApps", "Never record these apps", "text", "settings",
          hint="comma-separated window classes or titles: KeePassXC, 1Password, *Private Browsing*", wayland=False),
    Field("excludedApps", "Never record these apps", "text", "settings", wayland=True,
          hint="on Wayland traycap cannot see which window has focus, so a recording with apps listed here does "
               "not start; record one window instead (What to record: window, clicks and keys: none)"),
    Field("waylandSource", "What to record", "choice", "settings", tuple(v.value for v in WaylandSource),
          hint="window: the desktop's picker lists windows, and only the one you pick is recorded", wayland=True),
    Field("waylandInput", "Clicks and keys", "choice", "settings", tuple(v.value for v in WaylandInput),
          hint="devices: read the keyboard and mouse directly; needs your user in the input group "
               "(sudo usermod -aG input $USER, then log in again), which lets every program you run read every key",
          wayland=True),
    Field("recordMicrophone", "Record microphone", "bool", "settings"),
    Field("audioDevice", "Microphone", "device", "settings", hint="the system's default input unless you choose"),
    Field("recordSystemSound", "Record the computer's sound", "bool", "settings",
          hint="what the computer plays (Linux, Windows; macOS needs a loopback device)"),
    Field("copyLinkOnDone", "Copy the share link when an upload is done", "bool", "settings", tab="Upload"),
    Field("keepUploadedDays", "Keep uploaded sessions locally (days)", "int", "settings",
          hint="0 = delete once verified, -1 = keep forever", tab="Storage"),
    Field("localBudgetMB", "Local disk budget (MB)", "int", "settings", hint="0 = no budget", tab="Storage"),
    Field("minFreeMB", "Stop recording below free disk (MB)", "int", "settings", hint="0 = no check",
          tab="Storage"),
)
# One page each, so the dialog fits a 1366x768 laptop screen with room to spare.
PAGES = ("Upload", "Recording", "Storage")
# Said plainly before anyone records (issue: people must know what a recording holds).
WHAT_IS_RECORDED = (
    "A recording holds the screen (video and screenshots), every mouse move and click, and every key you "
    "type, passwords included, unless Keystrokes is no_text or none. While a window listed under "
    "\"Never record these apps\" has focus, its keys are left out and the screen is recorded blank. "
    "Sound only when you ask: with Record microphone, everything the microphone hears (voices in the room "
    "too); with the computer's sound, everything the computer plays, muted while an excluded app has focus."
)
WHAT_IS_RECORDED_ON_WAYLAND = (
    "On this Wayland desktop a recording holds the screen (video and screenshots) with the pointer drawn in. "
    "Clicks and keys are recorded only with \"Clicks and keys\" set to devices, and then every key you type, "
    "passwords included, unless Keystrokes is no_text or none. The desktop asks once which screen (or window) to "
    "record, and remembers it. Sound only when you ask: with Record microphone, everything the microphone hears "
    "(voices in the room too); with the computer's sound, everything the computer plays."
)
# Wayland lets no app listen for keys: the desktop binds them (GlobalShortcuts portal), or the person binds
# traycap's commands in the desktop's keyboard settings (docs/wayland.md).
KEYS_BY_DESKTOP = (
    "Start/stop keys: apps cannot listen for keys on Wayland, so bind traycap's commands in your desktop:",
    "GNOME: Settings > Keyboard > View and Customize Shortcuts > Custom Shortcuts > +: Name \"traycap toggle\", "
    "Command \"{command} toggle\", Shortcut Ctrl+Alt+R (and \"{command} pause\" on Ctrl+Alt+P).",
    "KDE Plasma: System Settings > Keyboard > Shortcuts > Add New > Command or Script: \"{command} toggle\", then "
    "set its shortcut (Ctrl+Alt+R); the same for \"{command} pause\".",
    "sway: bindsym Ctrl+Alt+r exec {command} toggle (and pause) in ~/.config/sway/config.",
)
KEYS_FROM_DESKTOP = (
    "Start/stop keys: your desktop binds traycap's shortcuts (it asked you the first time: Ctrl+Alt+R to start or "
    "stop, Ctrl+Alt+P to pause, unless you chose others); change them in the desktop's keyboard settings."
)


@dataclass(frozen=True)
class DesktopInfo:
    """What the dialog says depends on: a Wayland session, whether its desktop binds global shortcuts for apps,
    and the command the person binds (`traycap`, or the full path where it is not on PATH)."""

    wayland: bool = False
    shortcuts_portal: bool = False
    command: str = "traycap"


def fields_for(desktop: DesktopInfo) -> tuple[Field, ...]:
    return tuple(f for f in FIELDS if f.wayland is None or f.wayland == desktop.wayland)


def what_is_recorded(desktop: DesktopInfo) -> str:
    return WHAT_IS_RECORDED_ON_WAYLAND if desktop.wayland else WHAT_IS_RECORDED


def keys_text(desktop: DesktopInfo) -> str | None:
    """How to start and stop from the keyboard, where the shortcut field cannot (Wayland); None elsewhere."""
    if not desktop.wayland:
        return None
    if desktop.shortcuts_portal:
        return KEYS_FROM_DESKTOP
    return "\n".join(line.format(command=desktop.command) for line in KEYS_BY_DESKTOP)


DEFAULT_DEVICE = "(the system's default microphone)"  # the device list's first entry: audioDevice ""
EXCLUDED_SEPARATOR = ","
FIELD_BY_KEY = {f.key: f for f in fields_for(DesktopInfo())}  # as an X11, Windows or macOS dialog shows them
RETENTION_KEYS = ("keepUploadedDays", "localBudgetMB", "minFreeMB")  # whole numbers, as typed
SETTINGS_TEXT_KEYS = ("hotkey", "fps", "screenshotIntervalS", "keystrokePrivacy", "encoder", "excludedApps",
                      "waylandSource", "waylandInput", *RETENTION_KEYS)


def form_values(config: UploadConfig | None, settings: AppSettings) -> dict[str, Any]:
    """What the widgets show: strings for entries, bools for check boxes."""
    c = config or UploadConfig()
    return {
        "bucket": c.bucket,
        "region": c.region,
        "keyPrefix": c.keyPrefix,
        "endpointUrl": c.endpointUrl or "",
        "pathStyle": c.pathStyle,
        "accessKeyId": c.accessKeyId,
        "secretAccessKey": c.secretAccessKey,
        "sessionToken": c.sessionToken or "",
        "profile": c.profile or "",
        "useDefaultCredentials": c.useDefaultCredentials,
        "maxRetries": str(c.maxRetries),
        "partSizeMiB": _mib_text(c.partSizeBytes),
        "maxUploadMBps": f"{c.maxUploadMBps:g}",
        "sse": c.sse,
        "sseKmsKeyId": c.sseKmsKeyId or "",
        "autoUpload": c.autoUpload,
        "uploadWhileRecording": c.uploadWhileRecording,
        "hotkey": hotkey_label(settings.hotkey),
        "fps": str(settings.fps),
        "screenshotIntervalS": f"{settings.screenshotIntervalS:g}",
        "keystrokePrivacy": settings.keystrokePrivacy.value,
        "encoder": settings.encoder.value,
        "copyLinkOnDone": settings.copyLinkOnDone,
        "excludedApps": f"{EXCLUDED_SEPARATOR} ".join(settings.excludedApps),
        "waylandSource": settings.waylandSource.value,
        "waylandInput": settings.waylandInput.value,
        "recordMicrophone": settings.audio.mic,
        "recordSystemSound": settings.audio.system,
        "audioDevice": settings.audioDevice or DEFAULT_DEVICE,
        **{key: str(getattr(settings, key)) for key in RETENTION_KEYS},
    }


def _mib_text(n: int) -> str:
    return str(n // MIB) if n % MIB == 0 else f"{n / MIB:g}"


def parse_form(
    values: dict[str, Any], base_config: UploadConfig | None, base_settings: AppSettings,
) -> tuple[UploadConfig | None, AppSettings | None, dict[str, str]]:
    """(config, settings, errors by field key). Config (or settings) is None when one of its fields is bad;
    Save needs no errors at all, Test connection only a good config."""
    errors: dict[str, str] = {}
    text = {k: str(v).strip() for k, v in values.items() if not isinstance(v, bool)}
    flags = {k: v for k, v in values.items() if isinstance(v, bool)}
    assignments = {
        k: text.get(k, "") for k in (
            "bucket", "region", "keyPrefix", "endpointUrl", "accessKeyId", "secretAccessKey", "sessionToken",
            "profile", "maxRetries", "maxUploadMBps", "sse", "sseKmsKeyId",
        )
    }
    assignments["pathStyle"] = "true" if flags.get("pathStyle") else "false"
    assignments["autoUpload"] = "true" if flags.get("autoUpload") else "false"
    assignments["uploadWhileRecording"] = "true" if flags.get("uploadWhileRecording", True) else "false"
    assignments["useDefaultCredentials"] = "true" if flags.get("useDefaultCredentials") else "false"
    part = text.get("partSizeMiB", "")
    try:
        mib = float(part)
        if mib <= 0:
            raise ValueError
        assignments["partSizeBytes"] = str(int(mib * MIB))
    except ValueError:
        errors["partSizeMiB"] = "must be a number of MiB, 5 or more"
    # Every problem at once: values that do not parse AND what validation finds in the rest.
    config: UploadConfig | None
    config, problems = check_assignments(base_config or UploadConfig(), assignments)
    for key, message in problems.items():
        errors.setdefault("partSizeMiB" if key == "partSizeBytes" else key, message)
    config_bad = bool(errors)

    settings: AppSettings | None
    # Only the fields the dialog shows: on Wayland there is no shortcut field, on X11 no Wayland fields.
    settings, settings_errors = check_settings_assignments(base_settings, {
        **{key: text[key] for key in SETTINGS_TEXT_KEYS if key in text},
        **({"copyLinkOnDone": "true" if flags["copyLinkOnDone"] else "false"} if "copyLinkOnDone" in flags else {}),
        **({"audio": audio_mode(mic=bool(flags.get("recordMicrophone")),
                                 system=bool(flags.get("recordSystemSound"))).value}
           if "recordMicrophone" in flags or "recordSystemSound" in flags else {}),
        **({"audioDevice": "" if text["audioDevice"] in ("", DEFAULT_DEVICE) else text["audioDevice"]}
           if "audioDevice" in text else {}),
    })
    errors.update(settings_errors)
    return (None if config_bad else config), (None if settings_errors else settings), errors


def audio_mode(*, mic: bool, system: bool) -> AudioMode:
    """The `audio` setting the two check boxes make."""
    if mic and system:
        return AudioMode.BOTH
    return AudioMode.MIC if mic else AudioMode.SYSTEM if system else AudioMode.NONE


def device_choices(found: list[str], saved: str) -> list[str]:
    """The microphone list: the default first, then every microphone found, and the saved one even when
    it is not plugged in now (so Save does not change it by accident)."""
    names = [DEFAULT_DEVICE, *found]
    if saved and saved not in names:
        names.append(saved)
    return names


def merge_changed_elsewhere(current: dict[str, Any], shown: dict[str, Any],
                            incoming: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The form once another program changed the settings files while the dialog is open: a field the
    user has not edited takes the new value, an edited one keeps the user's text. Returns the values
    and the edited fields that now differ from the files."""
    merged: dict[str, Any] = {}
    kept: list[str] = []
    for key, new in incoming.items():
        mine = current.get(key, new)
        if mine == shown.get(key):
            merged[key] = new
        else:
            merged[key] = mine
            if mine != new:
                kept.append(key)
    return merged, kept


# --- the "Record shortcut" button: a key press as the field shows it -------------------------------
# Tk's event.state bits for the modifiers held, per windowing system (Tk's own docs and tk.tcl).
_STATE_BITS = {
    "x11": ((0x4, "ctrl"), (0x1, "shift"), (0x8, "alt"), (0x40, "cmd")),
    "win32": ((0x4, "ctrl"), (0x1, "shift"), (0x20000, "alt"), (0x40, "cmd")),
    "darwin": ((0x4, "ctrl"), (0x1, "shift"), (0x10, "alt"), (0x8, "cmd")),
}
_MODIFIER_KEYSYMS = frozenset({
    "Shift_L", "Shift_R", "Control_L", "Control_R", "Alt_L", "Alt_R", "Meta_L", "Meta_R", "Super_L", "Super_R",
    "Hyper_L", "Hyper_R", "ISO_Level3_Shift", "Mode_switch", "Caps_Lock", "Num_Lock", "Win_L", "Win_R",
    "Option_L", "Option_R", "Command",
})
# Tk keysyms -> pynput's key names (the rest of the named keys are the same, in lower case).
_KEYSYMS = {"Return": "enter", "Escape": "esc", "Prior": "page_up", "Next": "page_down", "BackSpace": "backspace",
            "Print": "print_screen", "KP_Enter": "enter", "minus": "-", "equal": "=", "comma": ",", "period": ".",
            "slash": "/", "backslash": "\\", "semicolon": ";", "apostrophe": "'", "grave": "`",
            "bracketleft": "[", "bracketright": "]"}


def shortcut_from_keypress(keysym: str, state: int, platform: str = sys.platform) -> str | None:
    """The combination a key press makes, as the hotkey field shows it ("Ctrl+Alt+F9"); None while only
    modifiers are held (the dialog waits for the key). Whether it can be a shortcut is checked on Save
    (parse_form), like a typed one."""
    if keysym in _MODIFIER_KEYSYMS:
        return None
    bits = _STATE_BITS.get(platform, _STATE_BITS["x11"])
    mods = [name for bit, name in bits if state & bit]
    name = _KEYSYMS.get(keysym, keysym)
    key = name.lower() if len(name) == 1 else f"<{name.lower()}>"
    ordered = [f"<{m}>" for m in MODIFIER_ORDER if m in mods]
    return hotkey_label("+".join([*ordered, key]), platform)
