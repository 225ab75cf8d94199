"""Checks the Windows bench runs inside one Windows Python process (python -m tests.support.windows_probe NAME).

Each probe prints one JSON object on its last line and exits 0 when it could run;
the assertions are made by tests/integration/test_windows_bench.py on the Linux
side. Probes start their own children with sys.executable (Windows Python).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEADLINE_S = 60.0


def _emit(result: dict[str, Any]) -> int:
    print(json.dumps(result))
    return 0


def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def paths() -> int:
    """Where traycap keeps its files for this user (platformdirs through the shell API)."""
    from traycap.paths import default_paths

    p = default_paths()
    return _emit({"root": str(p.root), "logs": str(p.logs), "localappdata": os.environ.get("LOCALAPPDATA", "")})


def hold_lock(directory: str, go: str, release: str) -> int:
    """A racer: wait for `go`, try the queue lock, report, hold it until `release` exists."""
    from traycap.paths import Paths
    from traycap.upload.lock import QueueLock

    root = Path(directory)
    _wait_for(lambda: Path(go).exists(), "the start signal")
    lock = QueueLock(Paths(root=root, logs=root / "logs"))
    got = lock.try_acquire()
    print("acquired" if got else "busy", flush=True)
    if got:
        _wait_for(lambda: Path(release).exists(), "the release signal")
        lock.release()
    return 0


def lock_race() -> int:
    """Two processes race for the queue lock: exactly one wins; once it exits the lock is free again."""
    from traycap.paths import Paths
    from traycap.upload.lock import QueueLock

    with tempfile.TemporaryDirectory(prefix="traycap lock ") as tmp:
        go, release = Path(tmp, "go"), Path(tmp, "release")
        racers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.support.windows_probe", "hold-lock", tmp, str(go), str(release)],
                stdout=subprocess.PIPE, text=True,
            )
            for _ in range(2)
        ]
        go.touch()
        first_lines = []
        for proc in racers:
            assert proc.stdout is not None
            first_lines.append(proc.stdout.readline().strip())
        lock = QueueLock(Paths(root=Path(tmp), logs=Path(tmp, "logs")))
        while_held = lock.try_acquire()
        holder_pid = lock.holder_pid()
        winner_pids = [p.pid for p, line in zip(racers, first_lines, strict=True) if line == "acquired"]
        release.touch()
        for proc in racers:
            proc.wait(timeout=DEADLINE_S)
        after = lock.try_acquire()
        lock.release()
        return _emit({
            "racers": sorted(first_lines), "third_while_held": while_held, "holder_pid": holder_pid,
            "winner_pids": winner_pids, "free_after_exit": after,
        })


def writer(target: str, ready: str) -> int:
    """Rewrite `target` atomically, forever, with a counter and a 64 KiB payload; `ready` after the third write."""
    from traycap.storage.atomic import write_json_atomic

    n = 0
    while True:
        write_json_atomic(Path(target), {"n": n, "pad": "x" * 65536})
        if n == 2:  # rewrites (not only a first write) are what a kill must not tear
            Path(ready).touch()
        n += 1


def atomic_kill(rounds: str = "20") -> int:
    """Kill (TerminateProcess) a process that rewrites a file atomically, again and again: the file always parses."""
    from traycap.storage.atomic import read_json

    outcomes: list[int] = []
    with tempfile.TemporaryDirectory(prefix="traycap kill ") as tmp:
        target = Path(tmp, "upload-state.json")
        for i in range(int(rounds)):
            ready = Path(tmp, f"ready-{i}")
            proc = subprocess.Popen([sys.executable, "-m", "tests.support.windows_probe", "writer", str(target),
                                     str(ready)])
            _wait_for(ready.exists, "the third write")
            time.sleep(0.01 * (i % 7))  # kill at different points of the write cycle
            proc.kill()
            proc.wait(timeout=DEADLINE_S)
            data = read_json(target)
            assert isinstance(data, dict) and len(data["pad"]) == 65536, data
            outcomes.append(int(data["n"]))
        leftovers = sorted(p.name for p in Path(tmp).iterdir() if p.name.startswith(".tmp-"))
    return _emit({"rounds": len(outcomes), "counters": outcomes, "temp_files_left": len(leftovers)})


def replace_while_open() -> int:
    """os.replace over a file another handle holds open: Windows refuses for a moment; traycap retries."""
    from traycap.osutil import files

    with tempfile.TemporaryDirectory(prefix="traycap replace ") as tmp:
        dst, src = Path(tmp, "a.json"), Path(tmp, "b.json")
        dst.write_text("old")
        src.write_text("new")
        reader = open(dst, "rb")  # noqa: SIM115 - held open across the replace on purpose
        waits: list[float] = []

        def close_then_wait(seconds: float) -> None:
            waits.append(seconds)
            reader.close()  # the other process lets go

        plain_error = ""
        try:
            os.replace(src, dst)
        except PermissionError as exc:
            plain_error = type(exc).__name__
        files.replace(src, dst, sleep=close_then_wait)
        return _emit({"plain_replace": plain_error or "ok", "waits": waits, "content": dst.read_text()})


def worker_stop(session_id: str) -> int:
    """`traycap worker` uploads the queued session and is stopped: Ctrl-Break first, TerminateProcess if
    that cannot be delivered (Wine 8 delivers console events only to a real console)."""
    import signal

    from traycap.models import UploadStatus
    from traycap.paths import default_paths
    from traycap.storage.state_store import StateStore
    from traycap.upload.lock import QueueLock

    paths = default_paths()
    worker = subprocess.Popen(
        [sys.executable, "-m", "traycap", "worker"],
        creationflags=subprocess.CREATE_NEW_PROCESS_GROUP,  # type: ignore[attr-defined]  # Windows only
    )

    def uploaded() -> bool:
        state = StateStore(paths).read(session_id)
        return state is not None and state.status is UploadStatus.DONE

    _wait_for(uploaded, f"{session_id} to be uploaded")
    lock = QueueLock(paths)
    held_while_running = not lock.try_acquire()
    lock.release()
    try:
        os.kill(worker.pid, signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]  # Windows only
        ctrl_break = "sent"
    except OSError as exc:
        ctrl_break = f"not delivered: {exc}"
    code: int | None = None
    how = "terminated"
    if ctrl_break == "sent":  # else waiting for it to take effect only costs time
        try:
            code = worker.wait(timeout=10)
            how = "ctrl-break"
        except subprocess.TimeoutExpired:
            pass
    if code is None:
        worker.kill()  # TerminateProcess: what Task Manager's End task does
        code = worker.wait(timeout=DEADLINE_S)
    free = lock.try_acquire()
    lock.release()
    return _emit({"uploaded": uploaded(), "held_while_running": held_while_running, "ctrl_break": ctrl_break,
                  "stopped_by": how, "returncode": code, "lock_free_after": free})


def tk_dialog() -> int:
    """The Upload settings dialog, built in Tk and drawn, then closed."""
    import tkinter as tk

    from traycap.models import AppSettings
    from traycap.ui.settings import SettingsDialog

    with tempfile.TemporaryDirectory(prefix="traycap tk ") as tmp:
        root = tk.Tk(className="traycap-settings")
        dialog = SettingsDialog(root, Path(tmp, "upload-config.json"), Path(tmp, "app-settings.json"), None,
                                AppSettings(), state_path=Path(tmp, "state.json"))
        root.update()
        state = json.loads(Path(tmp, "state.json").read_text())
        title = root.title()
        fields = sorted(dialog.vars)
        root.destroy()
    return _emit({"title": title, "fields": fields, "save_button": state["widgets"]["save"]})


def tray() -> int:
    """pystray's win32 backend: the icon is shown, its menu built, then it stops."""
    from traycap.ui.icons import render
    from traycap.ui.menu import IconSpec, IconState
    from traycap.ui.tray import load_pystray

    pystray = load_pystray()
    shown: dict[str, Any] = {}

    def setup(icon: Any) -> None:
        icon.visible = True
        shown["visible"] = bool(icon.visible)
        icon.stop()

    image = render(IconSpec(IconState.IDLE))
    menu = pystray.Menu(pystray.MenuItem("Quit", lambda *_: None))
    icon = pystray.Icon("traycap", image, "traycap", menu)
    icon.run(setup=setup)
    return _emit({"backend": type(icon).__module__, "visible": shown.get("visible", False)})


def capture() -> int:
    """mss grabs the (Wine desktop) screen, through the capture factory as the recorder opens it."""
    from traycap.media.capture import open_capture

    source = open_capture()
    try:
        frame = source.grab()
        info = source.describe()
    finally:
        source.close()
    return _emit({"describe": info, "shape": list(getattr(frame, "shape", []))})


def hooks() -> int:
    """pynput's low-level keyboard hook receives a key sent with SendInput.

    The key is sent again every half second until seen: the listener's thread reports ready
    before its message loop runs, and a key sent in between is never delivered to the hook.
    """
    import threading

    from pynput import keyboard

    seen: list[str] = []
    got = threading.Event()

    def on_press(key: Any, *_injected: Any) -> None:
        seen.append(str(key))
        if str(key) == "'q'":
            got.set()

    listener = keyboard.Listener(on_press=on_press)
    listener.start()
    listener.wait()
    controller = keyboard.Controller()
    sent = 0
    deadline = time.monotonic() + 20
    while not got.is_set() and time.monotonic() < deadline:
        controller.tap("q")
        sent += 1
        got.wait(0.5)
    listener.stop()
    return _emit({"keys": sorted(set(seen)), "sent": sent, "backend": type(listener).__module__})


def notify() -> int:
    """plyer's Windows notification (a balloon from a hidden tray icon)."""
    from traycap.ui.notify import Notice, NoticeKind, plyer_backend

    plyer_backend(Notice(NoticeKind.UPLOAD_DONE, "traycap", "bench notification"))
    return _emit({"sent": True})


PROBES: dict[str, Callable[..., int]] = {
    "paths": paths,
    "hold-lock": hold_lock,
    "lock-race": lock_race,
    "writer": writer,
    "atomic-kill": atomic_kill,
    "replace-while-open": replace_while_open,
    "worker-stop": worker_stop,
    "tk-dialog": tk_dialog,
    "tray": tray,
    "capture": capture,
    "hooks": hooks,
    "notify": notify,
}


if __name__ == "__main__":
    sys.exit(PROBES[sys.argv[1]](*sys.argv[2:]))
