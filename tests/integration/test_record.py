"""`traycap record` on a real Xvfb with real xdotool input: actions, video, screenshots, privacy, crashes."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.display import XDisplay, xvfb
from tests.support.recording import (
    count_video_frames,
    env_without_display,
    read_bundle,
    start_record,
    video_positions_ms,
)
from tests.support.waiting import wait_until
from traycap.bundle.raw import read_jsonl
from traycap.context import make_context
from traycap.paths import Paths
from traycap.recorder.recover import recover_unfinished

pytestmark = pytest.mark.x11

W, H = 800, 600


@pytest.fixture(scope="module")
def display() -> Iterator[XDisplay]:
    with xvfb(W, H) as d:
        yield d


def _settings(home: Path, **values: object) -> None:
    (home / "app-settings.json").write_text(json.dumps(values))


# The known sequence: xdotool's own events, one invocation. The mouse and the keyboard are heard by two
# listener threads (pynput's), each stamping what it sees: events of the two sent within the same
# millisecond have no order between them, so the typing starts 50 ms after the last wheel click.
SEQUENCE = ["mousemove", "100", "150", "click", "1", "mousemove", "300", "220", "click", "3",
            "click", "4", "click", "5", "sleep", "0.05", "type", "ab1"]
EXPECTED = [
    {"type": "mouse_move", "x": 100, "y": 150},
    {"type": "mouse_down", "x": 100, "y": 150, "button": "left"},
    {"type": "mouse_up", "x": 100, "y": 150, "button": "left"},
    {"type": "mouse_move", "x": 300, "y": 220},
    {"type": "mouse_down", "x": 300, "y": 220, "button": "right"},
    {"type": "mouse_up", "x": 300, "y": 220, "button": "right"},
    {"type": "scroll", "x": 300, "y": 220, "dx": 0, "dy": 1},
    {"type": "scroll", "x": 300, "y": 220, "dx": 0, "dy": -1},
    {"type": "key_down", "key": "a"},
    {"type": "key_up", "key": "a"},
    {"type": "key_down", "key": "b"},
    {"type": "key_up", "key": "b"},
    {"type": "key_down", "key": "1"},
    {"type": "key_up", "key": "1"},
]


def _strip_t(actions: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in a.items() if k != "t"} for a in actions]


def test_record_captures_exactly_the_xdotool_sequence(display: XDisplay, home: Path, tmp_path: Path) -> None:
    display.run("xdotool", "mousemove", "5", "5")
    _settings(home, screenshotIntervalS=1.0)
    rec = start_record(display.env, home, "--fps", "10")
    session_id = rec.wait_ready()
    display.run("xdotool", *SEQUENCE)
    wait_until("all 14 actions in actions.jsonl", lambda: len(rec.actions()) >= len(EXPECTED))
    wait_until("a periodic screenshot", lambda: list((rec.session_dir / "screenshots").glob("*-periodic.png")))
    rec.proc.send_signal(signal.SIGINT)
    code, out, err = rec.finish()
    assert code == 0, err
    assert out.strip() == session_id
    assert "Traceback" not in err

    ctx = make_context(Paths(root=home, logs=home / "logs"))
    meta = ctx.sessions.read_meta(session_id)
    assert ctx.sessions.is_exported(session_id)
    zip_path = ctx.sessions.zip_path(meta)
    data = zip_path.read_bytes()
    assert meta.fileSizeBytes == len(data)
    assert meta.sha256 == hashlib.sha256(data).hexdigest()
    assert meta.endedAt is not None and meta.endedAt > meta.createdAt
    assert meta.actionCount == len(EXPECTED)

    bundle = read_bundle(zip_path)
    assert _strip_t(bundle.inputs) == EXPECTED, bundle.inputs
    times = [a["t"] for a in bundle.inputs]
    assert times == sorted(times)
    # Every action happened while the video was running.
    first, last = bundle.frames[0]["t"], bundle.frames[-1]["t"]
    assert all(first <= t <= last for t in times), (first, last, times)
    # Frame times are real capture times: increasing, video timestamps increasing.
    assert [f["i"] for f in bundle.frames] == list(range(len(bundle.frames)))
    assert all(b["t"] > a["t"] and b["pts"] > a["pts"] for a, b in zip(bundle.frames, bundle.frames[1:], strict=False))
    video = bundle.extract("video/screen.mp4", tmp_path)
    assert count_video_frames(video) == len(bundle.frames) == bundle.info["counts"]["frames"]
    # A player's position in the video is the frame's `pts` (recording time without pauses).
    assert video_positions_ms(video) == pytest.approx([f["pts"] for f in bundle.frames], abs=1)
    assert bundle.frames[0]["pts"] == 0
    assert bundle.info["fps"]["requested"] == 10
    assert bundle.info["video"]["width"] == W and bundle.info["video"]["height"] == H

    # Video and images are stored as they are, JSON compressed.
    import zipfile

    with zipfile.ZipFile(zip_path) as zf:
        methods = {i.filename: i.compress_type for i in zf.infolist()}
    assert methods["video/screen.mp4"] == zipfile.ZIP_STORED
    pngs = [n for n in bundle.names if n.endswith(".png")]
    assert pngs and all(methods[n] == zipfile.ZIP_STORED for n in pngs)
    reasons = {s["reason"] for s in bundle.shots}
    assert {"click", "periodic"} <= reasons
    click_shot = next(s for s in bundle.shots if s["reason"] == "click")
    assert click_shot["t"] >= bundle.inputs[1]["t"]  # taken after the first click, not before
    assert len(bundle.shots) == meta.screenshotCount  # a still screen's periodic shot names the PNG before it
    assert len({s["file"] for s in bundle.shots}) == len(pngs)

    import io

    from PIL import Image

    image = Image.open(io.BytesIO(_member(zip_path, pngs[0])))
    assert image.mode == "RGB" and image.size == (W, H)


def _member(zip_path: Path, name: str) -> bytes:
    import zipfile

    with zipfile.ZipFile(zip_path) as zf:
        return zf.read(name)


@pytest.mark.parametrize("privacy", ["no_text", "none"])
def test_masked_keystrokes_never_reach_the_bundle(display: XDisplay, home: Path, privacy: str) -> None:
    _settings(home, keystrokePrivacy=privacy)
    rec = start_record(display.env, home, "--fps", "5", "--monitor", "1")
    rec.wait_ready()
    secret = "hunter2secret"
    display.run("xdotool", "type", secret)
    display.run("xdotool", "key", "Return", "mousemove", "40", "40", "click", "1")
    wait_until("the closing click", lambda: any(a["type"] == "mouse_up" for a in rec.actions()))
    rec.proc.send_signal(signal.SIGTERM)
    code, out, err = rec.finish()
    assert code == 0, err
    bundle = read_bundle(rec.session_dir / f"{out.strip()}.zip")
    blob = bundle.all_bytes() + b"".join(p.read_bytes() for p in rec.session_dir.rglob("*") if p.is_file())
    assert secret.encode() not in blob
    keys = [a for a in bundle.inputs if a["type"].startswith("key")]
    if privacy == "none":
        assert keys == []
    else:
        downs = [a for a in keys if a["type"] == "key_down"]
        assert len(downs) == len(secret) + 1
        assert all(a["key"] == "*" and a["masked"] for a in downs[:-1])
        assert downs[-1]["key"] == "enter"  # special keys are kept: they carry no text
        assert not any(a["key"] in secret for a in keys if a["key"] != "*")
    assert bundle.info["keystrokePrivacy"] == privacy
    assert bundle.info["monitors"]["monitor"] == 1  # the primary monitor, as asked
    assert bundle.info["monitors"]["rect"] == {"left": 0, "top": 0, "width": W, "height": H}


def test_sigkill_leaves_actions_and_video_readable_and_recoverable(
    display: XDisplay, home: Path, tmp_path: Path
) -> None:
    rec = start_record(display.env, home, "--fps", "10")
    session_id = rec.wait_ready()
    display.run("xdotool", "mousemove", "200", "100", "click", "1", "type", "xy")
    wait_until("the typed keys", lambda: len(rec.actions()) >= 7)
    wait_until("3 s of video", lambda: rec.recorded_ms() >= 3000)
    rec.proc.send_signal(signal.SIGKILL)
    rec.proc.wait(timeout=20)
    directory = rec.session_dir

    # Straight after the kill, without any repair: everything so far is readable.
    actions = [a for a in read_jsonl(directory / "actions.jsonl") if a["type"] != "mouse_move"]
    assert [a["type"] for a in actions] == ["mouse_down", "mouse_up", "key_down", "key_up", "key_down", "key_up"]
    listed = read_jsonl(directory / "video" / "frames.jsonl")
    readable = count_video_frames(directory / "video" / "screen.mp4")
    # Fragments are flushed every second of video, and a still screen repeats its frame every second: what
    # is lost is at most the last ~2 s of the timeline (a still screen's repeats) and the frame in flight.
    assert listed[-1]["t"] >= 3000 and 1 <= readable <= len(listed)
    assert listed[readable - 1]["t"] >= listed[-1]["t"] - 2500
    ctx = make_context(Paths(root=home, logs=home / "logs"))
    assert not ctx.sessions.is_exported(session_id)
    assert session_id in [i.sessionId for i in ctx.sessions.list().items]  # visible: meta was written at start

    report = recover_unfinished(ctx)
    assert report.exported == [session_id] and not report.failed
    meta = ctx.sessions.read_meta(session_id)
    assert meta.extra["recorder"]["recovered"] is True
    bundle = read_bundle(ctx.sessions.zip_path(meta))
    assert len(bundle.frames) == readable
    assert count_video_frames(bundle.extract("video/screen.mp4", tmp_path)) == readable
    assert [a["type"] for a in bundle.inputs if a["type"] != "mouse_move"] == [a["type"] for a in actions]
    assert recover_unfinished(ctx).exported == []  # done once


def test_no_display_is_a_readable_failure(home: Path) -> None:
    import sys

    env = env_without_display()
    env["TRAYCAP_HOME"] = str(home)
    done = subprocess.run([sys.executable, "-m", "traycap", "record", "--duration", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "DISPLAY" in done.stderr and "Traceback" not in done.stderr
    assert "desktop session" in done.stderr  # the hint
    env["DISPLAY"] = ":4097"  # set, but nothing listens there
    done = subprocess.run([sys.executable, "-m", "traycap", "record", "--duration", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "display" in done.stderr.lower() and "Traceback" not in done.stderr
    sessions = home / "sessions"
    assert not sessions.exists() or not any(sessions.iterdir())  # no half-made session left behind


def test_display_lost_stops_exports_and_says_why(home: Path, tmp_path: Path) -> None:
    # An X server of this test's own, so that it can be killed mid-recording.
    with xvfb(320, 240) as display:
        env = env_without_display()
        env["DISPLAY"] = display.name
        rec = start_record(env, home, "--fps", "10")
        session_id = rec.wait_ready()
        wait_until("5 frames", lambda: len(rec.frames()) >= 5, 30)
        display.kill_server()
        code, out, err = rec.finish(timeout=90)
    assert code == 1, (code, out, err)
    assert out.strip() == session_id, (code, out, err)
    assert "Screen capture stopped working" in err, (code, out, err)
    assert "Traceback" not in err
    ctx = make_context(Paths(root=home, logs=home / "logs"))
    meta = ctx.sessions.read_meta(session_id)
    assert ctx.sessions.is_exported(session_id)
    bundle = read_bundle(ctx.sessions.zip_path(meta))
    assert len(bundle.frames) >= 5
    assert count_video_frames(bundle.extract("video/screen.mp4", tmp_path)) == len(bundle.frames)
    assert bundle.info["endReason"] != "stopped"


def test_a_closed_terminal_sighup_stops_and_exports_like_ctrl_c(home: Path) -> None:
    """Found in review (fix: 2042db1): closing the terminal window that runs `traycap record` sends SIGHUP:
    the recording used to die unexported (left for the next start's recovery)."""
    with xvfb(320, 240) as display:
        rec = start_record(display.env, home, "--duration", "60")
        sid = rec.wait_ready()
        rec.proc.send_signal(signal.SIGHUP)
        code, out, err = rec.finish()
    assert code == 0, err
    assert out.strip() == sid
    assert (home / "sessions" / sid / ".exported").exists()


def test_under_nohup_sighup_is_still_ignored(home: Path) -> None:
    """Found in review (fix: fda9195): `nohup traycap record ... &` must keep recording when the terminal closes."""
    with xvfb(320, 240) as display:
        rec = start_record(display.env, home, "--duration", "60", ignore_sighup=True)
        sid = rec.wait_ready()
        rec.proc.send_signal(signal.SIGHUP)
        at_hup = rec.recorded_ms()
        wait_until("frames recorded after the ignored SIGHUP", lambda: rec.recorded_ms() >= at_hup + 1500, 10)
        rec.proc.send_signal(signal.SIGINT)
        code, out, err = rec.finish()
    assert code == 0, err
    assert out.strip() == sid
    assert (home / "sessions" / sid / ".exported").exists()


def test_record_queues_the_session_when_auto_upload_is_on(display: XDisplay, home: Path) -> None:
    """The command, not the recorder, applies the auto-upload rule (traycap/sharing/, as the tray)."""
    (home / "upload-config.json").write_text(json.dumps({
        "bucket": "bucket-a", "region": "us-east-1", "accessKeyId": "AKIA", "secretAccessKey": "s3cr3t-key",
        "autoUpload": True, "uploadWhileRecording": False}))  # upload while recording: test_instant_share.py
    rec = start_record(display.env, home, "--duration", "1")
    session_id = rec.wait_ready()
    code, out, err = rec.finish()
    assert code == 0, err
    assert out.strip() == session_id and "traycap: Queued for upload" in err
    state = json.loads((home / "sessions" / session_id / "upload-state.json").read_text())
    assert state["status"] == "pending" and state["s3Key"] == f"sessions/{session_id}.zip"
