"""What differs between the OSes the unit tests run on (Linux here, Windows in the Windows bench)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

WINDOWS = sys.platform == "win32"

# Windows has no file modes (a file's privacy is its folder's ACL), no FIFOs and no XDG.
posix_only = pytest.mark.skipif(WINDOWS, reason="POSIX-only behaviour; Windows has its own, checked in the bench")

# Set a symlink's own times where the OS can; elsewhere (Windows) the test's files are plain files.
UTIME_FOLLOWS = os.utime not in os.supports_follow_symlinks

# os.kill(pid, KILL): SIGKILL on POSIX; TerminateProcess with exit code 9 on Windows (signal.SIGKILL
# does not exist there). Either way the process dies at once, its files closed by the OS as they are.
KILL = 9
# What a process killed with os.kill(pid, KILL) reports: -SIGKILL on POSIX; TerminateProcess's code 9 on Windows.
KILLED_RETURNCODE = 9 if WINDOWS else -9


def zip_test_errors(path: Path) -> str | None:
    """What a zip reader finds wrong with `path`; None when nothing.

    POSIX: Info-ZIP's `unzip -t`, a reader independent of zipfile (which writes traycap's zips):
    every member read, CRC-32 checked. Windows has no unzip: there zipfile reads the central
    directory and every member and checks its CRC-32. The bytes of a zip do not depend on the OS
    that wrote it, and the Linux run of the same test checks them with unzip.
    """
    if WINDOWS:
        try:
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
        except (OSError, zipfile.BadZipFile) as exc:
            return f"zipfile cannot read {path}: {exc}"
        return None if bad is None else f"zipfile: bad CRC-32 or header in member {bad}"
    run = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True, timeout=60)
    if run.returncode == 0 and "No errors detected" in run.stdout:
        return None
    return f"unzip -t {path}: rc={run.returncode}\n{run.stdout}{run.stderr}"
