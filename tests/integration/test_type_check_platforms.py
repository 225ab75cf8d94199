"""`mypy --strict` (pyproject's config) is clean for Linux, Windows and macOS: CI type-checks every
platform branch, including the ones this Linux machine never executes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_mypy_is_clean_for(platform: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--platform", platform], cwd=REPO, capture_output=True, text=True,
        timeout=600, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Success: no issues found"), done.stdout
