"""The fault proxy itself: keep-alive, chunked bodies, counting, rate limit, offline."""

from __future__ import annotations

import http.client
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.support.faultproxy import FaultProxy, s3_operation
from tests.support.s3servers import S3Server, rclone_server

pytestmark = pytest.mark.s3


def test_operation_names() -> None:
    assert s3_operation("POST", "/b/k?uploads") == "CreateMultipartUpload"
    assert s3_operation("PUT", "/b/k?partNumber=3&uploadId=x") == "UploadPart"
    assert s3_operation("POST", "/b/k?uploadId=x") == "CompleteMultipartUpload"
    assert s3_operation("DELETE", "/b/k?uploadId=x") == "AbortMultipartUpload"
    assert s3_operation("GET", "/b/k?uploadId=x&max-parts=1000") == "ListParts"
    assert s3_operation("GET", "/b?uploads") == "ListMultipartUploads"
    assert s3_operation("PUT", "/b/k") == "PutObject"
    assert s3_operation("HEAD", "/b") == "HeadBucket"
    assert s3_operation("HEAD", "/b/a/b.zip") == "HeadObject"


def signed_get(moto: S3Server, key: str) -> str:
    """Path and query of a presigned GET (moto accepts an unsigned PUT but not an unsigned GET)."""
    url: str = moto.client().generate_presigned_url("get_object", Params={"Bucket": moto.bucket, "Key": key})
    return url.split(str(moto.port), 1)[1]


def test_chunked_request_body(moto: S3Server) -> None:
    with FaultProxy(moto.host, moto.port) as proxy:
        conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=10)
        chunks = [b"a" * 1000, b"b" * 70_000, b"c"]
        conn.request("PUT", f"/{moto.bucket}/chunked.bin", body=iter(chunks), encode_chunked=True,
                      headers={"Transfer-Encoding": "chunked"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        conn.request("GET", signed_get(moto, "chunked.bin"))
        response = conn.getresponse()
        assert response.read() == b"".join(chunks)
        conn.close()
        assert proxy.count("PutObject") == 1 and proxy.count("GetObject") == 1
        assert proxy.body_bytes == sum(len(c) for c in chunks)
        assert [e.status for e in proxy.requests] == [200, 200]


def test_botocore_keeps_its_connection_alive_through_the_proxy(tmp_path: Path) -> None:
    with rclone_server(tmp_path) as rclone, FaultProxy(rclone.host, rclone.port) as proxy:
        client = boto3.client(
            "s3", endpoint_url=proxy.url, region_name=rclone.region, aws_access_key_id=rclone.access_key,
            aws_secret_access_key=rclone.secret_key, config=Config(s3={"addressing_style": "path"}),
        )
        for i in range(5):
            client.put_object(Bucket=rclone.bucket, Key=f"k/{i}", Body=b"v" * (i + 1) * 100_000)
            client.head_object(Bucket=rclone.bucket, Key=f"k/{i}")
        assert proxy.count("PutObject") == 5 and proxy.count("HeadObject") == 5
        assert proxy.connections == 1  # ten requests on one kept-alive connection
        assert proxy.body_bytes == sum((i + 1) * 100_000 for i in range(5))


def test_rate_limit_and_offline(moto: S3Server) -> None:
    with FaultProxy(moto.host, moto.port) as proxy:
        proxy.limit_rate(1_000_000)
        conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=10)
        start = time.monotonic()
        conn.request("PUT", f"/{moto.bucket}/slow.bin", body=b"x" * 500_000)
        conn.getresponse().read()
        assert time.monotonic() - start >= 0.4  # 500 kB at 1 MB/s
        proxy.set_offline(True)
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            conn.request("GET", signed_get(moto, "slow.bin"))
            conn.getresponse().read()
        proxy.set_offline(False)
        fresh = http.client.HTTPConnection(proxy.host, proxy.port, timeout=10)
        fresh.request("GET", signed_get(moto, "slow.bin"))
        assert len(fresh.getresponse().read()) == 500_000
