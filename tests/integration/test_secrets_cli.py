"""`traycap config set secretAccessKey=-`: the secret from standard input (a pipe, a terminal), never echoed,
printed or logged; a secret given as an argument still works, with a warning."""

from __future__ import annotations

import fcntl
import json
import os
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLE-session-token-0123456789"
BASE = ["bucket=my-bucket", "region=us-east-1", "accessKeyId=AKIAEXAMPLE"]


def traycap(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "traycap", *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, "TRAYCAP_HOME": str(home)}, timeout=60, check=False)


def stored(home: Path) -> dict[str, object]:
    data = json.loads((home / "upload-config.json").read_text())
    assert isinstance(data, dict)
    return data


def everything_written(home: Path, *outputs: str) -> str:
    """All a run left behind: its output and every file in the data dir (logs included)."""
    texts = list(outputs)
    for path in home.rglob("*"):
        if path.is_file() and path.name != "upload-config.json":
            texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


def test_a_secret_piped_in_is_stored_and_never_printed(home: Path) -> None:
    done = traycap(home, "config", "set", *BASE, "secretAccessKey=-", "sessionToken=-", stdin=f"{SECRET}\n{TOKEN}\n")
    assert done.returncode == 0, done.stderr
    assert "secretAccessKey" in done.stdout and "secret stored in: file (0600)" in done.stdout
    assert "warning" not in done.stderr
    assert stored(home)["secretAccessKey"] == SECRET and stored(home)["sessionToken"] == TOKEN
    shown = traycap(home, "config", "show")
    assert "secretAccessKey = ****" + SECRET[-4:] in shown.stdout and "secret stored in: file (0600)" in shown.stdout
    assert SECRET not in everything_written(home, done.stdout, done.stderr, shown.stdout, shown.stderr)
    assert TOKEN not in everything_written(home, done.stdout, done.stderr, shown.stdout, shown.stderr)


def test_a_crlf_line_from_a_pipe_keeps_no_line_ending(home: Path) -> None:
    assert traycap(home, "config", "set", *BASE, "secretAccessKey=-", stdin=f"{SECRET}\r\n").returncode == 0
    assert stored(home)["secretAccessKey"] == SECRET


def test_an_empty_pipe_saves_nothing(home: Path) -> None:
    done = traycap(home, "config", "set", *BASE, "secretAccessKey=-", stdin="")
    assert done.returncode == 1
    assert "No secretAccessKey was read from standard input; nothing was saved" in done.stderr
    assert not (home / "upload-config.json").exists()


def test_a_secret_as_an_argument_works_but_warns_about_shell_history(home: Path) -> None:
    done = traycap(home, "config", "set", *BASE, f"secretAccessKey={SECRET}")
    assert done.returncode == 0
    assert "shell history" in done.stderr and "traycap config set secretAccessKey=-" in done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert stored(home)["secretAccessKey"] == SECRET


def test_clearing_a_secret_with_an_empty_value_does_not_warn(home: Path) -> None:
    traycap(home, "config", "set", *BASE, "secretAccessKey=-", "sessionToken=-", stdin=f"{SECRET}\n{TOKEN}\n")
    done = traycap(home, "config", "set", "sessionToken=")
    assert done.returncode == 0 and "warning" not in done.stderr
    assert "sessionToken" not in stored(home)


def _read_until(fd: int, wanted: bytes, timeout: float = 30) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {wanted!r} on the terminal; saw {seen!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _read_rest(fd: int) -> bytes:
    seen = b""
    while True:
        ready, _, _ = select.select([fd], [], [], 30)
        if not ready:
            return seen
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return seen
        if not chunk:
            return seen
        seen += chunk


def test_on_a_terminal_the_secret_is_prompted_for_without_echo(home: Path) -> None:
    """A real pseudo-terminal is the process's controlling terminal, as in an interactive shell."""
    master, slave = os.openpty()

    def make_controlling_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "traycap", "config", "set", *BASE, "secretAccessKey=-"],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True, preexec_fn=make_controlling_terminal,
        env={**os.environ, "TRAYCAP_HOME": str(home)},
    )
    os.close(slave)
    try:
        prompt = _read_until(master, b"secretAccessKey (not shown): ")
        os.write(master, SECRET.encode() + b"\n")
        rest = _read_rest(master)
        assert proc.wait(timeout=30) == 0, rest
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    screen = (prompt + rest).decode(errors="replace")
    assert SECRET not in screen  # not echoed, not printed
    assert "Saved accessKeyId, bucket, region, secretAccessKey" in screen
    assert "warning" not in screen
    assert stored(home)["secretAccessKey"] == SECRET


def test_only_the_secret_fields_read_standard_input(home: Path) -> None:
    done = traycap(home, "config", "set", *BASE, "secretAccessKey=-", "keyPrefix=-", stdin=f"{SECRET}\n")
    assert done.returncode == 0, done.stderr
    assert stored(home)["keyPrefix"] == "-"  # a literal value for every other setting
    assert stored(home)["secretAccessKey"] == SECRET
