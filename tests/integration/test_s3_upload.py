"""UploadService against real S3-compatible servers (moto server and rclone serve s3) on 127.0.0.1."""

from __future__ import annotations

import hashlib
import urllib.request
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import S3Server, moto_server, random_file, rclone_server
from traycap.cancel import CancelToken
from traycap.errors import BucketNotFound, ZipChanged, ZipMissing
from traycap.models import MIB
from traycap.upload.engine import ResumePoint, UploadResult
from traycap.upload.s3 import UploadService
from traycap.upload.s3.client import S3Client

pytestmark = pytest.mark.s3


@pytest.fixture(scope="module", params=["moto", "rclone"])
def s3(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    if request.param == "moto":
        with moto_server() as server:
            yield server
    else:
        with rclone_server(tmp_path_factory.mktemp("rclone-root")) as server:
            yield server


class Calls:
    def __init__(self) -> None:
        self.progress: list[tuple[int, int]] = []
        self.checkpoints: list[ResumePoint | None] = []

    def on_progress(self, done: int, total: int) -> None:
        self.progress.append((done, total))

    def on_checkpoint(self, point: ResumePoint | None) -> None:
        self.checkpoints.append(point)


def upload(
    service: UploadService, path: Path, key: str, sha: str | None, resume: ResumePoint | None = None,
    crc32: str | None = None,
) -> tuple[UploadResult, Calls]:
    calls = Calls()
    result = service.upload_file(
        path, key, sha256=sha, resume=resume, on_progress=calls.on_progress,
        on_checkpoint=calls.on_checkpoint, cancel=CancelToken(), crc32=crc32,
    )
    return result, calls


def meta_sha256(s3: S3Server, key: str) -> str | None:
    """x-amz-meta-sha256 (rclone spells the name Sha256, Go's header case)."""
    head = s3.client().head_object(Bucket=s3.bucket, Key=key)
    return {k.lower(): v for k, v in head["Metadata"].items()}.get("sha256")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_one_byte(s3: S3Server, tmp_path: Path) -> None:
    path = tmp_path / "one.zip"
    path.write_bytes(b"x")
    result, calls = upload(UploadService(s3.config()), path, "sessions/one.zip", sha256(b"x"))
    assert s3.object_bytes("sessions/one.zip") == b"x"
    assert (result.size, result.bytesSent, result.alreadyPresent) == (1, 1, False)
    assert result.sha256 == sha256(b"x")
    assert calls.progress[-1] == (1, 1)
    assert meta_sha256(s3, "sessions/one.zip") == sha256(b"x")


def test_exactly_one_part_is_one_request(s3: S3Server, tmp_path: Path) -> None:
    path = tmp_path / "part.zip"
    sha = random_file(path, 5 * MIB, seed=1)
    with FaultProxy(s3.host, s3.port) as proxy:
        service = UploadService(s3.config(endpointUrl=proxy.url, partSizeBytes=5 * MIB))
        result, calls = upload(service, path, "sessions/part.zip", sha)
        assert proxy.count("PutObject") == 1
        assert proxy.count("UploadPart") == proxy.count("CreateMultipartUpload") == 0
    assert sha256(s3.object_bytes("sessions/part.zip")) == sha
    assert result.bytesSent == 5 * MIB
    assert calls.checkpoints == []  # nothing to resume for a single request


def test_50_mib_multipart(s3: S3Server, tmp_path: Path) -> None:
    path = tmp_path / "big.zip"
    size = 50 * MIB + 12_345
    sha = random_file(path, size, seed=2)
    service = UploadService(s3.config(partSizeBytes=5 * MIB, maxConcurrency=4))
    result, calls = upload(service, path, "sessions/big.zip", sha)
    assert sha256(s3.object_bytes("sessions/big.zip")) == sha
    assert (result.size, result.bytesSent, result.sha256) == (size, size, sha)
    # a checkpoint when the upload is created, one per part (growing by one), None when complete
    points = calls.checkpoints
    assert points[0] is not None and points[0].parts == () and points[0].partSize == 5 * MIB
    assert points[-1] is None
    counts = [len(p.parts) for p in points[1:-1] if p is not None]
    assert counts == list(range(1, 12))
    final = points[-2]
    assert final is not None
    assert sorted(p.partNumber for p in final.parts) == list(range(1, 12))
    assert sum(p.size for p in final.parts) == size
    assert all(p.checksum for p in final.parts)
    # progress: monotonic, more often than once per part, ends at the size
    done = [d for d, _ in calls.progress]
    assert done == sorted(done) and done[-1] == size and len(done) > 11
    assert {t for _, t in calls.progress} == {size}
    listed = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix="sessions/big.zip")["Contents"]
    assert listed[0]["Size"] == size
    assert s3.list_multipart_uploads() == []


def test_compatibility_mode_sends_content_md5(s3: S3Server, tmp_path: Path) -> None:
    path = tmp_path / "compat.zip"
    sha = random_file(path, 11 * MIB, seed=3)
    service = UploadService(s3.config(compatibility=True))
    _result, calls = upload(service, path, "sessions/compat.zip", sha)
    assert sha256(s3.object_bytes("sessions/compat.zip")) == sha
    final = calls.checkpoints[-2]
    assert final is not None
    for part in final.parts:  # the checksum recorded is the part's MD5 (what Content-MD5 carried)
        assert len(part.checksum or "") == 24


def test_already_present_object_is_not_sent_again(s3: S3Server, tmp_path: Path) -> None:
    path = tmp_path / "again.zip"
    sha = random_file(path, 12 * MIB, seed=4)
    with FaultProxy(s3.host, s3.port) as proxy:
        service = UploadService(s3.config(endpointUrl=proxy.url))
        upload(service, path, "sessions/again.zip", sha)
        proxy.reset_stats()
        result, calls = upload(service, path, "sessions/again.zip", sha)
        assert result.alreadyPresent and result.bytesSent == 0
        assert proxy.count("UploadPart") == proxy.count("PutObject") == proxy.count("CreateMultipartUpload") == 0
        assert proxy.body_bytes == 0
        assert calls.progress[-1] == (12 * MIB, 12 * MIB)


def test_a_different_object_under_the_key_is_replaced(s3: S3Server, tmp_path: Path) -> None:
    s3.client().put_object(Bucket=s3.bucket, Key="sessions/other.zip", Body=b"old content")
    path = tmp_path / "other.zip"
    sha = random_file(path, 6 * MIB, seed=5)
    result, _ = upload(UploadService(s3.config()), path, "sessions/other.zip", sha)
    assert not result.alreadyPresent
    assert sha256(s3.object_bytes("sessions/other.zip")) == sha


def test_sha256_is_computed_when_not_given(s3: S3Server, tmp_path: Path) -> None:
    path = tmp_path / "nosha.zip"
    sha = random_file(path, 7 * MIB, seed=6)
    result, _ = upload(UploadService(s3.config()), path, "sessions/nosha.zip", None)
    assert result.sha256 == sha
    assert meta_sha256(s3, "sessions/nosha.zip") == sha


def test_share_link_downloads_the_object(s3: S3Server, tmp_path: Path) -> None:
    path = tmp_path / "link.zip"
    path.write_bytes(b"shared bytes")
    service = UploadService(s3.config())
    upload(service, path, "sessions/link.zip", sha256(b"shared bytes"))
    url = service.share_link("sessions/link.zip", 600)
    assert url.startswith(s3.endpoint_url) and "X-Amz-Expires=600" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"shared bytes"


def test_missing_zip(s3: S3Server, tmp_path: Path) -> None:
    with pytest.raises(ZipMissing) as info:
        upload(UploadService(s3.config()), tmp_path / "gone.zip", "sessions/gone.zip", "0" * 64)
    assert "gone.zip" in info.value.message and not info.value.transient


@pytest.mark.parametrize("size", [100, 12 * MIB])
def test_zip_changed_since_export_is_refused_and_leaves_nothing(s3: S3Server, tmp_path: Path, size: int) -> None:
    path = tmp_path / "changed.zip"
    random_file(path, size, seed=7)
    export_sha = "ab" * 32  # what session-meta.json says; the file no longer matches
    with pytest.raises(ZipChanged):
        upload(UploadService(s3.config()), path, f"sessions/changed-{size}.zip", export_sha)
    assert s3.list_multipart_uploads() == []
    listed = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix=f"sessions/changed-{size}.zip")
    assert listed.get("KeyCount", 0) == 0


def test_with_the_export_s_crc32_the_parts_crc32s_decide_whether_the_zip_changed(s3: S3Server, tmp_path: Path,
                                                                                 ) -> None:
    """The queue's case since issue 22: the export recorded the zip's CRC32, so no whole-file SHA-256 pass;
    the parts' CRC32s (the store verifies each) combined must be it."""
    path = tmp_path / "crc.zip"
    sha = random_file(path, 12 * MIB + 5, seed=8)
    crc = f"{zlib.crc32(path.read_bytes()):08x}"
    service = UploadService(s3.config(partSizeBytes=5 * MIB))
    result, _calls = upload(service, path, "sessions/crc.zip", sha, crc32=crc)
    assert sha256(s3.object_bytes("sessions/crc.zip")) == sha and result.sha256 == sha
    with pytest.raises(ZipChanged):  # the same file against another export's CRC32
        upload(service, path, "sessions/crc-changed.zip", sha, crc32=f"{zlib.crc32(b'other'):08x}")
    assert s3.list_multipart_uploads() == []


def test_missing_bucket_is_permanent_and_readable(s3: S3Server, tmp_path: Path) -> None:
    path = tmp_path / "nb.zip"
    sha = random_file(path, 6 * MIB, seed=8)
    service = UploadService(s3.config(bucket="no-such-bucket-here"))
    with pytest.raises(BucketNotFound) as info:
        upload(service, path, "sessions/nb.zip", sha)
    assert not info.value.transient
    assert info.value.message.startswith("The bucket 'no-such-bucket-here' does not exist")
    check = service.validate_credentials()
    assert not check.valid
    assert check.error is not None and "'no-such-bucket-here' does not exist" in check.error


def test_validate_credentials_ok(s3: S3Server) -> None:
    assert UploadService(s3.config()).validate_credentials().valid


def test_list_parts_pages_past_1000_parts(s3: S3Server) -> None:
    client = s3.client()
    key = "sessions/many-parts.zip"
    upload_id = client.create_multipart_upload(Bucket=s3.bucket, Key=key)["UploadId"]
    try:
        def put(n: int) -> None:
            client.upload_part(Bucket=s3.bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=b"p")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, range(1, 1006)))
        with FaultProxy(s3.host, s3.port) as proxy:
            parts = S3Client(s3.config(endpointUrl=proxy.url)).list_parts(key, upload_id)
            assert proxy.count("ListParts") >= 2
        assert sorted(parts) == list(range(1, 1006))
    finally:
        client.abort_multipart_upload(Bucket=s3.bucket, Key=key, UploadId=upload_id)
