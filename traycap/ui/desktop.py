"""Open a folder in the desktop's file manager (xdg-open on Linux): the one place that does."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from traycap.errors import UiError
from traycap.osutil.private import user_umask

log = logging.getLogger(__name__)


def open_command(path: Path, platform: str = sys.platform) -> list[str]:
    if platform == "darwin":
        return ["open", str(path)]
    return ["xdg-open", str(path)]


def open_folder(path: Path) -> None:
    """Start the file manager and return at once; UiError when there is none."""
    if not path.exists():
        raise UiError(f"{path} does not exist")
    if sys.platform == "win32":  # pragma: no cover - run by the Windows bench under Wine
        os.startfile(str(path))  # noqa: S606 - Explorer, by the path we were given
        return
    argv = open_command(path)
    if shutil.which(argv[0]) is None:
        raise UiError(f"cannot open {path}: {argv[0]} is not installed", "install xdg-utils")
    log.info("opening %s", path)
    # Its own session: the file manager must not die with the tray, nor be waited for.
    subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
        umask=user_umask(),  # files the user makes in it follow their umask, not traycap's 077
    )
