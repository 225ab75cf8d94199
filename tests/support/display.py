"""A real X server for tests: Xvfb on a free display number, ended by its PID.

Xvfb runs with -noreset. Without it the server resets whenever its last client disconnects,
and a reset kills every connection still in its handshake: a program started just as the
previous one left (the `xset` below, one `xdotool` call, a `traycap record` that ended) was
refused with "cannot open display" when the server handled both at once, which it does on a
loaded machine. The reset also undid `xset r off`. See docs/testing.md ("A display that accepts
every client").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO

from tests.support.waiting import stop_process


@dataclass(frozen=True)
class XDisplay:
    name: str  # ":N"
    env: dict[str, str]  # os.environ with DISPLAY set
    server: subprocess.Popen[bytes] = field(repr=False, compare=False)

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), env=self.env, check=check, capture_output=True, text=True, timeout=60)

    def screenshot(self, path: str) -> None:
        """Full-screen PNG (ImageMagick's import)."""
        self.run("import", "-window", "root", path)

    def kill_server(self) -> None:
        """SIGKILL the X server, as a crash or a closed remote session would (the display is lost)."""
        self.server.kill()
        self.server.wait()


def have_xvfb() -> bool:
    return shutil.which("Xvfb") is not None and shutil.which("xdotool") is not None


@contextmanager
def xvfb(width: int = 1920, height: int = 1080) -> Iterator[XDisplay]:
    """Start Xvfb; -displayfd makes it pick a free display and tell us which once it is ready.

    Yields only when a client has connected, so every program a test starts finds the display up.
    """
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp",
             "-noreset"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        os.close(write_fd)
        try:
            with os.fdopen(read_fd) as pipe:
                number = pipe.readline().strip()
            if not number:
                raise RuntimeError(f"Xvfb did not start: {_tail(log)}")
            env = dict(os.environ)
            env["DISPLAY"] = f":{number}"
            env.pop("WAYLAND_DISPLAY", None)
            display = XDisplay(name=f":{number}", env=env, server=proc)
            # The first connection, checked: autorepeat would duplicate keys when the machine is loaded.
            settings = display.run("xset", "r", "off", check=False)
            if settings.returncode != 0:
                raise RuntimeError(f"Xvfb {display.name} refused a client: {settings.stderr.strip()} {_tail(log)}")
            yield display
        finally:
            stop_process(proc)


def _tail(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read()[-2000:].decode(errors="replace").strip()
