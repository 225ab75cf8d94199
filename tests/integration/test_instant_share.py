"""Instant share end to end: `traycap record` on Xvfb uploads its bundle while it records, to
`rclone serve s3` through the fault proxy. The screen shows noise (a Tk window redrawn every
second) and screenshots are taken every 0.5 s, so the bundle grows by megabytes a second and
whole 8 MiB parts go up during the recording, as in a long session.

  * the object is byte for byte the local zip (SHA-256, x-amz-meta-sha256), a valid format-2 zip,
    and parts were in the bucket before Stop;
  * SIGKILL mid-recording -> a lone `traycap worker` (no tray, no new recording) recovers it: the
    zip is finished, its queue completes the *same* multipart upload, re-sending at most what was
    not acknowledged (counted at the proxy);
  * an outage during the recording: the recording is unaffected, the upload catches up;
  * `traycap cancel` during the recording aborts the upload; the recording goes on and is kept.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.display import XDisplay, xvfb
from tests.support.faultproxy import FaultProxy
from tests.support.recording import RecordProcess, start_record
from tests.support.s3servers import S3Server
from tests.support.sessions import write_config
from tests.support.waiting import stop_process, wait_until
from traycap.clock import SystemClock
from traycap.context import Context, make_context
from traycap.models import UploadState, UploadStatus
from traycap.paths import Paths
from traycap.upload.live import LIVE_PART_SIZE

pytestmark = [pytest.mark.x11, pytest.mark.s3]

W, H = 800, 600
S = UploadStatus

NOISE = r"""
import os, tkinter as tk
root = tk.Tk()
root.geometry("800x600+0+0")
root.overrideredirect(True)
label = tk.Label(root, borderwidth=0)
label.pack()
def redraw():
    ppm = b"P6 800 600 255\n" + os.urandom(800 * 600 * 3)
    label.image = tk.PhotoImage(data=ppm, format="PPM")
    label.configure(image=label.image)
    root.after(1000, redraw)
redraw()
root.mainloop()
"""


@pytest.fixture(scope="module")
def display() -> Iterator[XDisplay]:
    with xvfb(W, H) as d:
        noise = subprocess.Popen([sys.executable, "-c", NOISE], env=d.env)
        try:
            yield d
        finally:
            noise.terminate()
            noise.wait(10)


@pytest.fixture
def proxy(rclone: S3Server) -> Iterator[FaultProxy]:
    with FaultProxy(rclone.host, rclone.port) as p:
        yield p


@pytest.fixture
def ctx(home: Path, rclone: S3Server, proxy: FaultProxy) -> Context:
    paths = Paths(root=home, logs=home / "logs")
    write_config(paths, rclone.config(endpointUrl=proxy.url, keyPrefix=f"{home.parent.name}/", autoUpload=True))
    (home / "app-settings.json").write_text(json.dumps({"fps": 5, "screenshotIntervalS": 0.5}))
    return make_context(paths, SystemClock())


def state(ctx: Context, sid: str) -> UploadState | None:
    return ctx.states.read(sid)


def parts_up(ctx: Context, sid: str, n: int) -> bool:
    s = state(ctx, sid)
    return s is not None and len(s.parts) >= n


def record(display: XDisplay, home: Path) -> tuple[RecordProcess, str]:
    rec = start_record(display.env, home)
    return rec, rec.wait_ready()


def zip_of(ctx: Context, sid: str) -> bytes:
    meta = ctx.sessions.read_meta(sid)
    assert meta.zipPath is not None and meta.sha256 is not None
    data = (ctx.paths.session_dir(sid) / meta.zipPath).read_bytes()
    assert hashlib.sha256(data).hexdigest() == meta.sha256
    return data


def assert_object_is_the_zip(ctx: Context, rclone: S3Server, sid: str) -> bytes:
    s = state(ctx, sid)
    assert s is not None and s.status is S.DONE and s.s3Key, s
    data = zip_of(ctx, sid)
    assert rclone.object_bytes(s.s3Key) == data
    head = rclone.client().head_object(Bucket=rclone.bucket, Key=s.s3Key)
    metadata = {k.lower(): v for k, v in head["Metadata"].items()}  # rclone answers "Sha256" after a copy
    assert metadata.get("sha256") == hashlib.sha256(data).hexdigest()
    assert subprocess.run(["unzip", "-tq", str(ctx.paths.session_dir(sid) / f"{sid}.zip")],
                          capture_output=True).returncode == 0
    with zipfile.ZipFile(ctx.paths.session_dir(sid) / f"{sid}.zip") as zf:
        assert json.loads(zf.read("session.json"))["formatVersion"] == 2
    return data


def test_the_bundle_is_in_the_bucket_moments_after_stop(display: XDisplay, home: Path, ctx: Context,
                                                          rclone: S3Server, proxy: FaultProxy) -> None:
    rec, sid = record(display, home)
    wait_until("two whole parts uploaded while recording", lambda: parts_up(ctx, sid, 2), 90)
    s = state(ctx, sid)
    assert s is not None and s.status is S.LIVE
    listing = subprocess.run([sys.executable, "-m", "traycap", "sessions"], capture_output=True, text=True)
    assert "uploading while recording" in listing.stdout, listing.stdout
    parts_before_stop = proxy.count("UploadPart", status=200)
    rec.proc.send_signal(signal.SIGINT)
    code, out, err = rec.finish(timeout=120)
    assert code == 0, err
    assert out.strip() == sid
    assert "uploaded while recording" in err and "verified" in err, err
    data = assert_object_is_the_zip(ctx, rclone, sid)
    assert parts_before_stop >= 2
    # Parts went up during the recording: only the tail after Stop.
    assert len(data) > 2 * LIVE_PART_SIZE
    assert proxy.count("CreateMultipartUpload") == 1
    # One copy on disk: the raw video is gone, the zip holds it; and no word about the screenshots
    # it took, which the log once warned about twice each (issue 24).
    assert not (ctx.paths.session_dir(sid) / "video" / "screen.mp4").exists()
    logged = (home / "logs" / "traycap.log").read_text(errors="replace")
    assert "could not compare" not in logged and "it is kept" not in logged and " WARNING traycap.bundle" not in logged


def test_sigkill_while_recording_then_a_lone_worker_finishes_the_same_upload(
        display: XDisplay, home: Path, ctx: Context, rclone: S3Server, proxy: FaultProxy) -> None:
    """Issue 18: `traycap worker` alone settles what a crash left (before, the session stayed `live`
    until the tray or `traycap record` started)."""
    rec, sid = record(display, home)
    wait_until("three parts acknowledged", lambda: parts_up(ctx, sid, 3), 120)
    rec.proc.kill()
    rec.proc.wait(30)
    killed = state(ctx, sid)
    assert killed is not None and killed.status is S.LIVE and killed.uploadId
    acknowledged = sum(p.size for p in killed.parts)
    sent_before = proxy.body_bytes_of("UploadPart")
    creates_before = proxy.count("CreateMultipartUpload")

    # Nothing but a worker: it recovers first (the zip finished from its journal, live -> pending),
    # then its queue finishes the upload.
    with open(home.parent / "worker.out", "wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "traycap", "worker"], stdout=out, stderr=out)
    try:
        wait_until("the worker finished the upload", lambda: (s := state(ctx, sid)) is not None
                   and s.status in (S.DONE, S.FAILED), 180)
    finally:
        stop_process(worker)
    done = state(ctx, sid)
    assert done is not None and done.status is S.DONE, done

    data = assert_object_is_the_zip(ctx, rclone, sid)
    assert proxy.count("CreateMultipartUpload") == creates_before  # the same multipart upload
    resent = proxy.body_bytes_of("UploadPart") - sent_before
    assert resent <= len(data) - acknowledged, (resent, len(data), acknowledged)
    assert json.loads(zipfile.ZipFile(ctx.paths.session_dir(sid) / f"{sid}.zip").read("session.json"))["recovered"]


def test_an_outage_during_the_recording_is_caught_up(display: XDisplay, home: Path, ctx: Context,
                                                     rclone: S3Server, proxy: FaultProxy) -> None:
    rec, sid = record(display, home)
    wait_until("a part uploaded", lambda: parts_up(ctx, sid, 1), 90)
    proxy.set_offline(True)
    at_outage = rec.recorded_ms()
    wait_until("the lane to notice the outage",
               lambda: (s := state(ctx, sid)) is not None and s.lastError is not None, 60)
    wait_until("recording to go on during the outage", lambda: rec.recorded_ms() >= at_outage + 1500, 60)
    proxy.set_offline(False)
    rec.proc.send_signal(signal.SIGINT)
    code, _out, err = rec.finish(timeout=180)
    assert code == 0, err
    assert_object_is_the_zip(ctx, rclone, sid)
    meta = ctx.sessions.read_meta(sid)
    assert (meta.extra.get("recorder") or {}).get("endReason") == "stopped"


def test_cancel_during_the_recording_aborts_the_upload_and_keeps_recording(
        display: XDisplay, home: Path, ctx: Context, rclone: S3Server, proxy: FaultProxy) -> None:
    rec, sid = record(display, home)
    wait_until("a part uploaded", lambda: parts_up(ctx, sid, 1), 90)
    cancel = subprocess.run([sys.executable, "-m", "traycap", "cancel", sid], capture_output=True, text=True)
    assert cancel.returncode == 0, cancel.stderr
    prefix = f"{home.parent.name}/"
    wait_until("the multipart upload aborted",
               lambda: not [u for u in rclone.list_multipart_uploads() if u["Key"].startswith(prefix)], 30)
    recorded = rec.recorded_ms()
    wait_until("recording to go on", lambda: rec.recorded_ms() >= recorded + 1000, 60)
    assert rec.proc.poll() is None
    rec.proc.send_signal(signal.SIGINT)
    code, _out, err = rec.finish(timeout=120)
    assert code == 0, err
    s = state(ctx, sid)
    assert s is not None and s.status is S.NOT_UPLOADED
    assert "cancelled during the recording" in err
    zip_of(ctx, sid)  # the recording is kept, exported and intact
    listed = rclone.client().list_objects_v2(Bucket=rclone.bucket, Prefix=prefix)
    assert listed.get("KeyCount", 0) == 0


def test_offline_at_stop_the_queue_finishes_the_same_upload(display: XDisplay, home: Path, ctx: Context,
                                                             rclone: S3Server, proxy: FaultProxy) -> None:
    rec, sid = record(display, home)
    wait_until("a part uploaded", lambda: parts_up(ctx, sid, 1), 90)
    proxy.set_offline(True)
    wait_until("the lane to notice the outage",
               lambda: (s := state(ctx, sid)) is not None and s.lastError is not None, 60)
    rec.proc.send_signal(signal.SIGINT)
    code, _out, err = rec.finish(timeout=120)  # `record` does not wait out an outage
    assert code == 0, err
    assert "continues in the background" in err, err
    handed = state(ctx, sid)
    assert handed is not None and handed.status is S.PENDING and handed.stampAfterComplete and handed.uploadId
    proxy.set_offline(False)
    creates = proxy.count("CreateMultipartUpload")
    done = subprocess.run([sys.executable, "-m", "traycap", "upload", sid, "--wait"], capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_object_is_the_zip(ctx, rclone, sid)
    assert proxy.count("CreateMultipartUpload") == creates  # the same multipart upload, stamped by the queue
