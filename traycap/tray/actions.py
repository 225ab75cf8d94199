"""ActionDispatcher: what a menu click or the hotkey does (recording, upload requests, links, folders,
the settings dialog).

The toolkit's thread and pynput's only post work (`handle`, `hotkey_pressed`);
it runs on the ActionRunner's lanes: recording work and Quit keep their order
on the main lane, the rest runs on another, so it still answers during a long
export. A failing action becomes a notification, never a dead menu.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from traycap.context import Context
from traycap.errors import ConfigError, TraycapError, UiError
from traycap.models import AudioMode, UploadStatus
from traycap.recorder.api import Recorder, RecorderState
from traycap.sharing.requests import UploadRequests
from traycap.storage.config_store import save_settings
from traycap.tray.parts import Parts, ProcessLike, Running
from traycap.tray.view import TrayModel, recording_mode
from traycap.ui import notify
from traycap.ui.action_runner import MAIN_LANE, ActionRunner
from traycap.ui.menu import Action, ActionKind, RecordingMode
from traycap.ui.tray_requests import TrayAction, TrayAnswer
from traycap.upload.pause import set_uploads_paused

log = logging.getLogger(__name__)

_RECORDING_ACTIONS = frozenset({ActionKind.TOGGLE_RECORDING, ActionKind.PAUSE, ActionKind.RESUME,
                                ActionKind.QUIT})
_SETTINGS_EXIT_OK = (0, 3, -15)  # saved, cancelled, ended by our quit


class ActionDispatcher:
    def __init__(self, ctx: Context, parts: Parts, model: TrayModel, running: Running, requests: UploadRequests, *,
                 show_mode: Callable[[RecordingMode], None], quit: Callable[[], None],
                 settings_closed: Callable[[], None]) -> None:
        self._ctx = ctx
        self._parts = parts
        self._requests = requests
        self._model = model
        self._running = running
        self._show_mode = show_mode  # sets the mode and renders at once
        self._quit = quit
        self._settings_closed = settings_closed
        self._settings_proc: ProcessLike | None = None
        self.runner = ActionRunner(self._failed)

    # --- entry points (other threads) ------------------------------------------
    def handle(self, action: Action) -> None:
        """Called on the toolkit's thread: never blocks."""
        recorder = self._running.recorder
        if action.kind is ActionKind.QUIT and recorder is not None:
            recorder.abort_start()  # a screen picker left open must not hold Quit back (it waits on the same lane)
        lane = MAIN_LANE if action.kind in _RECORDING_ACTIONS else "menu"
        self.runner.post(action.id, lambda: self.perform(action), lane=lane)

    def hotkey_pressed(self) -> None:
        settings = self._settings_proc
        if settings is not None and settings.poll() is None:
            # The settings window may be listening for a new shortcut ("Record shortcut"): pressing
            # the current one there must not start a recording.
            log.info("hotkey pressed while the settings window is open: ignored")
            return
        if self._model.mode in (RecordingMode.STOPPING, RecordingMode.STARTING):
            # A second press while the export runs (or the picker is open) would otherwise start a new
            # recording right after it, or stop the one just started.
            log.info("hotkey pressed while the recording is being %s: ignored", self._model.mode.value)
            return
        log.info("hotkey pressed")
        self.runner.post("hotkey", self.toggle_recording)

    def pause_pressed(self) -> None:
        """The desktop's pause shortcut (GlobalShortcuts portal): pause, or resume."""
        log.info("pause shortcut pressed")
        self.runner.post("pause-key", self.toggle_pause)

    def remote_request(self, action: TrayAction) -> TrayAnswer:
        """`traycap toggle` / `traycap pause` from another process: act (on the lanes), answer at once."""
        recorder = self._running.recorder
        if recorder is None:
            return TrayAnswer(False, "traycap is still starting up; try again in a moment")
        mode = self._model.mode
        if action is TrayAction.PAUSE:
            if mode is RecordingMode.RECORDING or mode is RecordingMode.PAUSED:
                self.runner.post("remote-pause", self.toggle_pause)
                return TrayAnswer(True, "pausing the recording" if mode is RecordingMode.RECORDING
                                  else "resuming the recording")
            return TrayAnswer(False, "nothing is being recorded, so there is nothing to pause or resume")
        if mode is RecordingMode.STARTING:
            return TrayAnswer(False, "a recording is already starting (the desktop may be asking which screen to "
                                     "record)")
        if mode is RecordingMode.STOPPING:
            return TrayAnswer(False, "the last recording is still being exported; try again in a moment")
        if mode is RecordingMode.IDLE:
            self._show_mode(RecordingMode.STARTING)  # a second request before the lane runs this one is refused
            self.runner.post("remote-toggle", self.toggle_recording)
            return TrayAnswer(True, "starting a recording")
        self._show_mode(RecordingMode.STOPPING)
        self.runner.post("remote-toggle", self.toggle_recording)
        return TrayAnswer(True, "stopping the recording (it is saved and exported)")

    # --- the work -------------------------------------------------------------
    def perform(self, action: Action) -> None:
        log.info("action %s", action.id)
        kind, sid = action.kind, action.session_id
        if kind is ActionKind.TOGGLE_RECORDING:
            self.toggle_recording()
        elif kind is ActionKind.PAUSE:
            self._require_recorder().pause()
            self._show_mode(RecordingMode.PAUSED)
        elif kind is ActionKind.RESUME:
            self._require_recorder().resume()
            self._show_mode(RecordingMode.RECORDING)
        elif kind is ActionKind.OPEN_SETTINGS:
            self.open_settings()
        elif kind is ActionKind.TOGGLE_MICROPHONE:
            self.toggle_microphone()
        elif kind in (ActionKind.PAUSE_UPLOADS, ActionKind.RESUME_UPLOADS):
            # A flag on disk: whichever process runs the queue obeys it within a second.
            set_uploads_paused(self._ctx.paths, kind is ActionKind.PAUSE_UPLOADS, now_ms=self._ctx.clock.now_ms())
        elif kind is ActionKind.OPEN_SESSIONS_FOLDER:
            self._parts.open_folder(self._ctx.paths.sessions)
        elif kind is ActionKind.QUIT:
            self._quit()
        elif sid is not None:
            self._session_action(kind, sid)
        self._model.changed()

    def _session_action(self, kind: ActionKind, sid: str) -> None:
        if kind is ActionKind.UPLOAD:
            self._requests.upload(sid)
        elif kind is ActionKind.RETRY:
            self._requests.retry(sid)
        elif kind is ActionKind.CANCEL:
            self._requests.cancel(sid)
        elif kind is ActionKind.COPY_LINK:
            self._parts.copy_text(self.share_link(sid))
            # Not the link itself: notifications are logged, and the link is what plays the session.
            self._parts.notifier.send(notify.Notice(
                notify.NoticeKind.PROBLEM, "Share link copied",
                f"Session {sid}: paste the link to share it; it plays in any browser", sid))
        elif kind is ActionKind.OPEN_FOLDER:
            self._parts.open_folder(self._ctx.paths.session_dir(sid))
        elif kind is ActionKind.VIEW:
            self._parts.launch_viewer(self._ctx, sid)
        elif kind is ActionKind.SHOW_ERROR:
            item = self._model.cache.get(sid)
            text = (item.problem or item.lastUploadError) if item else None
            self._parts.notifier.send(
                notify.Notice(notify.NoticeKind.PROBLEM, "Session problem", f"Session {sid}: {text or 'no error'}", sid)
            )
        self._model.refresh_row(sid)

    def share_link(self, sid: str) -> str:
        state = self._ctx.states.read(sid)
        if state is None or state.status is not UploadStatus.DONE or not state.s3Key:
            raise UiError(f"Session {sid} has not been uploaded yet")
        config, problem = self._model.usable_config()
        if config is None or problem:
            raise ConfigError(f"Upload settings are needed for a share link ({problem})")
        return self._parts.share_link(config, state.s3Key, self._model.settings.linkExpiresS)

    def toggle_recording(self) -> None:
        recorder = self._require_recorder()
        if recorder.state is RecorderState.IDLE:
            self._model.set_recorder_problem(None)
            self._show_mode(RecordingMode.STARTING)
            try:
                sid = recorder.start()  # on Wayland the desktop's picker may show (the first time)
            except TraycapError as exc:
                self._model.set_recorder_problem(exc.message)  # the notification (_failed) gives the hint too
                raise
            finally:
                self._show_mode(recording_mode(recorder.state))
            log.info("recording %s started", sid)
            return
        self._show_mode(RecordingMode.STOPPING)
        try:
            meta = recorder.stop()  # exports the zip (at its EXPORTED event the router asks Sharing); may take a while
        finally:
            self._show_mode(recording_mode(recorder.state))
        log.info("recording %s stopped and exported", meta.sessionId)
        self._model.refresh_row(meta.sessionId)

    def toggle_pause(self) -> None:
        recorder = self._require_recorder()
        if recorder.state is RecorderState.PAUSED:
            recorder.resume()
        else:
            recorder.pause()  # NotRecording when idle: said in a notification
        self._show_mode(recording_mode(recorder.state))

    def toggle_microphone(self) -> None:
        """The microphone on or off for the next recording (the computer's sound, if chosen, stays):
        saved like `config set audio=...`, so every traycap process and the dialog see it."""
        settings = self._model.settings
        audio = settings.audio
        toggled = {AudioMode.NONE: AudioMode.MIC, AudioMode.MIC: AudioMode.NONE,
                   AudioMode.SYSTEM: AudioMode.BOTH, AudioMode.BOTH: AudioMode.SYSTEM}[audio]
        new = settings.with_(audio=toggled)
        save_settings(self._ctx.paths.settings, new)
        config, problem = self._model.usable_config()
        self._model.set_settings(new, config, problem)
        recorder = self._running.recorder
        if recorder is not None:
            recorder.update_settings(new)  # the next recording; one running keeps its own
        log.info("microphone %s for the next recording (audio=%s)", "on" if toggled.mic else "off", toggled.value)

    def _require_recorder(self) -> Recorder:
        recorder = self._running.recorder
        if recorder is None:
            raise UiError("traycap is still starting up")
        return recorder

    def _failed(self, name: str, exc: Exception) -> None:
        if isinstance(exc, TraycapError):
            text = exc.user_text()
            log.warning("%s: %s", name, text)
        else:
            text = f"{type(exc).__name__}: {exc}"
            log.error("%s failed", name, exc_info=exc)
        self._parts.notifier.send(notify.Notice(notify.NoticeKind.PROBLEM, "traycap", text))
        self._model.changed()

    # --- the settings dialog ------------------------------------------------------
    def open_settings(self) -> None:
        proc = self._settings_proc
        if proc is not None and proc.poll() is None:
            log.info("the settings dialog is already open")
            return
        proc = self._parts.launch_settings(self._ctx)
        self._settings_proc = proc

        def watch() -> None:
            code = proc.wait()
            log.info("settings dialog closed (exit %s)", code)
            if code not in _SETTINGS_EXIT_OK:
                self._parts.notifier.send(notify.Notice(
                    notify.NoticeKind.PROBLEM, "Upload settings",
                    f"The settings window could not be opened (exit status {code}); see the log",
                ))
            self._settings_closed()

        threading.Thread(target=watch, name="traycap-settings-watch", daemon=True).start()

    def close_settings(self) -> None:
        """At quit: a dialog still open is ended (it has saved nothing the user did not confirm)."""
        proc = self._settings_proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
