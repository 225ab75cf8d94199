"""Atomic writes under SIGKILL and on a full disk, with real processes and a real full filesystem."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.sessions import make_session_dir
from traycap.models import UploadState, UploadStatus
from traycap.paths import STATE_FILE, Paths
from traycap.storage.atomic import TMP_PREFIX, read_json
from traycap.storage.session_store import SessionStore

KILLS = 36

# The child rewrites upload-state.json forever, printing each sequence number it has committed.
# Sizes vary (up to ~600 KB) so that a kill often lands inside a write or an fsync.
WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from traycap.storage.atomic import read_json, write_json_atomic

    def content(seq):
        return {"sessionId": "victim", "status": "uploading", "createdAt": 1, "updatedAt": seq,
                "bytesUploaded": seq, "totalBytes": 10**9, "lastError": "x" * ((seq * 7919) % 600_000)}

    target = Path(sys.argv[1])
    seq = read_json(target)["bytesUploaded"]
    print("ready", flush=True)
    while True:
        seq += 1
        write_json_atomic(target, content(seq))
        print(seq, flush=True)
    """
)


def expected(seq: int) -> dict[str, object]:
    return {"sessionId": "victim", "status": "uploading", "createdAt": 1, "updatedAt": seq,
            "bytesUploaded": seq, "totalBytes": 10**9, "lastError": "x" * ((seq * 7919) % 600_000)}


@pytest.mark.slow
def test_sigkill_mid_write_leaves_old_or_new_file(tmp_path: Path) -> None:
    paths = Paths(root=tmp_path / "home", logs=tmp_path / "logs").ensure()
    directory = make_session_dir(paths, "victim", created_ms=1, state=UploadStatus.UPLOADING, exported=True)
    target = directory / STATE_FILE
    target.write_text(json.dumps(expected(0)))
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    committed = 0
    landed_mid_write = 0
    deadline = time.monotonic() + 60
    for _ in range(KILLS):
        assert time.monotonic() < deadline, "the kill loop took too long"
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0, 0.03))  # a random moment to kill at: that is the point of the test
        finally:
            child.send_signal(signal.SIGKILL)  # also when an assertion above failed: never leave it writing
        out, _ = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL
        reported = [int(line) for line in out.split()]
        if reported:
            committed = reported[-1]
        data = read_json(target)  # raises CorruptFile if the file were half-written
        seq = data["bytesUploaded"]
        # Either the last write the child finished, or the one it was doing when killed
        # (os.replace done, print not yet): never anything else, never a mix.
        assert seq in (committed, committed + 1), (seq, committed)
        assert data == expected(seq)
        if seq == committed + 1 or any(p.name.startswith(TMP_PREFIX) for p in directory.iterdir()):
            landed_mid_write += 1
        committed = seq
    assert committed > 0, "the writer never completed a write: the test exercised nothing"
    # Temp files of killed writes are never read as data: the session lists with the last state...
    store = SessionStore(paths)
    [item] = store.list().items
    assert (item.sessionId, item.uploadStatus, item.problem) == ("victim", UploadStatus.UPLOADING, None)
    assert UploadState.from_json(read_json(target)).bytesUploaded == committed
    # ...and cleanup removes them once stale, leaving the real file alone.
    leftovers = [p for p in directory.iterdir() if p.name.startswith(TMP_PREFIX)]
    report = store.cleanup_orphans(int(time.time() * 1000) + 2 * 3600 * 1000)
    assert sorted(report.temp_files_removed) == sorted(str(p) for p in leftovers)
    assert not [p for p in directory.iterdir() if p.name.startswith(TMP_PREFIX)]
    assert read_json(target) == expected(committed)
    print(f"{KILLS} kills, {committed} writes committed, {landed_mid_write} kills inside a write, "
          f"{len(leftovers)} temp files left behind")


FULL_DISK_CHILD = textwrap.dedent(
    """
    import json, os, subprocess, sys
    from pathlib import Path
    from traycap.errors import DiskFull
    from traycap.storage.atomic import read_json, write_json_atomic

    mnt = Path(sys.argv[1])
    target = mnt / "upload-state.json"
    write_json_atomic(target, {"old": True})
    fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT)  # fill the filesystem to the last byte
    try:
        while True:
            os.write(fd, b"\\0" * 512)
    except OSError as exc:
        filled_errno = exc.errno
    finally:
        os.close(fd)
    result = {"filled_errno": filled_errno}
    try:
        write_json_atomic(target, {"new": "y" * 10_000})
        result["raised"] = None
    except DiskFull as exc:
        result.update(raised="DiskFull", text=exc.user_text())
    except Exception as exc:
        result.update(raised=type(exc).__name__, text=str(exc))
    result["after"] = read_json(target)
    result["files"] = sorted(os.listdir(mnt))
    os.environ["TRAYCAP_HOME"] = str(mnt)
    os.makedirs(mnt / "sessions", exist_ok=True)
    cli = subprocess.run([sys.executable, "-m", "traycap", "config", "set", "bucket=my-bucket", "region=us-east-1",
                          "accessKeyId=AKID", "secretAccessKey=" + "s" * 4000], capture_output=True, text=True)
    result["cli"] = {"rc": cli.returncode, "stdout": cli.stdout, "stderr": cli.stderr}
    result["files_after_cli"] = sorted(os.listdir(mnt))
    print(json.dumps(result))
    """
)


def test_full_disk_raises_disk_full_and_keeps_the_old_file(tmp_path: Path) -> None:
    """A real 64 KiB tmpfs, mounted in a private mount namespace (gone when the child exits)."""
    unshare = shutil.which("unshare")
    assert unshare, "unshare (util-linux) is needed to mount a small tmpfs for the full-disk test"
    mnt = tmp_path / "small"
    mnt.mkdir()
    # As root a private mount namespace is enough; without CAP_SYS_ADMIN (a non-root user, or a
    # restricted container) a user namespace may still allow the mount.
    attempts = [["--user", "--map-root-user", "--mount"]]
    if os.geteuid() == 0:
        attempts.insert(0, ["--mount", "--propagation", "private"])
    script = 'mount -t tmpfs -o size=64k,mode=0700 tmpfs "$1" || exit 97; exec "$2" -c "$3" "$1"'
    errors = []
    for ns in attempts:
        proc = subprocess.run([unshare, *ns, "sh", "-c", script, "sh", str(mnt), sys.executable, FULL_DISK_CHILD],
                              capture_output=True, text=True, timeout=60)
        could_not_mount = proc.returncode == 97 or "unshare failed" in proc.stderr
        if not could_not_mount:
            break
        errors.append(f"unshare {' '.join(ns)}: {proc.stderr.strip()}")
    assert proc.returncode == 0, f"could not mount a small tmpfs to fill up: {errors or proc.stderr}"
    result = json.loads(proc.stdout)
    assert result["filled_errno"] == 28  # ENOSPC: the disk really was full
    assert result["raised"] == "DiskFull", result
    assert "disk is full" in result["text"] and "upload-state.json" in result["text"]
    assert "free some disk space" in result["text"]
    assert result["after"] == {"old": True}
    assert result["files"] == ["filler", "upload-state.json"]  # no temp file left
    cli = result["cli"]
    assert cli["rc"] == 1, cli
    assert "disk is full" in cli["stderr"] and "Traceback" not in cli["stderr"]
    assert "upload-config.json" not in result["files_after_cli"]
    assert not [f for f in result["files_after_cli"] if f.startswith(TMP_PREFIX)]
    assert list(mnt.iterdir()) == []  # the tmpfs lived only in the child's namespace
