"""Narration (issue 23), with real parts: `traycap record` on Xvfb hears a microphone of a real
PulseAudio server (tests/support/pulse.py: a pipe source we play into, sample by sample, on the
recorder's own monotonic clock), and the replay page plays the sound in chromium.

Three recordings, each made once and asserted on at length:
- the narrated one: speech (espeak-ng) at a known time, and a click made at a known moment with a
  beep played at that same moment; its track, sync, loudness lane, and the page playing it;
- one whose microphone is removed mid-recording (its module unloaded): silent from there, and why;
- one SIGKILLed: recovery keeps the sound up to the last second.
"""

from __future__ import annotations

import json
import signal
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.display import XDisplay, xvfb
from tests.support.pulse import PulseServer, have_pulseaudio, pulse_server, speech, tone
from tests.support.recording import RecordProcess, read_bundle, start_record
from tests.support.waiting import wait_until
from traycap.context import make_context
from traycap.paths import Paths
from traycap.recorder.recover import recover_unfinished

pytestmark = [pytest.mark.x11, pytest.mark.slow]

RATE = 48_000
PHRASE = "the export button does nothing when the list is empty"


@pytest.fixture(scope="module")
def display() -> Iterator[XDisplay]:
    with xvfb(640, 480) as d:
        yield d


@pytest.fixture(scope="module")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    assert have_pulseaudio(), "pulseaudio and pactl are installed by scripts/setup.sh test"
    with pulse_server(tmp_path_factory.mktemp("pulse")) as server:
        yield server


def _record(display: XDisplay, pulse: PulseServer, home: Path, **settings: object) -> RecordProcess:
    home.mkdir(parents=True, exist_ok=True)
    (home / "app-settings.json").write_text(json.dumps({"fps": 10, "screenshotIntervalS": 30, **settings}))
    rec = start_record({**display.env, **pulse.env, "TRAYCAP_KEYRING": "off"}, home)
    rec.wait_ready()
    return rec


def _levels(rec: RecordProcess) -> int:
    path = rec.session_dir / "video" / "levels.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _decode(bundle_path: Path) -> tuple[list[float], float, np.ndarray, float]:
    """(video frame times, video end, the sound's samples, sound end), ends as a player sees them:
    the last packet's time plus its duration."""
    import io

    import av

    with zipfile.ZipFile(bundle_path) as z:
        data = z.read("video/screen.mp4")
    with av.open(io.BytesIO(data)) as c:
        vs, aus = c.streams.video[0], c.streams.audio[0]
        vi, ai = vs.index, aus.index
        ends = {vi: 0.0, ai: 0.0}
        for packet in c.demux(vs, aus):
            if packet.pts is not None and packet.size:
                ends[packet.stream.index] = max(ends[packet.stream.index],
                                                float((packet.pts + (packet.duration or 0)) * packet.time_base))
    with av.open(io.BytesIO(data)) as c:
        times = [float(f.time) for f in c.decode(c.streams.video[0])]
    with av.open(io.BytesIO(data)) as c:
        sound = np.concatenate([f.to_ndarray()[0] for f in c.decode(c.streams.audio[0])])
    return times, ends[vi], sound, ends[ai]


def _rms_db(samples: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return 20 * np.log10(rms) if rms > 0 else -200.0


@dataclass
class Narrated:
    home: Path
    session_id: str
    stderr: str
    bundle: Any
    info: dict[str, Any]
    origin: float  # timeBase.monotonicOriginS: recording time t = (monotonic - origin) * 1000
    speech_at: float  # monotonic
    speech_s: float
    click_at: float  # monotonic: the click and the beep
    video_times: list[float]
    video_end: float
    sound: np.ndarray
    sound_end: float

    def track_index(self, monotonic: float) -> int:
        """The track sample heard at a monotonic time (no pause in this recording)."""
        t_ms = (monotonic - self.origin) * 1000
        return round((t_ms - self.bundle.frames[0]["t"]) / 1000 * RATE)


@pytest.fixture(scope="module")
def narrated(display: XDisplay, pulse: PulseServer, tmp_path_factory: pytest.TempPathFactory) -> Narrated:
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.ext import xtest

    tmp = tmp_path_factory.mktemp("narrated")
    mic = pulse.microphone("TestMic", default=True)
    voice = speech(PHRASE, tmp)
    rec = _record(display, pulse, tmp / "home", audio="mic", audioDevice="TestMic")
    start = time.monotonic()
    speech_at, click_at = start + 0.6, start + 0.6 + len(voice) / RATE + 1.5
    mic.play_at(speech_at, voice)
    mic.play_at(click_at, tone(0.15, 1000, 0.6))  # the beep, from the click's moment on
    x = xdisplay.Display(display.name)
    x.screen().root.warp_pointer(200, 200)
    x.sync()
    time.sleep(max(0.0, click_at - time.monotonic()))  # to the scheduled moment: the beep starts then
    xtest.fake_input(x, X.ButtonPress, 1)
    x.sync()
    xtest.fake_input(x, X.ButtonRelease, 1)
    x.sync()
    x.close()
    wait_until("a second of sound after the beep", lambda: _levels(rec) >= int(click_at - start) + 2)
    rec.proc.send_signal(signal.SIGINT)
    code, _out, err = rec.finish()
    assert code == 0, err
    ctx = make_context(Paths(root=rec.home, logs=rec.home / "logs"))
    zip_path = ctx.sessions.zip_path(ctx.sessions.read_meta(rec.session_id or ""))
    bundle = read_bundle(zip_path)
    times, video_end, sound, sound_end = _decode(zip_path)
    return Narrated(rec.home, rec.session_id or "", err, bundle, bundle.info,
                    bundle.info["timeBase"]["monotonicOriginS"], speech_at, len(voice) / RATE, click_at,
                    times, video_end, sound, sound_end)


def test_the_bundle_has_a_sound_track_as_long_as_the_video(narrated: Narrated) -> None:
    audio = narrated.info["audio"]
    assert audio["mode"] == "mic" and "problems" not in audio, audio
    assert audio["devices"] == [{"kind": "mic", "name": "TestMic", "backend": "soundcard/pulseaudio"}]
    assert audio["track"]["codec"] == "aac" and audio["track"]["sampleRate"] == RATE
    assert abs(narrated.sound_end - narrated.video_end) <= 0.1, (narrated.sound_end, narrated.video_end)
    assert len(narrated.sound) / RATE == pytest.approx(narrated.sound_end, abs=0.05)
    assert "Traceback" not in narrated.stderr and "without sound" not in narrated.stderr


def test_the_beep_is_heard_within_50_ms_of_the_click(narrated: Narrated) -> None:
    (click,) = [a for a in narrated.bundle.inputs if a["type"] == "mouse_down"]
    look_from = narrated.track_index(narrated.click_at - 0.5)
    loud = np.flatnonzero(np.abs(narrated.sound[look_from:]) > 0.2)
    assert len(loud), "no beep in the track"
    onset_ms = narrated.bundle.frames[0]["t"] + (look_from + int(loud[0])) / RATE * 1000
    assert abs(onset_ms - click["t"]) <= 50, (onset_ms, click["t"])
    # and where the test played it (the pipe source: ~2 ms from our write to the recorder)
    assert abs(onset_ms - (narrated.click_at - narrated.origin) * 1000) <= 50


def test_the_speech_is_audible_where_it_was_spoken_and_silence_elsewhere(narrated: Narrated) -> None:
    at, end = narrated.track_index(narrated.speech_at), narrated.track_index(narrated.speech_at + narrated.speech_s)
    spoken = _rms_db(narrated.sound[at:end])
    before = _rms_db(narrated.sound[max(0, at - RATE // 2):at - RATE // 20])
    between = _rms_db(narrated.sound[end + RATE // 5:narrated.track_index(narrated.click_at) - RATE // 5])
    assert spoken > -35, spoken  # espeak-ng speaks at about -20 dBFS
    assert before < -60 and between < -60, (before, between)
    # the loudness lane says the same, in recording time
    with zipfile.ZipFile(narrated.bundle.path) as z:
        lines = z.read("video/levels.json")
    levels = [(line["t"] + i * line["ms"], db) for line in json.loads(lines) for i, db in enumerate(line["db"])]
    said = (narrated.speech_at - narrated.origin) * 1000
    spoken_ms = (said, said + narrated.speech_s * 1000)
    inside = [db for t, db in levels if spoken_ms[0] + 100 <= t <= spoken_ms[1] - 200]
    outside = [db for t, db in levels if spoken_ms[1] + 200 <= t <= (narrated.click_at - narrated.origin) * 1000 - 200]
    assert max(inside) > -30 and max(outside) < -60, (inside, outside)


def test_the_page_plays_the_sound(narrated: Narrated) -> None:
    from tests.support.viewer import start_view
    from tests.support.webdriver import chromium, have_chromium

    assert have_chromium()
    view = start_view(narrated.home, narrated.session_id)
    beep_v = narrated.track_index(narrated.click_at) / RATE  # the beep's video time
    try:
        with chromium() as b:
            b.get(view.url)
            wait_until("the page is ready", lambda: b.js("return document.body.dataset.ready") == "1", 30)
            assert b.js("return document.body.dataset.sound") == "1"
            assert int(b.js("return document.body.dataset.levelColumns")) > 0
            heard = b.js_async("""const done = arguments[arguments.length - 1], from = arguments[0];
              (async () => {
                const v = document.getElementById('video');
                const ctx = new AudioContext(), an = ctx.createAnalyser();
                ctx.createMediaElementSource(v).connect(an); an.connect(ctx.destination);
                v.currentTime = from;
                await new Promise((r) => v.addEventListener('seeked', r, { once: true }));
                document.getElementById('play').click();
                const data = new Float32Array(an.fftSize), t0 = performance.now();
                let loudAt = -1;
                while (performance.now() - t0 < 4000 && loudAt < 0) {
                  await new Promise((r) => setTimeout(r, 10));
                  an.getFloatTimeDomainData(data);
                  if (data.some((x) => Math.abs(x) > 0.2)) loudAt = v.currentTime;
                }
                done({ loudAt, muted: v.muted, time: v.currentTime, error: v.error && v.error.message });
              })().catch((e) => done({ error: String(e) }));""", max(0.0, beep_v - 1.0), timeout=30)
    finally:
        view.stop()
    assert heard["error"] is None and heard["muted"] is False, heard
    assert heard["time"] > max(0.0, beep_v - 1.0)  # currentTime advanced with the sound playing
    assert abs(heard["loudAt"] - beep_v) <= 0.15, (heard, beep_v)  # the analyser polls every 10 ms


def test_a_microphone_removed_mid_recording_leaves_silence_and_the_reason(
        display: XDisplay, pulse: PulseServer, tmp_path: Path) -> None:
    usb = pulse.microphone("USBMic")
    rec = _record(display, pulse, tmp_path / "home", audio="mic", audioDevice="USBMic")
    start = time.monotonic()
    usb.play_at(start, tone(30, 440, 0.4))  # a steady tone until it goes away
    wait_until("a second of sound", lambda: _levels(rec) >= 1)
    removed_at = time.monotonic()
    pulse.unload(usb.module)
    wait_until("the recorder says so", lambda: any("goes on without sound" in line for line in rec.stderr_lines), 15)
    wait_until("two more seconds", lambda: _levels(rec) >= 4)
    rec.proc.send_signal(signal.SIGINT)
    code, _out, err = rec.finish()
    assert code == 0, err
    assert "the recording goes on without sound: The microphone 'USBMic' went away" in err
    ctx = make_context(Paths(root=rec.home, logs=rec.home / "logs"))
    zip_path = ctx.sessions.zip_path(ctx.sessions.read_meta(rec.session_id or ""))
    bundle = read_bundle(zip_path)
    (problem,) = bundle.info["audio"]["problems"]
    assert "went away" in problem["message"]
    removed_ms = (removed_at - bundle.info["timeBase"]["monotonicOriginS"]) * 1000
    assert removed_ms - 200 <= problem["atMs"] <= removed_ms + 2500  # noticed within the presence check (2 s)
    _times, video_end, sound, sound_end = _decode(zip_path)
    assert abs(sound_end - video_end) <= 0.1
    first = bundle.frames[0]["t"]
    to_index = lambda ms: round((ms - first) / 1000 * RATE)  # noqa: E731
    assert _rms_db(sound[to_index(removed_ms - 700):to_index(removed_ms - 200)]) > -20  # the tone, before
    assert _rms_db(sound[to_index(problem["atMs"] + 300):]) < -60  # silence from there to the end


def test_a_killed_recording_keeps_its_sound_up_to_the_last_second(
        display: XDisplay, pulse: PulseServer, tmp_path: Path) -> None:
    mic = pulse.feeds[0]  # TestMic (the narrated recording's): a tone from now on
    mic.play_at(time.monotonic(), tone(30, 440, 0.4))
    rec = _record(display, pulse, tmp_path / "home", audio="mic", audioDevice="TestMic")
    wait_until("three seconds of sound", lambda: _levels(rec) >= 3)
    rec.proc.kill()
    rec.proc.wait(30)
    ctx = make_context(Paths(root=rec.home, logs=rec.home / "logs"))
    report = recover_unfinished(ctx)
    assert report.exported == [rec.session_id]
    zip_path = ctx.sessions.zip_path(ctx.sessions.read_meta(rec.session_id or ""))
    bundle = read_bundle(zip_path)
    assert bundle.info["recovered"] is True
    _times, video_end, sound, sound_end = _decode(zip_path)
    assert video_end >= 2.0 and sound_end >= video_end - 1.0, (video_end, sound_end)
    loud = np.flatnonzero(np.abs(sound) > 0.2)
    assert loud[-1] / RATE >= video_end - 1.2  # the tone plays up to the last second the video holds
    assert _rms_db(sound[RATE // 2:]) > -20
