"""Run `traycap view ID --no-open` as a real process and read the URL it prints."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.waiting import stop_process


@dataclass
class ViewProcess:
    proc: subprocess.Popen[str]
    url: str

    def stop(self) -> tuple[int, str]:
        stop_process(self.proc)
        assert self.proc.stderr is not None
        return self.proc.returncode, self.proc.stderr.read()


def start_view(home: Path, session_id: str, env: dict[str, str] | None = None) -> ViewProcess:
    import os

    full_env = dict(env or os.environ)
    full_env["TRAYCAP_HOME"] = str(home)
    proc = subprocess.Popen([sys.executable, "-m", "traycap", "view", session_id, "--no-open"], env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()  # the URL, printed once the server listens
    if not line.startswith("http://127.0.0.1:"):
        stop_process(proc)
        err = proc.stderr.read() if proc.stderr else ""
        raise AssertionError(f"traycap view printed {line!r}; stderr: {err}")
    return ViewProcess(proc, line)
