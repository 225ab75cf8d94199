"""A session's raw files, as the recorder writes them and every bundle writer and reader reads them.

    sessions/<id>/
      session-meta.json      written at START (recorder.status = "recording"), so a
                             crashed recording is still a visible session
      .recording.lock        held by the process recording (then exporting) it (paths.RECORDING_LOCK)
      actions.jsonl          one action per line
      video/screen.mp4       fragmented H.264 MP4 (media/video.py)
      video/frames.jsonl     one line per video frame: index, capture time, video time
      video/levels.jsonl     with sound: its loudness, one line a second (ten values of 100 ms)
      screenshots/           <t ms, 9 digits>-<reason>.png
      screenshots/index.jsonl

The names (`SessionFiles`, no I/O), the lock, and JSON-lines reading: a torn last line (a kill
mid-write) or a garbled one is skipped, never fatal. Writing them is the recorder's
(recorder/session.py); bundling them is export.py's (format 1) and bundler.py's (format 2).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from traycap.paths import RECORDING_LOCK
from traycap.storage.atomic import write_bytes_atomic
from traycap.storage.filelock import PidLock

log = logging.getLogger(__name__)

ACTIONS_FILE = "actions.jsonl"
VIDEO_DIR = "video"
VIDEO_FILE = "screen.mp4"
FRAMES_FILE = "frames.jsonl"
LEVELS_FILE = "levels.jsonl"
SHOTS_DIR = "screenshots"
SHOTS_INDEX = "index.jsonl"


class SessionFiles:
    """Paths of one session directory (no I/O)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    @property
    def actions(self) -> Path:
        return self.dir / ACTIONS_FILE

    @property
    def video_dir(self) -> Path:
        return self.dir / VIDEO_DIR

    @property
    def video(self) -> Path:
        return self.dir / VIDEO_DIR / VIDEO_FILE

    @property
    def frames(self) -> Path:
        return self.dir / VIDEO_DIR / FRAMES_FILE

    @property
    def levels(self) -> Path:
        return self.dir / VIDEO_DIR / LEVELS_FILE

    @property
    def shots_dir(self) -> Path:
        return self.dir / SHOTS_DIR

    @property
    def shots_index(self) -> Path:
        return self.dir / SHOTS_DIR / SHOTS_INDEX

    @property
    def lock(self) -> Path:
        return self.dir / RECORDING_LOCK


class RecordingLock(PidLock):
    """Held on .recording.lock for as long as the session is being recorded and exported, so
    `is_held` tells a live recording from one a crash left behind."""

    def acquire(self) -> bool:
        return self.try_acquire()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete records of a JSON-lines file; a torn or garbled line is skipped (and logged)."""
    return list(iter_jsonl(path))


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    try:
        fh = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return
    with fh:
        for number, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                log.info("%s: incomplete last line %d skipped", path, number)
                break
            try:
                record = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                log.warning("%s: unreadable line %d skipped", path, number)
                continue
            if isinstance(record, dict):
                yield record


def truncate_jsonl(path: Path, keep: int) -> int:
    """Rewrite `path` (atomically) with only its first `keep` complete records; returns how many remain."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            torn = False
            if size:
                fh.seek(size - 1)
                torn = fh.read(1) != b"\n"
    except FileNotFoundError:
        return 0
    records = read_jsonl(path)
    if len(records) <= keep and not torn:
        return len(records)
    kept = records[:keep]
    data = "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in kept)
    write_bytes_atomic(path, data.encode("utf-8"))
    return len(kept)
