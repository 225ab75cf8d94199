"""A real PulseAudio server for tests, on a private runtime dir, with microphones the test plays into.

    with pulse_server(tmp) as pulse:           # PULSE_SERVER / XDG_RUNTIME_DIR in pulse.env
        mic = pulse.microphone("TestMic")      # a pipe source named TestMic, fed by a thread of ours
        mic.play_at(t, samples)                # samples heard from monotonic time t on
        pulse.unload(mic.module)               # the device goes away, as a USB microphone unplugged

The server is `pulseaudio -n` (no default.pa: only what the test loads) with the native protocol on
a socket in the runtime dir, anonymous auth, a null sink as the default output. A microphone is
`module-pipe-source`: the source reads a FIFO we write, so the sound is known sample by sample and
in time: `MicFeed` writes a 10-ms block once it is complete on the monotonic clock (as a device
delivers a block once its last sample is captured), silence unless something is scheduled. That
clock is the recorder's (CLOCK_MONOTONIC), so a test knows the recording time of every sample it plays.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.support.waiting import stop_process, wait_until

RATE = 48_000
BLOCK = 480  # 10 ms


def have_pulseaudio() -> bool:
    return shutil.which("pulseaudio") is not None and shutil.which("pactl") is not None


@dataclass
class MicFeed:
    """Writes a pipe source's FIFO in real time: silence, plus whatever was scheduled."""

    fifo: Path
    module: str
    name: str
    block: int = BLOCK
    _scheduled: list[tuple[float, np.ndarray]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    started_at: float = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"feed-{self.name}", daemon=True)
        self._thread.start()

    def play_at(self, at: float, samples: np.ndarray) -> None:
        """`samples` (float, mono, 48 kHz) heard from monotonic time `at` on (`at` in the future)."""
        with self._lock:
            self._scheduled.append((at, samples.astype(np.float32)))

    def _run(self) -> None:
        fd = os.open(self.fifo, os.O_WRONLY)
        try:
            t0 = self.started_at = time.monotonic()
            k = 0
            while not self._stop.is_set():
                if time.monotonic() - (t0 + (k + 1) * self.block / RATE) > 0.05:
                    # behind (nobody read the source for a while, or this thread was held up): a device
                    # never hands over a backlog of its own, it drops it; so do we
                    k = int((time.monotonic() - t0) * RATE / self.block)
                start = t0 + k * self.block / RATE
                done = start + self.block / RATE
                delay = done - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # pacing a real-time signal, as a sound card's clock does
                block = np.zeros(self.block, np.float32)
                with self._lock:
                    self._scheduled = [(at, x) for at, x in self._scheduled if at + len(x) / RATE > start]
                    for at, samples in self._scheduled:
                        first = round((at - start) * RATE)  # index of the sound's first sample in this block
                        lo, hi = max(0, first), min(self.block, first + len(samples))
                        if lo < hi:
                            block[lo:hi] += samples[lo - first:hi - first]
                pcm = (np.clip(block, -1, 1) * 32767).astype("<i2").tobytes()
                try:
                    os.write(fd, pcm)
                except OSError:  # the source went away (unloaded): nothing reads any more
                    return
                k += 1
        finally:
            os.close(fd)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


@dataclass
class PulseServer:
    runtime: Path
    env: dict[str, str]  # for clients: PULSE_SERVER, XDG_RUNTIME_DIR
    proc: subprocess.Popen[bytes]
    feeds: list[MicFeed] = field(default_factory=list)

    def pactl(self, *args: str) -> str:
        done = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=30)
        if done.returncode:
            raise AssertionError(f"pactl {' '.join(args)}: {done.stderr}")
        return done.stdout.strip()

    def microphone(self, name: str, *, default: bool = False, block: int = BLOCK) -> MicFeed:
        """A microphone called `name` (its description, as traycap lists it) that we play into, a block of
        `block` samples at a time (a pipe source delivers what is written, as it is written)."""
        fifo = self.runtime / f"{name.replace(' ', '_')}.fifo"
        source = name.replace(" ", "_").lower()
        module = self.pactl("load-module", "module-pipe-source", f"source_name={source}", f"file={fifo}",
                            "format=s16le", f"rate={RATE}", "channels=1",
                            f"source_properties=device.description={name.replace(' ', '_')}")
        if default:
            self.pactl("set-default-source", source)
        feed = MicFeed(fifo, module, name, block)
        feed.start()
        self.feeds.append(feed)
        return feed

    def unload(self, module: str) -> None:
        self.pactl("unload-module", module)


@contextmanager
def pulse_server(tmp: Path) -> Iterator[PulseServer]:
    runtime = tmp / "pulse-runtime"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = tmp / "pulse.pa"
    socket = runtime / "native"
    config.write_text(
        f"load-module module-native-protocol-unix auth-anonymous=1 socket={socket}\n"
        "load-module module-null-sink sink_name=speakers sink_properties=device.description=Speakers\n"
        "set-default-sink speakers\n"
    )
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PULSE_SERVER": f"unix:{socket}",
           "HOME": str(tmp)}  # the server keeps its cookie and state under HOME: not the developer's
    log = open(tmp / "pulseaudio.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
                             "--disable-shm=yes", "-F", str(config), "--log-target=stderr"],
                            env=env, stdout=log, stderr=log)
    client_env = {k: v for k, v in env.items() if k != "HOME"}
    server = PulseServer(runtime, client_env, proc)
    try:
        wait_until("the PulseAudio server answers", lambda: proc.poll() is not None or _answers(client_env), 20)
        if proc.poll() is not None:
            raise AssertionError(f"pulseaudio exited: {(tmp / 'pulseaudio.log').read_text()[-2000:]}")
        yield server
    finally:
        for feed in server.feeds:
            feed.stop()
        stop_process(proc)
        log.close()


def _answers(env: dict[str, str]) -> bool:
    with suppress(subprocess.TimeoutExpired):
        return subprocess.run(["pactl", "info"], env=env, capture_output=True, timeout=5).returncode == 0
    return False


def tone(seconds: float, hz: float = 1000.0, level: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def speech(text: str, tmp: Path) -> np.ndarray:
    """`text` spoken by espeak-ng, at 48 kHz mono (sox converts espeak's 22.05 kHz)."""
    wav = tmp / "speech.wav"
    raw = tmp / "speech.raw"
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, capture_output=True, timeout=60)
    subprocess.run(["sox", str(wav), "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw",
                    str(raw)], check=True, capture_output=True, timeout=60)
    return np.frombuffer(raw.read_bytes(), "<i2").astype(np.float32) / 32768
