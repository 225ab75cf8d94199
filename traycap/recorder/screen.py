"""The screen adapter: the only module that imports mss, cv2 and av (PyAV) (and numpy, with null.py).

- `ScreenGrabber`: one monitor through mss (XShm on X11), frames as BGRA
  numpy views of mss's buffer (no copy).
- `VideoEncoder`: H.264 (libx264 from PyAV's wheel; opencv-python's wheel has
  no H.264 encoder) in a *fragmented* MP4: the muxer writes a self-contained
  fragment about every second and flushes it, so a SIGKILL loses at most the
  last second of video and the file stays playable.
- `encode_png`, `video_frame_count`, `salvage_video` for screenshots and recovery.
- `decode_frames_at`, `compose_image`, `encode_image` for the bundle's
  preview contact sheet (recorder/preview.py lays it out).

mss/av/cv2 errors are translated here into the traycap error tree.
"""

from __future__ import annotations

import contextlib
import errno
import fractions
import logging
import os
import sys
from pathlib import Path
from typing import IO, Any, Protocol

from traycap.errors import CaptureLost, DiskFull, NoDisplay, RecorderError, StorageError

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


class Frame(Protocol):
    """A BGRA image, height x width x 4, uint8 (a numpy array)."""

    shape: tuple[int, ...]


class FrameSource(Protocol):
    """What the recorder needs from a screen: tests inject a null one."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    def describe(self) -> dict[str, Any]: ...

    def grab(self) -> Any: ...

    def close(self) -> None: ...


def check_display() -> None:
    """Fail early, readably, when there is obviously no screen to record."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        if os.environ.get("WAYLAND_DISPLAY"):
            raise NoDisplay(
                "No X display: traycap records X11 screens and DISPLAY is not set under Wayland",
                "log in to an X11 session, or run under XWayland with DISPLAY set",
            )
        raise NoDisplay("No display to record: the DISPLAY environment variable is not set")


class ScreenGrabber:
    """Frames of one monitor: 0 = all monitors together, 1 = primary, N = Nth (mss numbering)."""

    def __init__(self, monitor: int = 0) -> None:
        check_display()
        import mss
        import mss.exception

        self._errors = (mss.exception.ScreenShotError,)
        try:
            self._sct = mss.MSS() if hasattr(mss, "MSS") else mss.mss()
            monitors = list(self._sct.monitors)
        except Exception as exc:  # mss raises ScreenShotError, ctypes/xcb may raise others
            raise NoDisplay(f"Cannot open the display {os.environ.get('DISPLAY', '')!r}: {exc}") from exc
        self.monitors = [dict(m) for m in monitors]
        if monitor < 0 or monitor >= len(monitors):
            self.close()
            raise RecorderError(
                f"There is no monitor {monitor}: this display has {len(monitors) - 1} "
                "(0 = all monitors, 1 = primary)",
                "choose another monitor with --monitor or in settings",
            )
        self.monitor = monitor
        rect = monitors[monitor]
        # H.264 in yuv420p needs even sizes: the odd last column/row is left out.
        self._rect = {"left": rect["left"], "top": rect["top"], "width": rect["width"], "height": rect["height"]}
        self._w = int(rect["width"]) - int(rect["width"]) % 2
        self._h = int(rect["height"]) - int(rect["height"]) % 2
        if self._w < 2 or self._h < 2:
            raise CaptureLost(f"Monitor {monitor} has no usable size ({rect['width']}x{rect['height']})")

    @property
    def width(self) -> int:
        return self._w

    @property
    def height(self) -> int:
        return self._h

    def describe(self) -> dict[str, Any]:
        return {"monitor": self.monitor, "rect": dict(self._rect), "all": self.monitors,
                "width": self._w, "height": self._h}

    def grab(self) -> Any:
        import numpy as np

        try:
            shot = self._sct.grab(self._rect)
        except Exception as exc:
            reason = str(exc).strip() or "the X display closed the connection"
            raise CaptureLost(f"Screen capture stopped working: {reason}") from exc
        if shot.width != self._rect["width"] or shot.height != self._rect["height"]:
            raise CaptureLost(f"The screen size changed to {shot.width}x{shot.height} while recording")
        image = np.frombuffer(shot.raw, dtype=np.uint8).reshape(shot.height, shot.width, 4)
        return image[: self._h, : self._w]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._sct.close()


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
        import cv2

        pts = max(pts_ms, self._last_pts + 1)
        self._last_pts = pts
        yuv = cv2.cvtColor(bgra, cv2.COLOR_BGRA2YUV_I420)
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


def blank_frame(image: Any) -> Any:
    """A black frame of the same size, in place of a screen that must not be recorded (excluded apps)."""
    import numpy as np

    return np.zeros_like(image)


def encode_png(bgra: Any) -> bytes:
    """A lossless screenshot (X11 leaves alpha undefined, so it is dropped)."""
    import cv2

    bgr = cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR)
    ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RecorderError("Could not encode a screenshot")
    return bytes(buf)


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
    import cv2

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
                out.append(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA))
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        raise RecorderError(f"Could not read the video: {exc}") from exc
    return out


def keyframe_thumbnail(init: bytes, media: bytes, width: int) -> tuple[int, Any] | None:
    """The first keyframe in `media` (whole moof+mdat boxes of the recorder's fragmented MP4, whose
    first boxes, ftyp+moov, are `init`): its video time in ms and the frame as a BGR image `width`
    wide. One decode, from memory; None when `media` holds no keyframe or cannot be read."""
    import io

    import av
    import cv2

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
                    return round((frame.pts or 0) * tb * 1000), cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    except (av.error.FFmpegError, OSError, IndexError, ValueError) as exc:
        log.info("no thumbnail from a video segment: %s", exc)
    return None


def scale_image(img: Any, size: tuple[int, int]) -> Any:
    """`img` resized to `size` (w, h)."""
    import cv2

    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def compose_image(size: tuple[int, int], background: tuple[int, int, int], tiles: list[tuple[Any, int, int]],
                  labels: list[tuple[str, int, int, float]], boxes: list[tuple[int, int, int, int]]) -> Any:
    """A BGR image of `size`: `boxes` (x, y, w, h) filled dark, `tiles` (image, x, y) pasted,
    `labels` (text, x, baseline y, scale) drawn in white, anti-aliased."""
    import cv2
    import numpy as np

    width, height = size
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:, :] = background
    for x, y, w, h in boxes:
        cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), (30, 24, 20), thickness=-1)
    for tile, x, y in tiles:
        th, tw = tile.shape[:2]
        img[y:y + th, x:x + tw] = tile
    for text, x, y, scale in labels:
        cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def encode_image(img: Any, suffix: str, quality: int = 80) -> bytes:
    """`img` (BGR) as ".jpg" (at `quality`) or ".png" bytes."""
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if suffix == ".jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 6]
    ok, buf = cv2.imencode(suffix, img, params)
    if not ok:
        raise RecorderError(f"Could not encode a {suffix} image")
    return bytes(buf)
