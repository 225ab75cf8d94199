"""Resume after SIGKILL: a child process uploading 24 parts is killed mid-way; a new
process continues from the checkpoint it wrote, through a counting proxy."""

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
from traycap.models import MIB

pytestmark = [pytest.mark.s3, pytest.mark.slow]

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
