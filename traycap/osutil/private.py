"""User-only directories: what is recorded (every keystroke, the screen) is readable by its owner alone.

POSIX: directories 0700; files are created 0600 because the composition root sets
the umask to 077 (see `PRIVATE_UMASK`), so files written by libraries (PyAV, zipfile)
are private too. Windows has no modes: the data dir and the log dir get a protected
ACL that grants the current user alone full control and is inherited by every file
and folder created inside them (traycap.osutil.winacl).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_UMASK = 0o077


_user_umask = -1  # the umask the user gave us, once set_private_umask replaced it


def set_private_umask() -> int:
    """Make every file and directory this process creates from now on user-only; returns the old umask."""
    global _user_umask
    old = os.umask(PRIVATE_UMASK)
    if _user_umask < 0:
        _user_umask = old
    return old


def user_umask() -> int:
    """The user's own umask, for programs we start for them (a file manager): -1 when unchanged."""
    return _user_umask


def make_private_dir(path: Path) -> None:
    """Create `path` (and missing parents) so that only the current user can enter it, whatever the umask."""
    if sys.platform == "win32":  # pragma: no cover - run by the Windows bench under Wine
        if path.is_dir():
            return
        path.mkdir(parents=True, exist_ok=True)
        from traycap.osutil import winacl

        # New: closed at once, so the start-up check has nothing to report. If the file system
        # refuses, that check says so (once per start) instead of failing the command here.
        with contextlib.suppress(OSError):
            winacl.restrict_to_user(path)
        return
    try:
        os.mkdir(path, PRIVATE_DIR_MODE)
    except FileExistsError:
        return
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(path, PRIVATE_DIR_MODE)
        except FileExistsError:
            return
    os.chmod(path, PRIVATE_DIR_MODE)  # mkdir's mode passes through the umask


def tighten_tree(root: Path) -> list[Path]:
    """Make `root` and everything in it user-only; returns what was wider (empty when all was private).

    Windows: one protected user-only ACL on `root`, inherited by what is inside.
    POSIX: directories to 0700 and files to 0600, removing only group/other bits; symlinks
    are neither followed nor changed.
    """
    if sys.platform == "win32":  # pragma: no cover - run by the Windows bench under Wine
        from traycap.osutil import winacl

        return [root] if winacl.restrict_to_user(root) else []
    changed: list[Path] = []
    if _tighten(root, PRIVATE_DIR_MODE):
        changed.append(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            if _tighten(Path(dirpath, name), PRIVATE_DIR_MODE):
                changed.append(Path(dirpath, name))
        for name in filenames:
            if _tighten(Path(dirpath, name), PRIVATE_FILE_MODE):
                changed.append(Path(dirpath, name))
    return changed


def is_private(root: Path) -> bool:
    """One cheap check (a stat; an ACL read on Windows) that `root` is closed to other users."""
    if sys.platform == "win32":  # pragma: no cover - run by the Windows bench under Wine
        from traycap.osutil import winacl

        return winacl.is_user_only(root)
    try:
        return not os.stat(root).st_mode & 0o077
    except OSError:
        return True  # nothing to tighten


def _tighten(path: Path, private_mode: int) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
        return False
    try:
        os.chmod(path, stat.S_IMODE(st.st_mode) & private_mode)
    except OSError:
        return False
    return True
