"""Which sound backend a recording hears through, chosen once (docs/audio.md).

    TRAYCAP_SOUND   soundcard (the default) | synthetic (tone bursts every 2 s on the recording
                    clock: benches) | none (no device at all, as on a machine without sound)
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from traycap.clock import Clock
from traycap.errors import RecorderError, SoundUnavailable
from traycap.media.sound.base import MIC, SYSTEM, SoundDevice, SoundSource

SOUND_ENV = "TRAYCAP_SOUND"
BACKENDS = ("soundcard", "synthetic", "none")


def backend_name(env: Mapping[str, str] | None = None) -> str:
    environ = os.environ if env is None else env
    choice = environ.get(SOUND_ENV, "").strip().lower() or "soundcard"
    if choice not in BACKENDS:
        raise RecorderError(f"Unknown {SOUND_ENV}={choice!r}", f"use one of: {', '.join(BACKENDS)} (or unset it)")
    return choice


def list_devices(env: Mapping[str, str] | None = None) -> list[SoundDevice]:
    """The devices a recording can hear (microphones first, the default first); SoundUnavailable."""
    backend = backend_name(env)
    if backend == "none":
        return []
    if backend == "synthetic":
        return [SoundDevice("Synthetic microphone", MIC, True), SoundDevice("Synthetic system sound", SYSTEM, True)]
    from traycap.media.sound import soundcard_input

    return soundcard_input.list_devices()


def open_sounds(*, mic: bool, system: bool, device: str, clock: Clock,
                env: Mapping[str, str] | None = None) -> tuple[list[SoundSource], list[SoundUnavailable]]:
    """The devices asked for, opened, and why each one that could not be is missing."""
    backend = backend_name(env)
    wanted = [kind for kind, on in ((MIC, mic), (SYSTEM, system)) if on]
    sources: list[SoundSource] = []
    problems: list[SoundUnavailable] = []
    for kind in wanted:
        try:
            sources.append(_open(backend, kind, device, clock))
        except SoundUnavailable as exc:
            problems.append(exc)
    return sources, problems


def _open(backend: str, kind: str, device: str, clock: Clock) -> SoundSource:
    what = "microphone" if kind == MIC else "computer's sound"
    if backend == "none":
        raise SoundUnavailable(f"No {what} to record: sound is turned off here ({SOUND_ENV}=none)")
    if backend == "synthetic":
        from traycap.media.sound.synthetic import Burst, SyntheticSound

        start = clock.monotonic()
        bursts = tuple(Burst(start + 2.0 * k, 0.2) for k in range(1, 3600))
        return SyntheticSound(clock, bursts=bursts, kind=kind, name=f"Synthetic {what}")
    from traycap.media.sound import soundcard_input

    if kind == MIC:
        return soundcard_input.open_microphone(device, clock.monotonic)
    return soundcard_input.open_system_sound(clock.monotonic)
