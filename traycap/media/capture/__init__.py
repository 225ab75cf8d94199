"""Screen capture: frames of a monitor, behind one small protocol, one module per backend.

    base.py          FrameSource (what the recorder asks of a screen) and Capabilities (what a backend can do)
    factory.py       open_capture(options): the backend for this session (TRAYCAP_CAPTURE overrides), check_display
    mss_screen.py    X11 (XShm), Windows (GDI) and macOS (CoreGraphics) through python-mss, polled on the fps grid
    portal_screen.py Wayland: the desktop's ScreenCast portal (traycap/portal/), frames from PipeWire
    pipewire.py      GStreamer's pipewiresrc -> appsink, each sample copied out and released at once (Gst's owner)
    frame_pacing.py  damage-driven frames in, a frame at every grab out (the last one repeated) (pure)
    null.py          a synthetic screen (tests, benches)

A backend added later (XDamage on X11) is one more module here and one more name in factory.py; it
declares `Capabilities(damage_driven=True)` when new frames come only as the screen changes. The
encoder (media/video.py) is apart from capture.
"""

from traycap.media.capture.base import Capabilities, FrameSource
from traycap.media.capture.factory import CAPTURE_ENV, CaptureOptions, check_display, open_capture

__all__ = ["CAPTURE_ENV", "Capabilities", "CaptureOptions", "FrameSource", "check_display", "open_capture"]
