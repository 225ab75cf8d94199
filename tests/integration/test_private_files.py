"""What traycap writes is its user's alone (0700 dirs, 0600 files) whatever the umask: the real CLI, umask 022."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.display import XDisplay, xvfb
from tests.support.sessions import make_exported_session
from traycap.paths import Paths

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes; Windows: the bench checks the ACL")


def traycap(env: dict[str, str], home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user with the common umask 022 would."""
    child_env = {**env, "TRAYCAP_HOME": str(home)}
    argv = [sys.executable, "-m", "traycap", *args]
    return subprocess.run(
        ["sh", "-c", 'umask 022 && exec "$@"', "sh", *argv], env=child_env, capture_output=True, text=True,
        timeout=120, check=False,
    )


def wider_than_private(root: Path) -> list[str]:
    """Everything under `root` (itself included) that group or others may use."""
    found = []
    for path in [root, *root.rglob("*")]:
        st = os.lstat(path)
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
            found.append(f"{path.relative_to(root)} {stat.filemode(st.st_mode)}")
    return found


@pytest.fixture(scope="module")
def display() -> Iterator[XDisplay]:
    with xvfb(640, 480) as d:
        yield d


def test_config_set_creates_a_private_data_dir(tmp_path: Path) -> None:
    home = tmp_path / "new-home"
    done = traycap(dict(os.environ), home, "config", "set", "bucket=traycap-test", "region=us-east-1",
                   "accessKeyId=AKIA1", "secretAccessKey=not-a-real-secret-0123")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "sessions").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "upload-config.json").stat().st_mode) == 0o600
    assert wider_than_private(home) == []


@pytest.mark.x11
def test_a_recording_is_private_whatever_the_umask(tmp_path: Path, display: XDisplay) -> None:
    home = tmp_path / "home"
    done = traycap(display.env, home, "record", "--duration", "1", "--fps", "5")
    assert done.returncode == 0, done.stderr
    session_id = done.stdout.strip().splitlines()[-1]
    session = Paths(root=home, logs=home / "logs").session_dir(session_id)
    assert (session / f"{session_id}.zip").is_file()
    assert (home / "logs" / "traycap.log").is_file()
    assert wider_than_private(home) == []


def test_an_open_data_dir_is_tightened_once_and_the_log_says_so(tmp_path: Path) -> None:
    home = tmp_path / "old-home"
    old = os.umask(0o022)  # what traycap 0.1 left behind
    try:
        make_exported_session(Paths(root=home, logs=home / "logs"), "old-session", size=100)
        (home / "logs").mkdir()
        (home / "logs" / "traycap.log").write_text("old log\n")
        for directory in (home, home / "sessions"):
            os.chmod(directory, 0o755)  # noqa: S103 - the open dir under test
    finally:
        os.umask(old)
    assert wider_than_private(home) != []

    first = traycap(dict(os.environ), home, "sessions", "--json")
    second = traycap(dict(os.environ), home, "sessions", "--json")

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert wider_than_private(home) == []
    assert first.stderr.count("was readable by other users") == 1, first.stderr
    assert "it is now private to you (7 items tightened)" in first.stderr
    assert second.stderr == ""
    assert '"old-session"' in second.stdout
