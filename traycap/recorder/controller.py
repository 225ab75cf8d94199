"""RecordingController: the recorder's facade and a recording's lifecycle (start / pause / resume / stop).

A recording (recording.py) is opened, its worker loops (loops.py) run on threads of their own, at Stop
it is exported as its live bundle (live.py) or a format-1 zip (bundle/export.py). The facade owns the lock;
a failing loop stops the recording from a helper thread (what was recorded is exported, a "failed" event
says why); a failing sound device only warns. Events go to one EventSink (api.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from traycap.bundle.export import export_session
from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import AlreadyRecording, NotRecording, StorageError, TraycapError
from traycap.models import AppSettings, SessionMeta
from traycap.osutil.desktop import session_type
from traycap.recorder.api import EventSink, LiveFactory, RecorderEvent, RecorderEventKind, RecorderState
from traycap.recorder.audio import open_settings_sounds
from traycap.recorder.focus import open_focus_backend
from traycap.recorder.inputs import InputFactory
from traycap.recorder.live import LiveBundle
from traycap.recorder.loops import InputFeed, start_loops
from traycap.recorder.privacy import WindowSource
from traycap.recorder.recording import Recording, SoundFactory, open_recording, write_tracks
from traycap.recorder.starting import CaptureFactory, open_screen, start_input, wait_first_frame
from traycap.recorder.stopping import check_settings, failure_message, write_stopped_meta
from traycap.recorder.tracks import exclusions
from traycap.storage.diskspace import FreeSpace, check_free, free_bytes

log = logging.getLogger(__name__)

DISK_CHECK_S = 5.0  # how often a recording checks the free disk space against minFreeMB

# Session dir -> zip + meta; export.export_session unless a test needs a slow or failing one.
Exporter = Callable[[Context, str], SessionMeta]


class RecordingController:
    def __init__(
        self,
        ctx: Context,
        settings: AppSettings,
        *,
        on_event: EventSink | None = None,
        clock: Clock | None = None,
        capture_factory: CaptureFactory | None = None,
        input_factory: InputFactory | None = None,
        exporter: Exporter | None = None,
        free_space: FreeSpace = free_bytes,
        disk_check_s: float = DISK_CHECK_S,
        focus_factory: Callable[[], WindowSource] | None = None,
        live: LiveFactory | None = None,
        desktop: str | None = None,
        sound_factory: SoundFactory = open_settings_sounds,
    ) -> None:
        self._ctx = ctx
        self._free_space, self._disk_check_s = free_space, disk_check_s
        self._settings = settings
        self._on_event = on_event
        self._clock = clock or ctx.clock
        self._capture_factory = capture_factory  # None: this desktop session's backend (media/capture/factory.py)
        self._input_factory = input_factory  # None: this desktop session's input backend (starting.py)
        self._desktop = desktop or session_type()  # x11, wayland, ...: decides capture, input and exclusions
        self._export: Exporter = exporter or export_session
        self._focus_factory: Callable[[], WindowSource] = focus_factory or open_focus_backend
        self._live = live  # session id -> where its live bundle goes (None: every recording is format 1)
        self._sounds = sound_factory
        self._lock = threading.RLock()
        self._state = RecorderState.IDLE
        self._rec: Recording | None = None
        self._live_bundles: dict[Recording, LiveBundle] = {}
        self._idle = threading.Event()  # no recording runs and no export is in progress
        self._idle.set()
        self._finishing: set[Recording] = set()
        self._opening: threading.Event | None = None  # set: the screen is being opened (a picker may be open)
        self.last_meta: SessionMeta | None = None

    # --- public API -------------------------------------------------------
    @property
    def state(self) -> RecorderState:
        return self._state

    @property
    def session_id(self) -> str | None:
        rec = self._rec
        return rec.session_id if rec is not None else None

    @property
    def settings(self) -> AppSettings:
        return self._settings

    def update_settings(self, settings: AppSettings) -> None:
        """New settings apply to the next recording."""
        self._settings = settings

    def start(self) -> str:
        with self._lock:
            if self._state is not RecorderState.IDLE or self._opening is not None:
                raise AlreadyRecording("A recording is already running or starting", "stop it first")
            settings = self._settings
            check_settings(settings)
            check_free(self._ctx.paths.sessions, settings.minFreeMB, self._free_space)  # LowDisk: says where, how much
            exclusions(self._desktop, settings)  # before a picker: excluded apps that cannot be honoured
            cancel = self._opening = threading.Event()
        try:  # outside the lock: on Wayland the desktop's picker may be open for minutes (abort_start ends it)
            source = open_screen(self._ctx, settings, self._clock, self._capture_factory, cancel)
        finally:
            with self._lock:
                self._opening = None
        with self._lock:
            try:
                rec = open_recording(self._ctx, settings.with_(excludedApps=exclusions(
                    self._desktop, settings, window_pick=source.capabilities.window_pick)), source, self._clock,
                    self._focus_factory, self._sounds)
            except BaseException:
                source.close()
                raise
            self._rec = rec
            try:
                notice = self._launch(rec, settings)
            except BaseException:
                rec.discard()
                self._release(rec)
                self._update_idle()
                raise
            live = LiveBundle.open(self._ctx, rec.session_id, self._live, self._clock)
            if live is not None:
                self._live_bundles[rec] = live
            self._state = RecorderState.RECORDING
            self._idle.clear()
        log.info("recording session %s (%dx%d, %d fps, monitor %d)", rec.session_id, source.width,
                 source.height, settings.fps, settings.monitor)
        notices = [n.user_text() for n in (source.notice, notice) if n is not None]
        self._emit(RecorderEvent(RecorderEventKind.STARTED, rec.session_id, message=" ".join(notices) or None,
                                 meta=rec.meta))
        for problem in rec.sound_problems:  # recorded without that sound: the tray says why
            self._warn(rec, problem)
        return rec.session_id

    def abort_start(self) -> None:
        """End a start that waits for the desktop's screen picker (quit, Ctrl-C): start() raises."""
        opening = self._opening
        if opening is not None:
            opening.set()

    def pause(self) -> None:
        with self._lock:
            rec = self._active()
            if self._state is RecorderState.PAUSED:
                return
            self._state = RecorderState.PAUSED
            rec.pause(self._clock.monotonic())
        self._emit(RecorderEvent(RecorderEventKind.PAUSED, rec.session_id))

    def resume(self) -> None:
        with self._lock:
            rec = self._active()
            if self._state is not RecorderState.PAUSED:
                return
            self._state = RecorderState.RECORDING
            rec.resume(self._clock.monotonic())
        self._emit(RecorderEvent(RecorderEventKind.RESUMED, rec.session_id))

    def stop(self) -> SessionMeta:
        """Stop and export. Returns the session's meta (zipPath set when exported)."""
        with self._lock:
            rec = self._rec
            if rec is None or self._state is RecorderState.IDLE:
                raise NotRecording("Nothing is being recorded")
        return self._finish(rec)

    def toggle(self) -> None:
        if self._state is RecorderState.IDLE:
            self.start()
        else:
            with contextlib.suppress(NotRecording):
                self.stop()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no recording runs and every stopped one is exported (also after a failure)."""
        return self._idle.wait(timeout)

    # --- start ------------------------------------------------------------
    def _launch(self, rec: Recording, settings: AppSettings) -> TraycapError | None:
        fail = self._failer(rec)
        start_loops(rec, self._clock, settings, disk_every_s=self._disk_check_s, fail=fail, check_disk=lambda:
                    check_free(self._ctx.paths.sessions, settings.minFreeMB, self._free_space),
                    warn=lambda exc: self._warn(rec, exc))
        wait_first_frame(rec, self._clock)  # the video must cover every recorded action: frame, then input
        started = start_input(rec, settings, self._desktop, self._clock, InputFeed(rec, fail).on_input,
                              self._input_factory)
        rec.input = started.source
        write_tracks(self._ctx, rec, started.tracks)
        return started.notice

    def _active(self) -> Recording:
        rec = self._rec
        if rec is None or self._state is RecorderState.IDLE or rec.finishing:
            raise NotRecording("Nothing is being recorded")
        return rec

    def _release(self, rec: Recording) -> None:
        """`rec` no longer records: the controller is IDLE (a new recording may start during its export)."""
        with self._lock:
            if self._rec is rec:
                self._rec = None
                self._state = RecorderState.IDLE

    def _update_idle(self) -> None:
        with self._lock:
            if self._rec is None and not self._finishing:
                self._idle.set()

    # --- stop -----------------------------------------------------------------
    def _failer(self, rec: Recording) -> Callable[[TraycapError], None]:
        def fail(exc: TraycapError) -> None:
            """A loop hit a fatal problem: keep the first one, stop from a helper thread (not the facade's
            lock: start() holds that while it waits for the first frame)."""
            if not rec.fail(exc):
                return
            log.error("recording %s stops: %s", rec.session_id, exc.user_text())
            if not rec.first_frame.is_set():
                rec.first_frame.set()  # start() is waiting: it will raise
                return
            threading.Thread(target=self._finish_quietly, args=(rec,), name="recorder-stop", daemon=True).start()

        return fail

    def _finish_quietly(self, rec: Recording) -> None:
        try:
            self._finish(rec)
        except Exception:
            log.exception("stopping the recording after a failure went wrong")

    def _finish(self, rec: Recording) -> SessionMeta:
        with self._lock:
            owner = not rec.finishing
            rec.finishing = True
            if owner:
                self._finishing.add(rec)
        if not owner:
            rec.finished.wait()
            if rec.result is None:
                raise NotRecording("The recording could not be stopped")
            return rec.result
        try:
            rec.result = self._stop_and_export(rec)
            return rec.result
        finally:
            self._release(rec)
            with self._lock:
                self._finishing.discard(rec)
                self._live_bundles.pop(rec, None)
            rec.finished.set()
            self._update_idle()

    def _stop_and_export(self, rec: Recording) -> SessionMeta:
        rec.halt()
        live = self._live_bundles.get(rec)  # its last cut runs in the export step, once the files are closed
        stopped_at = self._clock.monotonic()
        try:
            rec.writer.close(keep_lock=True)  # held until exported: no other process "recovers" it meanwhile
        except StorageError as exc:
            rec.fail(exc)
        try:
            rec.source.close()
            rec.builder.close()
            meta = self.last_meta = write_stopped_meta(self._ctx, rec, stopped_at, self._clock)
            self._release(rec)  # IDLE from here: the tray may show "exporting", a new recording may start
            self._emit(RecorderEvent(RecorderEventKind.STOPPED, rec.session_id, meta=meta))
            export_error: TraycapError | None = None
            try:  # even after a failure, what was recorded is bundled
                meta = self.last_meta = (live.finish() if live is not None else None) or \
                    self._export(self._ctx, rec.session_id)
                self._emit(RecorderEvent(RecorderEventKind.EXPORTED, rec.session_id, meta=meta))
            except TraycapError as exc:
                export_error = exc
                log.error("exporting %s failed: %s", rec.session_id, exc.user_text())
            message = failure_message(rec.session_id, rec.failure, export_error)
            if message is not None:
                self._emit(RecorderEvent(RecorderEventKind.FAILED, rec.session_id, message=message, meta=meta))
            return meta
        finally:
            rec.writer.release_lock()

    def _warn(self, rec: Recording, exc: TraycapError) -> None:  # part of it is missing; it goes on
        self._emit(RecorderEvent(RecorderEventKind.WARNING, rec.session_id, message=exc.user_text()))

    def _emit(self, event: RecorderEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("recorder event handler failed for %s", event.kind.value)
