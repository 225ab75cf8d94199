"""Which H.264 encoder a recording uses (pure): the `encoder` setting, the platform, what this PyAV
build has, and whether a probe encode works.

    auto       a hardware encoder of this platform when the build has one and a probe encode of one
               frame at the recording's size succeeds; otherwise libx264 (the CPU). Never required.
    hardware   the same candidates; when none works the recording still uses libx264, and the
               session's meta and the log say which were tried and why each failed.
    x264       libx264 only.

Candidates, in the order tried (each takes software frames, which is what PyAV can hand it):
    linux    h264_vaapi (only builds that have it; it wants frames in GPU memory, so with PyAV's
             software frames its probe fails and says so), h264_nvenc, h264_qsv, h264_amf
    win32    h264_mf (Media Foundation, hardware only), h264_nvenc, h264_qsv, h264_amf
    darwin   h264_videotoolbox

Every choice keeps what the recorder needs: H.264 in yuv420p (or nv12 where the encoder takes only
that), no B-frames (each frame leaves the encoder at once, so a fragment is on disk within a second),
a keyframe every 5 s (also forced by time, media/video.py), and a quality close to libx264's CRF 23.
The options of the hardware encoders follow FFmpeg's documentation; this project's test machine
has no GPU, so only the choice and the fallback are tested here, never a hardware encode.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

X264 = "libx264"
X264_PRESET = "superfast"  # bench/record.py: ~same CPU as ultrafast here, half the bytes
X264_CRF = 23  # text stays sharp; screen content compresses well


@dataclass(frozen=True)
class Encoder:
    codec: str
    pix_fmt: str
    options: dict[str, str]
    hardware: bool


def x264(threads: int) -> Encoder:
    # zerolatency: no B-frames or lookahead, so each frame leaves the encoder at once.
    # Sliced threads, at most 4: more only cost memory at these frame sizes and rates.
    return Encoder(X264, "yuv420p", {"preset": X264_PRESET, "tune": "zerolatency", "crf": str(X264_CRF),
                                     "threads": str(min(4, max(1, threads)))}, hardware=False)


# Encoders of several platforms (NVIDIA, Intel, AMD), with the same options on each.
NVENC = Encoder("h264_nvenc", "yuv420p", {"preset": "p4", "tune": "ll", "rc": "vbr", "cq": "23", "bf": "0",
                                         "zerolatency": "1"}, hardware=True)
QSV = Encoder("h264_qsv", "nv12", {"global_quality": "23", "bf": "0", "async_depth": "1"}, hardware=True)
AMF = Encoder("h264_amf", "yuv420p", {"usage": "lowlatency", "rc": "cqp", "qp_i": "23", "qp_p": "23", "bf": "0"},
              hardware=True)
HARDWARE: dict[str, tuple[Encoder, ...]] = {
    "linux": (Encoder("h264_vaapi", "yuv420p", {"qp": "23", "bf": "0"}, hardware=True), NVENC, QSV, AMF),
    "win32": (Encoder("h264_mf", "nv12", {"hw_encoding": "1", "rate_control": "quality", "quality": "70",
                                          "scenario": "display_remoting"}, hardware=True), NVENC, QSV, AMF),
    "darwin": (Encoder("h264_videotoolbox", "yuv420p", {"realtime": "1", "q:v": "65", "bf": "0", "allow_sw": "0"},
                       hardware=True),),
}

CHOICES = ("auto", "hardware", "x264")


@dataclass(frozen=True)
class Choice:
    encoder: Encoder
    requested: str  # the setting
    tried: dict[str, str] = field(default_factory=dict)  # codec -> why it was not used

    def describe(self) -> dict[str, Any]:
        """The meta's words for it (session.json -> video)."""
        out: dict[str, Any] = {"encoder": self.encoder.codec, "hardware": self.encoder.hardware,
                               "encoderSetting": self.requested}
        if self.tried:
            out["encodersTried"] = dict(self.tried)
        return out


def platform_key(platform: str) -> str:
    return "win32" if platform.startswith("win") else "darwin" if platform == "darwin" else "linux"


def choose(requested: str, platform: str, available: Collection[str], probe: Callable[[Encoder], str | None],
           *, threads: int) -> Choice:
    """The encoder for a recording. `available`: the codec names this PyAV build has; `probe(encoder)`
    encodes a frame with it and returns None, or why it failed (a driver missing, no device...)."""
    fallback = x264(threads)
    if requested not in CHOICES:
        return Choice(fallback, requested, {"setting": f"unknown encoder setting {requested!r}: libx264 used"})
    if requested == "x264":
        return Choice(fallback, requested)
    tried: dict[str, str] = {}
    for candidate in HARDWARE[platform_key(platform)]:
        if candidate.codec not in available:
            tried[candidate.codec] = "not in this PyAV build"
            continue
        why = probe(candidate)
        if why is None:
            return Choice(candidate, requested, tried)
        tried[candidate.codec] = why
    return Choice(fallback, requested, tried)
