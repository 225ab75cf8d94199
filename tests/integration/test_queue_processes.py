"""`traycap worker` / `upload --wait` / `cancel` / `retry` as real processes against a real S3 server.

The workers use the real clock. Nothing here needs a backoff to pass: after a
SIGKILL the interrupted session is pending again with no backoff (restore).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import S3Server, rclone_server
from tests.support.sessions import make_exported_session, write_config, zip_bytes
from tests.support.waiting import wait_until
from traycap.models import MIB, UploadState, UploadStatus
from traycap.paths import Paths
from traycap.storage.state_store import StateStore
from traycap.upload.lock import QueueLock

pytestmark = [pytest.mark.s3, pytest.mark.slow]
S = UploadStatus


@pytest.fixture
def paths(home: Path) -> Paths:
    return Paths(root=home, logs=home / "logs").ensure()


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["TRAYCAP_HOME"] = str(home)
    return env


def traycap(paths: Paths, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "traycap", *args], env=_env(paths.root), capture_output=True, text=True,
        timeout=timeout, check=False,
    )


def spawn(paths: Paths, *args: str, log_name: str) -> subprocess.Popen[bytes]:
    log = (paths.root / log_name).open("ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "traycap", *args], env=_env(paths.root), stdout=log,
                                stderr=subprocess.STDOUT)
    finally:
        log.close()


def holds_queue_lock(paths: Paths, proc: subprocess.Popen[bytes]) -> bool:
    lock = QueueLock(paths)
    if lock.try_acquire():
        lock.release()
        return False
    return lock.holder_pid() == proc.pid


def states(paths: Paths, ids: list[str]) -> dict[str, UploadState | None]:
    store = StateStore(paths)
    return {sid: store.read(sid) for sid in ids}  # CorruptFile here fails the test


def all_done(paths: Paths, ids: list[str]) -> bool:
    return all(s is not None and s.status is S.DONE for s in states(paths, ids).values())


def stop_worker(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


def test_sigkill_at_random_moments_loses_nothing(paths: Paths, moto: S3Server, proxy: FaultProxy) -> None:
    prefix = "kill/"
    write_config(paths, moto.config(endpointUrl=proxy.url, keyPrefix=prefix, maxConcurrency=2))
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    ids = ["k1", "k2", "k3"]
    for i, sid in enumerate(ids):
        make_exported_session(paths, sid, (15 + 5 * i) * MIB + rng.randrange(MIB), created_at=1_700_000_000_000 + i)
        assert traycap(paths, "upload", sid).returncode == 0
    total = sum(len(zip_bytes(paths, sid)) for sid in ids)
    proxy.limit_rate(24 * MIB)
    kills = 0
    kills_mid_upload = 0
    while kills < 6:
        worker = spawn(paths, "worker", log_name="worker.log")
        wait_until("the worker to start", lambda w=worker: holds_queue_lock(paths, w) or w.poll() is not None, 30)
        assert worker.poll() is None, (paths.root / "worker.log").read_text()
        if rng.random() < 0.5:
            threading.Event().wait(rng.uniform(0.0, 1.0))  # any moment: restore, a state write, a part
        else:
            target = proxy.body_bytes + rng.randint(1, 10) * MIB
            proxy.wait_until(lambda p, t=target: p.body_bytes >= t, timeout=20)
        before = states(paths, ids)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        kills += 1
        kills_mid_upload += any(s is not None and s.status is S.UPLOADING for s in before.values())
        assert worker.returncode == -signal.SIGKILL
        states(paths, ids)  # every state file is still readable
        if all_done(paths, ids):
            break
    worker = spawn(paths, "worker", log_name="worker.log")
    try:
        wait_until(f"all uploads to finish (seed {seed})", lambda: all_done(paths, ids), 90)
    finally:
        code = stop_worker(worker)
    assert code == 0
    assert kills >= 5, f"only {kills} kills before everything was uploaded (seed {seed})"
    assert kills_mid_upload >= 2, f"seed {seed}"
    for sid in ids:
        stored = moto.object_bytes(f"{prefix}{sid}.zip")
        assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(zip_bytes(paths, sid)).hexdigest()
    # Resume, not restart: at most the parts in flight (2 x 5 MiB) are sent again per kill.
    assert proxy.body_bytes <= total + kills * 2 * 5 * MIB + 5 * MIB, (proxy.body_bytes, total, kills, seed)
    log = (paths.root / "worker.log").read_text()
    assert "uploading -> done" in log and "upload worker stopped" in log


def test_worker_and_upload_wait_never_upload_a_session_twice(paths: Paths, moto: S3Server,
                                                            proxy: FaultProxy) -> None:
    prefix = "two/"
    write_config(paths, moto.config(endpointUrl=proxy.url, keyPrefix=prefix))
    for i, sid in enumerate(["a", "b", "c", "d", "e"]):
        make_exported_session(paths, sid, 6 * MIB if sid != "e" else 16 * MIB, created_at=1_700_000_000_000 + i)
    proxy.limit_rate(16 * MIB)

    # 1. `upload --wait` runs the queue itself; a worker started meanwhile refuses to. The upload is
    # slowed down so that it still holds the queue when the worker (a new Python process) asks.
    proxy.limit_rate(MIB // 2)
    first = spawn(paths, "upload", "d", "--wait", log_name="upload-d.log")
    wait_until("upload --wait to start", lambda: holds_queue_lock(paths, first) or first.poll() is not None, 30)
    refused = traycap(paths, "worker")
    assert first.poll() is None, "the upload ended before the worker asked: the test proves nothing"
    assert refused.returncode == 1
    assert f"already run by process {first.pid}" in refused.stderr
    proxy.limit_rate(16 * MIB)
    assert first.wait(timeout=60) == 0, (paths.root / "upload-d.log").read_text()

    # 2. With a worker running, `upload --wait` only asks and waits.
    worker = spawn(paths, "worker", log_name="worker.log")
    try:
        wait_until("the worker to start", lambda: holds_queue_lock(paths, worker), 30)
        waiters = [spawn(paths, "upload", sid, "--wait", log_name=f"upload-{sid}.log") for sid in ("a", "b", "c")]
        for sid, waiter in zip(("a", "b", "c"), waiters, strict=True):
            assert waiter.wait(timeout=60) == 0, (paths.root / f"upload-{sid}.log").read_text()
            assert f"traycap (pid {worker.pid}) is uploading it" in (paths.root / f"upload-{sid}.log").read_text()

        # 3. `cancel` from another process stops the worker's running upload within 2 s.
        assert traycap(paths, "upload", "e").returncode == 0
        key_e = f"{prefix}e.zip"
        assert proxy.wait_until(lambda p: p.count("UploadPart", key_e, status=200) >= 1, timeout=30)
        cancel = traycap(paths, "cancel", "e")
        assert cancel.returncode == 0, cancel.stderr
        cancelled_at = time.monotonic()
        assert proxy.wait_until(lambda p: p.count("AbortMultipartUpload", key_e) >= 1, timeout=10)
        assert time.monotonic() - cancelled_at < 2.0
        e = StateStore(paths).read("e")
        assert e is not None and (e.status, e.uploadId) == (S.NOT_UPLOADED, None)
    finally:
        assert stop_worker(worker) == 0
    assert proxy.count("CompleteMultipartUpload", key_e) == 0
    # Only this test's keys: the moto server is shared, and the SIGKILL test may leave an empty
    # multipart upload behind when it kills a worker between CreateMultipartUpload and the state write.
    assert [u["Key"] for u in moto.list_multipart_uploads() if u["Key"].startswith(prefix)] == []
    for sid in ("a", "b", "c", "d"):
        key = f"{prefix}{sid}.zip"
        assert proxy.count("CreateMultipartUpload", key) == 1, sid
        assert proxy.count("PutObject", key) == 0
        assert moto.object_bytes(key) == zip_bytes(paths, sid)
    again = traycap(paths, "upload", "a", "--wait")
    assert again.returncode == 0 and "already uploaded" in again.stdout


def test_wrong_secret_then_config_set_and_retry(paths: Paths, tmp_path: Path) -> None:
    with rclone_server(tmp_path / "rclone") as server, FaultProxy(server.host, server.port) as proxy:
        good = server.config(endpointUrl=proxy.url, keyPrefix="creds/")
        write_config(paths, good.with_(secretAccessKey="wrong-secret-0000"))
        make_exported_session(paths, "s1", 6 * MIB)
        failed = traycap(paths, "upload", "s1", "--wait")
        assert failed.returncode == 1
        assert "access key" in failed.stderr and "wrong-secret-0000" not in failed.stderr + failed.stdout
        state = StateStore(paths).read("s1")
        assert state is not None and (state.status, state.retryCount) == (S.FAILED, 0)
        assert proxy.count("CreateMultipartUpload", "creds/s1.zip") == 1  # one attempt, not retried
        assert traycap(paths, "config", "set", f"secretAccessKey={server.secret_key}").returncode == 0
        retried = traycap(paths, "retry", "s1")
        assert retried.returncode == 0, retried.stderr
        done = traycap(paths, "upload", "s1", "--wait")
        assert done.returncode == 0, done.stderr
        assert "s1: done" in done.stdout
        assert server.object_bytes("creds/s1.zip") == zip_bytes(paths, "s1")
        link = traycap(paths, "link", "s1", "--expires", "600")
        assert link.returncode == 0 and link.stdout.startswith(proxy.url) and "creds/s1.zip" in link.stdout


def test_sigterm_stops_at_a_part_boundary_and_the_next_run_resumes(paths: Paths, moto: S3Server,
                                                                    proxy: FaultProxy) -> None:
    prefix = "term/"
    write_config(paths, moto.config(endpointUrl=proxy.url, keyPrefix=prefix, maxConcurrency=1))
    make_exported_session(paths, "t1", 16 * MIB)
    key = f"{prefix}t1.zip"
    assert traycap(paths, "upload", "t1").returncode == 0
    proxy.limit_rate(8 * MIB)
    worker = spawn(paths, "worker", log_name="worker.log")
    try:
        assert proxy.wait_until(lambda p: p.count("UploadPart", key, status=200) >= 1, timeout=30)
    finally:
        code = stop_worker(worker)
    assert code == 0, (paths.root / "worker.log").read_text()
    state = StateStore(paths).read("t1")
    assert state is not None and state.status is S.PENDING and state.retryCount == 0
    assert state.uploadId is not None and len(state.parts) >= 1
    kept = {p.partNumber for p in state.parts}
    proxy.limit_rate(None)
    done = traycap(paths, "upload", "t1", "--wait")
    assert done.returncode == 0, done.stderr
    assert proxy.count("CreateMultipartUpload", key) == 1  # resumed, not started again
    resent = [e for e in proxy.requests if e.op == "UploadPart" and e.key == key and e.status == 200
              and int(e.query["partNumber"]) in kept]
    assert len(resent) == len(kept)  # each kept part was sent once, before the stop
    assert moto.object_bytes(key) == zip_bytes(paths, "t1")
