"""RecordingController: the recorder's facade (start / pause / resume / stop / toggle).

Threads while recording, each owning one job:

    capture     grabs frames on the fps grid (timing.FrameScheduler), hands them on
    encoder     H.264-encodes them (screen.VideoEncoder), writes video/frames.jsonl
    screenshots periodic screenshots and one after each click (throttled)
    pynput      mouse/keyboard listeners -> actions.jsonl (inputs.py, actions.py)

Every time (frames, actions, screenshots) comes from ONE monotonic clock and
is written as milliseconds since the recording started; session-meta.json
holds the wall-clock anchor. The facade owns the lock; a worker thread that
fails (disk full, display lost) records why and stops the recording from a
helper thread: what was recorded is kept and exported, and a "failed" event
says why.
"""

from __future__ import annotations

import contextlib
import logging
import math
import platform
import queue
import shutil
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traycap import __version__
from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import AlreadyRecording, LowDisk, NotRecording, RecorderError, StorageError, TraycapError
from traycap.models import AppSettings, KeystrokePrivacy, SessionMeta
from traycap.paths import new_session_id
from traycap.recorder.actions import CLICK_SCREENSHOT_MIN_INTERVAL_S, ActionBuilder, RateLimiter, RawClick, RawEvent
from traycap.recorder.api import EventSink, LiveFactory, LiveSink, RecorderEvent, RecorderEventKind, RecorderState
from traycap.recorder.bundler import Bundler, discard_live_zip, finish_live, start_live
from traycap.recorder.export import export_session
from traycap.recorder.focus import open_focus_backend
from traycap.recorder.guard import WorkerGuard
from traycap.recorder.inputs import InputFactory, InputSource, pynput_input
from traycap.recorder.privacy import PrivateActions, WindowSource
from traycap.recorder.screen import FrameSource, ScreenGrabber, VideoEncoder, backend_info, blank_frame, encode_png
from traycap.recorder.session import SessionWriter, truncate_jsonl
from traycap.recorder.timing import FrameScheduler
from traycap.storage.config_store import MAX_FPS
from traycap.storage.diskspace import FreeSpace, check_free, free_bytes

log = logging.getLogger(__name__)

FIRST_FRAME_TIMEOUT_S = 10.0
ENCODER_QUEUE_FRAMES = 8  # frames waiting for the encoder; beyond that a frame is dropped (and counted)
CLICK_SHOT_WAIT_S = 1.0
DISK_CHECK_S = 5.0  # how often a recording checks the free disk space against minFreeMB
LOW_DISK = "low_disk"

CaptureFactory = Callable[[int], FrameSource]
# Session dir -> zip + meta; export.export_session unless a test needs a slow or failing one.
Exporter = Callable[[Context, str], SessionMeta]


@dataclass
class _Frame:
    image: Any
    t: float  # monotonic seconds
    wall_ms: int
    pts_ms: int
    seq: int


class _Recording:
    """Everything that lives exactly as long as one recording."""

    def __init__(self, session_id: str, origin: float, wall_origin: int, source: FrameSource,
                 writer: SessionWriter, encoder: VideoEncoder, builder: PrivateActions) -> None:
        self.session_id = session_id
        self.origin = origin
        self.wall_origin = wall_origin
        self.source = source
        self.writer = writer
        self.encoder = encoder
        self.builder = builder
        self.actions_lock = threading.Lock()
        self.queue: queue.Queue[_Frame | None] = queue.Queue(maxsize=ENCODER_QUEUE_FRAMES)
        self.stop = threading.Event()
        self.signal = threading.Event()  # wakes the capture thread on any state change
        self.running = threading.Event()  # set while not paused (or when stopping)
        self.running.set()
        self.shot_signal = threading.Event()
        self.frame_cond = threading.Condition()
        self.latest: _Frame | None = None
        self.first_frame = threading.Event()
        self.paused_total = 0.0
        self.paused_since: float | None = None
        self.late_drops = 0
        self.busy_drops = 0
        self.captured = 0
        self.click_requests: list[float] = []
        self.click_limiter = RateLimiter(CLICK_SCREENSHOT_MIN_INTERVAL_S)
        self.input: InputSource | None = None
        self.threads: list[threading.Thread] = []
        self.failure: TraycapError | None = None
        self.failure_lock = threading.Lock()
        self.finished = threading.Event()
        self.result: SessionMeta | None = None
        self.finishing = False
        self.last_pts = -1
        self.pts_zero: int | None = None
        self.final_frame = False  # capture one last frame after the inputs stopped
        self.bundler: Bundler | None = None  # the live bundle (format 2) while uploading as it records
        self.sink: LiveSink | None = None


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
    ) -> None:
        self._ctx = ctx
        self._free_space = free_space
        self._disk_check_s = disk_check_s
        self._settings = settings
        self._on_event = on_event
        self._clock = clock or ctx.clock
        self._capture_factory: CaptureFactory = capture_factory or ScreenGrabber
        self._input_factory: InputFactory = input_factory or pynput_input
        self._export: Exporter = exporter or export_session
        self._focus_factory: Callable[[], WindowSource] = focus_factory or open_focus_backend
        self._live = live  # session id -> where its live bundle goes (None: every recording is format 1)
        self._lock = threading.RLock()
        self._state = RecorderState.IDLE
        self._rec: _Recording | None = None
        self._idle = threading.Event()  # no recording runs and no export is in progress
        self._idle.set()
        self._finishing: set[_Recording] = set()
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
            if self._state is not RecorderState.IDLE:
                raise AlreadyRecording("A recording is already running", "stop it first")
            settings = self._settings
            _check_settings(settings)
            check_free(self._ctx.paths.sessions, settings.minFreeMB, self._free_space)  # LowDisk: says where, how much
            source = self._capture_factory(settings.monitor)  # NoDisplay / RecorderError, readable
            try:
                rec = self._open(settings, source)
            except BaseException:
                source.close()
                raise
            self._rec = rec
            try:
                self._launch(rec, settings)
            except BaseException:
                self._abort_start(rec)
                raise
            self._start_live(rec)
            self._state = RecorderState.RECORDING
            self._idle.clear()
        log.info("recording session %s (%dx%d, %d fps, monitor %d)", rec.session_id, source.width,
                 source.height, settings.fps, settings.monitor)
        self._emit(RecorderEvent(RecorderEventKind.STARTED, rec.session_id))
        return rec.session_id

    def pause(self) -> None:
        with self._lock:
            rec = self._active()
            if self._state is RecorderState.PAUSED:
                return
            now = self._clock.monotonic()
            self._state = RecorderState.PAUSED
            rec.running.clear()
            rec.paused_since = now
            rec.signal.set()
            with rec.actions_lock:
                rec.builder.discard_pending()
                self._append_actions(rec, rec.builder.marker("pause", now))
        self._emit(RecorderEvent(RecorderEventKind.PAUSED, rec.session_id))

    def resume(self) -> None:
        with self._lock:
            rec = self._active()
            if self._state is not RecorderState.PAUSED:
                return
            now = self._clock.monotonic()
            if rec.paused_since is not None:
                rec.paused_total += now - rec.paused_since
            rec.paused_since = None
            with rec.actions_lock:
                self._append_actions(rec, rec.builder.marker("resume", now))
            self._state = RecorderState.RECORDING
            rec.running.set()
            rec.signal.set()
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

    def _release(self, rec: _Recording) -> None:
        """`rec` no longer records: the controller is IDLE (a new recording may start during its export)."""
        with self._lock:
            if self._rec is rec:
                self._rec = None
                self._state = RecorderState.IDLE

    def _update_idle(self) -> None:
        with self._lock:
            if self._rec is None and not self._finishing:
                self._idle.set()

    # --- start ------------------------------------------------------------
    def _open(self, settings: AppSettings, source: FrameSource) -> _Recording:
        clock = self._clock
        wall = clock.now_ms()
        origin = clock.monotonic()
        session_id = new_session_id(wall)
        directory = self._ctx.paths.session_dir(session_id)
        writer = SessionWriter(directory, clock.monotonic)
        builder: PrivateActions | None = None
        try:
            builder = PrivateActions.for_patterns(ActionBuilder(origin, settings.keystrokePrivacy), origin,
                                                  settings.excludedApps, self._focus_factory, clock.monotonic)
            recorder_info: dict[str, Any] = {
                "status": "recording",
                "fps": settings.fps,
                "monitor": settings.monitor,
                "screen": source.describe(),
                "keystrokePrivacy": settings.keystrokePrivacy.value,
                "screenshotIntervalS": settings.screenshotIntervalS,
                "timeBase": {
                    "clock": "monotonic",
                    "unit": "ms",
                    "wallOriginMs": wall,
                    "monotonicOriginS": origin,
                    "note": "t = ms since the recording started; wall time = wallOriginMs + t",
                },
                "video": {**backend_info(), "width": source.width, "height": source.height,
                          "pts": "ms of recording time, paused spans cut out"},
                "platform": {"system": platform.system(), "release": platform.release(),
                             "machine": platform.machine(), "python": platform.python_version(),
                             "sys": sys.platform},
                "app": {"name": "traycap", "version": __version__},
            }
            # Written before the first frame: a crash from here on still leaves a visible session.
            self._ctx.sessions.save_meta(SessionMeta(sessionId=session_id, createdAt=wall,
                                                     videoRef="video/screen.mp4",
                                                     extra={"recorder": recorder_info}))
            encoder = VideoEncoder(writer.files.video, source.width, source.height, settings.fps)
        except BaseException:
            if builder is not None:
                builder.close()
            writer.close()
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return _Recording(session_id, origin, wall, source, writer, encoder, builder)

    def _launch(self, rec: _Recording, settings: AppSettings) -> None:
        for name, target in (("capture", self._capture_loop), ("encoder", self._encode_loop),
                             ("screenshots", self._screenshot_loop), ("disk", self._disk_loop)):
            thread = threading.Thread(target=target, args=(rec, settings), name=f"recorder-{name}", daemon=True)
            rec.threads.append(thread)
            thread.start()
        # The video must cover every recorded action: first frame before the first input.
        deadline = self._clock.monotonic() + FIRST_FRAME_TIMEOUT_S
        while not rec.first_frame.wait(0.05):
            if rec.failure is not None:
                raise rec.failure
            if self._clock.monotonic() > deadline:
                raise RecorderError("The screen capture did not deliver a frame within 10 s")
        if rec.failure is not None:
            raise rec.failure
        keyboard = settings.keystrokePrivacy is not KeystrokePrivacy.NONE
        source = self._input_factory(lambda ev: self._on_input(rec, ev), self._clock.monotonic, keyboard)
        source.start()
        rec.input = source

    def _start_live(self, rec: _Recording) -> None:
        """Upload while recording: a bundler writes the format-2 zip as the session grows. Anything
        going wrong here only means the recording is exported as format 1 at Stop, as always."""
        if self._live is None:
            return
        try:
            sink = self._live(rec.session_id)
        except Exception:
            log.exception("session %s: no upload while recording", rec.session_id)
            return
        if sink is None:
            return
        try:
            bundler = start_live(self._ctx, rec.session_id, sink, self._clock)
        except Exception as exc:
            log.error("session %s: the live bundle could not start (%s): recorded as usual", rec.session_id, exc)
            _abandon(sink)
            discard_live_zip(rec.writer.files.dir, rec.session_id)
            return
        bundler.on_failure = lambda exc: _abandon(sink)
        rec.bundler, rec.sink = bundler, sink

    def _finish_live(self, rec: _Recording) -> SessionMeta:
        """Stop's export step for a live recording: finish its zip (or, when the bundler broke,
        drop the live zip and export format 1 from the raw files)."""
        bundler, sink = rec.bundler, rec.sink
        assert bundler is not None
        if not bundler.failed:
            try:
                return finish_live(self._ctx, rec.session_id, bundler, sink)
            except Exception as exc:
                if bundler.zf.final is not None:
                    # The zip is complete; its meta or marker is not: recovery writes them at the next start.
                    if sink is not None:
                        _abandon(sink)
                    if isinstance(exc, TraycapError):
                        raise
                    raise StorageError(f"Could not record the finished bundle of {rec.session_id}: {exc}") from exc
                log.error("session %s: the live bundle could not be finished (%s): exporting it as usual",
                          rec.session_id, exc)
                bundler.failure = exc
                if sink is not None:
                    _abandon(sink)
        with contextlib.suppress(Exception):
            bundler.zf.close()
        discard_live_zip(rec.writer.files.dir, rec.session_id)
        return self._export(self._ctx, rec.session_id)

    def _abort_start(self, rec: _Recording) -> None:
        """start() failed after the session dir was made: undo everything (nothing worth keeping yet)."""
        rec.stop.set()
        rec.running.set()
        rec.signal.set()
        rec.shot_signal.set()
        self._join_workers(rec)
        with contextlib.suppress(Exception):
            rec.writer.close()
        with contextlib.suppress(Exception):
            rec.source.close()
        rec.builder.close()
        shutil.rmtree(rec.writer.files.dir, ignore_errors=True)
        self._release(rec)
        self._update_idle()

    def _active(self) -> _Recording:
        rec = self._rec
        if rec is None or self._state is RecorderState.IDLE or rec.finishing:
            raise NotRecording("Nothing is being recorded")
        return rec

    # --- worker threads -----------------------------------------------------
    def _capture_loop(self, rec: _Recording, settings: AppSettings) -> None:
        try:
            with WorkerGuard("Screen capture", lambda exc: self._fail(rec, exc)):
                self._capture_frames(rec, settings)
        finally:
            with contextlib.suppress(Exception):
                rec.queue.put(None, timeout=30)  # the encoder's end, after a failure too

    def _capture_frames(self, rec: _Recording, settings: AppSettings) -> None:
        clock = self._clock
        sched = FrameScheduler(settings.fps, clock.monotonic())
        was_paused = False
        while True:
            rec.signal.clear()
            if rec.stop.is_set():
                break
            if not rec.running.is_set():
                was_paused = True
                rec.running.wait()
                continue
            if was_paused:
                was_paused = False
                sched.restart(clock.monotonic())
            delay = sched.next_due() - clock.monotonic()
            if delay > 0 and clock.sleep(delay, rec.signal):
                continue  # woken by pause/stop: look at the state again
            self._capture_one(rec)
            sched.captured(clock.monotonic())
            rec.late_drops = sched.dropped
            with rec.actions_lock:
                self._append_actions(rec, rec.builder.flush_due(clock.monotonic()))
            rec.writer.maybe_sync()
        if rec.failure is None and rec.final_frame and rec.captured > 0:
            self._capture_one(rec)  # a last frame, after the last recorded input

    def _capture_one(self, rec: _Recording) -> None:
        clock = self._clock
        t0 = clock.monotonic()
        private = rec.builder.screen_private()
        image = rec.source.grab()
        t1 = clock.monotonic()
        if private or rec.builder.screen_private():  # an excluded app had focus: before or after the grab
            image = blank_frame(image)
        if not rec.running.is_set():
            return  # paused while this grab ran: the frame may show the paused screen, so it is not kept
        t = (t0 + t1) / 2
        # Video time: recording time without the pauses, strictly increasing (what frames.jsonl says).
        # 0 at the first frame: a player's position in the video is exactly `pts`.
        active_ms = round((t - rec.origin - rec.paused_total) * 1000)
        if rec.pts_zero is None:
            rec.pts_zero = active_ms
        pts = max(active_ms - rec.pts_zero, rec.last_pts + 1)
        rec.last_pts = pts
        frame = _Frame(image=image, t=t, wall_ms=clock.now_ms(), pts_ms=pts, seq=rec.captured)
        rec.captured += 1
        try:
            rec.queue.put_nowait(frame)
        except queue.Full:
            rec.busy_drops += 1  # the encoder is behind: the frame is not in the video, and says so
            return  # nor a screenshot: a screenshot is always a frame of the video
        with rec.frame_cond:
            rec.latest = frame
            rec.frame_cond.notify_all()
        rec.first_frame.set()

    def _encode_loop(self, rec: _Recording, settings: AppSettings) -> None:
        broken = False
        while True:
            frame = rec.queue.get()
            if frame is None:
                break
            if broken:
                continue  # keep draining so the capture thread never blocks
            with WorkerGuard("Video encoding", lambda exc: self._fail(rec, exc)) as guard:
                # The line first: a list longer than the video is cut at stop/recovery,
                # a video frame without its line could not be placed in time.
                rec.writer.frames.append({
                    "i": rec.encoder.frames,
                    "t": round((frame.t - rec.origin) * 1000, 1),
                    "wallMs": frame.wall_ms,
                    "pts": frame.pts_ms,
                })
                rec.encoder.write(frame.image, frame.pts_ms)
            broken = guard.failed
        try:
            if broken:
                rec.encoder.abandon()
            else:
                rec.encoder.close()
        except TraycapError as exc:
            self._fail(rec, exc)

    def _screenshot_loop(self, rec: _Recording, settings: AppSettings) -> None:
        interval = max(0.2, float(settings.screenshotIntervalS))
        clock = self._clock
        next_periodic = clock.monotonic()  # one at the start: the screen as the recording began
        last_t: float | None = None
        with WorkerGuard("Screenshot", lambda exc: self._fail(rec, exc)):
            while not rec.stop.is_set():
                rec.shot_signal.clear()
                with rec.actions_lock:
                    clicks, rec.click_requests = rec.click_requests, []
                for click_t in clicks:
                    last_t = self._screenshot(rec, "click", click_t, last_t)
                now = clock.monotonic()
                if now >= next_periodic:
                    if rec.running.is_set():
                        last_t = self._screenshot(rec, "periodic", now, last_t)
                    next_periodic = max(next_periodic + interval, now + interval / 2)
                    continue
                if not rec.running.is_set():
                    next_periodic = clock.monotonic() + interval  # paused time does not count
                clock.sleep(min(interval, max(0.0, next_periodic - now)), rec.shot_signal)

    def _screenshot(self, rec: _Recording, reason: str, want_t: float, last_t: float | None) -> float | None:
        """Save the first frame captured at or after `want_t` (waits up to CLICK_SHOT_WAIT_S).

        A frame already saved is never saved twice: a click right after the start-of-recording
        screenshot gets the next frame, not nothing."""
        if last_t is not None and want_t <= last_t:
            want_t = math.nextafter(last_t, math.inf)
        with rec.frame_cond:
            rec.frame_cond.wait_for(
                lambda: rec.stop.is_set() or (rec.latest is not None and rec.latest.t >= want_t),
                timeout=CLICK_SHOT_WAIT_S,
            )
            frame = rec.latest
        if frame is None or frame.t == last_t or frame.t < want_t - 1.0:
            return last_t
        t_ms = round((frame.t - rec.origin) * 1000, 1)
        name = f"{round(t_ms):09d}-{reason}.png"
        rec.writer.save_screenshot(name, encode_png(frame.image))
        rec.writer.shots.append({"t": t_ms, "file": name, "reason": reason, "wallMs": frame.wall_ms,
                                 "pts": frame.pts_ms})
        return frame.t

    def _disk_loop(self, rec: _Recording, settings: AppSettings) -> None:
        """The disk guard: below minFreeMB the recording stops and is exported (endReason "low_disk")."""
        while not self._clock.sleep(self._disk_check_s, rec.stop):
            try:
                check_free(self._ctx.paths.sessions, settings.minFreeMB, self._free_space)
            except LowDisk as exc:
                self._fail(rec, exc)
                return
            except OSError as exc:
                log.warning("could not read the free disk space: %s", exc)

    def _on_input(self, rec: _Recording, ev: RawEvent) -> None:
        """pynput callback thread: never raise into pynput."""
        if not rec.running.is_set() or rec.stop.is_set() or rec.failure is not None:
            return
        with WorkerGuard("Recording input", lambda exc: self._fail(rec, exc)), rec.actions_lock:
            if not rec.running.is_set():
                return  # paused while this event waited for the lock: the pause marker is written
            self._append_actions(rec, rec.builder.feed(ev))
            if isinstance(ev, RawClick) and ev.pressed and rec.click_limiter.allow(ev.t):
                rec.click_requests.append(ev.t)
                rec.shot_signal.set()

    def _append_actions(self, rec: _Recording, actions: list[dict[str, Any]]) -> None:
        for action in actions:
            rec.writer.actions.append(action)

    # --- stop -----------------------------------------------------------------
    def _fail(self, rec: _Recording, exc: TraycapError) -> None:
        """A worker hit a fatal problem: remember the first one, stop from a helper thread."""
        # Not the facade's lock: start() holds that while it waits for the first frame.
        with rec.failure_lock:
            if rec.failure is not None:
                return
            rec.failure = exc
        log.error("recording %s stops: %s", rec.session_id, exc.user_text())
        if not rec.first_frame.is_set():
            rec.first_frame.set()  # start() is waiting: it will raise
            return
        threading.Thread(target=self._finish_quietly, args=(rec,), name="recorder-stop", daemon=True).start()

    def _finish_quietly(self, rec: _Recording) -> None:
        try:
            self._finish(rec)
        except Exception:
            log.exception("stopping the recording after a failure went wrong")

    def _finish(self, rec: _Recording) -> SessionMeta:
        with self._lock:
            if rec.finishing:
                owner = False
            else:
                rec.finishing = True
                owner = True
        if not owner:
            rec.finished.wait()
            if rec.result is None:
                raise NotRecording("The recording could not be stopped")
            return rec.result
        with self._lock:
            self._finishing.add(rec)
        try:
            meta = self._finish_owner(rec)
            rec.result = meta
            return meta
        finally:
            self._release(rec)
            with self._lock:
                self._finishing.discard(rec)
            rec.finished.set()
            self._update_idle()

    def _finish_owner(self, rec: _Recording) -> SessionMeta:
        clock = self._clock
        # Inputs first, so the final frame comes after the last recorded action.
        if rec.input is not None:
            try:
                rec.input.stop()
            except Exception as exc:
                log.warning("stopping the input listeners: %s", exc)
        with rec.actions_lock:
            if rec.running.is_set():
                with contextlib.suppress(TraycapError):
                    self._append_actions(rec, rec.builder.flush())
        rec.final_frame = rec.running.is_set()  # stopped while paused: nothing more is captured
        rec.stop.set()
        rec.signal.set()
        rec.shot_signal.set()
        rec.running.set()
        with rec.frame_cond:
            rec.frame_cond.notify_all()
        self._join_workers(rec)
        if rec.bundler is not None:
            try:
                rec.bundler.stop()  # its last cut runs in the export step, once the files are closed
            except RecorderError as exc:
                log.error("session %s: %s", rec.session_id, exc.user_text())
                rec.bundler.failure = exc
        stopped_at = clock.monotonic()
        try:
            rec.writer.close(keep_lock=True)  # held until exported: no other process "recovers" it meanwhile
        except StorageError as exc:
            self._note_failure(rec, exc)
        try:
            return self._stop_and_export(rec, stopped_at)
        finally:
            rec.writer.release_lock()

    def _stop_and_export(self, rec: _Recording, stopped_at: float) -> SessionMeta:
        rec.source.close()
        rec.builder.close()
        meta = self._write_stopped_meta(rec, stopped_at)
        self.last_meta = meta
        self._release(rec)  # IDLE from here: the tray may show "exporting", a new recording may start
        self._emit(RecorderEvent(RecorderEventKind.STOPPED, rec.session_id, meta=meta))
        # Export: even after a failure, what was recorded is bundled.
        export_error: TraycapError | None = None
        try:
            meta = self._finish_live(rec) if rec.bundler is not None else self._export(self._ctx, rec.session_id)
            self.last_meta = meta
            self._emit(RecorderEvent(RecorderEventKind.EXPORTED, rec.session_id, meta=meta))
        except TraycapError as exc:
            export_error = exc
            log.error("exporting %s failed: %s", rec.session_id, exc.user_text())
        if rec.failure is not None or export_error is not None:
            parts = []
            if rec.failure is not None:
                parts.append(f"{rec.failure.user_text()}.")  # the notice title already says "Recording stopped"
            if export_error is not None:
                parts.append(f"The session could not be exported: {export_error.user_text()}; "
                             "its files are kept and it is exported at the next start.")
            else:
                parts.append(f"What was recorded is saved as session {rec.session_id}.")
            self._emit(RecorderEvent(RecorderEventKind.FAILED, rec.session_id, message=" ".join(parts), meta=meta))
        return meta

    def _note_failure(self, rec: _Recording, exc: TraycapError) -> None:
        with rec.failure_lock:
            if rec.failure is None:
                rec.failure = exc

    def _join_workers(self, rec: _Recording) -> None:
        for thread in rec.threads:
            if thread is threading.current_thread():
                continue
            thread.join(60)
            if thread.is_alive():
                log.error("%s did not stop within 60 s", thread.name)

    def _write_stopped_meta(self, rec: _Recording, stopped_at: float) -> SessionMeta:
        from traycap.recorder.screen import video_frame_count

        files = rec.writer.files
        encoded = rec.encoder.frames
        if rec.failure is not None:
            # The encoder may have died mid-file: believe only what a reader gets out of it.
            encoded = min(encoded, video_frame_count(files.video))
        reconcile_frames(files.frames, encoded)
        meta = self._ctx.sessions.read_meta(rec.session_id)
        recorder = dict(meta.extra.get("recorder") or {})
        recorder.update({
            "status": "stopped",
            "stoppedAtMs": round((stopped_at - rec.origin) * 1000, 1),
            "droppedFrames": {"late": rec.late_drops, "encoderBusy": rec.busy_drops,
                              "total": rec.late_drops + rec.busy_drops},
            "framesCaptured": rec.captured,
            "framesEncoded": encoded,
            "droppedMouseMoves": rec.builder.dropped_moves,
            "endReason": _end_reason(rec.failure),
        })
        meta = meta.with_(endedAt=self._clock.now_ms(), extra={**meta.extra, "recorder": recorder})
        self._ctx.sessions.save_meta(meta)
        return meta

    def _emit(self, event: RecorderEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("recorder event handler failed for %s", event.kind.value)


def _abandon(sink: LiveSink) -> None:
    try:
        sink.abandon()
    except Exception:
        log.exception("the upload lane failed to stop")


def _end_reason(failure: TraycapError | None) -> str:
    if failure is None:
        return "stopped"
    if isinstance(failure, LowDisk):
        return LOW_DISK  # a fixed word: tools that read the bundle tell it from other failures
    return failure.user_text()


def _check_settings(settings: AppSettings) -> None:
    if not 1 <= settings.fps <= MAX_FPS:
        raise RecorderError(f"The frame rate {settings.fps} fps is not possible",
                            f"choose between 1 and {MAX_FPS} fps in settings or with --fps")
    if not settings.screenshotIntervalS > 0:
        raise RecorderError(f"The screenshot interval {settings.screenshotIntervalS} s is not possible",
                            "choose a number of seconds greater than 0 in settings")


def reconcile_frames(frames_path: Path, video_frames: int) -> int:
    """Make frames.jsonl list exactly the frames the video holds (after a crash it may list more)."""
    return truncate_jsonl(frames_path, video_frames)
