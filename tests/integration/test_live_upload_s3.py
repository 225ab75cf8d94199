"""The live upload lane against real servers (moto, rclone serve s3) through the fault proxy:
a zip that grows while recording, an outage in the middle, a cancel, and a recording process
SIGKILLed mid-way whose upload the queue then finishes (same uploadId, only the parts the killed
lane had not checkpointed are sent again, counted at the proxy)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import no_traceback, run
from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import S3Server
from tests.support.waiting import wait_until
from traycap.clock import SystemClock
from traycap.context import Context, make_context
from traycap.models import MIB, SessionMeta, UploadState, UploadStatus
from traycap.paths import Paths
from traycap.storage.session_store import EXPORTED_MARKER
from traycap.upload.live import LiveUpload, hand_over
from traycap.upload.queue import UploadQueue
from traycap.upload.s3 import UploadService

pytestmark = pytest.mark.s3

S = UploadStatus
P = 5 * MIB  # the smallest part S3 takes: the tests stay quick (the lane's own is 8 MiB)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def lctx(home: Path) -> Context:
    return make_context(Paths(root=home, logs=home / "logs"), SystemClock())


@pytest.fixture
def proxy(s3: S3Server) -> Iterator[FaultProxy]:
    with FaultProxy(s3.host, s3.port) as p:
        yield p


class Recording:
    """A session being recorded: its meta (no zipPath yet) and a zip that only grows."""

    def __init__(self, ctx: Context, sid: str, seed: int) -> None:
        self.ctx = ctx
        self.sid = sid
        self.dir = ctx.paths.session_dir(sid)
        self.dir.mkdir(parents=True)
        ctx.sessions.save_meta(SessionMeta(sessionId=sid, createdAt=ctx.clock.now_ms()))
        self.zip = self.dir / f"{sid}.zip"
        self.zip.write_bytes(b"")
        self.seed = seed
        self.key = f"sessions/{sid}.zip"

    def append(self, n: int) -> int:
        data = hashlib.shake_256(f"{self.seed}-{self.size}".encode()).digest(n)
        with self.zip.open("ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return self.size

    @property
    def size(self) -> int:
        return self.zip.stat().st_size

    def export(self) -> tuple[int, str]:
        """Stop: the zip is final; meta and `.exported` as the bundler writes them."""
        data = self.zip.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        meta = self.ctx.sessions.read_meta(self.sid).with_(
            zipPath=self.zip.name, fileSizeBytes=len(data), sha256=sha, endedAt=self.ctx.clock.now_ms())
        self.ctx.sessions.save_meta(meta)
        (self.dir / EXPORTED_MARKER).write_bytes(b"")
        return len(data), sha

    def state(self) -> UploadState | None:
        return self.ctx.states.read(self.sid)


def lane_for(ctx: Context, rec: Recording, **kw: object) -> tuple[LiveUpload, UploadService]:
    engine = UploadService(ctx.require_config(), connect_timeout=2, read_timeout=5)
    lane = LiveUpload(ctx, rec.sid, rec.zip, engine=engine, part_size=P, **kw)  # type: ignore[arg-type]
    return lane, engine


def parts_saved(rec: Recording, n: int) -> UploadState | None:
    state = rec.state()
    return state if state is not None and len(state.parts) >= n else None


def assert_in_bucket(s3: S3Server, rec: Recording, sha: str) -> None:
    local = hashlib.sha256(rec.zip.read_bytes()).hexdigest()
    assert hashlib.sha256(s3.object_bytes(rec.key)).hexdigest() == sha == local
    head = s3.client().head_object(Bucket=s3.bucket, Key=rec.key)
    meta = {k.lower(): v for k, v in head["Metadata"].items()}  # rclone says Sha256
    assert meta.get("sha256") == sha and head["ContentType"] == "application/zip"
    assert not [u for u in s3.list_multipart_uploads() if u["Key"] == rec.key]


def test_a_growing_zip_goes_up_while_recording_and_is_done_at_stop(
    s3: S3Server, proxy: FaultProxy, lctx: Context
) -> None:
    lctx.save_config(s3.config(endpointUrl=proxy.url))
    rec = Recording(lctx, f"20261202-1100{s3.kind[:2]}-grow", seed=1)
    lane, _ = lane_for(lctx, rec)
    try:
        assert rec.state() is not None and rec.state().status is S.LIVE  # type: ignore[union-attr]
        for _ in range(3):
            lane.committed(rec.append(3 * MIB))
        wait_until("part 1 saved", lambda: parts_saved(rec, 1), 30)
        lane.committed(rec.append(4 * MIB))  # 13 MiB: part 2 is whole
        wait_until("part 2 saved", lambda: parts_saved(rec, 2), 30)
        assert proxy.count("UploadPart") == 2 and proxy.count("CompleteMultipartUpload") == 0
        rec.append(1234)  # the tail, written at Stop
        size, sha = rec.export()
        lane.finished(size, sha)
        assert lane.wait(60)
        state = rec.state()
        assert state is not None and (state.status, state.totalBytes, state.s3Key) == (S.DONE, size, rec.key)
        assert_in_bucket(s3, rec, sha)
        assert proxy.count("UploadPart") == 3 and proxy.body_bytes_of("UploadPart") == size
    finally:
        lane.handover(5)


def test_an_outage_mid_recording_catches_up_and_loses_nothing(
    s3: S3Server, proxy: FaultProxy, lctx: Context
) -> None:
    lctx.save_config(s3.config(endpointUrl=proxy.url))
    rec = Recording(lctx, f"20261202-1101{s3.kind[:2]}-outage", seed=2)
    lane, _ = lane_for(lctx, rec)
    try:
        lane.committed(rec.append(P + 1000))
        wait_until("part 1 saved", lambda: parts_saved(rec, 1), 30)
        proxy.set_offline(True)
        lane.committed(rec.append(2 * P))  # parts 2 and 3 are whole while the endpoint is down
        wait_until("the outage noticed", lambda: (s := rec.state()) and s.lastError, 30)
        state = rec.state()
        assert state is not None and state.status is S.LIVE and len(state.parts) == 1
        proxy.set_offline(False)
        wait_until("caught up", lambda: parts_saved(rec, 3), 60)
        assert rec.state().lastError is None  # type: ignore[union-attr]
        size, sha = rec.export()
        lane.finished(size, sha)
        assert lane.wait(60)
        assert rec.state().status is S.DONE  # type: ignore[union-attr]
        assert_in_bucket(s3, rec, sha)
    finally:
        lane.handover(5)


def test_cancel_mid_recording_aborts_the_upload_and_sends_nothing_more(
    s3: S3Server, proxy: FaultProxy, lctx: Context
) -> None:
    lctx.save_config(s3.config(endpointUrl=proxy.url))
    rec = Recording(lctx, f"20261202-1102{s3.kind[:2]}-cancel", seed=3)
    lane, _ = lane_for(lctx, rec)
    try:
        lane.committed(rec.append(2 * P))
        wait_until("2 parts saved", lambda: parts_saved(rec, 2), 30)
        assert [u for u in s3.list_multipart_uploads() if u["Key"] == rec.key]
        lane.cancel()
        assert lane.wait(30)
        state = rec.state()
        assert state is not None and (state.status, state.uploadId) == (S.NOT_UPLOADED, None)
        assert not [u for u in s3.list_multipart_uploads() if u["Key"] == rec.key]
        sent = proxy.count("UploadPart")
        lane.committed(rec.append(2 * P))  # the recording goes on; nothing of it goes up
        size, sha = rec.export()
        lane.finished(size, sha)
        assert proxy.count("UploadPart") == sent and proxy.count("CompleteMultipartUpload") == 0
    finally:
        lane.handover(5)


# The child is the recording process: it appends to the zip and tells its lane, like the bundler.
CHILD = r'''
import sys, time
from pathlib import Path
from traycap.context import make_context
from traycap.upload.live import LiveUpload
from traycap.upload.s3 import UploadService

sid, zip_path, part, total = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ctx = make_context()
engine = UploadService(ctx.require_config())
lane = LiveUpload(ctx, sid, zip_path, engine=engine, part_size=part)
source = Path(sys.argv[5]).read_bytes()
with zip_path.open("ab") as f:
    for start in range(0, total, 1024 * 1024):
        f.write(source[start:start + 1024 * 1024])
        f.flush()
        lane.committed(f.tell())
print("written", flush=True)
lane.wait()
'''


@pytest.mark.slow
def test_a_killed_recording_process_then_the_queue_finishes_the_same_upload(
    s3: S3Server, proxy: FaultProxy, lctx: Context, tmp_path: Path, home: Path
) -> None:
    lctx.save_config(s3.config(endpointUrl=proxy.url, maxConcurrency=2))
    rec = Recording(lctx, f"20261202-1103{s3.kind[:2]}-killed", seed=4)
    total = 8 * P + 3 * MIB  # what the killed process had written: 8 whole parts and a bit
    source = tmp_path / "source.bin"
    source.write_bytes(hashlib.shake_256(b"killed").digest(total))
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRAYCAP_HOME": str(home)}
    proxy.limit_rate(20 * MIB)  # ~2 s for the parts: the kill lands mid-way
    child = subprocess.Popen(
        [sys.executable, str(script), rec.sid, str(rec.zip), str(P), str(total), str(source)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not parts_saved(rec, 3):
            assert child.poll() is None, child.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the child never checkpointed 3 parts"
            proxy.wait_until(lambda p: False, timeout=0.05)  # wake on proxy traffic or 50 ms
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.communicate()
    proxy.limit_rate(None)
    assert proxy.wait_until(lambda p: p.active_connections == 0, timeout=30)
    killed = rec.state()
    assert killed is not None and killed.status is S.LIVE and killed.uploadId and killed.stampAfterComplete
    acked = sum(p.size for p in killed.parts)
    assert 0 < len(killed.parts) < 8

    # Recovery: the zip is finished from what is on disk (here: the rest of the source), exported,
    # and handed to the queue, which completes the same multipart upload and stamps it.
    with rec.zip.open("r+b") as f:
        f.truncate(total)
        f.seek(0)
        f.write(source.read_bytes())
    rec.append(777)
    size, sha = rec.export()
    pending = hand_over(lctx, rec.sid, total=size)
    assert pending is not None and pending.status is S.PENDING and pending.uploadId == killed.uploadId
    proxy.reset_stats()
    queue = UploadQueue(lctx, lambda config: UploadService(config))
    queue.restore()

    def finished() -> bool:
        queue.process_one()  # one synchronous step: the attempt, or nothing while backing off
        return (rec.state() or pending).status is S.DONE

    wait_until("the queue finished it", finished, 120)
    assert proxy.count("CreateMultipartUpload") == 0  # the same uploadId
    assert proxy.body_bytes_of("UploadPart") == size - acked  # only what the lane had not checkpointed
    assert proxy.count("PutObject") == 1  # the stamp (a self-copy is a PUT with x-amz-copy-source)
    assert_in_bucket(s3, rec, sha)
    print(json.dumps({"server": s3.kind, "acked_parts": len(killed.parts), "resent": size - acked}))


def test_the_cli_shows_a_live_session_refuses_to_queue_it_and_cancels_it(
    s3: S3Server, proxy: FaultProxy, lctx: Context, home: Path
) -> None:
    lctx.save_config(s3.config(endpointUrl=proxy.url))
    rec = Recording(lctx, f"20261202-1104{s3.kind[:2]}-cli", seed=5)
    lane, _ = lane_for(lctx, rec)
    try:
        lane.committed(rec.append(2 * P))
        wait_until("2 parts saved", lambda: parts_saved(rec, 2), 30)
        listing = run(home, "sessions")
        assert listing.returncode == 0 and "uploading while recording: 10.0 MB sent" in listing.stdout, listing
        (row,) = [r for r in json.loads(run(home, "sessions", "--json").stdout) if r["sessionId"] == rec.sid]
        assert (row["uploadStatus"], row["uploadedBytes"]) == ("live", 2 * P)
        queued = run(home, "upload", rec.sid)
        assert queued.returncode != 0 and "already uploading while it is recorded" in queued.stderr, queued
        cancelled = run(home, "cancel", rec.sid)  # another process: the lane notices before its next part
        assert cancelled.returncode == 0 and "the recording goes on" in cancelled.stdout, cancelled
        no_traceback(cancelled)
        assert lane.wait(30)
        assert rec.state().status is S.NOT_UPLOADED  # type: ignore[union-attr]
        assert not [u for u in s3.list_multipart_uploads() if u["Key"] == rec.key]
        sent = proxy.count("UploadPart")
        lane.committed(rec.append(P))
        assert proxy.count("UploadPart") == sent
    finally:
        lane.handover(5)


def test_the_stamp_keeps_the_encryption_asked_for(moto: S3Server, home: Path, lctx: Context) -> None:
    lctx.save_config(moto.config(sse="AES256"))
    rec = Recording(lctx, "20261202-1105mo-sse", seed=6)
    lane, _ = lane_for(lctx, rec)
    try:
        lane.committed(rec.append(P + 10))
        wait_until("part 1 saved", lambda: parts_saved(rec, 1), 30)
        size, sha = rec.export()
        lane.finished(size, sha)
        assert lane.wait(60) and rec.state().status is S.DONE  # type: ignore[union-attr]
        head = moto.client().head_object(Bucket=moto.bucket, Key=rec.key)
        assert head["ServerSideEncryption"] == "AES256" and head["Metadata"]["sha256"] == sha
    finally:
        lane.handover(5)
