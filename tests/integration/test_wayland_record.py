"""traycap itself on the headless Wayland desktop (sway, PipeWire, the real ScreenCast portal), run by the
desktop's unprivileged user as a person runs it: `traycap record`, and the tray driven by `traycap toggle` /
`traycap pause` (issue 21, second half). The capture parts alone are tests/integration/test_wayland_capture.py.

  * a recording of a moving client (foot printing a counter): its screenshots are the pictures grim saw at the
    same moments, its video holds them and changes; session.json says the capture was the portal and that no
    click or key track exists, and why; the bundle went to `rclone serve s3` while recording (object = zip);
  * the second recording needs no picker (a picker that always cancels lets the remembered choice through);
    a cancelled picker says so, exits 1 and leaves no session;
  * the running tray (its icon registered with swaybar's tray, its menu read over dbusmenu): `traycap toggle`
    starts and stops, `traycap pause` pauses and resumes; a stream that stops mid-recording is exported and the
    menu says why.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from tests.support.recording import read_bundle
from tests.support.s3servers import S3Server
from tests.support.sessions import write_config
from tests.support.viewer import seek, start_view
from tests.support.waiting import stop_process, wait_until
from tests.support.wayland import REPO, SIZE, WaylandDesktop, read_ppm, spawn_foot
from tests.support.webdriver import chromium
from traycap.clock import SystemClock
from traycap.context import Context, make_context
from traycap.models import UploadStatus
from traycap.paths import Paths
from traycap.recorder.tracks import WAYLAND_NO_INPUT

pytestmark = [pytest.mark.wayland, pytest.mark.slow]

COUNTER = "i=0; while :; do echo $i; i=$((i+1)); sleep 1; done"  # one new picture a second
WAYLAND_NOTE = "Recording screen with pointer; no clicks or keys (Wayland)"


@pytest.fixture
def desk(wayland_desk: WaylandDesktop) -> WaylandDesktop:
    wayland_desk.ensure_backend("none")
    return wayland_desk


@pytest.fixture
def counter(desk: WaylandDesktop) -> Iterator[None]:
    """foot printing a counter in big digits: a Wayland client whose picture changes every second."""
    proc = spawn_foot(desk, COUNTER, 40)
    yield
    desk.end(proc)


def traycap_home(desk: WaylandDesktop, name: str, *, settings: dict[str, Any],
                 upload_to: S3Server | None = None) -> tuple[Path, Context]:
    """A data dir for traycap on the desktop, the user's, with these settings (and upload settings)."""
    home = desk.traycap_home(name)
    paths = Paths(root=home, logs=home / "logs")
    if upload_to is not None:
        write_config(paths, upload_to.config(keyPrefix=f"wayland/{name}/", autoUpload=True))
    (home / "app-settings.json").write_text(json.dumps(settings))
    ctx = make_context(paths, SystemClock())  # it makes the data dir's folders: the user's too, below
    desk.give(home)
    return home, ctx


def stderr_line(proc: subprocess.Popen[str], starts: str, timeout: float) -> str:
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith(starts):
            return line.strip()
    raise AssertionError(f"no line starting {starts!r} from traycap: {''.join(seen)}")


def differing(a_rgb: Any, b_rgb: Any, threshold: int = 8) -> float:
    """The share of pixels that differ by more than `threshold` in any channel."""
    diff = np.abs(a_rgb.astype(np.int16) - b_rgb.astype(np.int16)).max(axis=2)
    return float((diff > threshold).mean())


def bundle_zip(ctx: Context, sid: str) -> Path:
    meta = ctx.sessions.read_meta(sid)
    assert meta.zipPath is not None, meta
    return ctx.paths.session_dir(sid) / meta.zipPath


def screenshot_rgb(zip_path: Path, name: str) -> Any:
    with zipfile.ZipFile(zip_path) as zf:
        png = zf.read(f"screenshots/{name}")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def video_frames(zip_path: Path, tmp: Path) -> list[Any]:
    video = read_bundle(zip_path).extract("video/screen.mp4", tmp)
    with av.open(str(video)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_a_recording_of_a_moving_client_is_what_grim_saw_and_uploads_while_recording(
        desk: WaylandDesktop, counter: None, rclone: S3Server, tmp_path: Path) -> None:
    home, ctx = traycap_home(desk, "record", settings={"fps": 10, "screenshotIntervalS": 0.25}, upload_to=rclone)
    started = time.monotonic()
    proc = desk.spawn_traycap("record", home, "record", "--duration", "4", stderr_pipe=True)
    ready = stderr_line(proc, "traycap: recording ", 60)
    first_frame_s = time.monotonic() - started
    sid = ready.split()[2]
    note = stderr_line(proc, "traycap: ", 5)
    assert note == f"traycap: {WAYLAND_NOTE}"
    shots: list[tuple[int, int, Path]] = []
    live_seen = False
    out = desk.shared_dir("grim")
    while proc.poll() is None and len(shots) < 8:
        state = ctx.states.read(sid)
        live_seen = live_seen or (state is not None and state.status is UploadStatus.LIVE)
        path = out / f"grim-{len(shots)}.ppm"
        t0 = int(time.time() * 1000)
        desk.grim(path)
        shots.append((t0, int(time.time() * 1000), path))
        time.sleep(0.3)  # spread the screenshots over the recording (pacing, not a wait for something)
    code = proc.wait(timeout=120)
    assert proc.stdout is not None and proc.stderr is not None
    err = proc.stderr.read()
    assert code == 0, err
    assert proc.stdout.read().strip() == sid
    assert live_seen, "the upload lane was not live while recording"
    assert "uploaded while recording" in err and "verified" in err, err

    zip_path = bundle_zip(ctx, sid)
    bundle = read_bundle(zip_path)
    info = bundle.info
    assert info["capture"]["backend"] == "wayland-portal" and info["capture"]["damageDriven"] is True
    assert info["capture"]["cursor"] == "embedded" and info["capture"]["remembersChoice"] is True
    assert info["tracks"] == {"video": True, "cursor": "embedded", "pointer": "none", "clicks": False,
                              "keys": False, "why": WAYLAND_NO_INPUT}
    assert info["counts"]["actions"] == 0 and info["monitors"]["backend"] == "wayland-portal"
    assert (info["video"]["width"], info["video"]["height"]) == SIZE
    # 4 s at 10 fps: a slot with no new picture from PipeWire is skipped (the frame before shows), and the
    # last picture is repeated once a second.
    slots = len(bundle.frames) + info["unchangedFrames"]
    assert slots >= 25 and len(bundle.frames) >= 4, (len(bundle.frames), slots)

    # Every grim screenshot is one of the pictures the recording holds around that moment (exact: screenshots
    # are lossless copies of video frames), and the comparison tells pictures apart.
    assert len(shots) >= 3
    best: list[float] = []
    worst = 0.0
    for t0, t1, path in shots:
        seen = read_ppm(path)
        near = [s for s in bundle.shots if t0 - 1100 <= s["wallMs"] <= t1 + 1100]
        diffs = [differing(screenshot_rgb(zip_path, s["file"]), seen) for s in near]
        assert diffs, (t0, [s["wallMs"] for s in bundle.shots])
        best.append(min(diffs))
        worst = max(worst, *diffs)
    assert max(best) < 0.001, best
    assert worst > 0.0001, "every screenshot equals every grim picture: the counter did not move"

    # The video holds those pictures (H.264: close, not exact), and they change.
    decoded = video_frames(zip_path, tmp_path)
    assert len(decoded) == len(bundle.frames)
    by_pts = {f["pts"]: i for i, f in enumerate(bundle.frames)}
    for shot in [s for s in bundle.shots if not s.get("unchanged")][:6]:  # an unchanged one names an earlier file
        frame = decoded[by_pts[shot["pts"]]]
        assert differing(frame, screenshot_rgb(zip_path, shot["file"]), threshold=48) < 0.002
    distinct = {hashlib.sha256(Image.fromarray(f).resize((64, 36)).tobytes()).hexdigest() for f in decoded}
    assert len(distinct) >= 3, len(distinct)

    # Uploaded while recording: the object is the zip.
    state = ctx.states.read(sid)
    assert state is not None and state.status is UploadStatus.DONE and state.s3Key
    assert rclone.object_bytes(state.s3Key) == zip_path.read_bytes()
    print(f"\nWayland `traycap record`: process start to first frame {first_frame_s:.2f} s, "
          f"{len(bundle.frames)} frames, fps {info['fps']['achieved']}")
    check_the_replay_page(ctx, sid, tmp_path)


def check_the_replay_page(ctx: Context, sid: str, tmp_path: Path) -> None:
    """The replay page of the Wayland recording (headless chromium, `traycap view` on a copy of the session): its
    facts say which tracks it holds and why, and it offers no typed text or click overlay it does not have."""
    home = tmp_path / "view-home"
    shutil.copytree(ctx.paths.session_dir(sid), home / "sessions" / sid)
    view = start_view(home, sid)
    try:
        with chromium(1280, 860) as browser:
            browser.get(view.url)
            wait_until("the page to be ready", lambda: browser.js("return document.body.dataset.ready === '1'"), 60)
            facts = browser.js("return Array.from(document.querySelectorAll('#facts dt'),"
                               " (dt) => [dt.textContent, dt.nextElementSibling.textContent])")
            lines = dict(facts)
            assert lines["Tracks"] == f"screen with the pointer drawn in; no clicks or keys: {WAYLAND_NO_INPUT}"
            assert lines["Capture"] == "Wayland screen cast (the desktop's portal, PipeWire)"
            assert "Keystrokes" not in lines
            hidden = browser.js("return ['showCaption', 'showPointer'].map("
                                "(id) => document.getElementById(id).closest('label').hidden)")
            assert hidden == [True, True]
            assert browser.js("return document.getElementById('actionCount').textContent") == \
                "not recorded (see Tracks)"
            seek(browser, 2500)
            shot = browser.screenshot_png()
            (tmp_path / "wayland-replay.png").write_bytes(shot)
            if os.environ.get("TRAYCAP_UPDATE_DOCS_IMG"):
                (REPO / "docs" / "img" / "wayland-replay.png").write_bytes(shot)
    finally:
        view.stop()


def test_the_second_recording_needs_no_picker_and_a_cancelled_one_leaves_nothing(desk: WaylandDesktop) -> None:
    settings = {"fps": 5, "screenshotIntervalS": 5}
    home, ctx = traycap_home(desk, "remembered", settings=settings)
    first = desk.traycap(home, "record", "--duration", "1")
    assert first.returncode == 0, first.stderr
    assert (home / "wayland-restore-token.json").exists()
    desk.restart_portal_backend("false")  # from now on the picker cancels whoever it is shown to
    try:
        desk.damage()  # a picture for the new cast's first frame
        second = desk.traycap(home, "record", "--duration", "1")
        assert second.returncode == 0, second.stderr
        assert len([d for d in ctx.paths.sessions.iterdir() if d.is_dir()]) == 2

        fresh, fresh_ctx = traycap_home(desk, "cancelled", settings=settings)
        cancelled = desk.traycap(fresh, "record", "--duration", "1")
        assert cancelled.returncode == 1
        assert cancelled.stderr.strip().splitlines()[-1] == (
            "traycap: Recording did not start: the screen picker was closed without choosing a screen (Start again "
            "and choose a screen (or a window) in the desktop's dialog)"), cancelled.stderr
        assert "Traceback" not in cancelled.stderr
        assert not fresh_ctx.paths.sessions.exists() or not list(fresh_ctx.paths.sessions.iterdir())
    finally:
        desk.restart_portal_backend("none")


def tray_menu(desk: WaylandDesktop) -> list[Any]:
    answer = desk.python("tray-menu")
    return answer["menu"]  # type: ignore[no-any-return]


def flat(menu: list[Any]) -> list[str]:
    return [item for item in menu if isinstance(item, str)]


def test_the_tray_is_started_stopped_and_paused_by_the_commands(desk: WaylandDesktop) -> None:
    home, ctx = traycap_home(desk, "tray", settings={"fps": 10, "screenshotIntervalS": 5})
    tray = desk.spawn_traycap("tray", home, "tray")
    try:
        wait_until("the tray's icon and menu on swaybar's tray",
                   lambda: "Start recording" in flat(tray_menu(desk)), 60)
        idle = flat(tray_menu(desk))
        assert "(Keys: bind `traycap toggle` in your desktop (Upload settings… says how))" in idle

        t0 = time.monotonic()
        toggled = desk.traycap(home, "toggle")
        assert (toggled.returncode, toggled.stdout.strip()) == (0, "traycap: starting a recording"), toggled.stderr
        toggle_s = time.monotonic() - t0
        wait_until("recording, and the menu saying what it holds",
                   lambda: {"Stop recording", f"({WAYLAND_NOTE})"} <= set(flat(tray_menu(desk))), 60)
        paused = desk.traycap(home, "pause")
        assert (paused.returncode, paused.stdout.strip()) == (0, "traycap: pausing the recording"), paused.stderr
        wait_until("paused", lambda: "Resume" in flat(tray_menu(desk)), 30)
        resumed = desk.traycap(home, "pause")
        assert resumed.stdout.strip() == "traycap: resuming the recording", resumed.stderr
        wait_until("recording again", lambda: "Pause" in flat(tray_menu(desk)), 30)
        stopped = desk.traycap(home, "toggle")
        assert stopped.stdout.strip() == "traycap: stopping the recording (it is saved and exported)", stopped.stderr
        (sid,) = [d.name for d in ctx.paths.sessions.iterdir() if d.is_dir()]
        wait_until("exported", lambda: ctx.paths.exported_marker(sid).exists(), 60)
        bundle = read_bundle(bundle_zip(ctx, sid))
        assert [a["type"] for a in bundle.actions] == ["pause", "resume"]
        assert bundle.info["tracks"]["clicks"] is False and bundle.info["capture"]["backend"] == "wayland-portal"
        nothing = desk.traycap(home, "pause")
        assert nothing.returncode == 1 and "nothing is being recorded" in nothing.stderr

        # The screen cast stops mid-recording (what an unplugged monitor does to the portal's stream):
        # the recording is exported with what it has, and the tray says why.
        assert desk.traycap(home, "toggle").returncode == 0
        wait_until("recording", lambda: "Stop recording" in flat(tray_menu(desk)), 60)
        desk.kill_portal_backend()
        wait_until("the tray saying the cast stopped",
                   lambda: any(label.startswith("(Recording problem: The screen cast stopped")
                               for label in flat(tray_menu(desk))), 60)
        lost = [d.name for d in ctx.paths.sessions.iterdir() if d.is_dir() and d.name != sid]
        assert len(lost) == 1
        wait_until("the stopped recording exported", lambda: ctx.paths.exported_marker(lost[0]).exists(), 60)
        end = read_bundle(bundle_zip(ctx, lost[0])).info
        assert str(end["endReason"]).startswith("The screen cast stopped"), end["endReason"]
        assert "Start recording" in flat(tray_menu(desk))
        print(f"\n`traycap toggle` answered in {toggle_s:.2f} s (a Python process start included)")
    finally:
        stop_process(tray)
        desk.restart_portal_backend("none")
    assert tray.returncode == 0
