"""Video: the one module that imports av (PyAV) for writing a recording and reading one (the encoder's
input picture is media/picture.py's).

- `VideoEncoder`: H.264 (libx264 from PyAV's wheel, or a hardware encoder media/encoders.py chose)
  in a *fragmented* MP4: the muxer writes a self-contained fragment about every second and flushes
  it, so a SIGKILL loses at most the last second of video and the file stays playable. It takes
  frames from any capture backend (media/capture/), apart from how they were captured; `repeat`
  encodes the last picture again without converting anything (a screen that did not change). With
  `audio_rate`, the same file gets a second track: AAC-LC, mono, on the video's time (`write_audio`
  from the recorder's sound thread; the two threads share the muxer under a lock), so fragments,
  the live bundle and salvage carry it.
- `open_encoder`: the encoder the `encoder` setting and a probe encode choose.
- `video_frame_count`, `salvage_video`: what a crash left (recovery).
- `decode_frames_at`, `keyframe_thumbnail`: frames for the bundle's preview
  contact sheet (bundle/preview.py lays it out, images.py draws it).

av errors are translated here into the traycap error tree; resizing is images.py's (Pillow).
"""

from __future__ import annotations

import contextlib
import errno
import fractions
import logging
import os
import sys
import threading
from pathlib import Path
from typing import IO, Any

from traycap.errors import DiskFull, RecorderError, StorageError
from traycap.media import encoders, images, regions
from traycap.media.picture import YuvPicture

log = logging.getLogger(__name__)

KEYFRAME_INTERVAL_S = 5  # also forced by time: a still screen sends few frames (recorder/timing.py)
FRAGMENT_US = 1_000_000  # one MP4 fragment (and flush) per second
MUXER_OPTIONS = {
    # empty_moov + fragments: no index at the end to lose; every fragment stands alone.
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "frag_duration": str(FRAGMENT_US),
    "flush_packets": "1",
}
# AAC-LC plays wherever H.264 does (browsers' MSE, QuickTime, Windows); Opus would need less bitrate
# but not every player takes it in MP4. Mono: a narration, or the computer's sound mixed down.
AUDIO_CODEC = "aac"
AUDIO_BITRATE = 64_000
# With a sound track the muxer holds a track's packets until the other catches up; never more than
# this (µs), so a late sound thread cannot keep video fragments off the disk for long.
AUDIO_MUXER_OPTIONS = {**MUXER_OPTIONS, "max_interleave_delta": "2000000"}
_PROBED: dict[tuple[str, int, int], str | None] = {}  # a probe per encoder and size, once per process


def _io_error(exc: BaseException, what: str) -> StorageError | RecorderError:
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"The disk is full: could not write {what}")
    return RecorderError(f"Could not write {what}: {exc}")


class VideoEncoder:
    """BGRA frames with their own timestamps -> fragmented H.264 MP4 (variable frame rate)."""

    def __init__(self, path: Path, width: int, height: int, fps: int,
                 encoder: encoders.Encoder | None = None, *, audio_rate: int | None = None) -> None:
        import av

        self.path = path
        self.encoder = encoder or encoders.x264(os.cpu_count() or 1)
        self._w = width
        self._h = height
        self._last_pts = -1
        self._last_key: int | None = None
        self.frames = 0
        self._tb = fractions.Fraction(1, 1000)
        self._picture = YuvPicture(width, height)
        self._mux_lock = threading.Lock()  # the video and sound threads share the muxer
        self._audio: Any = None
        self.audio_samples = 0
        options = AUDIO_MUXER_OPTIONS if audio_rate else MUXER_OPTIONS
        try:
            self._container: Any = av.open(str(path), mode="w", format="mp4", options=options)
            stream: Any = self._container.add_stream(self.encoder.codec, rate=max(1, fps))
            stream.width = width
            stream.height = height
            stream.pix_fmt = self.encoder.pix_fmt
            stream.time_base = self._tb
            stream.codec_context.time_base = self._tb
            stream.codec_context.gop_size = max(1, fps * KEYFRAME_INTERVAL_S)
            stream.options = dict(self.encoder.options)
            self._stream = stream
            if audio_rate:
                audio: Any = self._container.add_stream(AUDIO_CODEC, rate=audio_rate)
                audio.layout = "mono"
                audio.bit_rate = AUDIO_BITRATE
                self._audio = audio
        except OSError as exc:
            raise _io_error(exc, path.name) from exc

    @property
    def has_audio(self) -> bool:
        return self._audio is not None

    def _mux(self, packets: Any, *, audio: bool = False) -> None:
        with self._mux_lock:
            for packet in packets:
                if audio and packet.pts is not None and packet.pts < 0:
                    # AAC's priming frame: muxed, it would shift both tracks by 21 ms (MP4 fragments
                    # cannot start below 0); dropped, the sound's first 21 ms decode a little rough.
                    continue
                if not audio and packet.is_keyframe and packet.pts is not None:
                    self._last_key = max(self._last_key or 0, int(packet.pts))
                self._container.mux(packet)

    def write_audio(self, samples: Any, first_sample: int) -> None:
        """Encode mono float32 samples at the track's rate whose first one is sample `first_sample` of
        the track (sample 0 is shown with the video's pts 0)."""
        import av

        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = self._audio.rate
        frame.pts = first_sample
        frame.time_base = fractions.Fraction(1, self._audio.rate)
        try:
            self._mux(self._audio.encode(frame), audio=True)
        except OSError as exc:
            raise _io_error(exc, self.path.name) from exc
        self.audio_samples = first_sample + len(samples)

    @property
    def converted_px(self) -> int:
        """Pixels converted to yuv420p so far (whole frames and changed parts)."""
        return self._picture.converted_px

    def write(self, bgra: Any, pts_ms: int, changed: regions.Changes = None) -> None:
        """Encode one frame shown at `pts_ms` (video time, strictly increasing), of which only `changed`
        differs from the frame before (None: maybe all of it)."""
        self._encode(self._picture.update(bgra, changed), pts_ms)

    def repeat(self, bgra: Any, pts_ms: int) -> None:
        """The last frame again at `pts_ms`, nothing converted (`bgra` is only read if there is none yet)."""
        picture = self._picture.frame
        self._encode(picture if picture is not None else self._picture.update(bgra, None), pts_ms)

    def _encode(self, picture: Any, pts_ms: int) -> None:
        import av

        pts = max(pts_ms, self._last_pts + 1)
        self._last_pts = pts
        key = self._last_key is None or pts - self._last_key >= KEYFRAME_INTERVAL_S * 1000
        picture.pict_type = av.video.frame.PictureType.I if key else av.video.frame.PictureType.NONE
        picture.pts = pts
        picture.time_base = self._tb
        frame = picture if self.encoder.pix_fmt == "yuv420p" else picture.reformat(format=self.encoder.pix_fmt)
        try:
            self._mux(self._stream.encode(frame))
        except OSError as exc:
            raise _io_error(exc, self.path.name) from exc
        self.frames += 1

    def close(self) -> None:
        try:
            self._mux(self._stream.encode(None))
            if self._audio is not None:
                self._mux(self._audio.encode(None), audio=True)
        except OSError as exc:
            raise _io_error(exc, self.path.name) from exc
        finally:
            with contextlib.suppress(Exception):
                self._container.close()

    def abandon(self) -> None:
        """Close after an error: keep what is on disk, never raise."""
        with contextlib.suppress(Exception):
            self._container.close()


def open_encoder(path: Path, width: int, height: int, fps: int, setting: str, *,
                 audio_rate: int | None = None) -> tuple[VideoEncoder, encoders.Choice]:
    """The encoder the `encoder` setting asks for, as media/encoders.py chooses it with a probe encode."""
    import av

    choice = encoders.choose(setting, sys.platform, set(av.codecs_available),
                             lambda e: probe(e, width, height), threads=os.cpu_count() or 1)
    for codec, why in choice.tried.items():
        log.log(logging.WARNING if setting == "hardware" else logging.INFO, "encoder %s not used: %s", codec, why)
    return VideoEncoder(path, width, height, fps, choice.encoder, audio_rate=audio_rate), choice


def probe(encoder: encoders.Encoder, width: int, height: int) -> str | None:
    """Encode one blank frame with `encoder` at this size: None when it works, else why not (a hardware
    encoder without its driver or device fails here, in milliseconds). Once per process and size."""
    import av

    key = (encoder.codec, width, height)
    if key not in _PROBED:
        try:
            ctx: Any = av.CodecContext.create(encoder.codec, "w")
            ctx.width, ctx.height, ctx.pix_fmt = width, height, encoder.pix_fmt
            ctx.time_base = fractions.Fraction(1, 1000)
            ctx.options = dict(encoder.options)
            frame = av.VideoFrame(width, height, encoder.pix_fmt)
            frame.pts = 0
            packets = list(ctx.encode(frame)) + list(ctx.encode(None))
            _PROBED[key] = None if any(p.size for p in packets) else "the probe encode gave no data"
        except (av.error.FFmpegError, ValueError, OSError, RuntimeError, NotImplementedError) as exc:
            # FFmpeg's own words ("Operation not permitted" from NVENC without libcuda), not the call repeated
            _PROBED[key] = str(getattr(exc, "strerror", None) or exc or type(exc).__name__)[:200]
    return _PROBED[key]


def video_frame_count(path: Path) -> int:
    """Frames a reader can get out of `path` (packets up to the first damaged one)."""
    import av

    count = 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for packet in container.demux(stream):
                if packet.size:
                    count += 1
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        log.info("%s: readable up to frame %d (%s)", path.name, count, exc)
    return count


def salvage_video(src: Path, dst: Path) -> int:
    """Copy the readable packets of a video cut short by a crash into a clean file.

    Returns the number of frames kept. No re-encoding: packets are copied.
    """
    import av

    kept = 0
    try:
        inp = av.open(str(src))
    except (av.error.FFmpegError, OSError) as exc:
        log.warning("%s cannot be opened (%s): no video kept", src.name, exc)
        return 0
    try:
        streams = inp.streams.video
        if not streams:
            return 0
        in_stream = streams[0]
        sound = inp.streams.audio[0] if inp.streams.audio else None
        out = av.open(str(dst), mode="w", format="mp4", options=AUDIO_MUXER_OPTIONS if sound else MUXER_OPTIONS)
        try:
            out_stream = out.add_stream_from_template(in_stream)
            targets: dict[int, Any] = {in_stream.index: out_stream}
            if sound is not None:  # the sound track goes along, packets copied like the frames
                targets[sound.index] = out.add_stream_from_template(sound)
            try:
                for packet in inp.demux(*[s for s in (in_stream, sound) if s is not None]):
                    if not packet.size or packet.dts is None:
                        continue
                    video = packet.stream.index == in_stream.index
                    packet.stream = targets[packet.stream.index]
                    out.mux(packet)
                    kept += 1 if video else 0
            except (av.error.FFmpegError, OSError) as exc:
                log.info("%s: salvaged %d frames, then %s", src.name, kept, exc)
        finally:
            out.close()
    finally:
        inp.close()
    return kept


def audio_info(rate: int) -> dict[str, Any]:
    """The sound track's encoding, for session.json."""
    return {"codec": AUDIO_CODEC, "profile": "LC", "sampleRate": rate, "channels": 1, "bitrate": AUDIO_BITRATE,
            "track": 2}


def backend_info(choice: encoders.Choice) -> dict[str, Any]:
    """What the session's meta says about the video: the codec, the encoder chosen and how."""
    import av

    info: dict[str, Any] = {"codec": "h264", **choice.describe(), "container": "mp4 (fragmented)",
                            "pyav": getattr(av, "__version__", "?")}
    if choice.encoder.codec == encoders.X264:
        info.update(preset=encoders.X264_PRESET, crf=encoders.X264_CRF)
    return info


def decode_frames_at(source: Path | IO[bytes], times_ms: list[int], size: tuple[int, int]) -> list[Any]:
    """The frames shown at each video time (ms from the first frame), as RGB pictures of `size` (w, h).

    Seeks to the keyframe before each time and decodes forward from there, so
    a one-hour video costs a dozen short decodes, not a full one. A time past
    the end gives the last frame. Raises RecorderError when nothing can be decoded.
    """
    import av

    out: list[Any] = []
    try:
        container: Any = av.open(source if not isinstance(source, Path) else str(source))
        with container:
            stream = container.streams.video[0]
            _one_thread(stream)
            tb = float(stream.time_base or fractions.Fraction(1, 1000))
            start = stream.start_time or 0
            for want_ms in times_ms:
                target = start + int(want_ms / 1000 / tb)
                container.seek(target, stream=stream, backward=True, any_frame=False)
                best: Any = None
                for frame in container.decode(stream):
                    if best is not None and frame.pts is not None and frame.pts > target:
                        break
                    best = frame
                    if frame.pts is not None and frame.pts >= target:
                        break
                if best is None:
                    raise RecorderError(f"No video frame at {want_ms} ms")
                out.append(images.resize(best.to_image(), size))
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        raise RecorderError(f"Could not read the video: {exc}") from exc
    return out


def keyframe_thumbnail(init: bytes, media: bytes, width: int) -> tuple[int, Any] | None:
    """The first keyframe in `media` (whole moof+mdat boxes of the recorder's fragmented MP4, whose
    first boxes, ftyp+moov, are `init`): its video time in ms and the frame as an RGB picture `width`
    wide. One decode, from memory; None when `media` holds no keyframe or cannot be read."""
    import io

    import av

    try:
        container: Any = av.open(io.BytesIO(init + media), mode="r", format="mp4")
        with container:
            stream = container.streams.video[0]
            _one_thread(stream)
            tb = float(stream.time_base or fractions.Fraction(1, 1000))
            for packet in container.demux(stream):
                if not packet.size or not packet.is_keyframe:
                    continue
                for frame in packet.decode():
                    size = (width, max(2, round(width * frame.height / max(1, frame.width))))
                    return round((frame.pts or 0) * tb * 1000), images.resize(frame.to_image(), size)
    except (av.error.FFmpegError, OSError, IndexError, ValueError) as exc:
        log.info("no thumbnail from a video segment: %s", exc)
    return None


def _one_thread(stream: Any) -> None:
    """Decode on this thread only: FFmpeg's default frame threading gives each of (cores + 1) threads its
    own 1080p frame buffers, tens of MB for a picture or two (the live bundle keeps a thumbnail every 5 s
    while recording)."""
    stream.codec_context.thread_count = 1
    stream.codec_context.thread_type = "NONE"
