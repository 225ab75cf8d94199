"""What the recorder needs of a sound device: blocks of samples as they come, and whether it is there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

MIC = "mic"
SYSTEM = "system"
# A block of samples and when it arrived (the recording's monotonic clock, read by the thread that
# received it: a reader that is late to take it does not make it look late).
Block = tuple[Any, float]
Monotonic = Callable[[], float]


@dataclass(frozen=True)
class SoundDevice:
    """A device a recording can hear, as the settings list it."""

    name: str  # as the system names it ("Built-in Audio Analog Stereo"); `audioDevice` takes it
    kind: str  # MIC (an input) or SYSTEM (what an output plays: a monitor or loopback)
    default: bool = False


@dataclass(frozen=True)
class Capabilities:
    """What a backend can tell; the recorder words its reasons by them."""

    name: str  # "soundcard/pulseaudio", "soundcard/wasapi", "soundcard/coreaudio", "synthetic"
    # macOS gives a refused microphone as digital silence instead of an error: only then does a
    # recording that hears nothing but zeros say that access may have been refused.
    refusal_is_silence: bool = False


class SoundSource(Protocol):
    """One open device. `read` is called from one thread (the recorder's sound loop)."""

    kind: str  # MIC or SYSTEM
    name: str  # the device's name, for session.json and the reasons
    rate: int  # samples per second of the blocks `read` gives
    capabilities: Capabilities

    def read(self, timeout: float) -> Block | None:
        """The next block (frames x channels float32, or frames) and when it arrived, or None when none
        came within `timeout` s. Raises SoundLost when the device failed."""
        ...

    def present(self) -> bool:
        """The device is still there (False: unplugged, or its sound server went away)."""
        ...

    def close(self) -> None:
        """Stop; never raises."""
        ...
