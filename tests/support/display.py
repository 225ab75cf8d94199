"""A real X server for tests: Xvfb on a free display number, ended by its PID."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.support.waiting import stop_process


@dataclass(frozen=True)
class XDisplay:
    name: str  # ":N"
    env: dict[str, str]  # os.environ with DISPLAY set

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), env=self.env, check=check, capture_output=True, text=True, timeout=60)

    def screenshot(self, path: str) -> None:
        """Full-screen PNG (ImageMagick's import)."""
        self.run("import", "-window", "root", path)


def have_xvfb() -> bool:
    return shutil.which("Xvfb") is not None and shutil.which("xdotool") is not None


@contextmanager
def xvfb(width: int = 1920, height: int = 1080) -> Iterator[XDisplay]:
    """Start Xvfb; -displayfd makes it pick a free display and tell us which."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        env = dict(os.environ)
        env["DISPLAY"] = f":{number}"
        env.pop("WAYLAND_DISPLAY", None)
        display = XDisplay(name=f":{number}", env=env)
        # Autorepeat would duplicate keys when the machine is loaded.
        display.run("xset", "r", "off", check=False)
        yield display
    finally:
        stop_process(proc)
