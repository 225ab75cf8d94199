"""The recording's sound: devices' blocks placed on the recording clock, mixed, encoded as the
video's second track (docs/audio.md).

    SoundTrack   one device: its SampleClock and DriftControl (audio_sync.py), its resampler, the
                 track samples it has made and not yet written
    AudioLoop    the `recorder-audio` thread: reads every device, places each block, writes what all
                 of them have covered to the encoder (the same fragmented MP4 as the frames), and the
                 loudness lane (video/levels.jsonl, one line a second)

Track sample 0 is shown with the video's first frame (pts 0); sample j belongs to recording time
`pts_zero + j / rate` with the pauses cut out, exactly as the frames' pts. Sound captured while
paused is dropped, and after a pause (or a gap) a device starts again with a jump to where it
belongs. A device that fails, goes away or stops delivering is never fatal: the track goes on as
silence from there, and `warn` (the controller: the tray, session.json) says why. At Stop the
track is made as long as the video (its last frame's pts + one frame).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from traycap.clock import Clock
from traycap.errors import SoundLost, SoundUnavailable
from traycap.media import pcm
from traycap.media.sound import SoundSource, open_sounds
from traycap.media.sound.base import SYSTEM
from traycap.models import AppSettings, AudioMode
from traycap.recorder.audio_sync import JUMP_S, DriftControl, SampleClock
from traycap.recorder.recording import Recording
from traycap.recorder.session import JsonLines

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.05
PRESENCE_EVERY_S = 2.0  # how often a device's presence is asked (a sound-server round trip)
STALL_S = 1.5  # a device this far behind the clock is padded with silence (it starts again when it comes back)
LOST_MARGIN_S = 0.2  # a lost device's silence is written this close behind the clock
REFUSED_AFTER_S = 3.0  # macOS: a microphone that gave only digital zeros this long was probably refused
LEVELS_PER_LINE = 10  # one levels.jsonl line a second
WRITE_MIN = 4096  # samples handed to the encoder at a time (85 ms; four AAC frames): fewer, larger calls
Warn = Callable[[SoundUnavailable], None]


def open_settings_sounds(settings: AppSettings, clock: Clock) -> tuple[list[SoundSource], list[SoundUnavailable]]:
    """The devices the settings ask for (none by default), opened; why any could not be."""
    if settings.audio is AudioMode.NONE:
        return [], []
    return open_sounds(mic=settings.audio.mic, system=settings.audio.system, device=settings.audioDevice, clock=clock)


class SoundTrack:
    def __init__(self, source: SoundSource, rate: int) -> None:
        self.source = source
        self.rate = rate
        self.clock = SampleClock(source.rate)
        self.control = DriftControl(source.rate, rate)
        self.resampler = pcm.Resampler()
        self.pending: list[Any] = []
        self.end = 0  # track samples made (written + pending)
        self.resync = True
        self.lost: SoundUnavailable | None = None
        self.lost_at_ms: float | None = None
        self.last_block_at: float | None = None
        self.blocks = 0
        self.heard = False  # any sample not exactly zero (a refused macOS microphone gives only zeros)
        self.zeros_s = 0.0
        self.refusal_said = False

    def emit(self, samples: Any) -> None:
        if len(samples):
            self.pending.append(samples)
            self.end += len(samples)

    def truncate(self, end: int) -> None:
        """Drop pending samples past track sample `end` (those already written stay)."""
        extra = self.end - end
        if extra <= 0:
            return
        data = pcm.concat(self.pending)
        keep = max(0, len(data) - extra)
        self.pending = [data[:keep]] if keep else []
        self.end -= len(data) - keep

    def take(self, n: int) -> Any:
        """The first `n` pending samples (the caller knows there are that many)."""
        out = pcm.concat(self.pending)
        self.pending = [out[n:]] if len(out) > n else []
        return out[:n]


class AudioLoop:
    """One recording's sound thread; `step` and `finish` are its whole work (tests drive them)."""

    def __init__(self, rec: Recording, clock: Clock, sources: list[SoundSource], levels: JsonLines, *,
                 warn: Warn, fps: int) -> None:
        self._rec = rec
        self._clock = clock
        self.rate = pcm.TRACK_RATE
        self.tracks = [SoundTrack(s, self.rate) for s in sources]
        self._levels = levels
        self._warn = warn
        self._frame_ms = 1000.0 / max(1, fps)
        self.written = 0  # track samples given to the encoder
        self._next_presence = clock.monotonic() + PRESENCE_EVERY_S
        self._line: list[int] = []
        self._line_start: tuple[float, float] | None = None  # (pts ms, t ms) of the line's first value
        self._level_rest = pcm.silence(0)
        self._was_running = True
        self.muted_s = 0.0  # system sound left out while an excluded app had focus

    # --- the clock ------------------------------------------------------------------------
    def _zero(self) -> float | None:
        return self._rec.pts_zero

    def _active(self, t: float) -> float:
        """Recording seconds without the pauses (valid while running)."""
        return t - self._rec.origin - self._rec.paused_total

    def _track_now(self) -> float | None:
        zero = self._zero()
        return None if zero is None else (self._active(self._clock.monotonic()) - zero) * self.rate

    # --- one pass ---------------------------------------------------------------------------
    def run(self) -> None:
        rec = self._rec
        try:
            while not rec.stop.is_set():
                self.step(READ_TIMEOUT_S)
            self.finish()
        except Exception as exc:  # never fatal: the recording goes on without its sound
            log.exception("the sound thread failed")
            self._warn(SoundUnavailable(f"Recording sound failed: {exc}", "the screen is recorded; sound stops here"))
        finally:
            for track in self.tracks:
                track.source.close()
            with contextlib.suppress(Exception):
                self._levels.close()
            rec.audio_facts = self.facts()
            rec.audio_done.set()

    def step(self, timeout: float) -> None:
        """Read what every device has, place it, write what all have covered."""
        live = [t for t in self.tracks if t.lost is None]
        for i, track in enumerate(live):
            self._read(track, timeout if i == 0 else 0.0)
        if not live:  # every device is gone: the track goes on as silence, at the same pace
            self._clock.sleep(timeout, self._rec.stop)
        now = self._clock.monotonic()
        if now >= self._next_presence:
            self._next_presence = now + PRESENCE_EVERY_S
            for track in self.tracks:
                if track.lost is None and not track.source.present():
                    self._lose(track, SoundLost(f"The {_what(track)} {track.source.name!r} went away",
                                                "the recording goes on, silent from there"))
        running = self._rec.running.is_set() and not self._rec.stop.is_set()
        if not running and self._was_running:
            self._flush_levels()
        self._was_running = running
        if running:
            self._pad_behind()
        self._write()

    def _read(self, track: SoundTrack, timeout: float) -> None:
        for _ in range(1000):  # at most 20 s of 20-ms blocks a pass (a thread held up that long catches up)
            try:
                got = track.source.read(timeout)
            except SoundLost as exc:
                self._lose(track, exc)
                break
            if got is None:
                break
            timeout = 0.0
            samples = pcm.to_mono(got[0])
            track.blocks += 1
            track.last_block_at = got[1]
            if track.clock.arrived(len(samples), got[1]):
                track.resync = True
            track.resampler.push(samples)
        self._place(track)  # every block that came is on the clock first: one placement for them all

    def _place(self, track: SoundTrack) -> None:
        if not track.resampler.buffered:
            return
        zero = self._zero()
        if zero is None or not self._rec.running.is_set():
            track.resampler.skip(track.resampler.buffered)  # before the first frame, or paused: not kept
            track.resync = True
            return
        if track.resync and not track.clock.settled():
            return  # a new run: its blocks wait (buffered) until its offset is known
        belongs = (self._active(track.clock.time_of(track.resampler.position)) - zero) * self.rate
        distance = (belongs - track.end) / self.rate
        if distance < -JUMP_S and -distance * track.source.rate >= track.resampler.buffered:
            track.resampler.skip(track.resampler.buffered)  # all of it is older than the track's end:
            track.resync = True  # (a backlog at the start, after a pause) the next block places itself
            return
        step = track.control.step(distance, resync=track.resync)
        if step.silence or step.skip:
            log.debug("sound %s: placed again, %+.1f ms (%s)", track.source.name, distance * 1000,
                      "a new run" if track.resync else "drifted too far")
        track.resync = False
        if step.silence:
            track.emit(pcm.silence(step.silence))
        track.resampler.skip(step.skip)
        out = track.resampler.pull(step.ratio)
        self._check_refused(track, out)
        if track.source.kind == SYSTEM and self._rec.builder.sound_private():
            self.muted_s += len(out) / self.rate
            out = pcm.silence(len(out))  # an excluded app has focus: its sound is not recorded
        track.emit(out)

    def _check_refused(self, track: SoundTrack, out: Any) -> None:
        """macOS gives a microphone it refused as silence, not as an error: say so once, keep recording."""
        if track.heard or track.refusal_said or not track.source.capabilities.refusal_is_silence:
            return
        if pcm.any_sound(out):
            track.heard = True
            return
        track.zeros_s += len(out) / self.rate
        if track.zeros_s >= REFUSED_AFTER_S:
            track.refusal_said = True
            self._warn(SoundUnavailable(
                f"The {_what(track)} {track.source.name!r} gives only silence: macOS may have refused it",
                "allow traycap (or the terminal that runs it) in System Settings > Privacy & Security > Microphone, "
                "then start a new recording"))

    def _pad_behind(self) -> None:
        """A device that delivers nothing (lost, or stalled: no block has arrived for STALL_S) is silence
        up to just behind the clock, so the others and the video are not held back. A device whose
        blocks are waiting for this thread (a loaded machine) is not stalled: they are placed as they are."""
        now = self._track_now()
        if now is None:
            return
        clock_now = self._clock.monotonic()
        for track in self.tracks:
            if track.lost is None and track.last_block_at is not None and clock_now - track.last_block_at < STALL_S:
                continue
            margin = LOST_MARGIN_S if track.lost is not None else STALL_S
            upto = int(now - margin * self.rate)
            if upto > track.end:
                track.emit(pcm.silence(upto - track.end))
                track.resync = True

    def _lose(self, track: SoundTrack, exc: SoundUnavailable) -> None:
        track.lost = exc
        zero = self._zero() or 0.0
        track.lost_at_ms = round((zero * self.rate + track.end) / self.rate * 1000 + self._rec.paused_total * 1000, 1)
        log.warning("%s", exc.user_text())
        self._warn(exc)

    def _write(self, *, least: int = WRITE_MIN) -> None:
        if not self.tracks:
            return
        upto = min(t.end for t in self.tracks)
        n = upto - self.written
        if n <= 0 or n < least:
            return
        samples = pcm.mix([t.take(n) for t in self.tracks])
        self._rec.encoder.write_audio(samples, self.written)
        self._add_levels(samples)
        self.written = upto

    def finish(self) -> None:
        """At Stop: what the devices still hold, then silence up to the end of the video."""
        rec = self._rec
        for track in self.tracks:
            if track.lost is None:
                self._read(track, 0.0)
        rec.capture_done.wait(10.0)  # the last frame decides where the video ends
        zero = self._zero()
        if zero is not None and rec.last_pts_ms >= 0:
            end = round((rec.last_pts_ms + self._frame_ms) / 1000 * self.rate)
            for track in self.tracks:
                if track.end < end:
                    track.emit(pcm.silence(end - track.end))
                track.truncate(end)  # sound captured after the last frame: the video ends there
        self._write(least=1)
        self._flush_levels()

    # --- the loudness lane ------------------------------------------------------------------
    def _add_levels(self, samples: Any) -> None:
        per = self.rate * pcm.LEVEL_MS // 1000
        data = pcm.concat([self._level_rest, samples])
        whole = len(data) // per * per
        first = self.written - len(self._level_rest)
        for k, db in enumerate(pcm.levels_db(data[:whole], per)):
            if self._line_start is None:
                pts_ms = (first + k * per) / self.rate * 1000
                zero = self._zero() or 0.0
                self._line_start = (round(pts_ms, 1), round((zero + self._rec.paused_total) * 1000 + pts_ms, 1))
            self._line.append(db)
            if len(self._line) >= LEVELS_PER_LINE:
                self._flush_levels()
        self._level_rest = data[whole:]

    def _flush_levels(self) -> None:
        if self._line and self._line_start is not None:
            pts, t = self._line_start
            self._levels.append({"pts": pts, "t": t, "ms": pcm.LEVEL_MS, "db": self._line})
            self._levels.sync()
        self._line = []
        self._line_start = None

    # --- facts ----------------------------------------------------------------------------
    def facts(self) -> dict[str, Any]:
        """The sound's part of the meta at Stop."""
        out: dict[str, Any] = {"seconds": round(self.written / self.rate, 3)}
        problems = [{"device": t.source.name, "kind": t.source.kind, "atMs": t.lost_at_ms,
                     "message": t.lost.user_text()} for t in self.tracks if t.lost is not None]
        if problems:
            out["problems"] = problems
        out["sync"] = {"jumps": sum(t.control.jumps for t in self.tracks),
                       "largestStretchMs": round(max((t.control.largest_s for t in self.tracks), default=0) * 1000, 1),
                       "restarts": sum(t.clock.restarts for t in self.tracks)}
        if self.muted_s:
            out["mutedForExcludedAppsS"] = round(self.muted_s, 1)
        return out


def _what(track: SoundTrack) -> str:
    return "computer's sound" if track.source.kind == SYSTEM else "microphone"
