"""PyInstaller runtime hook: programs traycap starts get the user's environment back.

The bootloader puts the bundle's library folder first on LD_LIBRARY_PATH (keeping the
user's value in LD_LIBRARY_PATH_ORIG). The dynamic loader of the frozen process read
that at start-up and keeps using it, so undoing it here changes nothing for traycap
itself, but xdg-open, xclip, notify-send and dbus-send started later no longer load the
bundle's (possibly older) GLib, X11 and OpenSSL instead of the system's.
"""

import os
import sys

if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
    _orig = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if _orig is not None:
        os.environ["LD_LIBRARY_PATH"] = _orig
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)
