"""One recording while it runs: what its worker loops share, and how it is opened.

`open_recording` makes the session dir and writes its meta before the first frame (a crash from
there on still leaves a visible session), then the files, the video encoder and the action builder.
A `Recording` lives exactly as long as the recording; the controller owns it, its worker loops
(loops.py) read and write it, and the first failure one of them meets is kept here (`fail`).
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
from typing import Any

from traycap import __version__
from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import SoundUnavailable, TraycapError
from traycap.media.capture import FrameSource
from traycap.media.encoders import Choice
from traycap.media.pcm import TRACK_RATE
from traycap.media.regions import Changes
from traycap.media.sound import SoundSource
from traycap.media.video import VideoEncoder, audio_info, backend_info, open_encoder
from traycap.models import AppSettings, SessionMeta
from traycap.paths import new_session_id
from traycap.recorder.actions import CLICK_SCREENSHOT_MIN_INTERVAL_S, ActionBuilder, RateLimiter
from traycap.recorder.inputs import InputSource
from traycap.recorder.privacy import PrivateActions, WindowSource
from traycap.recorder.session import SessionWriter
from traycap.recorder.tracks import Tracks

log = logging.getLogger(__name__)

ENCODER_QUEUE_FRAMES = 8  # frames waiting for the encoder; beyond that a frame is dropped (and counted)
ENCODER_QUEUE_BYTES = 32 * 1024 * 1024  # ... and no more than this (three 1080p frames): memory
# The devices a recording hears, opened, and why any asked for is missing (media/sound/factory.py).
SoundFactory = Callable[[AppSettings, Clock], "tuple[list[SoundSource], list[SoundUnavailable]]"]


@dataclass
class Frame:
    image: Any
    t: float  # monotonic seconds
    wall_ms: int
    pts_ms: int
    seq: int
    changed: Changes = None  # where it differs from the frame the encoder had before (None: anywhere)
    repeat: bool = False  # the screen did not change: the encoder's last picture again


def encoder_queue_size(width: int, height: int) -> int:
    """Frames the encoder's queue holds: a burst of ENCODER_QUEUE_FRAMES, but at most ENCODER_QUEUE_BYTES."""
    return max(2, min(ENCODER_QUEUE_FRAMES, ENCODER_QUEUE_BYTES // max(1, width * height * 4)))


class Recording:
    """Everything that lives exactly as long as one recording."""

    def __init__(self, session_id: str, origin: float, wall_origin: int, source: FrameSource,
                 writer: SessionWriter, encoder: VideoEncoder, builder: PrivateActions,
                 meta: SessionMeta | None = None) -> None:
        self.session_id = session_id
        self.meta = meta  # as written at Start (the tracks added once the inputs run)
        self.origin = origin
        self.wall_origin = wall_origin
        self.source = source
        self.writer = writer
        self.encoder = encoder
        self.builder = builder
        self.actions_lock = threading.Lock()
        self.queue: queue.Queue[Frame | None] = queue.Queue(maxsize=encoder_queue_size(source.width, source.height))
        self.stop = threading.Event()
        self.signal = threading.Event()  # wakes the capture thread on any state change
        self.running = threading.Event()  # set while not paused (or when stopping)
        self.running.set()
        self.shot_signal = threading.Event()
        self.frame_cond = threading.Condition()
        self.latest: Frame | None = None
        self.first_frame = threading.Event()
        self.paused_total = 0.0
        self.paused_since: float | None = None
        self.late_drops = 0
        self.busy_drops = 0
        self.captured = 0  # frames handed to the encoder or dropped because it was busy
        self.unchanged = 0  # grid slots whose screen had not changed: nothing encoded (recorder/timing.py)
        self.repeated = 0  # frames that repeat the last picture (a still screen, once a second)
        self.frame_wanted = threading.Event()  # a screenshot waits for a frame: the next slot makes one
        self.frame_wanted_t = -math.inf  # ... grabbed at or after this moment (an earlier one leaves it waiting)
        self.click_requests: list[float] = []
        self.click_limiter = RateLimiter(CLICK_SCREENSHOT_MIN_INTERVAL_S)
        self.input: InputSource | None = None
        self.threads: list[threading.Thread] = []
        self.failure: TraycapError | None = None
        self._failure_lock = threading.Lock()
        self.finished = threading.Event()
        self.result: SessionMeta | None = None
        self.finishing = False
        self.final_frame = False  # capture one last frame after the inputs stopped
        # the sound (audio.py): the devices, why any is missing, and the video's time base it follows
        self.sounds: list[SoundSource] = []
        self.sound_problems: list[SoundUnavailable] = []
        self.pts_zero: float | None = None  # recording seconds (pauses cut) of the video's pts 0
        self.last_pts_ms = -1
        self.capture_done = threading.Event()
        self.audio_done = threading.Event()
        self.audio_done.set()  # until a sound thread starts
        self.audio_facts: dict[str, Any] = {}  # what the sound thread says at its end (audio.py), for Stop's meta

    def fail(self, exc: TraycapError) -> bool:
        """Keep the first failure; True when this one is it (the caller then stops the recording)."""
        with self._failure_lock:
            if self.failure is not None:
                return False
            self.failure = exc
            return True

    def append_actions(self, actions: list[dict[str, Any]]) -> None:
        for action in actions:
            self.writer.actions.append(action)

    def pause(self, now: float) -> None:
        """The loops idle (no frame, no action) from `now`; a pending action is dropped, a marker kept."""
        self.running.clear()
        self.paused_since = now
        self.signal.set()
        with self.actions_lock:
            self.builder.discard_pending()
            self.append_actions(self.builder.marker("pause", now))

    def resume(self, now: float) -> None:
        """The loops run again; the pause is cut from the video's time line (paused_total)."""
        if self.paused_since is not None:
            self.paused_total += now - self.paused_since
        self.paused_since = None
        with self.actions_lock:
            self.append_actions(self.builder.marker("resume", now))
        self.running.set()
        self.signal.set()

    def wake_all(self) -> None:
        """Every worker looks at the state again (stop, pause, resume)."""
        self.signal.set()
        self.shot_signal.set()
        with self.frame_cond:
            self.frame_cond.notify_all()

    def halt(self) -> None:
        """Stop: the inputs first (the final frame then comes after the last recorded action), the
        pending actions flushed, then every worker loop ends and is joined."""
        if self.input is not None:
            try:
                self.input.stop()
            except Exception as exc:
                log.warning("stopping the input listeners: %s", exc)
        with self.actions_lock:
            if self.running.is_set():
                with contextlib.suppress(TraycapError):
                    self.append_actions(self.builder.flush())
        self.final_frame = self.running.is_set()  # stopped while paused: nothing more is captured
        self.stop.set()
        self.running.set()
        self.wake_all()
        self.join_workers()

    def discard(self) -> None:
        """The start failed after the session dir was made: undo everything (nothing worth keeping yet)."""
        self.stop.set()
        self.running.set()
        self.wake_all()
        self.join_workers()
        with contextlib.suppress(Exception):
            self.writer.close()
        with contextlib.suppress(Exception):
            self.source.close()
        for sound in self.sounds:
            sound.close()
        self.builder.close()
        shutil.rmtree(self.writer.files.dir, ignore_errors=True)

    def join_workers(self, timeout: float = 60) -> None:
        for thread in self.threads:
            if thread is threading.current_thread():
                continue
            thread.join(timeout)
            if thread.is_alive():
                log.error("%s did not stop within %.0f s", thread.name, timeout)


def open_recording(ctx: Context, settings: AppSettings, source: FrameSource, clock: Clock,
                   focus_factory: Callable[[], WindowSource], sound_factory: SoundFactory) -> Recording:
    """A new session dir with its meta, files, sound devices, encoder and action builder (undone if any
    step fails; a sound device that cannot be opened only means no sound from it)."""
    wall = clock.now_ms()
    origin = clock.monotonic()
    session_id = new_session_id(wall)
    directory = ctx.paths.session_dir(session_id)
    writer = SessionWriter(directory, clock.monotonic)
    builder: PrivateActions | None = None
    sounds: list[SoundSource] = []
    problems: list[SoundUnavailable] = []
    encoder: VideoEncoder | None = None
    try:
        builder = PrivateActions.for_patterns(ActionBuilder(origin, settings.keystrokePrivacy), origin,
                                              settings.excludedApps, focus_factory, clock.monotonic)
        sounds, problems = sound_factory(settings, clock)
        encoder, choice = open_encoder(writer.files.video, source.width, source.height, settings.fps,
                                       settings.encoder.value, audio_rate=TRACK_RATE if sounds else None)
        info = _recorder_info(settings, source, wall, origin, choice)
        info["audio"] = sound_info(settings, sounds, problems)
        # Written before the first frame: a crash from here on still leaves a visible session.
        meta = SessionMeta(sessionId=session_id, createdAt=wall, videoRef="video/screen.mp4",
                           extra={"recorder": info})
        ctx.sessions.save_meta(meta)
    except BaseException:
        if encoder is not None:
            encoder.abandon()
        for sound in sounds:
            sound.close()
        if builder is not None:
            builder.close()
        writer.close()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    rec = Recording(session_id, origin, wall, source, writer, encoder, builder, meta)
    rec.sounds, rec.sound_problems = sounds, problems
    return rec


def write_tracks(ctx: Context, rec: Recording, tracks: Tracks) -> None:
    """What the recording holds (known once its inputs run) into its meta, and so into session.json."""
    meta = rec.meta or ctx.sessions.read_meta(rec.session_id)
    recorder = {**(meta.extra.get("recorder") or {}), "tracks": tracks.to_json()}
    rec.meta = meta.with_(extra={**meta.extra, "recorder": recorder})
    ctx.sessions.save_meta(rec.meta)


def sound_info(settings: AppSettings, sounds: list[SoundSource], problems: list[SoundUnavailable]) -> dict[str, Any]:
    """The meta's "audio" part at Start: what was asked, what is heard, why anything is missing."""
    out: dict[str, Any] = {"mode": settings.audio.value}
    if settings.audioDevice:
        out["deviceAsked"] = settings.audioDevice
    if sounds:
        out["devices"] = [{"kind": s.kind, "name": s.name, "backend": s.capabilities.name} for s in sounds]
        out["track"] = audio_info(TRACK_RATE)
    if problems:
        out["problems"] = [{"atMs": 0, "message": p.user_text()} for p in problems]
    return out


def _recorder_info(settings: AppSettings, source: FrameSource, wall: int, origin: float,
                   choice: Choice) -> dict[str, Any]:
    """The meta's "recorder" part at Start: settings, screen, time base, encoder, platform."""
    caps = source.capabilities
    return {
        "status": "recording",
        "fps": settings.fps,
        "monitor": settings.monitor,
        "screen": source.describe(),
        "capture": caps.describe(),
        "keystrokePrivacy": settings.keystrokePrivacy.value,
        "screenshotIntervalS": settings.screenshotIntervalS,
        "timeBase": {
            "clock": "monotonic",
            "unit": "ms",
            "wallOriginMs": wall,
            "monotonicOriginS": origin,
            "note": "t = ms since the recording started; wall time = wallOriginMs + t",
        },
        "video": {**backend_info(choice), "width": source.width, "height": source.height,
                  "pts": "ms of recording time, paused spans cut out"},
        "platform": {"system": platform.system(), "release": platform.release(),
                     "machine": platform.machine(), "python": platform.python_version(), "sys": sys.platform},
        "app": {"name": "traycap", "version": __version__},
    }
