"""Run `traycap view ID --no-open` as a real process and read the URL it prints; seek the page in a browser."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.waiting import stop_process
from tests.support.webdriver import Browser


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


def seek(browser: Browser, t: float, *, frames: int = 1) -> dict[str, Any]:
    """Seek the replay page to recording time t; returns its state once the video has shown that
    frame (`frames` animation frames after the seek ended)."""
    state: dict[str, Any] = browser.js_async(
        "const done = arguments[arguments.length - 1]; const v = document.getElementById('video');"
        "let n = arguments[1]; window.traycapViewer.seek(arguments[0]);"
        "const finish = () => requestAnimationFrame(() => (--n > 0 ? finish() : done(window.traycapViewer.state())));"
        "if (v.seeking) v.addEventListener('seeked', finish, {once: true}); else finish();", t, frames)
    return state
