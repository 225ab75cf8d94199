"""Upload throughput and memory: traycap vs s5cmd, aws s3 cp and boto3 upload_file.

Against `rclone serve s3` on 127.0.0.1 (what the tests use too), one run uploads
the same random file with each tool, each in its own child process, and prints
a table of seconds, MB/s and the child's peak RSS (from wait4's rusage).

    python bench/upload.py                 # 1 GiB
    python bench/upload.py --size 256M --repeat 2
    python bench/upload.py --part-size 8M --concurrency 8    # tune traycap (default: the app's 10M x 4)

Every upload is checked (size and SHA-256 metadata or bytes) before it counts.
Targets (issue 3): traycap's MB/s >= the best other tool; traycap's peak RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.s3servers import S3Server, random_file, rclone_server  # noqa: E402
from traycap.models import MIB, UploadConfig  # noqa: E402

TRAYCAP_CHILD = r"""
import json, sys, time
start = time.monotonic()
from pathlib import Path
from traycap.cancel import CancelToken
from traycap.models import UploadConfig
from traycap.upload.s3 import UploadService
config = UploadConfig.from_json(json.loads(sys.argv[1]))
marks = {"imported": time.monotonic() - start}
def checkpoint(point):
    if point is None:  # CompleteMultipartUpload has succeeded; what follows is the HeadObject check
        marks["completed"] = time.monotonic() - start
result = UploadService(config).upload_file(
    Path(sys.argv[2]), sys.argv[3], sha256=sys.argv[4], resume=None,
    on_progress=lambda done, total: None, on_checkpoint=checkpoint, cancel=CancelToken(),
)
marks["verified"] = time.monotonic() - start
assert result.bytesSent == result.size, result
print(json.dumps(marks))
"""

BOTO3_CHILD = r"""
import sys, boto3
from botocore.config import Config
client = boto3.client("s3", endpoint_url=sys.argv[1], config=Config(s3={"addressing_style": "path"}))
client.upload_file(sys.argv[2], sys.argv[3], sys.argv[4])
"""


@dataclass
class Row:
    tool: str
    seconds: float
    peak_rss_mb: float
    cpu_s: float
    ok: bool
    note: str = ""


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MIB, "G": 1024 * MIB}
    text = text.strip().upper().rstrip("B").rstrip("I")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, float, float, int, str, str]:
    """Run one child; return (seconds, its own peak RSS in MB, its CPU seconds, exit status,
    stderr tail, stdout)."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace")[-600:]
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    # ru_maxrss is KiB on Linux
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, proc.returncode, tail, stdout


def check(s3: S3Server, key: str, size: int, data_sha: str) -> tuple[bool, str]:
    client = s3.client()
    head = client.head_object(Bucket=s3.bucket, Key=key)
    if head["ContentLength"] != size:
        return False, f"size {head['ContentLength']} != {size}"
    meta = {k.lower(): v for k, v in head.get("Metadata", {}).items()}
    if meta.get("sha256") == data_sha:
        return True, ""
    digest = hashlib.sha256()
    body = client.get_object(Bucket=s3.bucket, Key=key)["Body"]
    for chunk in iter(lambda: body.read(8 * MIB), b""):
        digest.update(chunk)
    return (digest.hexdigest() == data_sha), "" if digest.hexdigest() == data_sha else "content differs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1G", help="file size, e.g. 200M, 1G (default 1G)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool; the best time counts")
    defaults = UploadConfig()
    parser.add_argument("--part-size", default=f"{defaults.partSizeBytes // MIB}M",
                        help="traycap part size (default: the app's, 10M)")
    parser.add_argument("--concurrency", type=int, default=defaults.maxConcurrency,
                        help="traycap parts in flight (default: the app's, 4)")
    parser.add_argument("--only", default="", help="comma-separated tools to run (traycap,s5cmd,aws,boto3)")
    parser.add_argument("--dir", default=None, help="where the file and rclone's data go (default: a tmp dir)")
    parser.add_argument(
        "--rclone-etag", choices=["md5", "off"], default="md5",
        help="rclone's ETag hash. md5 (rclone's default) hashes the WHOLE object on the first HEAD after an "
        "upload, which only traycap pays for because only traycap verifies the object; off (--etag-hash '') "
        "answers HEAD from file metadata, as S3 itself does (it computes ETags at write time)",
    )
    args = parser.parse_args()
    size = parse_size(args.size)
    part_size = parse_size(args.part_size)
    tools = [t for t in ("traycap", "s5cmd", "aws", "boto3") if not args.only or t in args.only.split(",")]

    with tempfile.TemporaryDirectory(prefix="traycap-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        src = work / "bundle.zip"
        print(f"writing {size / MIB:.0f} MiB of random bytes ...", flush=True)
        sha = random_file(src, size, seed=1)
        os.sync()
        etag_args = ("--etag-hash", "") if args.rclone_etag == "off" else ()
        with rclone_server(work / "rclone-root", extra_args=etag_args) as s3:
            env = dict(os.environ)
            env.update(
                AWS_ACCESS_KEY_ID=s3.access_key, AWS_SECRET_ACCESS_KEY=s3.secret_key,
                AWS_DEFAULT_REGION=s3.region, AWS_REGION=s3.region,
                AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                PYTHONPATH=str(ROOT),
            )
            config = s3.config(partSizeBytes=part_size, maxConcurrency=args.concurrency)
            commands: dict[str, list[str]] = {
                "traycap": [sys.executable, "-c", TRAYCAP_CHILD, json.dumps(config.to_json()), str(src), "{key}", sha],
                "s5cmd": [_which("s5cmd"), "--endpoint-url", s3.endpoint_url, "cp", str(src), "s3://{bucket}/{key}"],
                "aws": [_which("aws"), "s3", "cp", "--only-show-errors", "--endpoint-url", s3.endpoint_url,
                        str(src), "s3://{bucket}/{key}"],
                "boto3": [sys.executable, "-c", BOTO3_CHILD, s3.endpoint_url, str(src), s3.bucket, "{key}"],
            }
            best_of: dict[str, Row] = {}
            # Rounds, each tool once per round, the starting tool rotating, and the page cache
            # flushed before every run: whoever runs right after a big write would otherwise
            # share the disk with its writeback.
            for i in range(args.repeat):
                for tool in tools[i % len(tools):] + tools[: i % len(tools)]:
                    os.sync()
                    key = f"bench/{tool}-{i}.bin"
                    argv = [a.replace("{key}", key).replace("{bucket}", s3.bucket) for a in commands[tool]]
                    seconds, rss, cpu, code, err, out = run_child(argv, env)
                    if tool == "traycap" and code == 0:
                        marks = json.loads(out.strip().splitlines()[-1])
                        print(f"  traycap phases: imports {marks['imported']:.2f} s, complete at "
                              f"{marks['completed']:.2f} s, verified at {marks['verified']:.2f} s", flush=True)
                    ok, note = (False, f"exit {code}: {err.strip()[-200:]}") if code else check(s3, key, size, sha)
                    row = Row(tool, seconds, rss, cpu, ok, note)
                    s3.client().delete_object(Bucket=s3.bucket, Key=key)  # keep the disk use at one copy
                    best = best_of.get(tool)
                    if best is None or (row.ok and (not best.ok or row.seconds < best.seconds)):
                        best_of[tool] = row
                    print(f"  {tool} run {i + 1}: {seconds:.2f} s, {rss:.0f} MB, cpu {cpu:.2f} s "
                          f"{'ok' if ok else 'FAILED ' + note}", flush=True)
            rows = [best_of[t] for t in tools]

    print()
    print(f"upload of {size / MIB:.0f} MiB to rclone serve s3 on 127.0.0.1 "
          f"(rclone ETag {args.rclone_etag}; traycap: {part_size // MIB} MiB parts x {args.concurrency}; "
          f"best of {args.repeat})")
    print(f"{'tool':<10}{'seconds':>10}{'MB/s':>10}{'peak RSS MB':>14}{'CPU s':>8}  result")
    for row in rows:
        mbps = size / 1e6 / row.seconds if row.seconds else 0.0
        result = "ok" if row.ok else row.note
        print(f"{row.tool:<10}{row.seconds:>10.2f}{mbps:>10.1f}{row.peak_rss_mb:>14.0f}{row.cpu_s:>8.2f}  {result}")
    by_tool = {r.tool: r for r in rows if r.ok}
    if "traycap" in by_tool and len(by_tool) > 1:
        others = [r for r in by_tool.values() if r.tool != "traycap"]
        fastest = min(others, key=lambda r: r.seconds)
        t = by_tool["traycap"]
        print(f"traycap vs best other ({fastest.tool}): {fastest.seconds / t.seconds:.2f}x throughput; "
              f"traycap peak RSS {t.peak_rss_mb:.0f} MB (target < 200)")
    return 0 if all(r.ok for r in rows) else 1


def _which(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"{name} is not installed (pip install {'awscli' if name == 'aws' else name})")
    return path


if __name__ == "__main__":
    raise SystemExit(main())
