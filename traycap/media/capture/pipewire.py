"""The PipeWire adapter: the only module that imports Gst (GStreamer, through PyGObject).

    pipewiresrc fd=FD path=NODE ! videoconvert ! video/x-raw,format=BGRx ! appsink

The appsink hands each sample to `_on_sample` on GStreamer's streaming thread, which copies the
pixels out (one memcpy), drops the sample at once and gives the copy to a `FrameSink`
(frame_pacing.LatestFrame). Nothing here ever holds a sample: a consumer that keeps samples
drains PipeWire's buffer pool and the portal backend then busy-loops waiting for a free buffer.

BGRx is what the compositors send for SHM casts (wlroots, mutter and KWin alike), so videoconvert
passes it through untouched; it is also what the encoder and the screenshot writer take from
mss on X11 (alpha undefined), so a Wayland frame goes down the same path as an X11 one. The
converter is there for the casts that come in another order (RGBx, xRGB).

A stream that ends says so in one of two ways, both watched by one thread: an ERROR or EOS
message on the pipeline's bus, or, silently, pipewiresrc's streaming task pausing (PipeWire
0.3's pipewiresrc posts nothing when the producer's node goes away: the output was unplugged,
the portal backend died, the size changed). Either way the sink is failed with CaptureLost.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from traycap.errors import CaptureLost, PipeWireUnavailable, TraycapError
from traycap.media import frames

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.1
STATE_TIMEOUT_S = 5.0
FORMAT = "BGRx"


class FrameSink(Protocol):
    def put(self, image: Any) -> None: ...

    def fail(self, error: TraycapError) -> None: ...


_initialised = False
_init_lock = threading.Lock()


def _gst() -> Any:
    global _initialised
    try:
        import gi

        gi.require_version("Gst", "1.0")
        from gi.repository import Gst
    except (ImportError, ValueError) as exc:
        raise PipeWireUnavailable(
            f"GStreamer is not usable from Python ({exc})",
            "install gir1.2-gstreamer-1.0, gstreamer1.0-plugins-base and gstreamer1.0-pipewire",
        ) from exc
    with _init_lock:
        if not _initialised:
            ok, _argv = Gst.init_check(None)
            if not ok:
                raise PipeWireUnavailable("GStreamer could not be initialised")
            _initialised = True
    if Gst.ElementFactory.find("pipewiresrc") is None:
        raise PipeWireUnavailable("GStreamer has no PipeWire source (pipewiresrc)",
                                  "install gstreamer1.0-pipewire (Debian, Ubuntu) or gstreamer1-plugin-pipewire")
    return Gst


def pipeline_description(fd: int, node_id: int, max_fps: int | None) -> str:
    rate = f",max-framerate=(fraction)[0/1,{max_fps}/1]" if max_fps else ""
    return (f"pipewiresrc name=src fd={fd} path={node_id} always-copy=false"
            f" ! videoconvert ! video/x-raw,format={FORMAT}{rate}"
            " ! appsink name=sink emit-signals=true max-buffers=1 drop=true sync=false enable-last-sample=false")


def bgrx_image(data: bytes, width: int, height: int) -> Any:
    """`data` (rows of `width` BGRx pixels, each row possibly padded) as a height x width x 4 array, cropped
    to even sizes (H.264 in yuv420p needs them, as on X11). None when `data` is too short."""
    return frames.from_padded_bgrx(data, width, height, even=True)


class PipeWireFrames:
    """Frames of PipeWire node `node_id` over the portal's `fd` (pipewiresrc dups it: the caller keeps it)."""

    def __init__(self, fd: int, node_id: int, sink: FrameSink, *, max_fps: int | None = None) -> None:
        self._fd = fd
        self._node = node_id
        self._sink = sink
        self._max_fps = max_fps
        self._pipeline: Any = None
        self._Gst: Any = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.frames = 0
        self.bad_frames = 0
        self.format: str | None = None

    def start(self) -> None:
        """Build and play the pipeline; PipeWireUnavailable when it cannot play."""
        Gst = self._Gst = _gst()
        try:
            pipeline = Gst.parse_launch(pipeline_description(self._fd, self._node, self._max_fps))
        except Exception as exc:  # GLib.Error: a missing element
            raise PipeWireUnavailable(f"Cannot build the PipeWire pipeline: {exc}") from exc
        self._pipeline = pipeline
        pipeline.get_by_name("sink").connect("new-sample", self._on_sample)
        if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            reason = self._pop_error(Gst) or "the pipeline refused to play"
            self._set_null(Gst)
            raise PipeWireUnavailable(f"Cannot read the screen cast from PipeWire: {reason}")
        self._watcher = threading.Thread(target=self._watch, args=(Gst,), name="traycap-pipewire-watch",
                                         daemon=True)
        self._watcher.start()

    def negotiated_size(self) -> tuple[int, int] | None:
        """(width, height) once PipeWire and the producer agreed on a format: before any frame, and never when
        no session manager linked the stream (no WirePlumber)."""
        if self._pipeline is None:
            return None
        caps = self._pipeline.get_by_name("src").get_static_pad("src").get_current_caps()
        if caps is None or caps.get_size() == 0:
            return None
        structure = caps.get_structure(0)
        ok_w, width = structure.get_int("width")
        ok_h, height = structure.get_int("height")
        return (int(width), int(height)) if ok_w and ok_h else None

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(STATE_TIMEOUT_S)
        if self._pipeline is not None:
            self._set_null(self._Gst)

    # --- GStreamer's threads ------------------------------------------------------------------
    def _on_sample(self, appsink: Any) -> Any:
        Gst = self._Gst
        sample = appsink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.EOS
        try:
            structure = sample.get_caps().get_structure(0)
            width = int(structure.get_value("width"))
            height = int(structure.get_value("height"))
            self.format = structure.get_value("format")
            buffer = sample.get_buffer()
            data = buffer.extract_dup(0, buffer.get_size())
        finally:
            del sample  # released now, not when Python gets round to it
        image = bgrx_image(data, width, height)
        if image is None:
            self.bad_frames += 1
            return Gst.FlowReturn.OK
        self.frames += 1
        self._sink.put(image)
        return Gst.FlowReturn.OK

    def _watch(self, Gst: Any) -> None:
        bus = self._pipeline.get_bus()
        pad = self._pipeline.get_by_name("src").get_static_pad("src")
        wanted = Gst.MessageType.ERROR | Gst.MessageType.EOS
        while not self._stop.is_set():
            message = bus.timed_pop_filtered(round(WATCH_INTERVAL_S * Gst.SECOND), wanted)
            if self._stop.is_set():
                return
            if message is not None:
                if message.type == Gst.MessageType.EOS:
                    self._sink.fail(CaptureLost("The screen cast ended (the desktop stopped sending frames)"))
                else:
                    error, _debug = message.parse_error()
                    self._sink.fail(CaptureLost(f"The screen cast stopped: {error.message}"))
                return
            # The task starts when the pipeline plays and pauses only when a flow stops (the stream is gone).
            if pad.get_task_state() == Gst.TaskState.PAUSED:
                self._sink.fail(CaptureLost(
                    "The screen cast stopped: the desktop ended the stream (a monitor unplugged, the screen "
                    "size changed, or the screen-sharing service stopped)"))
                return

    # --- helpers ------------------------------------------------------------------------------------
    def _pop_error(self, Gst: Any) -> str | None:
        message = self._pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
        if message is None:
            return None
        error, _debug = message.parse_error()
        return str(error.message)

    def _set_null(self, Gst: Any) -> None:
        self._pipeline.set_state(Gst.State.NULL)
        self._pipeline.get_state(round(STATE_TIMEOUT_S * Gst.SECOND))
