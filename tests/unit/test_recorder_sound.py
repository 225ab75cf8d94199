"""The recorder with sound (issue 23): RecordingController with the null screen and a synthetic device
on the real clock, through to the exported bundle; and a device that cannot be opened."""

from __future__ import annotations

import zipfile

from tests.support.waiting import wait_until
from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import SoundUnavailable
from traycap.media.capture.null import NullScreen
from traycap.media.sound import open_sounds
from traycap.media.sound.synthetic import Burst, SyntheticSound
from traycap.models import AppSettings, AudioMode
from traycap.recorder.api import RecorderEvent, RecorderEventKind
from traycap.recorder.controller import RecordingController
from traycap.recorder.null import NullInput


def _controller(ctx: Context, events: list[RecorderEvent], sounds: object) -> RecordingController:
    return RecordingController(ctx, AppSettings(fps=20, audio=AudioMode.MIC), on_event=events.append,
                               capture_factory=lambda monitor: NullScreen(64, 48), input_factory=NullInput().factory,
                               sound_factory=sounds)  # type: ignore[arg-type]


def test_a_recording_with_a_microphone_has_a_sound_track_and_a_loudness_lane(live_ctx: Context) -> None:
    def sounds(settings: AppSettings, clock: Clock) -> tuple[list[SyntheticSound], list[SoundUnavailable]]:
        start = clock.monotonic()
        return [SyntheticSound(clock, bursts=(Burst(start + 0.6, 0.2),))], []

    events: list[RecorderEvent] = []
    ctl = _controller(live_ctx, events, sounds)
    sid = ctl.start()
    levels = live_ctx.paths.session_dir(sid) / "video" / "levels.jsonl"
    wait_until("two seconds of loudness", lambda: levels.exists() and levels.read_bytes().count(b"\n") >= 2)
    meta = ctl.stop()
    assert [e.kind for e in events] == ["started", "stopped", "exported"]
    audio = meta.extra["recorder"]["audio"]
    assert audio["mode"] == "mic" and audio["devices"][0]["backend"] == "synthetic"
    assert audio["track"]["codec"] == "aac" and audio["seconds"] > 2 and "problems" not in audio
    with zipfile.ZipFile(live_ctx.sessions.zip_path(meta)) as z:
        import json

        info = json.loads(z.read("session.json"))
        lines = json.loads(z.read("video/levels.json"))
    assert info["audio"]["seconds"] == audio["seconds"]
    assert any(db > -20 for line in lines for db in line["db"])  # the burst is in the lane
    assert not (live_ctx.paths.session_dir(sid) / "video" / "levels.jsonl").exists()  # one copy on disk


def test_no_device_records_without_sound_and_says_why(live_ctx: Context) -> None:
    events: list[RecorderEvent] = []
    env = {"TRAYCAP_SOUND": "none"}
    ctl = _controller(live_ctx, events, lambda s, c: open_sounds(mic=True, system=False, device="", clock=c, env=env))
    sid = ctl.start()
    meta = ctl.stop()
    kinds = [e.kind for e in events]
    assert kinds == ["started", RecorderEventKind.WARNING, "stopped", "exported"]
    assert "No microphone to record" in (events[1].message or "")
    assert meta.extra["recorder"]["audio"]["problems"][0]["message"].startswith("No microphone to record")
    assert "devices" not in meta.extra["recorder"]["audio"]
    with zipfile.ZipFile(live_ctx.sessions.zip_path(meta)) as z:
        assert "video/levels.json" not in z.namelist()
    assert sid


def test_the_factory_opens_what_it_can_and_says_why_not_for_the_rest() -> None:
    from traycap.clock import FakeClock

    both = {"mic": True, "system": True, "device": "", "clock": FakeClock()}
    sources, problems = open_sounds(**both, env={"TRAYCAP_SOUND": "synthetic"})  # type: ignore[arg-type]
    assert [s.kind for s in sources] == ["mic", "system"] and problems == []
    sources, problems = open_sounds(**both, env={"TRAYCAP_SOUND": "none"})  # type: ignore[arg-type]
    assert sources == [] and len(problems) == 2 and "computer's sound" in problems[1].message


def test_a_live_recording_with_sound_bundles_its_track_and_lane(live_ctx: Context, tmp_path: object,
                                                               monkeypatch: object) -> None:
    """Format 2 (upload while recording) with sound: the segments carry both tracks, the frame lines
    are cut by the video's frames only (not the AAC packets), the loudness lane is chunked like the
    other lines, and one copy on disk removes every raw file."""
    import json
    from pathlib import Path

    from tests.support.live_recording import RecordingSink, concat
    from traycap.bundle import bundler as bundler_mod
    from traycap.bundle import layout
    from traycap.media.video import video_frame_count

    monkeypatch.setattr(bundler_mod, "CUT_EVERY_S", 0.2)  # type: ignore[attr-defined]
    monkeypatch.setattr(bundler_mod, "CHUNK_EVERY_S", 0.5)  # type: ignore[attr-defined]

    def sounds(settings: AppSettings, clock: Clock) -> tuple[list[SyntheticSound], list[SoundUnavailable]]:
        start = clock.monotonic()
        return [SyntheticSound(clock, bursts=tuple(Burst(start + 0.5 * k, 0.1) for k in range(1, 20)))], []

    sink, events = RecordingSink(), []
    ctl = RecordingController(live_ctx, AppSettings(fps=20, audio=AudioMode.MIC), on_event=events.append,
                              capture_factory=lambda monitor: NullScreen(64, 48), input_factory=NullInput().factory,
                              sound_factory=sounds, live=lambda sid: sink)  # type: ignore[arg-type]
    sid = ctl.start()
    directory = live_ctx.paths.session_dir(sid)
    wait_until("loudness lines chunked into the live zip",
               lambda: (directory / "live-zip.jsonl").read_bytes().count(b"levels/") >= 1, timeout=30)
    meta = ctl.stop()
    zip_path = live_ctx.sessions.zip_path(meta)
    video = Path(str(tmp_path)) / "video.mp4"
    video.write_bytes(concat(zip_path, layout.VIDEO_SEGMENTS))
    frames = concat(zip_path, layout.FRAMES_CHUNKS).count(b"\n")
    assert video_frame_count(video) == frames == meta.extra["frameCount"] > 0
    levels = [json.loads(x) for x in concat(zip_path, layout.LEVELS_CHUNKS).splitlines()]
    assert levels and any(db > -20 for line in levels for db in line["db"])
    with zipfile.ZipFile(zip_path) as z:
        assert json.loads(z.read("session.json"))["audio"]["devices"][0]["kind"] == "mic"
    assert sink.done is not None and not (directory / "video").exists()  # every raw file removed
