"""RecordingController with null screen/input backends (real encoder, real files, real zip)."""

from __future__ import annotations

import hashlib
import threading

import pytest

from tests.support.recording import read_bundle
from tests.support.waiting import wait_until
from traycap.context import Context
from traycap.errors import AlreadyRecording, CaptureLost, DiskFull, NotRecording, TraycapError
from traycap.media.capture.null import NullScreen
from traycap.media.video import video_frame_count
from traycap.models import AppSettings, KeystrokePrivacy, SessionMeta
from traycap.recorder.actions import RawClick, RawKey, RawMove
from traycap.recorder.api import RecorderEvent, RecorderState
from traycap.recorder.controller import RecordingController
from traycap.recorder.null import NullInput
from traycap.storage.atomic import write_json_atomic


def _controller(ctx: Context, screen: NullScreen, inputs: NullInput, events: list[RecorderEvent],
                **settings: object) -> RecordingController:
    values: dict[str, object] = {"fps": 20, "screenshotIntervalS": 0.5, **settings}
    return RecordingController(ctx, AppSettings(**values),  # type: ignore[arg-type]
                               on_event=events.append, capture_factory=lambda monitor: screen,
                               input_factory=inputs.factory)


def _frames(ctx: Context, session_id: str) -> int:
    path = ctx.paths.session_dir(session_id) / "video" / "frames.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_start_pause_resume_stop_export(live_ctx: Context) -> None:
    screen, inputs, events = NullScreen(64, 48), NullInput(), []
    ctl = _controller(live_ctx, screen, inputs, events)
    sid = ctl.start()
    assert ctl.state is RecorderState.RECORDING and ctl.session_id == sid and inputs.started
    meta0 = live_ctx.sessions.read_meta(sid)  # written at start: a crash from here is a visible session
    assert meta0.extra["recorder"]["status"] == "recording" and meta0.endedAt is None
    clock = live_ctx.clock
    inputs.emit(RawMove(clock.monotonic(), 3, 4))
    inputs.emit(RawClick(clock.monotonic(), 3, 4, "left", True))
    inputs.emit(RawClick(clock.monotonic(), 3, 4, "left", False))
    shots = live_ctx.paths.session_dir(sid) / "screenshots"
    wait_until("a click screenshot", lambda: list(shots.glob("*-click.png")))
    wait_until("10 frames", lambda: _frames(live_ctx, sid) >= 10)
    ctl.pause()
    assert ctl.state is RecorderState.PAUSED
    inputs.emit(RawKey(clock.monotonic(), True, "x", None))  # ignored: paused
    grabs_at_pause = screen.grabs
    with pytest.raises(AlreadyRecording):
        ctl.start()
    ctl.resume()
    wait_until("frames after resume", lambda: screen.grabs >= grabs_at_pause + 5)
    inputs.emit(RawKey(clock.monotonic(), True, "y", None))
    meta = ctl.stop()
    assert ctl.state is RecorderState.IDLE and ctl.session_id is None and inputs.stopped and screen.closed
    assert [e.kind for e in events] == ["started", "paused", "resumed", "stopped", "exported"]

    assert meta.zipPath and meta.sha256 and live_ctx.sessions.is_exported(sid)
    zip_path = live_ctx.sessions.zip_path(meta)
    assert hashlib.sha256(zip_path.read_bytes()).hexdigest() == meta.sha256
    assert meta.fileSizeBytes == zip_path.stat().st_size
    bundle = read_bundle(zip_path)
    kinds = [a["type"] for a in bundle.actions]
    assert kinds == ["mouse_move", "mouse_down", "mouse_up", "pause", "resume", "key_down"]
    assert bundle.actions[-1]["key"] == "y"
    assert meta.actionCount == 4 and bundle.info["counts"]["markers"] == 2
    pause_t, resume_t = bundle.actions[3]["t"], bundle.actions[4]["t"]
    # Nothing captured while paused; the video's clock skips the pause.
    assert not [f for f in bundle.frames if pause_t < f["t"] < resume_t]
    assert bundle.info["pausedMs"] == pytest.approx(resume_t - pause_t, abs=2)
    video = bundle.extract("video/screen.mp4", live_ctx.paths.root)  # one copy: the zip holds the video
    assert video_frame_count(video) == len(bundle.frames) == meta.extra["frameCount"]
    assert meta.screenshotCount == len(bundle.shots) >= 1
    dropped = meta.extra["recorder"]["droppedFrames"]
    assert dropped["total"] == dropped["late"] + dropped["encoderBusy"]
    assert meta.extra["recorder"]["framesCaptured"] == len(bundle.frames) + dropped["encoderBusy"]


def test_state_errors_are_readable(live_ctx: Context) -> None:
    ctl = _controller(live_ctx, NullScreen(), NullInput(), [])
    with pytest.raises(NotRecording):
        ctl.stop()
    with pytest.raises(NotRecording):
        ctl.pause()
    ctl.toggle()
    assert ctl.state is RecorderState.RECORDING
    ctl.toggle()
    assert ctl.state is RecorderState.IDLE
    assert ctl.last_meta is not None and ctl.last_meta.zipPath


@pytest.mark.parametrize("error", [CaptureLost("The display went away"), DiskFull("The disk is full")])
def test_a_failure_while_recording_stops_exports_and_says_why(live_ctx: Context, error: TraycapError) -> None:
    screen, inputs, events = NullScreen(fail_after=8, error=error), NullInput(), []
    ctl = _controller(live_ctx, screen, inputs, events)
    sid = ctl.start()
    assert ctl.wait_idle(30)
    assert [e.kind for e in events] == ["started", "stopped", "exported", "failed"]
    failed = events[-1]
    assert failed.message and error.message in failed.message and sid in failed.message
    meta = live_ctx.sessions.read_meta(sid)
    assert live_ctx.sessions.is_exported(sid)
    bundle = read_bundle(live_ctx.sessions.zip_path(meta))
    assert len(bundle.frames) == 8
    assert bundle.info["endReason"].startswith(error.message)


def test_the_recorder_only_exports_whatever_auto_upload_says(live_ctx: Context) -> None:
    """Queuing is the composition's decision (traycap/sharing/), never the recorder's."""
    write_json_atomic(live_ctx.paths.config, {
        "bucket": "bucket-a", "region": "us-east-1", "accessKeyId": "AKIA", "secretAccessKey": "s3cr3t-key",
        "autoUpload": True})
    events: list[RecorderEvent] = []
    ctl = _controller(live_ctx, NullScreen(), NullInput(), events)
    sid = ctl.start()
    wait_until("3 frames", lambda: _frames(live_ctx, sid) >= 3)
    meta = ctl.stop()
    assert [e.kind for e in events] == ["started", "stopped", "exported"]
    assert events[-1].meta == meta and meta.zipPath and live_ctx.sessions.is_exported(sid)
    assert not (live_ctx.paths.session_dir(sid) / "upload-state.json").exists()


def test_the_exporter_is_a_parameter_and_its_failure_keeps_the_files(live_ctx: Context) -> None:
    def broken_export(ctx: Context, session_id: str) -> SessionMeta:
        raise DiskFull("The disk is full")

    events: list[RecorderEvent] = []
    ctl = RecordingController(live_ctx, AppSettings(fps=20), on_event=events.append,
                              capture_factory=lambda monitor: NullScreen(), input_factory=NullInput().factory,
                              exporter=broken_export)
    sid = ctl.start()
    wait_until("3 frames", lambda: _frames(live_ctx, sid) >= 3)
    meta = ctl.stop()
    assert [e.kind for e in events] == ["started", "stopped", "failed"]
    assert events[-1].message and "could not be exported: The disk is full" in events[-1].message
    assert meta.zipPath is None and not live_ctx.sessions.is_exported(sid) and _frames(live_ctx, sid) >= 3


def test_keystroke_privacy_none_does_not_even_listen_to_the_keyboard(live_ctx: Context) -> None:
    inputs = NullInput()
    ctl = _controller(live_ctx, NullScreen(), inputs, [], keystrokePrivacy=KeystrokePrivacy.NONE)
    ctl.start()
    assert inputs.keyboard is False
    ctl.stop()


def test_a_real_enospc_on_the_actions_file_stops_cleanly(live_ctx: Context) -> None:
    """The kernel's own ENOSPC: the actions file descriptor is pointed at /dev/full mid-recording."""
    import os

    screen, inputs, events = NullScreen(), NullInput(), []
    ctl = _controller(live_ctx, screen, inputs, events)
    sid = ctl.start()
    clock = live_ctx.clock
    inputs.emit(RawClick(clock.monotonic(), 1, 1, "left", True))
    rec = ctl._rec  # the one place a test reaches inside: to swap a file descriptor, like a full disk would
    assert rec is not None
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        os.dup2(full, rec.writer.actions._fh.fileno())
    finally:
        os.close(full)
    inputs.emit(RawClick(clock.monotonic(), 1, 1, "left", False))  # this write hits ENOSPC
    assert ctl.wait_idle(30)
    assert [e.kind for e in events] == ["started", "stopped", "exported", "failed"]
    assert events[-1].message and "disk is full" in events[-1].message
    meta = live_ctx.sessions.read_meta(sid)
    bundle = read_bundle(live_ctx.sessions.zip_path(meta))
    assert [a["type"] for a in bundle.actions] == ["mouse_down"]  # what was written before is kept
    assert len(bundle.frames) >= 1


def test_idle_once_stopped_while_the_export_runs_and_bad_settings_are_readable(live_ctx: Context) -> None:
    seen: list[tuple[str, RecorderState]] = []
    ctl: RecordingController | None = None

    def on_event(event: RecorderEvent) -> None:
        assert ctl is not None
        seen.append((event.kind, ctl.state))

    ctl = RecordingController(live_ctx, AppSettings(fps=20), on_event=on_event,
                              capture_factory=lambda monitor: NullScreen(), input_factory=NullInput().factory)
    ctl.start()
    ctl.stop()
    assert seen == [("started", RecorderState.RECORDING), ("stopped", RecorderState.IDLE),
                    ("exported", RecorderState.IDLE)]
    assert ctl.wait_idle(0)
    ctl.update_settings(AppSettings(fps=0))
    with pytest.raises(TraycapError) as err:
        ctl.start()
    assert "fps" in err.value.user_text() and ctl.state is RecorderState.IDLE


def test_stopping_while_paused_captures_nothing_more(live_ctx: Context) -> None:
    screen = NullScreen()
    ctl = _controller(live_ctx, screen, NullInput(), [])
    sid = ctl.start()
    wait_until("5 frames", lambda: _frames(live_ctx, sid) >= 5)
    ctl.pause()
    meta = ctl.stop()
    bundle = read_bundle(live_ctx.sessions.zip_path(meta))
    pause_t = bundle.actions[-1]["t"]
    assert bundle.actions[-1]["type"] == "pause"
    assert all(f["t"] < pause_t for f in bundle.frames)
    # An open pause lasts until the stop.
    assert bundle.info["pausedMs"] == pytest.approx(meta.extra["recorder"]["stoppedAtMs"] - pause_t, abs=1)


def test_a_screen_that_fails_at_once_makes_start_raise_readably_and_leaves_nothing(live_ctx: Context) -> None:
    events: list[RecorderEvent] = []
    ctl = _controller(live_ctx, NullScreen(fail_after=0, error=CaptureLost("The display went away")),
                      NullInput(), events)
    with pytest.raises(CaptureLost):
        ctl.start()
    assert ctl.state is RecorderState.IDLE and ctl.wait_idle(0) and events == []
    assert live_ctx.sessions.session_ids() == []  # no half-made session left behind


def test_an_event_racing_a_pause_is_never_written_after_the_pause_marker(live_ctx: Context) -> None:
    """Found in review (fix: 4d61fac)."""
    inputs = NullInput()
    ctl = RecordingController(live_ctx, AppSettings(fps=20, screenshotIntervalS=5),
                              capture_factory=lambda monitor: NullScreen(), input_factory=inputs.factory)
    ctl.start()
    rec = ctl._rec
    assert rec is not None
    emitter = "pynput-keyboard"

    class PauseRightAfterTheCheck(threading.Event):
        """The listener thread sees 'running', then the user's Pause lands before it writes."""

        fired = False

        def is_set(self) -> bool:
            value = super().is_set()
            if threading.current_thread().name == emitter and not self.fired:
                self.fired = True
                pauser = threading.Thread(target=ctl.pause)
                pauser.start()
                pauser.join(10)
            return value

    racy = PauseRightAfterTheCheck()
    racy.set()
    rec.running = racy
    t_key = live_ctx.clock.monotonic()
    listener = threading.Thread(target=inputs.emit, args=(RawKey(t_key, True, "q", None),), name=emitter)
    listener.start()
    listener.join(10)
    assert racy.fired and ctl.state.value == "paused"
    meta = ctl.stop()
    actions = read_bundle(live_ctx.sessions.zip_path(meta)).actions  # one copy: the zip holds them
    types = [a["type"] for a in actions]
    assert "pause" in types
    after_pause = types[types.index("pause") + 1:]
    assert "key_down" not in after_pause, actions
    assert [a["t"] for a in actions] == sorted(a["t"] for a in actions), actions


def test_screenshots_are_frames_of_the_video_even_when_the_encoder_falls_behind(live_ctx: Context) -> None:
    """Found in review (fix: c67c7ad)."""
    inputs = NullInput()
    ctl = RecordingController(live_ctx, AppSettings(fps=30, screenshotIntervalS=5),
                              capture_factory=lambda monitor: NullScreen(), input_factory=inputs.factory)
    sid = ctl.start()
    rec = ctl._rec
    assert rec is not None
    go_on = threading.Event()
    real_write = rec.encoder.write

    def stalled_write(image, pts_ms, changed=None):  # type: ignore[no-untyped-def]
        assert go_on.wait(10)
        return real_write(image, pts_ms, changed)

    rec.encoder.write = stalled_write  # type: ignore[method-assign]
    wait_until("frames dropped because the encoder is busy", lambda: rec.busy_drops >= 2)
    now = live_ctx.clock.monotonic()
    inputs.emit(RawClick(now, 5, 5, "left", True))
    inputs.emit(RawClick(now, 5, 5, "left", False))
    shots_dir = live_ctx.paths.session_dir(sid) / "screenshots"
    wait_until("the click screenshot", lambda: list(shots_dir.glob("*-click.png")), timeout=5)
    go_on.set()
    bundle = read_bundle(live_ctx.sessions.zip_path(ctl.stop()))  # one copy: the zip holds them
    frame_times = {f["t"] for f in bundle.frames}
    shots = bundle.shots
    assert shots and all(s["t"] in frame_times for s in shots), (shots, sorted(frame_times))


class StillScreen(NullScreen):
    """A damage-driven screen (the Wayland portal on wlroots) whose first image comes only after a while."""

    def __init__(self, blank_grabs: int) -> None:
        super().__init__(64, 48)
        self.blank_grabs = blank_grabs

    def grab(self) -> object:
        if self.blank_grabs > 0:
            self.blank_grabs -= 1
            return None
        return super().grab()


def test_a_screen_without_an_image_yet_starts_and_its_video_begins_with_the_first_image(live_ctx: Context) -> None:
    """Issue 21: a new cast of a wlroots screen that has not changed since it was last cast has no image until
    something changes; the recording starts at once (no 10 s first-frame timeout) and skips those slots."""
    screen, events = StillScreen(blank_grabs=15), []
    ctl = _controller(live_ctx, screen, NullInput(), events)
    sid = ctl.start()
    wait_until("frames after the first image", lambda: _frames(live_ctx, sid) >= 5)
    meta = ctl.stop()
    bundle = read_bundle(live_ctx.sessions.zip_path(meta))
    assert screen.blank_grabs == 0 and len(bundle.frames) >= 5
    assert bundle.frames[0]["pts"] == 0 and bundle.frames[0]["t"] >= 15 * 1000 / 20 * 0.5  # after the blank slots
