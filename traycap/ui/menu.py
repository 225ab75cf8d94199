"""The tray menu, icon state and tooltip as pure functions of an AppView.

Nothing here touches a GUI toolkit or the disk: the app builds an AppView from
its caches, `build_menu` turns it into plain MenuItem values, and ui/tray.py
renders those with pystray. Tests drive these functions directly.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from traycap.format import human_duration, human_size, local_time, status_text
from traycap.models import AudioMode, SessionListItem, UploadProgress, UploadStatus

RECENT_LIMIT = 10


class RecordingMode(enum.Enum):
    IDLE = "idle"
    STARTING = "starting"  # start requested: the screen is being opened (on Wayland the desktop's picker may show)
    RECORDING = "recording"
    PAUSED = "paused"
    STOPPING = "stopping"  # stop requested; the session is being exported


class ActionKind(enum.Enum):
    TOGGLE_RECORDING = "toggle_recording"
    PAUSE = "pause"
    RESUME = "resume"
    UPLOAD = "upload"
    RETRY = "retry"
    CANCEL = "cancel"
    COPY_LINK = "copy_link"
    VIEW = "view"
    OPEN_FOLDER = "open_folder"
    SHOW_ERROR = "show_error"
    OPEN_SETTINGS = "open_settings"
    OPEN_SESSIONS_FOLDER = "open_sessions_folder"
    TOGGLE_MICROPHONE = "toggle_microphone"  # the `audio` setting's microphone, for the next recording
    PAUSE_UPLOADS = "pause_uploads"
    RESUME_UPLOADS = "resume_uploads"
    QUIT = "quit"


SESSION_ACTIONS = (
    ActionKind.VIEW, ActionKind.UPLOAD, ActionKind.RETRY, ActionKind.CANCEL,
    ActionKind.COPY_LINK, ActionKind.OPEN_FOLDER, ActionKind.SHOW_ERROR,
)


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    session_id: str | None = None

    @property
    def id(self) -> str:
        """A stable string id ("upload:SESSION"), handy in logs and tests."""
        return f"{self.kind.value}:{self.session_id}" if self.session_id else self.kind.value


@dataclass(frozen=True)
class MenuItem:
    label: str
    action: Action | None = None
    enabled: bool = True
    children: tuple[MenuItem, ...] = ()
    separator: bool = False

    @property
    def is_submenu(self) -> bool:
        return bool(self.children)


SEPARATOR = MenuItem(label="", enabled=False, separator=True)


class IconState(enum.Enum):
    IDLE = "idle"
    RECORDING = "recording"
    PAUSED = "paused"
    UPLOADING = "uploading"
    ATTENTION = "attention"


@dataclass(frozen=True)
class IconSpec:
    state: IconState
    progress: int = 0  # 0-100, only meaningful while uploading


@dataclass(frozen=True)
class AppView:
    """Everything the menu, icon and tooltip depend on; built by the app from its caches."""

    recording: RecordingMode = RecordingMode.IDLE
    hotkey_label: str | None = "Ctrl+Shift+R"
    hotkey_error: str | None = None
    recent: tuple[SessionListItem, ...] = ()  # newest first; the menu shows RECENT_LIMIT
    pending_count: int = 0
    failed_count: int = 0
    active_upload: UploadProgress | None = None
    config_problem: str | None = None  # "No upload settings yet", ...
    recorder_problem: str | None = None  # the last recording error, until the next start
    storage_problem: str | None = None  # sessions not uploaded fill the local disk budget, low disk
    ready: bool = True  # start-up (recovery, restore) finished
    uploads_paused: bool = False  # `traycap pause-uploads` or the menu; kept across restarts
    recording_note: str | None = None  # while recording: what it holds ("Recording screen with pointer; no clicks...")
    shortcut_note: str | None = None  # Wayland without global shortcuts: how to start/stop from the keyboard
    audio: AudioMode = AudioMode.NONE  # the setting: what the next recording hears
    recording_sound: AudioMode = AudioMode.NONE  # what the recording in progress hears (its settings at Start)
    sound_problem: str | None = None  # why the recording in progress lacks sound from a device (until the next)


def row_label(item: SessionListItem) -> str:
    """One recent-session row: local date-time, duration, size, status."""
    status = status_text(item)
    status = status[:1].upper() + status[1:]
    size = human_size(item.fileSizeBytes)
    return f"{local_time(item.createdAt)}  {human_duration(item.durationMs)}  {size}  {status}"


def session_actions(item: SessionListItem, *, can_upload: bool = True) -> tuple[MenuItem, ...]:
    """Only the actions that are valid in the session's state (the state machine in docs/design.md)."""
    sid = item.sessionId
    items: list[MenuItem] = []
    status = item.uploadStatus
    if item.isExported or status is UploadStatus.DONE:  # done: the page still works when retention removed the zip
        items.append(MenuItem("View", Action(ActionKind.VIEW, sid)))
    if status is UploadStatus.NOT_UPLOADED and item.isExported:
        label = "Upload" if can_upload else "Upload (open Upload settings first)"
        items.append(MenuItem(label, Action(ActionKind.UPLOAD, sid), enabled=can_upload))
    elif status is UploadStatus.FAILED:
        items.append(MenuItem("Retry", Action(ActionKind.RETRY, sid), enabled=can_upload))
    elif status in (UploadStatus.PENDING, UploadStatus.UPLOADING, UploadStatus.LIVE):
        items.append(MenuItem("Cancel upload", Action(ActionKind.CANCEL, sid)))
    elif status is UploadStatus.DONE:
        items.append(MenuItem("Copy share link", Action(ActionKind.COPY_LINK, sid), enabled=can_upload))
    items.append(MenuItem("Open folder", Action(ActionKind.OPEN_FOLDER, sid)))
    if item.problem or (item.lastUploadError and status is not UploadStatus.DONE):
        items.append(MenuItem("Show error", Action(ActionKind.SHOW_ERROR, sid)))
    return tuple(items)


INFO_LINE_MAX = 80  # characters: a longer line makes the whole menu wider than a small screen


def _fit(text: str) -> str:
    """An information line cut to INFO_LINE_MAX (the full text is in the notification and the log)."""
    return text if len(text) <= INFO_LINE_MAX else text[: INFO_LINE_MAX - 1].rstrip() + "…"


def build_menu(view: AppView) -> tuple[MenuItem, ...]:
    items: list[MenuItem] = []
    keys = f" ({view.hotkey_label})" if view.hotkey_label and not view.hotkey_error else ""
    mode = view.recording
    if mode is RecordingMode.IDLE:
        items.append(MenuItem(f"Start recording{keys}", Action(ActionKind.TOGGLE_RECORDING), enabled=view.ready))
    elif mode is RecordingMode.STARTING:
        items.append(MenuItem("Starting recording…", None, enabled=False))
    elif mode is RecordingMode.STOPPING:
        items.append(MenuItem("Stopping and exporting…", None, enabled=False))
    else:
        items.append(MenuItem(f"Stop recording{keys}", Action(ActionKind.TOGGLE_RECORDING)))
        if mode is RecordingMode.RECORDING:
            items.append(MenuItem("Pause", Action(ActionKind.PAUSE)))
        else:
            items.append(MenuItem("Resume", Action(ActionKind.RESUME)))
        if view.recording_note:
            items.append(MenuItem(_fit(view.recording_note), None, enabled=False))
    if view.shortcut_note and mode is RecordingMode.IDLE:
        items.append(MenuItem(_fit(view.shortcut_note), None, enabled=False))
    if view.hotkey_error:
        items.append(MenuItem(_fit(f"Hotkey unavailable: {view.hotkey_error}"), None, enabled=False))
    if view.recorder_problem:
        items.append(MenuItem(_fit(f"Recording problem: {view.recorder_problem}"), None, enabled=False))
    if mode in (RecordingMode.RECORDING, RecordingMode.PAUSED) and view.recording_sound is not AudioMode.NONE:
        items.append(MenuItem(f"Recording sound: {sound_words(view.recording_sound)}", None, enabled=False))
    if mode is not RecordingMode.IDLE and view.sound_problem:
        items.append(MenuItem(_fit(f"No sound: {view.sound_problem}"), None, enabled=False))
    items.append(SEPARATOR)

    recent = view.recent[:RECENT_LIMIT]
    can_upload = view.config_problem is None
    if recent:
        rows = tuple(
            MenuItem(row_label(s), None, enabled=True, children=session_actions(s, can_upload=can_upload))
            for s in recent
        )
        items.append(MenuItem("Recent sessions", None, enabled=True, children=rows))
    else:
        items.append(MenuItem("Recent sessions: none yet", None, enabled=False))
    queue_line = f"Upload queue: {view.pending_count} pending"
    if view.active_upload is not None:
        queue_line += f", uploading {view.active_upload.progress}%"
    if view.uploads_paused:
        queue_line += " (paused)"
    items.append(MenuItem(queue_line, None, enabled=False))
    if view.uploads_paused:
        items.append(MenuItem("Resume uploads", Action(ActionKind.RESUME_UPLOADS)))
    else:
        items.append(MenuItem("Pause uploads", Action(ActionKind.PAUSE_UPLOADS)))
    if view.failed_count:
        noun = "upload" if view.failed_count == 1 else "uploads"
        items.append(MenuItem(f"{view.failed_count} {noun} failed (see Recent sessions)", None, enabled=False))
    if view.config_problem:
        items.append(MenuItem(_fit(f"Upload settings needed: {view.config_problem}"), None, enabled=False))
    if view.storage_problem:
        items.append(MenuItem(_fit(f"Disk: {view.storage_problem}"), None, enabled=False))
    items.append(SEPARATOR)
    mic = "Microphone: " + ("on" if view.audio.mic else "off")
    items.append(MenuItem(mic if mode is RecordingMode.IDLE else f"{mic} (next recording)",
                          Action(ActionKind.TOGGLE_MICROPHONE)))
    items.append(MenuItem("Upload settings…", Action(ActionKind.OPEN_SETTINGS)))
    items.append(MenuItem("Open sessions folder", Action(ActionKind.OPEN_SESSIONS_FOLDER)))
    items.append(SEPARATOR)
    items.append(MenuItem("Quit", Action(ActionKind.QUIT)))
    return tuple(items)


def sound_words(mode: AudioMode) -> str:
    return {AudioMode.MIC: "microphone", AudioMode.SYSTEM: "computer's sound",
            AudioMode.BOTH: "microphone and computer's sound"}.get(mode, "none")


def icon_spec(view: AppView) -> IconSpec:
    """Recording beats uploading beats attention beats idle: what the user must notice first."""
    if view.recording in (RecordingMode.RECORDING, RecordingMode.STOPPING):
        return IconSpec(IconState.RECORDING)
    if view.recording is RecordingMode.PAUSED:
        return IconSpec(IconState.PAUSED)
    if view.active_upload is not None:
        return IconSpec(IconState.UPLOADING, max(0, min(100, view.active_upload.progress)))
    if view.failed_count or view.config_problem or view.hotkey_error or view.recorder_problem or \
            view.storage_problem:
        return IconSpec(IconState.ATTENTION)
    return IconSpec(IconState.IDLE)


def tooltip(view: AppView) -> str:
    """The icon state in words."""
    spec = icon_spec(view)
    waiting = f", {view.pending_count} waiting" if view.pending_count else ""
    if view.recording is RecordingMode.STOPPING:
        text = "stopping and exporting the recording"
    elif view.recording is RecordingMode.STARTING:
        text = "starting a recording"
    elif spec.state is IconState.RECORDING:
        text = "recording"
        if view.recording_sound is not AudioMode.NONE:
            text += " with the " + sound_words(view.recording_sound)
            text += " (no sound from a device)" if view.sound_problem else ""
    elif spec.state is IconState.PAUSED:
        text = "recording paused"
    elif spec.state is IconState.UPLOADING:
        text = f"uploading {spec.progress}%"
        pending_others = max(0, view.pending_count - 1)
        waiting = f", {pending_others} more waiting" if pending_others else ""
        if view.uploads_paused:
            text += " (pausing at the end of this part)"
    elif spec.state is IconState.ATTENTION:
        reasons = []
        if view.failed_count:
            reasons.append(f"{view.failed_count} upload{'s' if view.failed_count != 1 else ''} failed")
        if view.config_problem:
            reasons.append(view.config_problem)
        if view.hotkey_error:
            reasons.append("hotkey unavailable")
        if view.recorder_problem:
            reasons.append("recording problem")
        if view.storage_problem:
            reasons.append(view.storage_problem)
        text = "needs attention: " + "; ".join(reasons)
    else:
        text = "idle"
    if view.uploads_paused and spec.state is not IconState.UPLOADING:
        waiting += ", uploads paused"
    return f"traycap: {text}{waiting}"


def find_action(items: tuple[MenuItem, ...], action_id: str) -> MenuItem | None:
    """Depth-first search by Action.id (tests and the bench use it)."""
    for item in items:
        if item.action is not None and item.action.id == action_id:
            return item
        found = find_action(item.children, action_id)
        if found is not None:
            return found
    return None
