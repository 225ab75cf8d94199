"""A recorded-but-not-exported session built by hand: the raw files the recorder leaves at stop.

    from tests.support.raw_sessions import make_raw_session, raw_snapshot, disk_usage
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from traycap.context import Context
from traycap.models import SessionMeta


def make_raw_session(ctx: Context, session_id: str, *, video_bytes: int = 2 * 1024 * 1024,
                     screenshots: int = 3, created_at: int = 1_700_000_000_000) -> Path:
    """Raw files as after a clean stop (recorder.status "stopped"), with random, incompressible content."""
    directory = ctx.paths.session_dir(session_id)
    (directory / "video").mkdir(parents=True)
    (directory / "screenshots").mkdir()
    (directory / "video" / "screen.mp4").write_bytes(os.urandom(video_bytes))
    frames = [{"i": i, "t": i * 100.0, "wallMs": created_at + i * 100, "pts": i * 100} for i in range(20)]
    (directory / "video" / "frames.jsonl").write_text("".join(json.dumps(f) + "\n" for f in frames))
    actions = [{"type": "mouse_down", "t": 50.0 * i, "x": i, "y": i, "button": "left"} for i in range(5)]
    (directory / "actions.jsonl").write_text("".join(json.dumps(a) + "\n" for a in actions))
    index = []
    for n in range(screenshots):
        name = f"{n * 1000:09d}-periodic.png"
        (directory / "screenshots" / name).write_bytes(b"\x89PNG" + os.urandom(20_000))
        index.append({"t": n * 1000.0, "file": name, "reason": "periodic", "pts": n * 1000})
    (directory / "screenshots" / "index.jsonl").write_text("".join(json.dumps(s) + "\n" for s in index))
    recorder = {"status": "stopped", "fps": 10, "stoppedAtMs": 2000.0, "endReason": "stopped"}
    ctx.sessions.save_meta(SessionMeta(sessionId=session_id, createdAt=created_at, endedAt=created_at + 2000,
                                       videoRef="video/screen.mp4", extra={"recorder": recorder}))
    return directory


RAW_NAMES = ("actions.jsonl", "video", "screenshots")


def raw_snapshot(directory: Path) -> dict[str, bytes]:
    """Every raw file (relative path -> bytes); meta, state, marker and zips are not raw."""
    out: dict[str, bytes] = {}
    for name in RAW_NAMES:
        top = directory / name
        if top.is_file():
            out[name] = top.read_bytes()
        elif top.is_dir():
            for path in sorted(top.rglob("*")):
                if path.is_file():
                    out[path.relative_to(directory).as_posix()] = path.read_bytes()
    return out


def disk_usage(directory: Path) -> int:
    """Bytes the directory takes on disk, as `du -s --block-size=1` counts them (allocated blocks)."""
    total = os.lstat(directory).st_blocks * 512
    for dirpath, dirs, files in os.walk(directory):
        for name in (*dirs, *files):
            total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total
