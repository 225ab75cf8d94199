"""What differs between the OSes the unit tests run on (Linux here, Windows in the Windows bench)."""

from __future__ import annotations

import os
import sys

import pytest

WINDOWS = sys.platform == "win32"

# Windows has no file modes (a file's privacy is its folder's ACL), no FIFOs and no XDG.
posix_only = pytest.mark.skipif(WINDOWS, reason="POSIX-only behaviour; Windows has its own, checked in the bench")

# Set a symlink's own times where the OS can; elsewhere (Windows) the test's files are plain files.
UTIME_FOLLOWS = os.utime not in os.supports_follow_symlinks

# What a process killed with os.kill(pid, 9) reports: -SIGKILL on POSIX; TerminateProcess's code 9 on Windows.
KILLED_RETURNCODE = 9 if WINDOWS else -9
