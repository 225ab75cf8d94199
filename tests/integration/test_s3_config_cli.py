"""`traycap config test` end to end: the real CLI, a real config file, real S3 servers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.s3servers import S3Server

pytestmark = pytest.mark.s3


def traycap(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAYCAP_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "traycap", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def configure(home: Path, s3: S3Server, **changes: str) -> None:
    values = {
        "bucket": s3.bucket, "region": s3.region, "endpointUrl": s3.endpoint_url, "pathStyle": "true",
        "accessKeyId": s3.access_key, "secretAccessKey": s3.secret_key, **changes,
    }
    done = traycap(home, "config", "set", *(f"{k}={v}" for k, v in values.items()))
    assert done.returncode == 0, done.stderr


def test_good_settings_pass(s3: S3Server, home: Path) -> None:
    configure(home, s3)
    done = traycap(home, "config", "test")
    assert done.returncode == 0, done.stderr
    assert f"bucket '{s3.bucket}' is reachable" in done.stdout


def test_missing_bucket_fails_with_a_readable_message(s3: S3Server, home: Path) -> None:
    configure(home, s3, bucket="no-such-bucket")
    done = traycap(home, "config", "test")
    assert done.returncode == 1
    assert "The bucket 'no-such-bucket' does not exist" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("secretAccessKey", "not-the-right-secret-0000", "the secret key does not match"),
        ("accessKeyId", "AKIANOSUCHKEY", "S3 does not know this access key"),
    ],
)
def test_wrong_credentials_fail_readably_without_showing_the_secret(
    rclone: S3Server, home: Path, field: str, value: str, says: str
) -> None:
    # rclone checks SigV4 signatures; moto accepts any credentials
    s3 = rclone
    configure(home, s3, **{field: value})
    done = traycap(home, "config", "test")
    assert done.returncode == 1
    assert done.stderr.startswith("traycap: S3 rejected the access key")
    assert says in done.stderr and "check Upload settings" in done.stderr
    for secret in ("not-the-right-secret-0000", s3.secret_key):
        assert secret not in done.stderr and secret not in done.stdout


def test_unreachable_endpoint(s3: S3Server, home: Path) -> None:
    configure(home, s3, endpointUrl="http://127.0.0.1:9")
    done = traycap(home, "config", "test")
    assert done.returncode == 1
    assert "Cannot reach http://127.0.0.1:9" in done.stderr
