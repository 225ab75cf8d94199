"""Helpers for recorder tests: run `traycap record`, read its files and bundles."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traycap.bundle import layout
from traycap.bundle.reader import SHOTS_INDEX, BundleZip

INPUT_TYPES = {"mouse_move", "mouse_down", "mouse_up", "scroll", "key_down", "key_up"}


def jsonl(path: Path) -> list[dict[str, Any]]:
    """Complete lines only (a recorder may be writing the last one)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = raw.split(b"\n")[:-1]
    return [json.loads(line) for line in lines if line.strip()]


@dataclass
class RecordProcess:
    proc: subprocess.Popen[str]
    home: Path
    stderr_lines: list[str] = field(default_factory=list)
    session_id: str | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _pump_thread: threading.Thread | None = None

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)
            if line.startswith("traycap: recording "):
                self.session_id = line.split()[2]
                self._ready.set()
        self._ready.set()

    @classmethod
    def follow(cls, proc: subprocess.Popen[str], home: Path) -> RecordProcess:
        """A started `traycap record` (any program that records: the frozen one too) whose stderr is read
        on a thread from now on; `home` is its TRAYCAP_HOME."""
        rp = cls(proc=proc, home=home)
        rp._pump_thread = threading.Thread(target=rp._pump, daemon=True)
        rp._pump_thread.start()
        return rp

    def wait_ready(self, timeout: float = 30.0) -> str:
        if not self._ready.wait(timeout) or self.session_id is None:
            self.proc.kill()
            raise AssertionError(f"traycap record did not get ready: {''.join(self.stderr_lines)}")
        return self.session_id

    @property
    def session_dir(self) -> Path:
        assert self.session_id is not None
        return self.home / "sessions" / self.session_id

    def actions(self) -> list[dict[str, Any]]:
        return [a for a in jsonl(self.session_dir / "actions.jsonl") if a["type"] in INPUT_TYPES]

    def frames(self) -> list[dict[str, Any]]:
        return jsonl(self.session_dir / "video" / "frames.jsonl")

    def recorded_ms(self) -> float:
        """Recording time of the last frame written so far (a still screen sends about a frame a second,
        so time, not a count of frames, says how long it has recorded)."""
        frames = self.frames()
        return float(frames[-1]["t"]) if frames else 0.0

    def finish(self, timeout: float = 60.0) -> tuple[int, str, str]:
        # Not communicate(): it would read stderr too, racing the pump thread for lines.
        self.proc.wait(timeout=timeout)
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()  # a session id: never enough to fill the pipe
        if self._pump_thread is not None:
            self._pump_thread.join(timeout)  # every stderr line, up to the end
        return self.proc.returncode, out, "".join(self.stderr_lines)


def _ignore_sighup() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def start_record(env: dict[str, str], home: Path, *args: str, ignore_sighup: bool = False) -> RecordProcess:
    """`traycap record ARGS` with TRAYCAP_HOME=home; `ignore_sighup` starts it as `nohup` would."""
    full_env = dict(env)
    full_env["TRAYCAP_HOME"] = str(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "traycap", "record", *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sighup if ignore_sighup else None,
    )
    return RecordProcess.follow(proc, home)


@dataclass(frozen=True)
class Bundle:
    path: Path
    names: list[str]
    info: dict[str, Any]
    actions: list[dict[str, Any]]
    frames: list[dict[str, Any]]
    shots: list[dict[str, Any]]

    @property
    def inputs(self) -> list[dict[str, Any]]:
        return [a for a in self.actions if a["type"] in INPUT_TYPES]

    def extract(self, name: str, dest: Path) -> Path:
        """A member into `dest`; "video/screen.mp4" is the video in either format (a format-2
        bundle's segments concatenated)."""
        target = dest / name.replace("/", "_")
        with BundleZip(self.path) as bundle:
            if name == layout.VIDEO_MP4:
                target.write_bytes(b"".join(bundle.iter_bytes(bundle.video_members())))
            else:
                target.write_bytes(bundle.read(name))
        return target

    def all_bytes(self) -> bytes:
        """Every member, decompressed, plus the raw zip: what a `grep` of the bundle could find."""
        parts = [self.path.read_bytes()]
        with zipfile.ZipFile(self.path) as zf:
            parts.extend(zf.read(n) for n in zf.namelist())
        return b"\n".join(parts)


def read_bundle(path: Path) -> Bundle:
    """A bundle of either format (through traycap/bundle/reader.py), every member's CRC checked."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
    with BundleZip(path) as bundle:
        assert layout.SESSION_JSON in bundle.members
        model = bundle.model()
        return Bundle(path=path, names=names, info=model.info, actions=model.actions, frames=model.frames,
                      shots=bundle.records(SHOTS_INDEX))


def count_video_frames(path: Path) -> int:
    """Frames an independent reader decodes: Debian's ffprobe (not the PyAV build the recorder writes with)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames", "-of", "csv=p=0", str(path)], capture_output=True, text=True,
                         timeout=120, check=True)
    return int(out.stdout.strip().rstrip(",") or 0)


def video_positions_ms(path: Path) -> list[float]:
    """Each decoded frame's time (ms) as Debian's ffprobe reports it; where there is no ffprobe (the unit
    tests under the Windows CPython in Wine), as PyAV decodes it."""
    if shutil.which("ffprobe") is None:
        import av

        with av.open(str(path)) as container:
            return [float(frame.time * 1000) for frame in container.decode(video=0) if frame.time is not None]
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "frame=best_effort_timestamp_time", "-of", "csv=p=0", str(path)], capture_output=True,
                         text=True, timeout=120, check=True)
    return [float(line.strip().rstrip(",")) * 1000.0 for line in out.stdout.splitlines() if line.strip()]


def env_without_display() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env
