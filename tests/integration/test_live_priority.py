"""Queue priority for live sessions across processes (traycap/upload/priority.py): a lane in a
recording process (`traycap record`) holds back the queue run by another process (the tray,
`traycap worker`): one part at a time while it records, no new part from its Stop until it is
verified, full speed once it is done; the marks of a SIGKILLed lane hold nothing. In one process:
tests/unit/test_priority.py."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.support.faultproxy import FaultProxy, LogEntry
from tests.support.s3servers import S3Server
from tests.support.sessions import make_exported_session, write_config, zip_bytes
from tests.support.waiting import stop_process, wait_until
from traycap.clock import SystemClock
from traycap.context import Context
from traycap.models import MIB, SessionMeta, UploadConfig, UploadState, UploadStatus
from traycap.paths import Paths
from traycap.upload.priority import LivePriority
from traycap.upload.queue import UploadQueue
from traycap.upload.s3 import UploadService

ROOT = Path(__file__).resolve().parents[2]
LIVE = "20261202-130000-live"
P = 5 * MIB

MARKER_CHILD = r"""
import sys
from pathlib import Path
from traycap.clock import SystemClock
from traycap.paths import Paths
from traycap.upload.priority import LaneMarker
home = Path(sys.argv[1])
marker = LaneMarker(Paths(root=home, logs=home / "logs"), sys.argv[2], SystemClock())
print("held" if marker.hold() else "not held", flush=True)
for line in sys.stdin:
    marker.stopped()
    print("stopped", flush=True)
"""

# The recording process: its lane uploads the zip it is told to grow, like the bundler does.
LANE_CHILD = r"""
import hashlib, sys
from pathlib import Path
from traycap.context import make_context
from traycap.upload.live import LiveUpload
from traycap.upload.s3 import UploadService
sid, zip_path, part = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
ctx = make_context()
lane = LiveUpload(ctx, sid, zip_path, engine=UploadService(ctx.require_config()), part_size=part)
print("ready", flush=True)
for line in sys.stdin:
    command, _, n = line.strip().partition(" ")
    with zip_path.open("ab") as f:
        f.write(hashlib.shake_256(f"{command}-{f.tell()}".encode()).digest(int(n)))
        f.flush()
        size = f.tell()
    if command == "grow":
        lane.committed(size)
        print("grown", flush=True)
        continue
    data = zip_path.read_bytes()
    lane.finished(size, hashlib.sha256(data).hexdigest())
    print("finished", flush=True)
    lane.wait(120)
    print("done", lane.outcome.status.value if lane.outcome else "-", flush=True)
    break
"""


def child(script: str, home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRAYCAP_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-c", script, *args], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def say(proc: subprocess.Popen[str], line: str | None = None) -> str:
    """Send `line` (if any) and return the child's next line of output."""
    assert proc.stdin is not None and proc.stdout is not None
    if line is not None:
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
    answer = proc.stdout.readline().strip()
    assert answer, _stderr(proc.stderr)
    return answer


def _stderr(stream: IO[str] | None) -> str:
    return stream.read()[-2000:] if stream is not None else ""


def test_the_marks_of_a_lane_in_another_process_and_of_a_killed_one(home: Path) -> None:
    paths = Paths(root=home, logs=home / "logs")
    priority = LivePriority(paths, SystemClock())
    proc = child(MARKER_CHILD, home, str(home), LIVE)
    try:
        assert say(proc) == "held"
        assert priority.parts_allowed() == 1  # it records: one queue part at a time
        assert say(proc, "stop") == "stopped"
        assert priority.parts_allowed() == 0  # from Stop until verified: none
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert priority.parts_allowed() is None  # its files are still there, its lock is not
        assert (home / "live-lanes" / f"{LIVE}.lock").exists()
    finally:
        stop_process(proc)


class Spy:
    """The queue's LivePriority, with what it answered and when."""

    def __init__(self, real: LivePriority) -> None:
        self.real = real
        self.answers: list[tuple[float, int | None]] = []

    def parts_allowed(self) -> int | None:
        answer = self.real.parts_allowed()
        self.answers.append((time.monotonic(), answer))
        return answer

    def phases(self) -> list[int | None]:
        out: list[int | None] = []
        for _, answer in self.answers:
            if not out or out[-1] != answer:
                out.append(answer)
        return out

    def first(self, answer: int | None, after: float = 0.0) -> float:
        return next(t for t, a in self.answers if a == answer and t > after)


def most_at_once(entries: list[LogEntry]) -> int:
    edges = sorted([(e.started, 1) for e in entries] + [(e.ended, -1) for e in entries])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


@pytest.fixture
def proxy(rclone: S3Server) -> Iterator[FaultProxy]:
    with FaultProxy(rclone.host, rclone.port) as p:
        yield p


@pytest.mark.s3
def test_a_recording_process_holds_back_the_queue_of_another_until_it_is_verified(
    rclone: S3Server, proxy: FaultProxy, live_ctx: Context, home: Path
) -> None:
    lctx = live_ctx
    config = rclone.config(endpointUrl=proxy.url, keyPrefix="prio/", maxConcurrency=4, partSizeBytes=P)
    write_config(lctx, config)
    make_exported_session(lctx, "q1", 10 * P)  # the backlog: 10 parts
    lctx.paths.session_dir(LIVE).mkdir(parents=True)
    lctx.sessions.save_meta(SessionMeta(sessionId=LIVE, createdAt=lctx.clock.now_ms()))  # as while recording
    live_zip = lctx.paths.session_dir(LIVE) / f"{LIVE}.zip"
    live_zip.write_bytes(b"")
    proxy.limit_rate(20_000_000)
    recorder = child(LANE_CHILD, home, LIVE, str(live_zip), str(P))
    spy = Spy(LivePriority(lctx.paths, lctx.clock))

    def engine(cfg: UploadConfig) -> UploadService:
        return UploadService(cfg)

    queue = UploadQueue(lctx, engine, priority=spy)
    try:
        assert say(recorder) == "ready"
        queue.enqueue("q1")
        queue.start()
        assert say(recorder, f"grow {2 * P}") == "grown"  # two whole parts for the lane
        wait_until("3 queue parts in", lambda: len(state_of(lctx, "q1").parts) >= 3, 60)
        stop = time.monotonic()
        assert say(recorder, f"finish {4 * P}") == "finished"  # Stop: a 20 MiB tail left
        assert say(recorder) == "done done"
        recorder.wait(30)
        wait_until("the backlog uploaded", lambda: state_of(lctx, "q1").status is UploadStatus.DONE, 60)
    finally:
        queue.stop()
        stop_process(recorder)
    assert spy.phases()[:3] == [1, 0, None]
    stopped_seen, released_seen = spy.first(0), spy.first(None, after=spy.first(0))
    parts = [e for e in proxy.requests if e.op == "UploadPart" and e.key == "prio/q1.zip"]
    while_recording = [e for e in parts if e.ended <= stop]
    assert len(while_recording) >= 3 and most_at_once(while_recording) == 1
    # Decided before the Stop was seen, at most the one part in flight may still reach the server.
    assert len([e for e in parts if stopped_seen < e.started < released_seen]) <= 1
    assert most_at_once([e for e in parts if e.started > released_seen]) > 1  # full speed again
    for sid in ("q1", LIVE):
        assert state_of(lctx, sid).status is UploadStatus.DONE
        assert hashlib.sha256(rclone.object_bytes(f"prio/{sid}.zip")).digest() == hashlib.sha256(
            zip_bytes(lctx, sid)).digest()
    assert not list((home / "live-lanes").iterdir())


def state_of(ctx: Context, sid: str) -> UploadState:
    state = ctx.states.read(sid)
    assert state is not None, f"{sid} has no upload state"
    return state
