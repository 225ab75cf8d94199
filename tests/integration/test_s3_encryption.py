"""Server-side encryption (sse, sseKmsKeyId) against real S3 servers on 127.0.0.1.

moto implements KMS: the key is created with a boto3 KMS client at the moto
endpoint, and HeadObject must show the object encrypted with it. rclone serve
s3 keeps the headers it is sent and reports them back (its files on disk are
not encrypted: the backend decides). A key the credentials may not use is an
answer moto does not give, so the fault proxy gives S3's own answer for it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.faultproxy import FaultProxy, Request
from tests.support.s3servers import S3Server, random_file
from traycap.cancel import CancelToken
from traycap.clock import FakeClock
from traycap.errors import EncryptionKeyRejected, VerificationFailed
from traycap.models import MIB, UploadConfig
from traycap.upload.engine import UploadResult
from traycap.upload.s3 import UploadService

pytestmark = pytest.mark.s3

KMS_DENIED = (
    403, "AccessDenied",
    "User: arn:aws:iam::123456789012:user/traycap is not authorized to perform: kms:GenerateDataKey on resource: "
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab because no identity-based policy "
    "allows the kms:GenerateDataKey action",
)


def upload(config: UploadConfig, path: Path, key: str, sha: str) -> UploadResult:
    return UploadService(config, clock=FakeClock()).upload_file(
        path, key, sha256=sha, resume=None, on_progress=lambda _d, _t: None, on_checkpoint=lambda _p: None,
        cancel=CancelToken(),
    )


def kms_key(s3: S3Server) -> str:
    kms = boto3.client(
        "kms", endpoint_url=s3.endpoint_url, aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key, region_name=s3.region,
    )
    arn: str = kms.create_key(Description="traycap test")["KeyMetadata"]["Arn"]
    return arn


def head(s3: S3Server, key: str) -> dict[str, Any]:
    result: dict[str, Any] = s3.client().head_object(Bucket=s3.bucket, Key=key)
    return result


@pytest.mark.parametrize("size", [11 * MIB, 2 * MIB], ids=["multipart", "single-put"])
def test_sse_kms_with_a_key_is_what_moto_stores(moto: S3Server, tmp_path: Path, size: int) -> None:
    arn = kms_key(moto)
    path = tmp_path / "z.zip"
    sha = random_file(path, size, seed=41)
    key = f"sse/kms-{size}.zip"
    result = upload(moto.config(sse="aws:kms", sseKmsKeyId=arn.rsplit("/", 1)[1]), path, key, sha)  # the bare key id
    assert result.size == size
    stored = head(moto, key)
    assert stored["ServerSideEncryption"] == "aws:kms"
    assert stored["SSEKMSKeyId"].endswith(arn.rsplit("/", 1)[1])
    assert hashlib.sha256(moto.object_bytes(key)).hexdigest() == sha


def test_sse_s3_aes256(moto: S3Server, tmp_path: Path) -> None:
    path = tmp_path / "z.zip"
    sha = random_file(path, 6 * MIB, seed=42)
    upload(moto.config(sse="AES256"), path, "sse/aes.zip", sha)
    assert head(moto, "sse/aes.zip")["ServerSideEncryption"] == "AES256"


@pytest.mark.parametrize("sse", ["AES256", "aws:kms"])
def test_rclone_keeps_and_reports_the_headers(rclone: S3Server, tmp_path: Path, sse: str) -> None:
    path = tmp_path / "z.zip"
    sha = random_file(path, 11 * MIB, seed=43)
    key = f"sse/rclone-{sse.replace(':', '-')}.zip"
    upload(rclone.config(sse=sse), path, key, sha)
    assert head(rclone, key)["ServerSideEncryption"] == sse
    assert rclone.root_dir is not None
    on_disk = rclone.root_dir / rclone.bucket / key
    assert hashlib.sha256(on_disk.read_bytes()).hexdigest() == sha  # the header encrypts nothing on disk


@pytest.mark.parametrize("op", ["CreateMultipartUpload", "PutObject"])
def test_a_kms_key_the_credentials_may_not_use_is_a_readable_permanent_error(
    moto: S3Server, tmp_path: Path, op: str
) -> None:
    path = tmp_path / "z.zip"
    size = 11 * MIB if op == "CreateMultipartUpload" else 2 * MIB
    sha = random_file(path, size, seed=44)
    with FaultProxy(moto.host, moto.port) as proxy:
        proxy.fail_next(1, "answer", op=op, answer=KMS_DENIED)
        config = moto.config(endpointUrl=proxy.url, sse="aws:kms", sseKmsKeyId="1234abcd-12ab-34cd-56ef-1234567890ab")
        with pytest.raises(EncryptionKeyRejected) as info:
            upload(config, path, f"sse/denied-{op}.zip", sha)
    err = info.value
    assert not err.transient and (err.code, err.status) == ("AccessDenied", 403)
    text = err.user_text()
    assert text.startswith("S3 could not use the KMS key to encrypt the upload: User: arn:aws:iam")
    assert "sseKmsKeyId" in err.hint and "kms:GenerateDataKey" in err.hint
    assert "An error occurred" not in text and "botocore" not in text


def test_a_store_that_reports_another_encryption_fails_verification(moto: S3Server, tmp_path: Path) -> None:
    path = tmp_path / "z.zip"
    sha = random_file(path, 6 * MIB, seed=45)

    def downgrade(req: Request, status: int, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        if req.op != "HeadObject" or status != 200:
            return headers
        return [(k, "AES256" if k.lower() == "x-amz-server-side-encryption" else v) for k, v in headers]

    with FaultProxy(moto.host, moto.port) as proxy:
        proxy.rewrite_head_responses(downgrade)
        with pytest.raises(VerificationFailed) as info:
            upload(moto.config(endpointUrl=proxy.url, sse="aws:kms"), path, "sse/downgraded.zip", sha)
    assert "stored with AES256 encryption, not the aws:kms asked for" in info.value.message


def traycap(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAYCAP_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "traycap", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_config_set_and_show_the_encryption(home: Path) -> None:
    base = ("bucket=b-test", "region=us-east-1", "accessKeyId=AKIAEXAMPLE", "secretAccessKey=s3cr3t-value")
    done = traycap(home, "config", "set", *base, "sse=aws:kms", "sseKmsKeyId=alias/traycap")
    assert done.returncode == 0, done.stderr
    shown = traycap(home, "config", "show").stdout
    assert "sse = aws:kms" in shown and "sseKmsKeyId = alias/traycap" in shown
    bad = traycap(home, "config", "set", "sse=kms-please", "sseKmsKeyId=has space")
    assert bad.returncode == 1
    assert "sse: must be none, AES256" in bad.stderr and "sseKmsKeyId:" in bad.stderr
    assert traycap(home, "config", "set", "sse=none").returncode == 1  # a key id without aws:kms
    assert traycap(home, "config", "set", "sse=None", "sseKmsKeyId=").returncode == 0
    assert "sse = none" in traycap(home, "config", "show").stdout
