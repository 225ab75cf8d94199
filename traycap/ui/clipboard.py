"""Put text on the desktop clipboard with xclip (the one clipboard adapter).

xclip rather than Tk: the tray process has no Tk root (tkinter lives only in
the settings process) and a Tk clipboard is emptied when its owner exits.
xclip forks a small owner process that serves the selection until another
program takes it over.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile

from traycap.errors import UiError


def copy_command(platform: str = sys.platform) -> list[str]:
    if platform == "darwin":
        return ["pbcopy"]
    return ["xclip", "-selection", "clipboard", "-in"]


def copy_text(text: str) -> None:
    argv = copy_command()
    if shutil.which(argv[0]) is None:
        raise UiError(f"cannot copy to the clipboard: {argv[0]} is not installed", "install xclip")
    # No pipes for its output: xclip's forked owner would hold them open, and
    # reading them would wait until another program takes the clipboard.
    with tempfile.TemporaryFile() as err:
        proc = subprocess.run(argv, input=text.encode(), stdout=subprocess.DEVNULL, stderr=err, timeout=10, check=False)
        if proc.returncode != 0:
            err.seek(0)
            reason = err.read().decode(errors="replace").strip() or f"exit status {proc.returncode}"
            raise UiError(f"cannot copy to the clipboard: {reason}")


def paste_text() -> str:
    """The clipboard's text (used by the tests to check a copy)."""
    proc = subprocess.run(
        ["xclip", "-selection", "clipboard", "-out"], capture_output=True, timeout=10, check=False,
    )
    if proc.returncode != 0:
        raise UiError("cannot read the clipboard: " + proc.stderr.decode(errors="replace").strip())
    return proc.stdout.decode()
