"""Video: the one module that imports av (PyAV), for writing a recording and for reading one.

- `VideoEncoder`: H.264 (libx264 from PyAV's wheel; opencv-python's wheel has
  no H.264 encoder) in a *fragmented* MP4: the muxer writes a self-contained
  fragment about every second and flushes it, so a SIGKILL loses at most the
  last second of video and the file stays playable. It takes frames from any
  capture backend (media/capture/), apart from how they were captured.
- `video_frame_count`, `salvage_video`: what a crash left (recovery).
- `decode_frames_at`, `keyframe_thumbnail`: frames for the bundle's preview
  contact sheet (bundle/preview.py lays it out, images.py draws it).

av errors are translated here into the traycap error tree; colour conversion and
resizing are images.py's (cv2).
"""

from __future__ import annotations

import contextlib
import errno
import fractions
import logging
import os
from pathlib import Path
from typing import IO, Any

from traycap.errors import DiskFull, RecorderError, StorageError
from traycap.media import images

log = logging.getLogger(__name__)

VIDEO_CODEC = "libx264"
VIDEO_PRESET = "superfast"  # bench/record.py: ~same CPU as ultrafast here, half the bytes
VIDEO_CRF = "23"  # text stays sharp; screen content compresses well
KEYFRAME_INTERVAL_S = 5
FRAGMENT_US = 1_000_000  # one MP4 fragment (and flush) per second
MUXER_OPTIONS = {
    # empty_moov + fragments: no index at the end to lose; every fragment stands alone.
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "frag_duration": str(FRAGMENT_US),
    "flush_packets": "1",
}


def _io_error(exc: BaseException, what: str) -> StorageError | RecorderError:
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f"The disk is full: could not write {what}")
    return RecorderError(f"Could not write {what}: {exc}")


class VideoEncoder:
    """BGRA frames with their own timestamps -> fragmented H.264 MP4 (variable frame rate)."""

    def __init__(self, path: Path, width: int, height: int, fps: int) -> None:
        import av

        self.path = path
        self._w = width
        self._h = height
        self._last_pts = -1
        self.frames = 0
        self._tb = fractions.Fraction(1, 1000)
        try:
            self._container: Any = av.open(str(path), mode="w", format="mp4", options=MUXER_OPTIONS)
            stream: Any = self._container.add_stream(VIDEO_CODEC, rate=max(1, fps))
            stream.width = width
            stream.height = height
            stream.pix_fmt = "yuv420p"
            stream.time_base = self._tb
            stream.codec_context.time_base = self._tb
            stream.codec_context.gop_size = max(1, fps * KEYFRAME_INTERVAL_S)
            # zerolatency: no B-frames or lookahead, so each frame leaves the encoder at once.
            # Sliced threads, at most 4: more only cost memory at these frame sizes and rates.
            threads = str(min(4, max(1, os.cpu_count() or 1)))
            stream.options = {"preset": VIDEO_PRESET, "tune": "zerolatency", "crf": VIDEO_CRF, "threads": threads}
            self._stream = stream
        except OSError as exc:
            raise _io_error(exc, path.name) from exc

    def write(self, bgra: Any, pts_ms: int) -> None:
        """Encode one frame shown at `pts_ms` (video time, strictly increasing)."""
        import av

        pts = max(pts_ms, self._last_pts + 1)
        self._last_pts = pts
        yuv = images.bgra_to_i420(bgra)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = pts
        frame.time_base = self._tb
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except OSError as exc:
            raise _io_error(exc, self.path.name) from exc
        self.frames += 1

    def close(self) -> None:
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        except OSError as exc:
            raise _io_error(exc, self.path.name) from exc
        finally:
            with contextlib.suppress(Exception):
                self._container.close()

    def abandon(self) -> None:
        """Close after an error: keep what is on disk, never raise."""
        with contextlib.suppress(Exception):
            self._container.close()


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
        out = av.open(str(dst), mode="w", format="mp4", options=MUXER_OPTIONS)
        try:
            out_stream = out.add_stream_from_template(in_stream)
            try:
                for packet in inp.demux(in_stream):
                    if not packet.size or packet.dts is None:
                        continue
                    packet.stream = out_stream
                    out.mux(packet)
                    kept += 1
            except (av.error.FFmpegError, OSError) as exc:
                log.info("%s: salvaged %d frames, then %s", src.name, kept, exc)
        finally:
            out.close()
    finally:
        inp.close()
    return kept


def backend_info() -> dict[str, Any]:
    import av

    return {"codec": "h264", "encoder": VIDEO_CODEC, "preset": VIDEO_PRESET, "crf": int(VIDEO_CRF),
            "container": "mp4 (fragmented)", "pyav": getattr(av, "__version__", "?")}


def decode_frames_at(source: Path | IO[bytes], times_ms: list[int], size: tuple[int, int]) -> list[Any]:
    """The frames shown at each video time (ms from the first frame), as BGR images of `size` (w, h).

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
                bgr = best.to_ndarray(format="bgr24")
                out.append(images.resize(bgr, size))
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        raise RecorderError(f"Could not read the video: {exc}") from exc
    return out


def keyframe_thumbnail(init: bytes, media: bytes, width: int) -> tuple[int, Any] | None:
    """The first keyframe in `media` (whole moof+mdat boxes of the recorder's fragmented MP4, whose
    first boxes, ftyp+moov, are `init`): its video time in ms and the frame as a BGR image `width`
    wide. One decode, from memory; None when `media` holds no keyframe or cannot be read."""
    import io

    import av

    try:
        container: Any = av.open(io.BytesIO(init + media), mode="r", format="mp4")
        with container:
            stream = container.streams.video[0]
            tb = float(stream.time_base or fractions.Fraction(1, 1000))
            for packet in container.demux(stream):
                if not packet.size or not packet.is_keyframe:
                    continue
                for frame in packet.decode():
                    bgr = frame.to_ndarray(format="bgr24")
                    h, w = bgr.shape[:2]
                    size = (width, max(2, round(width * h / max(1, w))))
                    return round((frame.pts or 0) * tb * 1000), images.resize(bgr, size)
    except (av.error.FFmpegError, OSError, IndexError, ValueError) as exc:
        log.info("no thumbnail from a video segment: %s", exc)
    return None
