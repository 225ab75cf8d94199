"""EventRouter: the upload queue's progress and the recorder's events -> the tray's model and notifications.

Called on the queue's worker thread and the recorder's threads: each event
updates one cached row in O(1) and marks the view dirty; slower follow-ups
(re-reading a row from disk, the Upload-done notice with its share link) are
posted to the dispatcher's lanes. At a recording's EXPORTED event, whichever way it
stopped, Sharing (traycap/sharing/) says what happens to its upload: the lane made at
Start finishes it, or the queue gets it when autoUpload is on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from traycap.context import Context
from traycap.errors import TraycapError
from traycap.models import UploadProgress
from traycap.recorder.api import RecorderEvent, RecorderEventKind
from traycap.recorder.tracks import summary
from traycap.sharing.recordings import Sharing
from traycap.tray.actions import ActionDispatcher
from traycap.tray.parts import Parts, Running
from traycap.tray.view import TrayModel, recording_mode
from traycap.ui import notify
from traycap.ui.menu import RecordingMode

log = logging.getLogger(__name__)


class EventRouter:
    def __init__(self, ctx: Context, parts: Parts, model: TrayModel, running: Running,
                 dispatch: ActionDispatcher, sharing: Sharing, *, show_mode: Callable[[RecordingMode], None],
                 run_retention: Callable[[], None]) -> None:
        self._ctx = ctx
        self._parts = parts
        self._model = model
        self._running = running
        self._dispatch = dispatch
        self._sharing = sharing
        self._show_mode = show_mode
        self._run_retention = run_retention

    # --- the upload queue -------------------------------------------------------
    def on_progress(self, p: UploadProgress) -> None:
        row = self._model.cache.apply_progress(p)
        self._model.track_upload(p)
        kind = notify.upload_notice_kind(self._model.gate, p.sessionId, p.status.value)
        post = self._dispatch.runner.post
        if row is None:
            post("refresh-row", lambda: self._model.refresh_row(p.sessionId))
        if kind is notify.NoticeKind.UPLOAD_DONE:
            post("upload-done", lambda: self._upload_done(p), lane="menu")
        elif kind is notify.NoticeKind.UPLOAD_FAILED:
            self._parts.notifier.send(notify.upload_failed_notice(p.sessionId, p.error))

    def _upload_done(self, p: UploadProgress) -> None:
        self._run_retention()  # a verified upload: with keepUploadedDays=0 its local zip goes now
        self._model.refresh_row(p.sessionId)
        took: int | None = None
        with contextlib.suppress(TraycapError):
            state = self._ctx.states.read(p.sessionId)
            if state is not None and state.completedAt and state.lastAttemptAt:
                took = max(0, state.completedAt - state.lastAttemptAt)
        copied = False
        if self._model.settings.copyLinkOnDone:
            try:
                self._parts.copy_text(self._dispatch.share_link(p.sessionId))
                copied = True
            except TraycapError as exc:
                log.warning("could not copy the share link: %s", exc.user_text())
        self._parts.notifier.send(notify.upload_done_notice(p.sessionId, p.totalBytes, took, link_copied=copied))

    # --- the recorder -------------------------------------------------------------
    def on_recorder_event(self, event: RecorderEvent) -> None:
        kind, sid, message = event.kind, event.sessionId, event.message
        log.info("recorder: %s %s%s", kind.value, sid, f" ({message})" if message else "")
        if kind is RecorderEventKind.STARTED:
            recorder_info = event.meta.extra.get("recorder") if event.meta is not None else None
            self._model.set_recording_note(summary((recorder_info or {}).get("tracks")))
            self._model.set_recording_sound(self._model.settings.audio)  # what it hears: its settings at Start
            self._show_mode(RecordingMode.RECORDING)
            if message:  # the recording runs, with something the person should know (no input devices, ...)
                self._parts.notifier.send(notify.Notice(notify.NoticeKind.PROBLEM, "Recording started", message, sid))
        elif kind is RecorderEventKind.RESUMED:
            self._show_mode(RecordingMode.RECORDING)
        elif kind is RecorderEventKind.PAUSED:
            self._show_mode(RecordingMode.PAUSED)
        elif kind is RecorderEventKind.STOPPED:
            self._show_mode(RecordingMode.STOPPING)
        elif kind is RecorderEventKind.EXPORTED:
            self._show_mode(RecordingMode.IDLE)
            self._exported(sid)
        elif kind is RecorderEventKind.WARNING:  # the recording goes on, without sound from a device
            self._model.set_sound_problem(message or "a sound device failed")
            if self._model.gate.changed(f"sound:{sid}", message or ""):
                self._parts.notifier.send(notify.sound_problem_notice(sid, message))
        elif kind is RecorderEventKind.FAILED:
            self._model.set_recorder_problem(message or "the recording stopped")
            recorder = self._running.recorder
            self._show_mode(recording_mode(recorder.state) if recorder is not None else RecordingMode.IDLE)
            if self._model.gate.changed(f"recording:{sid}", "failed"):
                self._parts.notifier.send(notify.recording_failed_notice(sid, message))
            self._dispatch.runner.post("refresh-row", lambda: self._model.refresh_row(sid))

    def _exported(self, sid: str) -> None:
        """On the recorder's thread, as its export finishes: show the row, then what Sharing does with it."""
        self._model.refresh_row(sid)
        note = self._sharing.exported(sid)
        if note is not None:
            self._model.refresh_row(sid)
        self._dispatch.runner.post("retention", self._run_retention, lane="menu")  # the disk grew
