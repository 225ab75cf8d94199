"""SIGKILL of a process recording with a live bundle, then recovery: the zip is resumed from its
journal, not rewritten: every byte committed before the kill stays where it was, and the finished
zip is a valid format-2 bundle holding everything committed before the kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from tests.support.live_recording import concat
from tests.support.waiting import wait_until
from traycap.bundle import layout
from traycap.context import Context
from traycap.media.video import video_frame_count
from traycap.recorder.recover import recover_unfinished

_CHILD = r"""
import sys, threading
from pathlib import Path
from tests.support.live_recording import RecordingSink
from traycap.context import make_context
from traycap.paths import Paths
from traycap.models import AppSettings
from traycap.bundle import bundler
from traycap.recorder.controller import RecordingController
from traycap.media.capture.null import NullScreen
from traycap.recorder.null import NullInput

home, log = Path(sys.argv[1]), Path(sys.argv[2])
bundler.CUT_EVERY_S, bundler.CHUNK_EVERY_S = 0.3, 1.0
ctx = make_context(Paths(root=home, logs=home / "logs"))
sink = RecordingSink(log)
ctl = RecordingController(ctx, AppSettings(fps=20, screenshotIntervalS=0.7),
                          capture_factory=lambda m: NullScreen(160, 120), input_factory=NullInput().factory,
                          live=lambda sid: sink)
print(ctl.start(), flush=True)
threading.Event().wait()
"""


def _journal(directory: Path) -> list[dict[str, Any]]:
    lines = (directory / "live-zip.jsonl").read_bytes().split(b"\n")[:-1]
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            break
    return out


def _entry_names(journal: list[dict[str, Any]]) -> list[str]:
    return [str(e["name"]) for e in journal if e.get("name")]


def test_sigkill_while_recording_live_then_recover(live_ctx: Context, home: Path, tmp_path: Path) -> None:
    log = tmp_path / "sink.jsonl"
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(home), str(log)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=repo,
                            env={**os.environ, "PYTHONPATH": str(repo)})
    try:
        assert proc.stdout is not None
        sid = proc.stdout.readline().strip()
        assert sid, proc.stderr.read() if proc.stderr else ""
        directory = live_ctx.paths.session_dir(sid)

        def enough() -> bool:
            if not (directory / "live-zip.jsonl").exists():
                return False
            names = _entry_names(_journal(directory))
            return (sum(n.startswith(layout.VIDEO_SEGMENTS) for n in names) >= 3
                    and sum(n.startswith(layout.FRAMES_CHUNKS) for n in names) >= 2)

        wait_until("3 video segments and 2 frame chunks committed", enough, timeout=60)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    journal = _journal(directory)
    committed = journal[-1]["committed"]
    before_names = _entry_names(journal)
    zip_path = directory / f"{sid}.zip"
    prefix = zip_path.read_bytes()[:committed]
    assert len(prefix) == committed
    sink_log = [json.loads(x) for x in log.read_bytes().splitlines()]
    # The sink heard of each entry after its journal line (a kill may fall in between).
    told = [x["committed"] for x in sink_log if "committed" in x]
    assert told and set(told) <= {e["committed"] for e in journal} and told[-1] <= committed

    report = recover_unfinished(live_ctx)
    assert report.live == [sid] and report.exported == [] and not report.failed

    assert zip_path.read_bytes()[:committed] == prefix  # nothing committed was rewritten
    assert subprocess.run(["unzip", "-tq", str(zip_path)], capture_output=True).returncode == 0
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
        info = json.loads(z.read("session.json"))
    assert names[:len(before_names)] == before_names
    assert info["formatVersion"] == 2 and info["recovered"] is True
    meta = live_ctx.sessions.read_meta(sid)
    assert live_ctx.sessions.is_exported(sid) and meta.zipPath == zip_path.name
    assert meta.fileSizeBytes == zip_path.stat().st_size and meta.extra["recorder"]["recovered"] is True
    video = tmp_path / "v.mp4"
    video.write_bytes(concat(zip_path, layout.VIDEO_SEGMENTS))
    frames = concat(zip_path, layout.FRAMES_CHUNKS).count(b"\n")
    assert video_frame_count(video) == frames == info["counts"]["frames"] > 0
    # One copy on disk: the raw files were cut to what the zip holds (torn tails), then removed.
    assert not (directory / "video" / "screen.mp4").exists() and not (directory / "actions.jsonl").exists()
    assert not (directory / "video" / "frames.jsonl").exists()
    shots = [json.loads(x) for x in concat(zip_path, layout.SHOTS_INDEX_CHUNKS).splitlines()]
    assert shots and all(f"screenshots/{s['file']}" in names for s in shots)
