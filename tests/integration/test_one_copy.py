"""One copy on disk (issue 11, item 1): after export only the verified zip holds the recording.

The export is SIGKILLed at each step it takes (a checkpoint hook injected into a
child process kills it there); at every one of those moments the session holds
either every raw file or a zip whose size and SHA-256 match its meta, and the
next start-up (`recover_unfinished`) leaves exactly one copy.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.raw_sessions import disk_usage, make_raw_session, raw_snapshot
from traycap.bundle.export import export_session
from traycap.bundle.one_copy import zip_verified
from traycap.context import Context
from traycap.recorder.recover import recover_unfinished

SID = "20240101-090000-aaaaaa"

_CHILD = """
import os, signal, sys
from pathlib import Path
from traycap.context import make_context
from traycap.paths import Paths
from traycap.bundle.export import export_session

home, sid, target = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
seen = []

def checkpoint(step):
    seen.append(step)
    print(step, flush=True)
    if step == target:
        os.kill(os.getpid(), signal.SIGKILL)

export_session(make_context(Paths(root=home, logs=home / "logs")), sid, checkpoint=checkpoint)
print("finished", flush=True)
"""

STEPS = ["zip-written", "zip-synced", "zip-renamed", "meta-saved", "marked",
         "removed:video/screen.mp4", "removed:video/frames.json", "removed:actions.json",
         "removed:screenshots/index.json", "removed:screenshots/000000000-periodic.png",
         "removed:screenshots/000001000-periodic.png", "removed:screenshots/000002000-periodic.png"]


def _export_in_child(home: Path, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _CHILD, str(home), SID, target],
                          capture_output=True, text=True, timeout=60)


def _bundle_holds(zip_path: Path, raw: dict[str, bytes]) -> None:
    with zipfile.ZipFile(zip_path) as zf:
        assert zf.read("video/screen.mp4") == raw["video/screen.mp4"]
        for name, data in raw.items():
            if name.endswith(".png"):
                assert zf.read(name) == data
        actions = json.loads(zf.read("actions.json"))
        assert actions == [json.loads(line) for line in raw["actions.jsonl"].splitlines()]


def test_the_steps_are_the_ones_killed_below(ctx: Context, home: Path) -> None:
    make_raw_session(ctx, SID)
    run = _export_in_child(home, "none")
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [*STEPS, "finished"]


@pytest.mark.parametrize("step", STEPS)
def test_sigkill_at_each_export_step_leaves_raw_files_or_a_verified_zip(ctx: Context, home: Path, step: str) -> None:
    directory = make_raw_session(ctx, SID)
    (directory / ".recording.lock").touch()  # the recorder holds it through the export; a kill leaves the file
    original = raw_snapshot(directory)
    run = _export_in_child(home, step)
    assert run.returncode == -signal.SIGKILL, (run.returncode, run.stderr)
    assert run.stdout.split()[-1] == step

    raw_whole = raw_snapshot(directory) == original
    meta = ctx.sessions.read_meta(SID)
    assert raw_whole or zip_verified(ctx, meta), f"killed at {step}: neither the raw files nor a verified zip"

    report = recover_unfinished(ctx)  # the next start-up
    assert not report.failed and not report.dedup.kept
    meta = ctx.sessions.read_meta(SID)
    assert ctx.sessions.is_exported(SID) and zip_verified(ctx, meta)
    assert raw_snapshot(directory) == {}, "one copy: the raw files are gone once the zip verifies"
    assert not (directory / "video").exists() and not (directory / "screenshots").exists()
    assert not list(directory.glob(".tmp-*")) and not (directory / ".recording.lock").exists()
    _bundle_holds(ctx.sessions.zip_path(meta), original)


def test_an_exported_session_takes_at_most_105_percent_of_its_zip(ctx: Context, home: Path) -> None:
    directory = make_raw_session(ctx, SID, video_bytes=2 * 1024 * 1024)
    before = disk_usage(directory)
    meta = export_session(ctx, SID)
    zip_size = ctx.sessions.zip_path(meta).stat().st_size
    after = disk_usage(directory)
    print(f"raw session {before} B on disk; exported {after} B for a {zip_size} B zip "
          f"({after / zip_size:.3f} x)")
    assert after <= 1.05 * zip_size
    assert before > 1.9 * 1024 * 1024  # the raw files really were there


def test_exporting_again_after_the_raw_files_went_reads_the_zip(ctx: Context, home: Path) -> None:
    directory = make_raw_session(ctx, SID)
    original = raw_snapshot(directory)
    first = export_session(ctx, SID)
    ctx.paths.exported_marker(SID).unlink()  # as if the marker write had been lost
    again = export_session(ctx, SID)
    assert again.sha256 == first.sha256 and ctx.sessions.is_exported(SID)
    _bundle_holds(ctx.sessions.zip_path(again), original)


def test_old_sessions_with_raw_files_and_zip_are_deduped_only_when_the_zip_verifies(
    ctx: Context, home: Path
) -> None:
    good, bad = "20240101-090000-bbbbbb", "20240101-090000-cccccc"
    for sid in (good, bad):
        directory = make_raw_session(ctx, sid)
        original = raw_snapshot(directory)
        export_session(ctx, sid)
        for name, data in original.items():  # what v0.1 left: raw files next to the zip
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(data)
    bad_zip = ctx.sessions.zip_path(ctx.sessions.read_meta(bad))
    with open(bad_zip, "r+b") as fh:  # one flipped byte: the zip no longer matches its SHA-256
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))

    report = recover_unfinished(ctx)
    assert set(report.dedup.deduped) == {good} and report.dedup.deduped[good] > 2 * 1024 * 1024
    assert set(report.dedup.kept) == {bad}
    assert raw_snapshot(ctx.paths.session_dir(good)) == {}
    assert len(raw_snapshot(ctx.paths.session_dir(bad))) == 7  # all kept: its zip is not trusted
