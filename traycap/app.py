"""The tray app's composition root: wires the recorder, the upload queue, the
hotkey, notifications and the tray icon, and keeps the menu up to date.

Threads, and what each may do:
- main: the toolkit's main loop (pystray). Menu callbacks only post work.
- traycap-actions: runs recording work (start/stop + export, pause, resume,
  quit, hotkey presses) one at a time; traycap-actions-menu runs the other
  menu actions (enqueue, copy a link, open a folder, settings...), so neither
  the menu nor those actions wait for a slow export.
- traycap-ui: re-renders the menu/icon/tooltip when something changed, at
  most every RENDER_INTERVAL_S (progress ticks are coalesced), and re-lists
  the sessions from disk every FULL_RELIST_S (sessions copied in by hand,
  requests written by `traycap upload` in another terminal).
- the queue's worker and the recorder's threads call `on_progress` /
  `on_recorder_event`, which update the in-memory session cache in O(1).

With 1,000 sessions on disk the disk is listed once at start-up and then
only on that slow timer; a progress tick touches one cached row.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from traycap.app_parts import HotkeyLike, Parts, ProcessLike, QueueLike, RecorderLike
from traycap.context import Context
from traycap.errors import ConfigError, CorruptFile, TraycapError, UiError
from traycap.logs import register_secret
from traycap.models import AppSettings, UploadConfig, UploadProgress, UploadStatus
from traycap.storage.config_store import validate_config
from traycap.storage.filelock import PidLock
from traycap.ui import notify
from traycap.ui.action_runner import MAIN_LANE, ActionRunner
from traycap.ui.menu import (
    RECENT_LIMIT,
    Action,
    ActionKind,
    AppView,
    RecordingMode,
    build_menu,
    hotkey_label,
    icon_spec,
    tooltip,
)
from traycap.ui.session_cache import SessionCache
from traycap.upload.pause import set_uploads_paused, uploads_paused

log = logging.getLogger(__name__)

RENDER_INTERVAL_S = 0.25
FULL_RELIST_S = 60.0
QUEUE_LOCK_RETRY_S = 2.0  # how often a tray without the queue lock tries to take it
QUIT_UPLOAD_TIMEOUT_S = 10.0
QUIT_EXPORT_TIMEOUT_S = 60.0
_RECORDING_ACTIONS = frozenset({ActionKind.TOGGLE_RECORDING, ActionKind.PAUSE, ActionKind.RESUME,
                                ActionKind.QUIT})


# --- the app -------------------------------------------------------------------------------
def config_problem(ctx: Context) -> tuple[UploadConfig | None, str | None]:
    """The config and, when it cannot be used for uploads, why (in words)."""
    try:
        config = ctx.load_config()
    except CorruptFile as exc:
        return None, f"the settings file is unreadable ({exc.reason})"
    if config is None:
        return None, "no upload settings yet"
    problems = validate_config(config)
    if problems:
        return config, "check " + ", ".join(sorted(problems))
    return config, None


def recording_mode(state: Any) -> RecordingMode:
    """The recorder's RecorderState (an enum or its name) as a menu mode."""
    name = str(getattr(state, "name", state) or "").upper().rsplit(".", 1)[-1]
    return {"RECORDING": RecordingMode.RECORDING, "PAUSED": RecordingMode.PAUSED}.get(name, RecordingMode.IDLE)


class TrayApp:
    def __init__(self, ctx: Context, parts: Parts) -> None:
        self.ctx = ctx
        self.parts = parts
        self.cache = SessionCache()
        self.gate = notify.NotificationGate()
        self._lock = threading.RLock()
        self._mode = RecordingMode.IDLE
        self._active: UploadProgress | None = None
        self._hotkey_error: str | None = None
        self._recorder_problem: str | None = None
        self._ready = False
        self._stopping = threading.Event()
        self._dirty = threading.Event()
        self._last_relist = 0.0
        self._settings = AppSettings()
        self._config: UploadConfig | None = None
        self._config_problem: str | None = None
        self._settings_proc: ProcessLike | None = None
        self._queue: QueueLike | None = None
        self._has_queue_lock = False
        self._unsubscribe: Callable[[], None] | None = None
        self._hotkey: HotkeyLike | None = None
        self._recorder: RecorderLike | None = None
        self._ui_thread: threading.Thread | None = None
        self._quit_done = threading.Event()
        self.actions = ActionRunner(self._action_failed)
        self.tray = parts.make_tray(self.handle)
        self.reload_settings()

    # --- view -------------------------------------------------------------
    def view(self) -> AppView:
        pending, failed = self.cache.counts()
        with self._lock:
            return AppView(
                recording=self._mode,
                hotkey_label=hotkey_label(self._settings.hotkey),
                hotkey_error=self._hotkey_error,
                recent=self.cache.recent(RECENT_LIMIT),
                pending_count=pending,
                failed_count=failed,
                active_upload=self._active,
                config_problem=self._config_problem,
                recorder_problem=self._recorder_problem,
                ready=self._ready,
                uploads_paused=uploads_paused(self.ctx.paths),
            )

    def render(self) -> None:
        view = self.view()
        self.tray.update(build_menu(view), icon_spec(view), tooltip(view))

    def request_render(self) -> None:
        self._dirty.set()

    def _make_queue(self) -> None:
        """With the queue lock held: build the queue and restore it from disk (not started yet)."""
        try:
            q = self.parts.make_queue(self.ctx)
            self._unsubscribe = q.subscribe(self.on_progress)
            q.restore()
            self._queue = q
        except Exception as exc:
            log.exception("the upload queue could not start")
            with self._lock:
                self._config_problem = self._config_problem or f"the upload queue could not start ({exc})"

    def _take_over_queue(self) -> None:
        """Without the queue lock, try again: the process that held it (a `traycap worker`, or a CLI
        command that held it for a moment) may have gone, and then this tray runs the queue."""
        if self._has_queue_lock or self._stopping.is_set() or not self.parts.queue_lock.try_acquire():
            return
        self._has_queue_lock = True
        log.info("the upload queue lock is free again: this tray now runs the upload queue")
        self._make_queue()
        if self._queue is not None:
            self._queue.start()
        self.relist()

    def _ui_loop(self) -> None:
        while not self._stopping.is_set():
            self._dirty.wait(timeout=FULL_RELIST_S / 4 if self._has_queue_lock else QUEUE_LOCK_RETRY_S)
            if self._stopping.is_set():
                return
            self._take_over_queue()
            if time.monotonic() - self._last_relist >= FULL_RELIST_S:
                self.relist()
            self._dirty.clear()
            try:
                self.render()
            except Exception:
                log.exception("could not update the tray menu")
            self._stopping.wait(RENDER_INTERVAL_S)  # coalesce bursts of progress ticks

    # --- start-up --------------------------------------------------------
    def run(self) -> int:
        """Show the icon and block until Quit. Start-up work runs once the icon is up."""
        self.render()  # the first menu: Start recording disabled until start-up finished

        def shown() -> None:
            try:
                self.startup()
            except Exception:
                log.exception("start-up failed")
            self._ui_thread = threading.Thread(target=self._ui_loop, name="traycap-ui", daemon=True)
            self._ui_thread.start()
            self.request_render()

        self.tray.run(shown)
        # The main loop ended: Quit, a signal, or the toolkit gave up.
        if not self._quit_done.is_set():
            self.shutdown()
        return 0

    def startup(self) -> None:
        """Queue lock, recorder recovery, orphan cleanup, queue restore, sessions, hotkey."""
        ctx = self.ctx
        steps: list[str] = []
        mark = time.monotonic()

        def step(name: str) -> None:
            nonlocal mark
            now = time.monotonic()
            steps.append(f"{name} {now - mark:.2f}s")
            mark = now

        self._has_queue_lock = self.parts.queue_lock.try_acquire()
        if not self._has_queue_lock:
            log.warning("another traycap process runs the upload queue; this tray only sends it requests")
        # Recovery before cleanup: a recording killed mid-way and found again after more
        # than 24 h is exported (kept), not deleted as an orphan.
        if self.parts.recover is not None:
            try:
                self.parts.recover(ctx)
            except Exception:
                log.exception("recovering unfinished recordings failed")
        step("recovery")
        report = ctx.sessions.cleanup_orphans(ctx.clock.now_ms())
        if report.deleted:
            log.info("removed %d orphaned session(s)", len(report.deleted))
        step("cleanup")
        if self._has_queue_lock:
            self._make_queue()
        step("restore")
        self.relist()
        for item in self.cache.recent(len(self.cache)):
            self.gate.seed(item.sessionId, item.uploadStatus.value)
        step("list")
        if self._queue is not None:
            self._queue.start()
        try:
            self._recorder = self.parts.make_recorder(ctx, self._settings, self.on_recorder_event)
        except Exception as exc:
            log.exception("the recorder could not be set up")
            with self._lock:
                self._recorder_problem = f"recording is not available ({exc})"
        step("recorder")
        self.register_hotkey()
        step("hotkey")
        with self._lock:
            self._ready = True
        log.info("traycap is ready: %d session(s), hotkey %s (%s)", len(self.cache), self._settings.hotkey,
                 ", ".join(steps))
        self.request_render()

    def relist(self) -> None:
        listing = self.ctx.sessions.list()
        for problem in listing.problems:
            log.warning("%s", problem)
        self.cache.replace_all(listing.items)
        self._last_relist = time.monotonic()

    def reload_settings(self) -> None:
        try:
            settings = self.ctx.load_settings()
        except CorruptFile as exc:
            log.warning("%s; using the default settings", exc.user_text())
            settings = AppSettings()
        config, problem = config_problem(self.ctx)
        if config is not None:
            register_secret(config.secretAccessKey)
            register_secret(config.sessionToken)
        with self._lock:
            old_hotkey = self._settings.hotkey
            self._settings, self._config, self._config_problem = settings, config, problem
        recorder = self._recorder
        if recorder is not None and hasattr(recorder, "update_settings"):
            recorder.update_settings(settings)  # applies to the next recording
        if self._ready and settings.hotkey != old_hotkey:
            self.register_hotkey()

    def register_hotkey(self) -> None:
        if self._hotkey is not None:
            with contextlib.suppress(Exception):
                self._hotkey.stop()
            self._hotkey = None
        spec = self._settings.hotkey
        try:
            hk = self.parts.make_hotkey(spec, self._hotkey_pressed)
            hk.start()
        except TraycapError as exc:
            message = exc.message
        except Exception as exc:  # pynput raises plain exceptions on odd X servers
            message = str(exc) or type(exc).__name__
        else:
            self._hotkey = hk
            with self._lock:
                self._hotkey_error = None
            log.info("hotkey %s registered", spec)
            return
        with self._lock:
            self._hotkey_error = message
        log.warning("hotkey %s unavailable: %s", spec, message)
        self.parts.notifier.send(
            notify.Notice(notify.NoticeKind.PROBLEM, "Hotkey unavailable", f"{message}. The tray menu still works.")
        )

    def _hotkey_pressed(self) -> None:
        with self._lock:
            stopping = self._mode is RecordingMode.STOPPING
        if stopping:
            # A second press while the export runs would otherwise start a new recording right after it.
            log.info("hotkey pressed while the recording is being exported: ignored")
            return
        log.info("hotkey pressed")
        self.actions.post("hotkey", self.toggle_recording)

    # --- actions -------------------------------------------------------------
    def handle(self, action: Action) -> None:
        """Called on the toolkit's thread: never blocks, the work runs on traycap-actions.

        Recording work (and Quit, which must come after a Stop's export) keeps its order on the
        main lane; the rest runs on another lane, so it still answers during a long export."""
        lane = MAIN_LANE if action.kind in _RECORDING_ACTIONS else "menu"
        self.actions.post(action.id, lambda: self.perform(action), lane=lane)

    def perform(self, action: Action) -> None:
        log.info("action %s", action.id)
        kind, sid = action.kind, action.session_id
        if kind is ActionKind.TOGGLE_RECORDING:
            self.toggle_recording()
        elif kind is ActionKind.PAUSE:
            self._require_recorder().pause()
            self._set_mode(RecordingMode.PAUSED)
        elif kind is ActionKind.RESUME:
            self._require_recorder().resume()
            self._set_mode(RecordingMode.RECORDING)
        elif kind is ActionKind.OPEN_SETTINGS:
            self.open_settings()
        elif kind is ActionKind.OPEN_SESSIONS_FOLDER:
            self.parts.open_folder(self.ctx.paths.sessions)
        elif kind in (ActionKind.PAUSE_UPLOADS, ActionKind.RESUME_UPLOADS):
            # A flag on disk: whichever process runs the queue obeys it within a second.
            set_uploads_paused(self.ctx.paths, kind is ActionKind.PAUSE_UPLOADS, now_ms=self.ctx.clock.now_ms())
        elif kind is ActionKind.QUIT:
            self.shutdown()
        elif sid is not None:
            self._session_action(kind, sid)
        self.request_render()

    def _session_action(self, kind: ActionKind, sid: str) -> None:
        if kind is ActionKind.UPLOAD:
            self._request(sid, "upload")
        elif kind is ActionKind.RETRY:
            self._request(sid, "retry")
        elif kind is ActionKind.CANCEL:
            self._request(sid, "cancel")
        elif kind is ActionKind.COPY_LINK:
            link = self.share_link(sid)
            self.parts.copy_text(link)
            self.parts.notifier.send(
                notify.Notice(notify.NoticeKind.PROBLEM, "Share link copied", f"Session {sid}: {link}", sid)
            )
        elif kind is ActionKind.OPEN_FOLDER:
            self.parts.open_folder(self.ctx.paths.session_dir(sid))
        elif kind is ActionKind.SHOW_ERROR:
            item = self.cache.get(sid)
            text = (item.problem or item.lastUploadError) if item else None
            self.parts.notifier.send(
                notify.Notice(notify.NoticeKind.PROBLEM, "Session problem", f"Session {sid}: {text or 'no error'}", sid)
            )
        self._refresh_row(sid)

    def _request(self, sid: str, what: str) -> None:
        q = self._queue
        if q is not None:
            {"upload": q.enqueue, "retry": q.retry, "cancel": q.cancel}[what](sid)
            return
        fn = {"upload": self.parts.request_upload, "retry": self.parts.request_retry,
              "cancel": self.parts.request_cancel}[what]
        if fn is None:
            raise UiError("The upload queue is not available in this process")
        fn(self.ctx, sid)

    def share_link(self, sid: str) -> str:
        state = self.ctx.states.read(sid)
        if state is None or state.status is not UploadStatus.DONE or not state.s3Key:
            raise UiError(f"Session {sid} has not been uploaded yet")
        config = self._config
        if config is None or self._config_problem:
            raise ConfigError(f"Upload settings are needed for a share link ({self._config_problem})")
        return self.parts.share_link(config, state.s3Key, self._settings.linkExpiresS)

    def _require_recorder(self) -> RecorderLike:
        if self._recorder is None:
            raise UiError("traycap is still starting up")
        return self._recorder

    def toggle_recording(self) -> None:
        recorder = self._require_recorder()
        mode = recording_mode(recorder.state)
        if mode is RecordingMode.IDLE:
            with self._lock:
                self._recorder_problem = None
            sid = recorder.start()
            log.info("recording %s started", sid)
            self._set_mode(RecordingMode.RECORDING)
            return
        self._set_mode(RecordingMode.STOPPING)
        try:
            meta = recorder.stop()  # exports the zip; may take a while
        finally:
            self._set_mode(recording_mode(recorder.state))
        stopped_id: str | None = getattr(meta, "sessionId", None)
        log.info("recording %s stopped and exported", stopped_id)
        if stopped_id:
            self._after_export(stopped_id)

    def _after_export(self, sid: str) -> None:
        self._refresh_row(sid)
        config = self._config
        if config is not None and config.autoUpload and self._config_problem is None:
            item = self.cache.get(sid)
            if item is None or item.uploadStatus is UploadStatus.NOT_UPLOADED:
                try:
                    self._request(sid, "upload")
                except TraycapError as exc:
                    log.warning("auto-upload of %s: %s", sid, exc.user_text())
                self._refresh_row(sid)

    def _set_mode(self, mode: RecordingMode) -> None:
        with self._lock:
            self._mode = mode
        self.request_render()
        self.render()  # the record state shows at once, not after the next tick

    def _refresh_row(self, sid: str) -> None:
        try:
            self.cache.upsert(self.ctx.sessions.item(sid))
        except TraycapError as exc:
            log.warning("session %s: %s", sid, exc.user_text())
        self.request_render()

    def _action_failed(self, name: str, exc: Exception) -> None:
        if isinstance(exc, TraycapError):
            text = exc.user_text()
            log.warning("%s: %s", name, text)
        else:
            text = f"{type(exc).__name__}: {exc}"
            log.error("%s failed", name, exc_info=exc)
        self.parts.notifier.send(notify.Notice(notify.NoticeKind.PROBLEM, "traycap", text))
        self.request_render()

    # --- settings dialog -----------------------------------------------------------
    def open_settings(self) -> None:
        proc = self._settings_proc
        if proc is not None and proc.poll() is None:
            log.info("the settings dialog is already open")
            return
        proc = self.parts.launch_settings(self.ctx)
        self._settings_proc = proc

        def watch() -> None:
            code = proc.wait()
            log.info("settings dialog closed (exit %s)", code)
            if code not in (0, 3, -15):  # saved, cancelled, ended by our quit
                self.parts.notifier.send(notify.Notice(
                    notify.NoticeKind.PROBLEM, "Upload settings",
                    f"The settings window could not be opened (exit status {code}); see the log",
                ))
            self.reload_settings()
            self.request_render()

        threading.Thread(target=watch, name="traycap-settings-watch", daemon=True).start()

    # --- events from the queue and the recorder ----------------------------------------
    def on_progress(self, p: UploadProgress) -> None:
        row = self.cache.apply_progress(p)
        with self._lock:
            if p.status is UploadStatus.UPLOADING:
                self._active = p
            elif self._active is not None and self._active.sessionId == p.sessionId:
                self._active = None
        kind = notify.upload_notice_kind(self.gate, p.sessionId, p.status.value)
        if row is None:
            self.actions.post("refresh-row", lambda: self._refresh_row(p.sessionId))
        if kind is notify.NoticeKind.UPLOAD_DONE:
            self.actions.post("upload-done", lambda: self._upload_done(p), lane="menu")
        elif kind is notify.NoticeKind.UPLOAD_FAILED:
            self.parts.notifier.send(notify.upload_failed_notice(p.sessionId, p.error))
        self.request_render()

    def _upload_done(self, p: UploadProgress) -> None:
        self._refresh_row(p.sessionId)
        took: int | None = None
        with contextlib.suppress(TraycapError):
            state = self.ctx.states.read(p.sessionId)
            if state is not None and state.completedAt and state.lastAttemptAt:
                took = max(0, state.completedAt - state.lastAttemptAt)
        copied = False
        if self._settings.copyLinkOnDone:
            try:
                self.parts.copy_text(self.share_link(p.sessionId))
                copied = True
            except TraycapError as exc:
                log.warning("could not copy the share link: %s", exc.user_text())
        self.parts.notifier.send(notify.upload_done_notice(p.sessionId, p.totalBytes, took, link_copied=copied))

    def on_recorder_event(self, event: Any) -> None:
        kind = getattr(event, "kind", "")
        sid = getattr(event, "sessionId", None)
        message = getattr(event, "message", None)
        log.info("recorder: %s %s%s", kind, sid or "", f" ({message})" if message else "")
        if kind in ("started", "resumed"):
            self._set_mode(RecordingMode.RECORDING)
        elif kind == "paused":
            self._set_mode(RecordingMode.PAUSED)
        elif kind == "stopped":
            self._set_mode(RecordingMode.STOPPING)
        elif kind == "exported":
            self._set_mode(RecordingMode.IDLE)
            if sid:
                self.actions.post("refresh-row", lambda: self._refresh_row(sid))
        elif kind == "failed":
            with self._lock:
                self._recorder_problem = message or "the recording stopped"
            recorder = self._recorder
            self._set_mode(recording_mode(recorder.state) if recorder is not None else RecordingMode.IDLE)
            if self.gate.changed(f"recording:{sid}", "failed"):
                self.parts.notifier.send(notify.recording_failed_notice(sid, message))
            if sid:
                self.actions.post("refresh-row", lambda: self._refresh_row(sid))

    # --- quit ------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Quit: a recording is stopped and exported, the upload stops at a part boundary."""
        if self._quit_done.is_set():
            return
        log.info("quitting")
        self._stopping.set()
        self._dirty.set()
        recorder = self._recorder
        if recorder is not None and recording_mode(recorder.state) is not RecordingMode.IDLE:
            try:
                recorder.stop()
            except Exception:
                log.exception("stopping the recording at quit failed")
        # A recording stopped just before (hotkey, failure) may still be exporting while the recorder is IDLE.
        wait_idle = getattr(recorder, "wait_idle", None)
        if callable(wait_idle) and not wait_idle(QUIT_EXPORT_TIMEOUT_S):
            log.warning("the export did not finish within %.0f s; it is finished at the next start",
                        QUIT_EXPORT_TIMEOUT_S)
        if self._hotkey is not None:
            with contextlib.suppress(Exception):
                self._hotkey.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._queue is not None:
            try:
                self._queue.stop(timeout=QUIT_UPLOAD_TIMEOUT_S)
            except Exception:
                log.exception("the upload queue reported an error while stopping")
        if self._has_queue_lock:
            self.parts.queue_lock.release()
        proc = self._settings_proc
        if proc is not None and proc.poll() is None and hasattr(proc, "terminate"):
            proc.terminate()
        self.parts.notifier.close()
        self._quit_done.set()
        self.tray.stop()
        self.actions.close()
        log.info("traycap stopped")


# --- single instance ------------------------------------------------------------------
InstanceLock = PidLock  # on paths.instance_lock
