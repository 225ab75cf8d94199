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
