"""Run the `traycap` command line as a user would: a fresh process, its own data dir, no display."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli_env(home: Path, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS") and not k.startswith("AWS_")}
    env.update(TRAYCAP_HOME=str(home), HOME=str(tmp / "user-home"), XDG_CONFIG_HOME=str(tmp / "xdg-config"),
               XDG_DATA_HOME=str(tmp / "xdg-data"), XDG_STATE_HOME=str(tmp / "xdg-state"), PYTHONWARNINGS="error")
    return env


def run(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "traycap", *args], env=cli_env(home, home.parent),
                          capture_output=True, text=True, timeout=timeout)


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
