"""PyInstaller runtime hook: programs traycap starts get the user's environment back.

The frozen app needs its environment pointed into the bundle: the bootloader puts the
bundle's library folder first on LD_LIBRARY_PATH, and the GTK/GIO/Tk runtime hooks that
run after this one set GI_TYPELIB_PATH, GIO_MODULE_DIR, GTK_PATH, XDG_DATA_DIRS,
TCL_LIBRARY and more. A program traycap starts (xdg-open and the file manager behind it,
xclip, notify-send, dbus-send) must not inherit those, or it loads the bundle's GLib,
GIO modules and X11 libraries instead of the system's and may fail in odd ways.

- LD_LIBRARY_PATH goes back to the user's value now: the dynamic loader of this process
  read it at start-up and keeps using that, so traycap itself is unaffected.
- Every variable whose value points into the bundle gets, for child processes
  (subprocess.Popen with env=None or an env copied from os.environ), the value it had
  before the runtime hooks ran, or is left out when it did not exist.
"""

import os
import subprocess
import sys

if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
    _orig = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if _orig is not None:
        os.environ["LD_LIBRARY_PATH"] = _orig
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)

    _BUNDLE = getattr(sys, "_MEIPASS", "")
    _BEFORE_HOOKS = dict(os.environ)  # this hook runs first (custom hooks precede the others)

    def _child_env(env):
        out = dict(os.environ if env is None else env)
        for key, value in list(out.items()):
            if _BUNDLE and _BUNDLE in value and _BEFORE_HOOKS.get(key) != value:
                if key in _BEFORE_HOOKS:
                    out[key] = _BEFORE_HOOKS[key]
                else:
                    del out[key]
        return out

    _popen_init = subprocess.Popen.__init__

    def _init(self, *args, **kwargs):
        if len(args) < 10:  # env is Popen's 10th parameter; passed by keyword in practice
            kwargs["env"] = _child_env(kwargs.get("env"))
        _popen_init(self, *args, **kwargs)

    subprocess.Popen.__init__ = _init
