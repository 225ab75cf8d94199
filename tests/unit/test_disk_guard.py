"""The disk guard (minFreeMB): no recording starts below it; a running one stops and exports (endReason low_disk)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.support.recording import read_bundle
from traycap.clock import SystemClock
from traycap.context import Context, make_context
from traycap.errors import LowDisk
from traycap.media.capture.null import NullScreen
from traycap.models import MIB, AppSettings
from traycap.paths import Paths
from traycap.recorder.controller import RecorderEvent, RecorderState, RecordingController
from traycap.recorder.null import NullInput
from traycap.storage.diskspace import check_free, free_bytes


@pytest.fixture
def live_ctx(home: Path) -> Context:
    return make_context(Paths(root=home, logs=home / "logs"), SystemClock())


class FakeDisk:
    """Free space the test sets; `asked` counts reads so the test can wait for the guard to look."""

    def __init__(self, free_mb: int) -> None:
        self.free = free_mb * MIB
        self.paths: list[Path] = []
        self.asked = threading.Event()

    def __call__(self, path: Path) -> int:
        self.paths.append(path)
        self.asked.set()
        return self.free


def _controller(ctx: Context, disk: FakeDisk, events: list[RecorderEvent], min_free_mb: int = 1024
                ) -> RecordingController:
    return RecordingController(ctx, AppSettings(fps=20, screenshotIntervalS=0.5, minFreeMB=min_free_mb),
                               on_event=events.append, capture_factory=lambda monitor: NullScreen(),
                               input_factory=NullInput().factory, free_space=disk, disk_check_s=0.05)


def test_a_recording_does_not_start_below_min_free(live_ctx: Context) -> None:
    disk = FakeDisk(free_mb=500)
    ctl = _controller(live_ctx, disk, [])
    with pytest.raises(LowDisk) as caught:
        ctl.start()
    text = caught.value.user_text()
    assert "Only 500 MB free" in text and str(live_ctx.paths.sessions) in text and "1024 MB" in text
    assert "minFreeMB" in text  # the hint says how to change it
    assert ctl.state is RecorderState.IDLE and live_ctx.sessions.session_ids() == []


def test_min_free_0_turns_the_guard_off(live_ctx: Context) -> None:
    disk = FakeDisk(free_mb=1)
    ctl = _controller(live_ctx, disk, [], min_free_mb=0)
    ctl.start()
    meta = ctl.stop()
    assert meta.extra["recorder"]["endReason"] == "stopped" and disk.paths == []


def test_a_recording_that_crosses_min_free_stops_and_exports_with_low_disk(live_ctx: Context) -> None:
    disk = FakeDisk(free_mb=5000)
    events: list[RecorderEvent] = []
    ctl = _controller(live_ctx, disk, events)
    sid = ctl.start()
    disk.asked.clear()
    assert disk.asked.wait(10)  # the guard is looking while it records
    disk.free = 100 * MIB
    assert ctl.wait_idle(30)
    assert [e.kind for e in events] == ["started", "stopped", "exported", "failed"]
    failed = events[-1]
    assert failed.message and "Only 100 MB free" in failed.message and sid in failed.message
    meta = live_ctx.sessions.read_meta(sid)
    assert meta.extra["recorder"]["endReason"] == "low_disk"
    assert live_ctx.sessions.is_exported(sid)
    bundle = read_bundle(live_ctx.sessions.zip_path(meta))
    assert bundle.info["endReason"] == "low_disk" and bundle.frames


def test_check_free_reads_the_real_disk() -> None:
    here = Path.cwd()
    assert free_bytes(here) > 0
    assert free_bytes(here / "no" / "such" / "dir") == free_bytes(here)  # the nearest existing parent
    check_free(here, 1)  # this machine has a MiB free
    with pytest.raises(LowDisk):
        check_free(here, 10**12)  # an exabyte it has not
