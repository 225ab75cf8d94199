"""The worker loops of a recording, one small object each, all on one `Recording` (recording.py).

    CaptureLoop     grabs frames on the fps grid (timing.FrameScheduler), hands them to the encoder;
                    a slot whose screen did not change costs nothing (timing.Repeats)
    EncodeLoop      H.264-encodes them (media/video.py), writes video/frames.jsonl
    ScreenshotLoop  periodic screenshots (one identical to the last is not written again) and one
                    after each click (throttled)
    DiskLoop        below minFreeMB the recording stops (endReason "low_disk")
    AudioLoop       the sound, when the recording hears any (audio.py)
    InputFeed       pynput's callbacks -> actions.jsonl, and the click screenshots they ask for

Every time (frames, actions, screenshots) comes from ONE monotonic clock and is written as
milliseconds since the recording started. A loop that fails hands its error to `fail` (the
controller keeps the first one and stops the recording from a helper thread); it never dies
silently (guard.py).
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

from traycap.clock import Clock
from traycap.errors import LowDisk, TraycapError
from traycap.media.frames import blank_like, digest
from traycap.media.images import encode_png
from traycap.media.regions import Changes, union
from traycap.models import AppSettings
from traycap.recorder.actions import RawClick, RawEvent
from traycap.recorder.audio import AudioLoop, Warn
from traycap.recorder.guard import WorkerGuard
from traycap.recorder.recording import Frame, Recording
from traycap.recorder.session import JsonLines
from traycap.recorder.timing import FrameScheduler, Repeats, Slot

log = logging.getLogger(__name__)

CLICK_SHOT_WAIT_S = 1.0
Fail = Callable[[TraycapError], None]


def start_loops(rec: Recording, clock: Clock, settings: AppSettings, *, disk_every_s: float,
                check_disk: Callable[[], None], fail: Fail, warn: Warn) -> None:
    """The capture, encoder, screenshot, disk-guard (and sound) threads of `rec`, running."""
    loops = {"capture": CaptureLoop(rec, clock, settings.fps, fail).run,
             "encoder": EncodeLoop(rec, fail).run,
             "screenshots": ScreenshotLoop(rec, clock, settings.screenshotIntervalS, fail).run,
             "disk": DiskLoop(rec, clock, disk_every_s, check_disk, fail).run}
    if rec.sounds:
        rec.audio_done.clear()
        loops["audio"] = AudioLoop(rec, clock, rec.sounds, JsonLines(rec.writer.files.levels), warn=warn,
                                   fps=settings.fps).run
    for name, run in loops.items():
        thread = threading.Thread(target=run, name=f"recorder-{name}", daemon=True)
        rec.threads.append(thread)
        thread.start()


class CaptureLoop:
    """Frames on the fps grid; paused time is cut out of the video's timestamps."""

    def __init__(self, rec: Recording, clock: Clock, fps: int, fail: Fail) -> None:
        self._rec, self._clock, self._fps, self._fail = rec, clock, fps, fail
        self._last_pts = -1
        self._pts_zero: int | None = None
        self._repeats = Repeats()
        self._sent: Any = None  # the last image the encoder got
        self._pending: Changes = None  # where the screen changed since (None: anywhere)
        self._blank: Any = None  # the black frame of an excluded app's span (one, so it is "unchanged")
        self._private = False

    def run(self) -> None:
        try:
            with WorkerGuard("Screen capture", self._fail):
                self._frames()
        finally:
            self._rec.capture_done.set()
            with contextlib.suppress(Exception):
                self._rec.queue.put(None, timeout=30)  # the encoder's end, after a failure too

    def _frames(self) -> None:
        rec, clock = self._rec, self._clock
        sched = FrameScheduler(self._fps, clock.monotonic())
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
            self.capture_one()
            sched.captured(clock.monotonic())
            rec.late_drops = sched.dropped
            with rec.actions_lock:
                rec.append_actions(rec.builder.flush_due(clock.monotonic()))
            rec.writer.maybe_sync()
        if rec.failure is None and rec.final_frame and rec.captured > 0:
            self.capture_one(last=True)  # a last frame, after the last recorded input

    def capture_one(self, *, last: bool = False) -> None:
        rec, clock = self._rec, self._clock
        t0 = clock.monotonic()
        private = rec.builder.screen_private()
        image = rec.source.grab()
        self._pending = union(self._pending, rec.source.changed_areas())
        t1 = clock.monotonic()
        if image is None:
            # A damage-driven source before the screen's first change (wlroots, a screen cast before and not
            # changed since): nothing to encode in this slot, but the capture runs, so Start goes on.
            rec.first_frame.set()
            return
        private = private or rec.builder.screen_private()  # an excluded app had focus: before or after the grab
        if private:
            if self._blank is None or self._blank.shape != image.shape:
                self._blank = blank_like(image)
            image = self._blank
        if private != self._private:
            self._private, self._pending = private, None
        if not rec.running.is_set():
            return  # paused while this grab ran: the frame may show the paused screen, so it is not kept
        t = (t0 + t1) / 2
        slot = self._repeats.decide(t, changed=image is not self._sent, wanted=last or rec.frame_wanted.is_set())
        if slot == Slot.SKIP:
            rec.unchanged += 1
            return
        # Video time: recording time without the pauses, strictly increasing (what frames.jsonl says).
        # 0 at the first frame: a player's position in the video is exactly `pts`.
        active_ms = round((t - rec.origin - rec.paused_total) * 1000)
        if self._pts_zero is None:
            self._pts_zero = active_ms
            rec.pts_zero = active_ms / 1000  # the sound's track starts here too (audio.py)
        pts = max(active_ms - self._pts_zero, self._last_pts + 1)
        self._last_pts = rec.last_pts_ms = pts
        frame = Frame(image=image, t=t, wall_ms=clock.now_ms(), pts_ms=pts, seq=rec.captured,
                      changed=self._pending, repeat=slot == Slot.REPEAT)
        rec.captured += 1
        try:
            rec.queue.put_nowait(frame)
        except queue.Full:
            rec.busy_drops += 1  # the encoder is behind: the frame is not in the video, and says so
            return  # nor a screenshot: a screenshot is always a frame of the video; its changes go with the next
        self._repeats.sent(t)
        self._sent, self._pending = image, ()
        rec.repeated += slot == Slot.REPEAT
        if t >= rec.frame_wanted_t:
            # A grab that began before the click a screenshot asks for stands for a moment before it: that
            # frame does not answer the request, the next slot must make one too.
            rec.frame_wanted.clear()
        with rec.frame_cond:
            rec.latest = frame
            rec.frame_cond.notify_all()
        rec.first_frame.set()


class EncodeLoop:
    """The frames' lines, then the frames themselves; after a failure it keeps draining the queue."""

    def __init__(self, rec: Recording, fail: Fail) -> None:
        self._rec, self._fail = rec, fail
        self._broken = False

    def run(self) -> None:
        while True:
            frame = self._rec.queue.get()
            if frame is None:
                break
            self.encode(frame)
        self.finish()

    def encode(self, frame: Frame) -> None:
        """One frame: its line, then the frame (nothing after a failure: the queue is only drained)."""
        if self._broken:
            return
        rec = self._rec
        with WorkerGuard("Video encoding", self._fail) as guard:
            # The line first: a list longer than the video is cut at stop/recovery,
            # a video frame without its line could not be placed in time.
            rec.writer.frames.append({
                "i": rec.encoder.frames,
                "t": round((frame.t - rec.origin) * 1000, 1),
                "wallMs": frame.wall_ms,
                "pts": frame.pts_ms,
            })
            if frame.repeat:
                rec.encoder.repeat(frame.image, frame.pts_ms)
            else:
                rec.encoder.write(frame.image, frame.pts_ms, frame.changed)
        self._broken = guard.failed

    def finish(self) -> None:
        self._rec.audio_done.wait(30)  # the sound's last samples go in before the file is closed
        try:
            if self._broken:
                self._rec.encoder.abandon()
            else:
                self._rec.encoder.close()
        except TraycapError as exc:
            self._fail(exc)


class ScreenshotLoop:
    """One screenshot at the start, one every interval (paused time does not count), one per allowed click."""

    def __init__(self, rec: Recording, clock: Clock, interval_s: float, fail: Fail) -> None:
        self._rec, self._clock, self._fail = rec, clock, fail
        self._interval = max(0.2, float(interval_s))
        self._last_file = ""
        self._last_image: Callable[[], Any] = lambda: None  # a weak reference: the frame is not kept for this
        self._last_digest = b""

    def run(self) -> None:
        rec, clock, interval = self._rec, self._clock, self._interval
        next_periodic = clock.monotonic()  # one at the start: the screen as the recording began
        last_t: float | None = None
        with WorkerGuard("Screenshot", self._fail):
            while not rec.stop.is_set():
                rec.shot_signal.clear()
                with rec.actions_lock:
                    clicks, rec.click_requests = rec.click_requests, []
                for click_t in clicks:
                    last_t = self.take("click", click_t, last_t)
                now = clock.monotonic()
                if now >= next_periodic:
                    if rec.running.is_set():
                        last_t = self.take("periodic", now, last_t)
                    next_periodic = max(next_periodic + interval, now + interval / 2)
                    continue
                if not rec.running.is_set():
                    next_periodic = clock.monotonic() + interval  # paused time does not count
                clock.sleep(min(interval, max(0.0, next_periodic - now)), rec.shot_signal)

    def take(self, reason: str, want_t: float, last_t: float | None) -> float | None:
        """Save the first frame captured at or after `want_t` (waits up to CLICK_SHOT_WAIT_S).

        A frame already saved is never saved twice: a click right after the start-of-recording
        screenshot gets the next frame, not nothing."""
        rec = self._rec
        if reason == "periodic" and self.still(want_t):
            return last_t
        if last_t is not None and want_t <= last_t:
            want_t = math.nextafter(last_t, math.inf)
        rec.frame_wanted_t = want_t
        rec.frame_wanted.set()  # a still screen skips slots: this makes the next one a frame
        with rec.frame_cond:
            rec.frame_cond.wait_for(
                lambda: rec.stop.is_set() or (rec.latest is not None and rec.latest.t >= want_t),
                timeout=CLICK_SHOT_WAIT_S,
            )
            frame = rec.latest
        rec.frame_wanted.clear()  # this thread alone asks, one screenshot at a time
        if frame is None or frame.t == last_t or frame.t < want_t - 1.0:
            return last_t
        t_ms = round((frame.t - rec.origin) * 1000, 1)
        fingerprint = digest(frame.image)
        if reason == "periodic" and fingerprint == self._last_digest:
            self._unchanged(t_ms, frame.wall_ms, frame.pts_ms)
            return frame.t
        name = f"{round(t_ms):09d}-{reason}.png"
        rec.writer.save_screenshot(name, encode_png(frame.image))
        rec.writer.shots.append({"t": t_ms, "file": name, "reason": reason, "wallMs": frame.wall_ms,
                                 "pts": frame.pts_ms})
        self._last_file, self._last_image, self._last_digest = name, weakref.ref(frame.image), fingerprint
        return frame.t

    def still(self, want_t: float) -> bool:
        """The screen has not changed since the last screenshot (the capture still holds that very frame):
        an index line says so, and no PNG is written again."""
        rec = self._rec
        latest = rec.latest
        if latest is None or not self._last_file or latest.image is not self._last_image():
            return False
        t_ms = round((want_t - rec.origin) * 1000, 1)
        pts = latest.pts_ms + max(0, round((want_t - latest.t) * 1000))
        self._unchanged(t_ms, latest.wall_ms + round((want_t - latest.t) * 1000), pts)
        return True

    def _unchanged(self, t_ms: float, wall_ms: int, pts: int) -> None:
        self._rec.writer.shots.append({"t": t_ms, "file": self._last_file, "reason": "periodic", "unchanged": True,
                                       "wallMs": wall_ms, "pts": pts})


class DiskLoop:
    """The disk guard: `check()` raises LowDisk below minFreeMB; the recording then stops and is exported."""

    def __init__(self, rec: Recording, clock: Clock, every_s: float, check: Callable[[], None], fail: Fail) -> None:
        self._rec, self._clock, self._every_s, self._check, self._fail = rec, clock, every_s, check, fail

    def run(self) -> None:
        while not self._clock.sleep(self._every_s, self._rec.stop):
            try:
                self._check()
            except LowDisk as exc:
                self._fail(exc)
                return
            except OSError as exc:
                log.warning("could not read the free disk space: %s", exc)


class InputFeed:
    """pynput's listener threads call `on_input`: never raises into pynput."""

    def __init__(self, rec: Recording, fail: Fail) -> None:
        self._rec, self._fail = rec, fail

    def on_input(self, ev: RawEvent) -> None:
        rec = self._rec
        if not rec.running.is_set() or rec.stop.is_set() or rec.failure is not None:
            return
        with WorkerGuard("Recording input", self._fail), rec.actions_lock:
            if not rec.running.is_set():
                return  # paused while this event waited for the lock: the pause marker is written
            rec.append_actions(rec.builder.feed(ev))
            if isinstance(ev, RawClick) and ev.pressed and rec.click_limiter.allow(ev.t):
                rec.click_requests.append(ev.t)
                rec.shot_signal.set()
