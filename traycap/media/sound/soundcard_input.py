"""Microphones and the computer's own sound through `soundcard` (the one module that imports it).

soundcard talks to each platform's sound system through cffi, with no compiled part and no DLL
of its own: PulseAudio (and PipeWire's pulse server) on Linux, where `system` is the default
sink's monitor source; WASAPI on Windows, where `system` is the default output in loopback mode;
Core Audio on macOS, which has no loopback: `system` needs a loopback device such as BlackHole,
chosen as a microphone (docs/audio.md).

Each open device has one reader thread that owns its stream (soundcard's streams are used from
one thread) and queues the blocks; `read` takes them with a timeout. soundcard's `record` waits
without end when a device stops delivering (a source unloaded under it is moved to another one
by PulseAudio, which may give nothing), so the recorder also asks `present()`; a reader stuck
that way is left waiting (a daemon thread) and the device is reported gone. Library errors
become SoundUnavailable / SoundLost here.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
from typing import Any

from traycap.errors import SoundLost, SoundUnavailable
from traycap.media.sound.base import MIC, SYSTEM, Block, Capabilities, Monotonic, SoundDevice

log = logging.getLogger(__name__)

RATE = 48_000
# 20 ms a block (the fragment PulseAudio is asked for): ~1 % of a core for the reader at 30 blocks a
# second (10 ms: 2 %), and the arrival stamps still find the least-delayed block within a second or two.
BLOCK = 960
OPEN_TIMEOUT_S = 5.0
_QUEUE_BLOCKS = 3000  # 30 s of blocks waiting for the recorder; older ones are dropped beyond that

if sys.platform == "win32":
    BACKEND = "soundcard/wasapi"
    NO_SERVER_NAME = "Windows Audio"
    NO_SERVER_HINT = "check that Windows Audio runs and a microphone is connected"
    REFUSED_HINT = ("allow desktop apps to use the microphone: Settings > Privacy & security > Microphone "
                    "(\"Let desktop apps access your microphone\")")
elif sys.platform == "darwin":
    BACKEND = "soundcard/coreaudio"
    NO_SERVER_NAME = "Core Audio"
    NO_SERVER_HINT = "check System Settings > Sound > Input"
    REFUSED_HINT = "allow traycap (or the terminal that runs it) in System Settings > Privacy & Security > Microphone"
else:
    BACKEND = "soundcard/pulseaudio"
    NO_SERVER_NAME = "PulseAudio, or PipeWire's pulse server"
    NO_SERVER_HINT = ("start PulseAudio or PipeWire's pulse server (pipewire-pulse); "
                      "`pactl info` must answer in the same session")
    REFUSED_HINT = NO_SERVER_HINT


def _library() -> Any:
    """soundcard, loaded on first use: it connects to the sound server when imported."""
    try:
        import soundcard
    except Exception as exc:  # no server: AssertionError, IndexError, RuntimeError, OSError (no libpulse), ...
        log.debug("soundcard could not be loaded", exc_info=exc)
        raise SoundUnavailable(f"No sound system answered ({NO_SERVER_NAME})", NO_SERVER_HINT) from exc
    return soundcard


def _refused(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "0x80070005" in text or ("access" in text and "denied" in text)


def list_devices() -> list[SoundDevice]:
    """Every microphone, then every output whose sound can be recorded (monitor / loopback)."""
    sc = _library()
    try:
        default = sc.default_microphone().name
    except Exception:
        default = None
    try:
        speaker = sc.default_speaker().name
    except Exception:
        speaker = None
    out: list[SoundDevice] = []
    try:
        for mic in sc.all_microphones(include_loopback=True):
            if mic.isloopback:
                out.append(SoundDevice(mic.name, SYSTEM, bool(speaker) and speaker in mic.name))
            else:
                out.append(SoundDevice(mic.name, MIC, mic.name == default))
    except Exception as exc:
        raise SoundUnavailable(f"The sound devices could not be listed: {exc}", NO_SERVER_HINT) from exc
    return sorted(out, key=lambda d: (d.kind != MIC, not d.default, d.name))


def open_microphone(name: str, monotonic: Monotonic) -> SoundcardSource:
    """The microphone called `name` ("" = the system's default input); blocks stamped on `monotonic`."""
    sc = _library()
    try:
        if name:
            found = [m for m in sc.all_microphones(include_loopback=False) if m.name == name]
            if not found:
                raise SoundUnavailable(f"There is no microphone called {name!r}",
                                       "choose one that `traycap config devices` lists, or leave audioDevice empty "
                                       "for the default")
            mic = found[0]
        else:
            mic = sc.default_microphone()
    except SoundUnavailable:
        raise
    except Exception as exc:
        raise SoundUnavailable(f"There is no microphone to record from ({exc})", NO_SERVER_HINT) from exc
    return SoundcardSource(sc, mic, MIC, monotonic)


def open_system_sound(monotonic: Monotonic) -> SoundcardSource:
    """What the default output plays: its monitor source (PulseAudio) or loopback (WASAPI)."""
    sc = _library()
    if sys.platform == "darwin":
        raise SoundUnavailable("macOS cannot record what the computer plays without a loopback device",
                               "install a loopback device (BlackHole, Loopback), send the sound to it and "
                               "choose it as the microphone (audio=mic, audioDevice=its name)")
    try:
        speaker = sc.default_speaker()
        loops = [m for m in sc.all_microphones(include_loopback=True) if m.isloopback]
        match = [m for m in loops if speaker.name in m.name] or loops
        if not match:
            raise SoundUnavailable("The computer's sound cannot be recorded: no output has a monitor", NO_SERVER_HINT)
    except SoundUnavailable:
        raise
    except Exception as exc:
        raise SoundUnavailable(f"The computer's sound cannot be recorded ({exc})", NO_SERVER_HINT) from exc
    return SoundcardSource(sc, match[0], SYSTEM, monotonic)


class SoundcardSource:
    """One device's stream, read by a thread of its own."""

    capabilities = Capabilities(BACKEND, refusal_is_silence=sys.platform == "darwin")

    def __init__(self, sc: Any, device: Any, kind: str, monotonic: Monotonic) -> None:
        self._sc = sc
        self._monotonic = monotonic
        self._device = device
        self._loopback = kind == SYSTEM
        self.kind = kind
        self.name = str(device.name)
        self.rate = RATE
        self._blocks: queue.Queue[Block | BaseException] = queue.Queue(maxsize=_QUEUE_BLOCKS)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"sound-{kind}", daemon=True)
        self._thread.start()
        if not self._ready.wait(OPEN_TIMEOUT_S):
            self._stop.set()
            raise SoundUnavailable(f"The sound device {self.name!r} did not start within {OPEN_TIMEOUT_S:.0f} s",
                                   NO_SERVER_HINT)
        if self._error is not None:
            exc = self._error
            hint = REFUSED_HINT if _refused(exc) else NO_SERVER_HINT
            raise SoundUnavailable(f"The sound device {self.name!r} could not be opened: {exc}", hint) from exc

    def _run(self) -> None:
        if sys.platform == "win32":  # this thread joins the process's COM apartment (WASAPI is COM)
            import ctypes

            with contextlib.suppress(Exception):
                ctypes.windll.ole32.CoInitializeEx(None, 0)  # type: ignore[attr-defined,unused-ignore]
        try:
            with self._device.recorder(samplerate=RATE, channels=1, blocksize=BLOCK) as rec:
                self._ready.set()
                while not self._stop.is_set():
                    block = rec.record(numframes=None)
                    if len(block):
                        self._put((block, self._monotonic()))
        except Exception as exc:
            self._error = exc
            if self._ready.is_set():
                self._put(exc)
            self._ready.set()

    def _put(self, item: Block | BaseException) -> None:
        try:
            self._blocks.put_nowait(item)
        except queue.Full:  # nobody reads (the recorder is stuck): the oldest sound goes
            with contextlib.suppress(queue.Empty):
                self._blocks.get_nowait()
            with contextlib.suppress(queue.Full):
                self._blocks.put_nowait(item)

    def read(self, timeout: float) -> Block | None:
        try:
            item = self._blocks.get(timeout=max(0.0, timeout)) if timeout > 0 else self._blocks.get_nowait()
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            raise SoundLost(f"The sound device {self.name!r} failed: {item}") from item
        return item

    def present(self) -> bool:
        try:
            names = {m.name for m in self._sc.all_microphones(include_loopback=self._loopback)}
        except Exception:
            return False  # the sound server itself went away
        return self.name in names

    def close(self) -> None:
        self._stop.set()
        self._thread.join(0.5)  # a reader waiting on a device that gives nothing is left behind (daemon)
