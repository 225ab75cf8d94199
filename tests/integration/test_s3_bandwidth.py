"""maxUploadMBps against a real S3 server: the rate the proxy sees the parts' bytes arrive at.

The proxy (tests/support/faultproxy.py) stamps when each UploadPart's head
arrived and when its answer began; bytes / (last answer - first head) is the
rate on the wire, parts in flight together.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import S3Server, random_file
from traycap.cancel import CancelToken
from traycap.upload.bandwidth import MB
from traycap.upload.s3 import UploadService

pytestmark = pytest.mark.s3


def test_two_mb_per_second_across_all_parts_in_flight(moto: S3Server, proxy: FaultProxy, tmp_path: Path) -> None:
    path = tmp_path / "z.zip"
    size = 12 * MB
    sha = random_file(path, size, seed=51)
    service = UploadService(moto.config(endpointUrl=proxy.url, maxUploadMBps=2, maxConcurrency=4))
    result = service.upload_file(
        path, "bw/z.zip", sha256=sha, resume=None, on_progress=lambda _d, _t: None, on_checkpoint=lambda _p: None,
        cancel=CancelToken(),
    )
    parts = [e for e in proxy.requests if e.op == "UploadPart"]
    assert len(parts) == 3 and result.size == size  # 5 MiB parts: three in flight together
    seconds = max(e.ended for e in parts) - min(e.started for e in parts)
    rate = sum(e.body_bytes for e in parts) / seconds
    print(f"maxUploadMBps=2: {size / MB:.0f} MB in {seconds:.2f} s = {rate / MB:.3f} MB/s")
    assert 1.8 * MB <= rate <= 2.2 * MB
    assert hashlib.sha256(moto.object_bytes("bw/z.zip")).hexdigest() == sha
