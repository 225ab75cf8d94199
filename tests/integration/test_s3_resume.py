"""Resuming a multipart upload: after SIGKILL (a child process uploading 24 parts is killed
mid-way; a new process continues from the checkpoint it wrote, through a counting proxy), and
when what is already in the bucket can no longer be trusted."""

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

from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import S3Server, moto_server, random_file, rclone_server
from traycap.cancel import CancelToken
from traycap.clock import FakeClock
from traycap.errors import ServerError, ZipChanged
from traycap.models import MIB
from traycap.upload.engine import ResumePoint
from traycap.upload.s3 import UploadService

pytestmark = pytest.mark.s3

PART = 5 * MIB
PARTS = 24
CONCURRENCY = 3

# The child does what the queue does: checkpoint after every part, atomically, to a JSON file.
CHILD = r'''
import json, sys
from pathlib import Path
from traycap.cancel import CancelToken
from traycap.models import CompletedPart, UploadConfig
from traycap.storage.atomic import write_json_atomic
from traycap.upload.engine import ResumePoint
from traycap.upload.s3 import UploadService

config = UploadConfig.from_json(json.loads(sys.argv[1]))
zip_path, key, sha, state = Path(sys.argv[2]), sys.argv[3], sys.argv[4], Path(sys.argv[5])
resume = None
if state.exists():
    saved = json.loads(state.read_text())
    if saved:
        parts = tuple(CompletedPart.from_json(p) for p in saved["parts"])
        resume = ResumePoint(saved["uploadId"], saved["partSize"], parts)

def checkpoint(point):
    data = None
    if point is not None:
        data = {"uploadId": point.uploadId, "partSize": point.partSize, "parts": [p.to_json() for p in point.parts]}
    write_json_atomic(state, data)

result = UploadService(config).upload_file(
    zip_path, key, sha256=sha, resume=resume, on_progress=lambda done, total: None,
    on_checkpoint=checkpoint, cancel=CancelToken(),
)
print(json.dumps({"bytesSent": result.bytesSent, "size": result.size}))
'''


@pytest.fixture(params=["rclone", "moto"])
def s3(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    if request.param == "moto":
        with moto_server() as server:
            yield server
    else:
        with rclone_server(tmp_path_factory.mktemp("rclone-root")) as server:
            yield server


def read_state(path: Path) -> dict | None:  # type: ignore[type-arg]
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


@pytest.mark.slow
def test_sigkill_mid_upload_then_resume_sends_only_the_rest(s3: S3Server, tmp_path: Path) -> None:
    zip_path = tmp_path / "session.zip"
    size = PARTS * PART - 1234
    sha = random_file(zip_path, size, seed=20)
    state = tmp_path / "upload-state.json"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    key = "sessions/killed.zip"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    with FaultProxy(s3.host, s3.port) as proxy:
        config = s3.config(endpointUrl=proxy.url, partSizeBytes=PART, maxConcurrency=CONCURRENCY)
        argv = [sys.executable, str(script), json.dumps(config.to_json()), str(zip_path), key, sha, str(state)]
        proxy.limit_rate(20 * MIB)  # about 6 s for the whole file: the kill lands mid-upload
        child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            saved = read_state(state)
            while not (saved and len(saved["parts"]) >= 5):
                assert child.poll() is None, child.communicate()[1].decode()[-2000:]
                assert time.monotonic() < deadline, "the child never checkpointed 5 parts"
                proxy.wait_until(lambda p: False, timeout=0.05)  # wake on proxy traffic or 50 ms
                saved = read_state(state)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
            child.communicate()
        assert child.returncode == -signal.SIGKILL

        proxy.limit_rate(None)
        # the dead child's connections drain what the kernel still buffered, then close
        assert proxy.wait_until(lambda p: p.active_connections == 0, timeout=30)
        saved = read_state(state)  # what the killed process left on disk
        assert saved is not None and len(saved["parts"]) < PARTS
        checkpointed = sum(p["size"] for p in saved["parts"])
        first_sent = proxy.body_bytes  # every body byte the killed process got out, parts cut short included

        proxy.reset_stats()
        done = subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        resent = proxy.body_bytes_of("UploadPart")
        reported = json.loads(done.stdout)["bytesSent"]
        assert proxy.count("CreateMultipartUpload") == 0  # it continued the same upload
        assert proxy.count("ListParts") == 1

    in_flight = CONCURRENCY * PART
    print(f"killed after {len(saved['parts'])} checkpointed parts; first sent {first_sent}, resent {resent} of {size}")
    rest = size - first_sent  # bytes the first process never sent at all
    assert resent == reported
    assert resent <= in_flight + rest, (resent, in_flight, rest)
    assert resent == size - checkpointed  # exactly the parts not in the checkpoint, once each
    assert resent < size - 4 * PART
    assert hashlib.sha256(s3.object_bytes(key)).hexdigest() == sha
    assert read_state(state) is None  # the checkpoint is cleared once complete
    assert s3.list_multipart_uploads() == []


def test_resume_does_not_trust_parts_whose_bytes_are_no_longer_the_files(rclone: S3Server, tmp_path: Path) -> None:
    """Found in review (fix: 4763e0a). A session without a SHA-256 in its meta (copied in from elsewhere)
    whose zip changed between two attempts: the parts already in the bucket hold the old bytes. Completing the
    upload with them would put a corrupt bundle in the bucket; the resume must notice before Complete."""
    path = tmp_path / "z.zip"
    random_file(path, 16 * MIB, seed=32)
    key = "sessions/changed-between-attempts.zip"
    checkpoints: list[ResumePoint | None] = []
    with FaultProxy(rclone.host, rclone.port) as proxy:
        proxy.fail_next(1, "500", op="UploadPart", match=lambda req: req.part_number == 3)
        svc = UploadService(rclone.config(endpointUrl=proxy.url, maxConcurrency=1), clock=FakeClock(), part_attempts=1)
        with pytest.raises(ServerError):
            svc.upload_file(path, key, sha256=None, resume=None, on_progress=lambda _d, _t: None,
                            on_checkpoint=checkpoints.append, cancel=CancelToken())
        point = checkpoints[-1]
        assert point is not None and [p.partNumber for p in point.parts] == [1, 2]
        with path.open("r+b") as f:  # same size, other bytes in part 1
            f.write(b"changed")
        with pytest.raises(ZipChanged):
            svc.upload_file(path, key, sha256=None, resume=point, on_progress=lambda _d, _t: None,
                            on_checkpoint=checkpoints.append, cancel=CancelToken())
        assert proxy.count("CompleteMultipartUpload") == 0
    assert checkpoints[-1] is None and rclone.list_multipart_uploads() == []
    listed = rclone.client().list_objects_v2(Bucket=rclone.bucket, Prefix=key)
    assert listed.get("KeyCount", 0) == 0  # no corrupt bundle in the bucket


@pytest.mark.parametrize("first_compat", [False, True], ids=["sha256-then-md5", "md5-then-sha256"])
def test_switching_compatibility_between_attempts_starts_afresh(
    rclone: S3Server, tmp_path: Path, first_compat: bool
) -> None:
    """Found in review (fix: 4763e0a). Parts sent with the other kind of checksum cannot be checked or
    completed: a new upload, the right bytes in the bucket (not a false "zip changed")."""
    path = tmp_path / "z.zip"
    sha = random_file(path, 11 * MIB, seed=33)
    key = f"sessions/compat-switch-{first_compat}.zip"
    checkpoints: list[ResumePoint | None] = []
    with FaultProxy(rclone.host, rclone.port) as proxy:
        proxy.fail_next(1, "500", op="UploadPart", match=lambda req: req.part_number == 2)
        first = UploadService(rclone.config(endpointUrl=proxy.url, maxConcurrency=1, compatibility=first_compat),
                              clock=FakeClock(), part_attempts=1)
        with pytest.raises(ServerError):
            first.upload_file(path, key, sha256=sha, resume=None, on_progress=lambda _d, _t: None,
                              on_checkpoint=checkpoints.append, cancel=CancelToken())
        point = checkpoints[-1]
        assert point is not None and len(point.parts) == 1
        second = UploadService(rclone.config(compatibility=not first_compat), clock=FakeClock())
        result = second.upload_file(path, key, sha256=sha, resume=point, on_progress=lambda _d, _t: None,
                                    on_checkpoint=checkpoints.append, cancel=CancelToken())
    assert result.bytesSent == 11 * MIB
    assert hashlib.sha256(rclone.object_bytes(key)).hexdigest() == sha
    assert rclone.list_multipart_uploads() == []
