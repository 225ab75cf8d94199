"""TrayModel: what the tray shows, kept in memory under one lock, and the AppView built from it.

The recording mode, the upload in progress, the settings and upload config
with what is wrong with them, the problems to show, and every session's row
(SessionCache). Writers are the tray's start-up, its action dispatcher and
its event router; the UI thread reads `view()` and renders it.
"""

from __future__ import annotations

import logging
import math
import threading

from traycap.context import Context
from traycap.errors import TraycapError
from traycap.format import hotkey_label
from traycap.models import AppSettings, AudioMode, UploadConfig, UploadProgress, UploadStatus
from traycap.recorder.api import RecorderState
from traycap.ui import notify
from traycap.ui.menu import RECENT_LIMIT, AppView, RecordingMode
from traycap.ui.session_cache import SessionCache
from traycap.upload.pause import uploads_paused

log = logging.getLogger(__name__)

_MODES = {
    RecorderState.IDLE: RecordingMode.IDLE,
    RecorderState.RECORDING: RecordingMode.RECORDING,
    RecorderState.PAUSED: RecordingMode.PAUSED,
}


def recording_mode(state: RecorderState) -> RecordingMode:
    """The recorder's state as the menu shows it (the menu adds STOPPING while an export runs)."""
    return _MODES[state]


class TrayModel:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.cache = SessionCache()
        self.gate = notify.NotificationGate()
        self.dirty = threading.Event()  # something changed: the UI thread renders again
        self._lock = threading.RLock()
        self._mode = RecordingMode.IDLE
        self._active: UploadProgress | None = None
        self._hotkey_error: str | None = None
        self._recorder_problem: str | None = None
        self._recording_sound = AudioMode.NONE
        self._sound_problem: str | None = None
        self._queue_problem: str | None = None
        self._storage_problem: str | None = None
        self._ready = False
        self._settings = AppSettings()
        self._config: UploadConfig | None = None
        self._config_problem: str | None = None
        self._recording_note: str | None = None
        # Wayland: the keys are the desktop's (GlobalShortcuts portal), not the hotkey setting.
        self._desktop_keys = False
        self._desktop_keys_label: str | None = None
        self._shortcut_note: str | None = None
        self.last_relist = -math.inf

    # --- reading ------------------------------------------------------------
    def view(self) -> AppView:
        pending, failed = self.cache.counts()
        with self._lock:
            return AppView(
                recording=self._mode,
                hotkey_label=self._desktop_keys_label if self._desktop_keys else hotkey_label(self._settings.hotkey),
                hotkey_error=self._hotkey_error,
                recent=self.cache.recent(RECENT_LIMIT),
                pending_count=pending,
                failed_count=failed,
                active_upload=self._active,
                config_problem=self._config_problem or self._queue_problem,
                recorder_problem=self._recorder_problem,
                storage_problem=self._storage_problem,
                ready=self._ready,
                uploads_paused=uploads_paused(self._ctx.paths),
                recording_note=self._recording_note,
                shortcut_note=self._shortcut_note,
                audio=self._settings.audio,
                recording_sound=self._recording_sound,
                sound_problem=self._sound_problem,
            )

    @property
    def mode(self) -> RecordingMode:
        with self._lock:
            return self._mode

    @property
    def settings(self) -> AppSettings:
        with self._lock:
            return self._settings

    def usable_config(self) -> tuple[UploadConfig | None, str | None]:
        """The upload config and, when it cannot be used, why."""
        with self._lock:
            return self._config, self._config_problem

    # --- writing ------------------------------------------------------------
    def changed(self) -> None:
        self.dirty.set()

    def set_mode(self, mode: RecordingMode) -> None:
        with self._lock:
            self._mode = mode
        self.changed()

    def set_settings(self, settings: AppSettings, config: UploadConfig | None, problem: str | None) -> None:
        with self._lock:
            self._settings, self._config, self._config_problem = settings, config, problem
        self.changed()

    def set_hotkey_error(self, message: str | None) -> None:
        with self._lock:
            self._hotkey_error = message
        self.changed()

    def set_recording_note(self, note: str | None) -> None:
        """What the recording holds, shown while it runs."""
        with self._lock:
            self._recording_note = note
        self.changed()

    def set_desktop_keys(self, label: str | None, note: str | None) -> None:
        """Wayland: start/stop keys are the desktop's; `label` what the desktop bound ("Ctrl+Alt+R"), or None and a
        `note` saying how to bind `traycap toggle`."""
        with self._lock:
            self._desktop_keys = True
            self._desktop_keys_label = label
            self._shortcut_note = note
        self.changed()

    def set_recorder_problem(self, message: str | None) -> None:
        with self._lock:
            self._recorder_problem = message
        self.changed()

    def set_recording_sound(self, heard: AudioMode) -> None:
        """A recording started hearing what its settings asked for: no sound problem yet."""
        with self._lock:
            self._recording_sound, self._sound_problem = heard, None
        self.changed()

    def set_sound_problem(self, message: str) -> None:
        with self._lock:
            self._sound_problem = message
        self.changed()

    def set_storage_problem(self, message: str | None) -> None:
        with self._lock:
            self._storage_problem = message
        self.changed()

    def set_queue_problem(self, message: str) -> None:
        with self._lock:
            self._queue_problem = message
        self.changed()

    def set_ready(self) -> None:
        with self._lock:
            self._ready = True
        self.changed()

    def track_upload(self, p: UploadProgress) -> None:
        """The upload in progress, for the icon's percentage and the queue line."""
        with self._lock:
            if p.status is UploadStatus.UPLOADING:
                self._active = p
            elif self._active is not None and self._active.sessionId == p.sessionId:
                self._active = None
        self.changed()

    # --- sessions -----------------------------------------------------------
    def relist(self) -> None:
        """Every session from disk (start-up, and a slow timer for sessions changed by other processes)."""
        listing = self._ctx.sessions.list()
        for problem in listing.problems:
            log.warning("%s", problem)
        self.cache.replace_all(listing.items)
        self.last_relist = self._ctx.clock.monotonic()
        self.changed()

    def refresh_row(self, session_id: str) -> None:
        try:
            self.cache.upsert(self._ctx.sessions.item(session_id))
        except TraycapError as exc:
            log.warning("session %s: %s", session_id, exc.user_text())
        self.changed()
