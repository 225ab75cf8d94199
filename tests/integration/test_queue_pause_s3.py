"""Pausing uploads against a real S3 server (moto behind the fault proxy) and from the real CLI.

The running upload looks at the disk on the real clock (every 0.5 s), so the
queue here has a SystemClock; nothing waits for a backoff.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import S3Server
from tests.support.sessions import make_exported_session, write_config, zip_bytes
from traycap.clock import SystemClock
from traycap.context import Context
from traycap.models import MIB, UploadStatus
from traycap.upload.pause import set_uploads_paused
from traycap.upload.queue import UploadQueue
from traycap.upload.s3 import UploadService

pytestmark = pytest.mark.s3
S = UploadStatus


def test_a_pause_stops_at_a_part_boundary_closes_every_connection_and_resumes(
    ctx: Context, moto: S3Server, proxy: FaultProxy
) -> None:
    write_config(ctx, moto.config(endpointUrl=proxy.url, keyPrefix="pause/", maxConcurrency=1))
    queue = UploadQueue(ctx, UploadService, clock=SystemClock())
    make_exported_session(ctx, "s1", 16 * MIB)
    key = "pause/s1.zip"
    proxy.limit_rate(8 * MIB)  # about 2 s for the whole file: time to pause in the middle
    queue.enqueue("s1")
    worker = threading.Thread(target=queue.process_one)
    worker.start()
    assert proxy.wait_until(lambda p: p.count("UploadPart", key, status=200) >= 1, timeout=20)
    set_uploads_paused(ctx.paths, True, now_ms=ctx.clock.now_ms())  # what `traycap pause-uploads` writes
    worker.join(20)
    assert not worker.is_alive()
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.PENDING and state.retryCount == 0
    assert 1 <= len(state.parts) < 4
    assert proxy.count("UploadPart", key, status=200) == len(state.parts)  # no part was cut off
    assert queue.process_one() is False  # paused: nothing starts ...
    assert proxy.wait_until(lambda p: p.active_connections == 0, timeout=5)  # ... and no connection stays open
    requests_while_paused = len(proxy.requests)
    assert queue.process_one() is False
    assert len(proxy.requests) == requests_while_paused

    proxy.limit_rate(None)
    set_uploads_paused(ctx.paths, False, now_ms=ctx.clock.now_ms())
    assert queue.process_one()
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.DONE
    assert proxy.count("CreateMultipartUpload", key) == 1  # resumed, not started again
    assert moto.object_bytes(key) == zip_bytes(ctx, "s1")


def traycap(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["TRAYCAP_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "traycap", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_pause_and_resume_from_the_command_line(ctx: Context, moto: S3Server) -> None:
    write_config(ctx, moto.config(keyPrefix="pause-cli/"))
    make_exported_session(ctx, "s1", 1 * MIB)
    home = ctx.paths.root
    paused = traycap(home, "pause-uploads")
    assert paused.returncode == 0 and "Uploads paused" in paused.stdout
    assert "already paused" in traycap(home, "pause-uploads").stdout
    listing = traycap(home, "sessions")
    assert "Uploads are paused since" in listing.stdout and "traycap resume-uploads" in listing.stdout
    assert "uploads are paused" in traycap(home, "sessions", "--json").stderr
    waited = traycap(home, "upload", "s1", "--wait")  # would wait as long as the pause: says so at once
    assert waited.returncode == 1 and "Uploads are paused" in waited.stdout
    state = ctx.states.read("s1")
    assert state is not None and state.status is S.PENDING  # queued all the same
    resumed = traycap(home, "resume-uploads")
    assert resumed.returncode == 0 and "Uploads resumed" in resumed.stdout
    assert "paused" not in traycap(home, "sessions").stdout
    done = traycap(home, "upload", "s1", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert moto.object_bytes("pause-cli/s1.zip") == zip_bytes(ctx, "s1")
