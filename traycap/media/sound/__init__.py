"""Sound as blocks of samples: what a recording hears (docs/audio.md).

    base.py              SoundSource (a device's blocks, its presence), SoundDevice, Capabilities
    factory.py           open_sounds(mode, device) and list_devices(): the backend picked once
                         (TRAYCAP_SOUND: soundcard | synthetic | none)
    soundcard_input.py   PulseAudio / PipeWire-Pulse, WASAPI, Core Audio through `soundcard` (its one importer)
    synthetic.py         a device made of numbers on the injected clock (tests, benches): tone
                         bursts at known times, a sample clock that may run fast or slow

Nothing here knows recordings or time stamps: recorder/audio.py places the blocks on the recording clock.
"""

from traycap.media.sound.base import Capabilities, SoundDevice, SoundSource
from traycap.media.sound.factory import list_devices, open_sounds

__all__ = ["Capabilities", "SoundDevice", "SoundSource", "list_devices", "open_sounds"]
