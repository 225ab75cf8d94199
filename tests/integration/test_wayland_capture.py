"""Recording on Wayland through the real ScreenCast portal: sway headless, PipeWire, xdg-desktop-portal(-wlr).

The capture runs inside the desktop as its user (tests/support/wayland_probe.py, through
traycap's portal client and PipeWire frame source); these tests read what it answers and the
frames and screenshots it leaves. Issue 21, first half.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np
import pytest

from tests.support.wayland import OUTPUT, SIZE, WaylandDesktop, read_ppm, spawn_foot

pytestmark = [pytest.mark.wayland]

COUNTER = "i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done"


def same_picture(frame_bgrx: Any, shot_rgb: Any) -> float:
    """The share of pixels that differ by more than 8 in any channel (0.0: the same picture)."""
    rgb = frame_bgrx[:, :, 2::-1].astype(np.int16)
    diff = np.abs(rgb - shot_rgb[: rgb.shape[0], : rgb.shape[1]].astype(np.int16)).max(axis=2)
    return float((diff > 8).mean())


@pytest.fixture
def desk(wayland_desk: WaylandDesktop) -> WaylandDesktop:
    wayland_desk.ensure_backend("none")
    return wayland_desk


@pytest.fixture
def counter(desk: WaylandDesktop) -> Iterator[subprocess.Popen[bytes]]:
    """foot printing a counter ten times a second: a Wayland client whose pixels change all the time."""
    proc = spawn_foot(desk, COUNTER, 28)
    yield proc
    desk.end(proc)


def test_the_portal_offers_what_xdpw_has(desk: WaylandDesktop) -> None:
    caps = desk.python("caps")
    assert caps == {"version": 4, "sourceTypes": 1, "cursorModes": 3, "cursorMode": 2, "persists": True,
                    "offersWindow": False}  # monitors only; hidden + embedded; embedded chosen


@pytest.mark.slow
def test_a_recording_of_a_moving_client_matches_grim(desk: WaylandDesktop, counter: Any) -> None:
    out = desk.shared_dir("record")
    data = desk.shared_dir("record-data")
    result = desk.python("record", "--data", str(data), "--out", str(out), "--seconds", "3", "--fps", "10",
                         "--grim-every", "0.9")
    assert "error" not in result, result
    grabs = result["grabs"]
    described = result["describe"]
    assert (described["width"], described["height"]) == SIZE
    assert described["backend"] == "wayland-portal" and described["node"] and described["position"] == [0, 0]
    # Frames change: the counter moved on in many of them.
    assert len({g["digest"] for g in grabs}) >= 5, grabs
    assert result["received"] >= 5
    # Every grab has a time on the recording clock, increasing, within the recording.
    times = [g["t"] for g in grabs]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert result["begin"] <= times[0] and times[-1] <= result["end"]
    assert all(g["arrived"] <= g["t"] for g in grabs)
    # The restore token is saved after the session.
    assert (data / "wayland-restore-token.json").exists() and result["remembersChoice"] is True
    assert result["cursor"] == "embedded"
    # A frame that arrived around each grim screenshot shows the same picture as the screenshot.
    assert len(result["shots"]) >= 2
    diffs_seen = []
    for shot in result["shots"]:
        picture = read_ppm(Path(shot["path"]))
        assert picture.shape[:2] == (SIZE[1], SIZE[0])
        assert picture.std() > 5  # not a blank screen: the comparison below can fail
        diffs = [same_picture(np.load(f["path"]), picture) for f in shot["frames"]]
        diffs_seen += diffs
        assert diffs and min(diffs) < 0.001, (shot, diffs)
    assert max(diffs_seen) > 0.0001, "every frame equals every screenshot: the comparison tells nothing apart"


@pytest.mark.slow
def test_a_still_screen_gives_the_last_frame_again_on_the_clock(desk: WaylandDesktop) -> None:
    out = desk.shared_dir("still")
    # One change once the cast runs, so it has a first image; nothing changes after it. (Made before the cast,
    # the change could go to the previous cast while it was still being torn down: no image at all, seen once.)
    result = desk.python("record", "--data", str(desk.shared_dir("still-data")), "--out", str(out),
                         "--seconds", "1.5", "--fps", "10", "--damage-output", OUTPUT)
    grabs = result["grabs"]
    # Damage-driven: PipeWire sent (almost) nothing after the first frame; the source repeated it at every grab.
    assert result["received"] <= 3, result["received"]
    assert len(grabs) >= 10
    assert grabs[0]["fresh"] and sum(not g["fresh"] for g in grabs) >= len(grabs) - 3
    assert len({g["digest"] for g in grabs}) <= 3
    times = [g["t"] for g in grabs]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) > 0
    assert 0.08 <= median(gaps) <= 0.13, gaps  # the 10 fps grid, on the recording clock


@pytest.mark.slow
def test_a_consumer_that_stalls_does_not_starve_the_stream(desk: WaylandDesktop, counter: Any) -> None:
    """Found while building issue 21: a consumer that holds GStreamer samples drains PipeWire's pool and
    xdg-desktop-portal-wlr busy-loops. Frames are copied out and samples dropped at once, so they keep coming."""
    probe = desk.probe("stall", "--data", str(desk.shared_dir("stall-data")), "--fps", "10", "--before", "0.5",
                       "--stall", "2", "--after", "1")
    assert probe.stdout is not None
    cpu: dict[str, float] = {}
    answer: dict[str, Any] = {}
    for raw in probe.stdout:
        line = raw.decode().strip()
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        event = message.get("event")
        if event in ("stall_begin", "stall_end"):
            cpu[event] = backend_cpu_seconds(desk.pid_of_backend())
        elif event is None:
            answer = message
    probe.wait(timeout=30)
    assert "error" not in answer, answer
    phases = answer["phases"]
    assert phases["stall"]["received"] >= 5, phases  # frames kept coming while nobody took them
    assert phases["after"]["fresh"] >= 3, phases  # and the consumer gets new ones after
    busy = cpu["stall_end"] - cpu["stall_begin"]
    assert busy < 1.0, f"xdg-desktop-portal-wlr used {busy:.2f} s of CPU in a 2 s stall: it busy-loops"


def backend_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_the_second_session_needs_no_picker_and_a_cancelled_one_says_so(desk: WaylandDesktop) -> None:
    data = desk.shared_dir("token-data")
    first = desk.python("open", "--data", str(data))
    assert first["ok"] and first["persisted"] and first["token"]
    # Now the picker cancels every request (chooser_cmd=false): only the restore token gets through.
    desk.restart_portal_backend("false")
    try:
        second = desk.python("open", "--data", str(data))
        assert second["ok"], second
        assert second["token"], second  # saved again after this session (xdg-desktop-portal may reuse it)
        cancelled = desk.python("open", "--data", str(desk.shared_dir("no-token-data")))
        assert cancelled["error"] == "CaptureCancelled", cancelled
        assert "screen picker was closed" in cancelled["message"]
        assert "choose a screen" in cancelled["hint"]
    finally:
        desk.restart_portal_backend("none")


def test_an_unchanged_screen_starts_without_an_image_until_it_changes(desk: WaylandDesktop) -> None:
    """Found while building issue 21: wlroots sends a new cast of a screen that was cast before and has not
    changed since no frame at all until something changes, so a start that waited for a first frame failed
    on an idle sway desktop. The stream is negotiated, so the source starts and its first image comes with
    the first change."""
    probe = desk.probe("idle-start", "--data", str(desk.shared_dir("idle-data")), "--timeout", "20")
    assert probe.stdout is not None
    started = json.loads(probe.stdout.readline().decode())
    assert started == {"event": "started", "image": False, "width": SIZE[0], "height": SIZE[1]}, started
    desk.damage()
    answer = json.loads(probe.stdout.readline().decode())
    probe.wait(timeout=30)
    assert answer["image"] is True and answer["fresh"] is True, answer
    assert answer["shape"] == [SIZE[1], SIZE[0], 4]
    assert answer["startup"] < 5  # the grace after negotiation, not the no-frame timeout


@pytest.mark.slow
def test_a_stream_that_stops_ends_the_source_with_capture_lost(desk: WaylandDesktop) -> None:
    probe = desk.probe("until-lost", "--data", str(desk.shared_dir("lost-data")), "--timeout", "20")
    assert probe.stdout is not None
    first = probe.stdout.readline().decode()
    assert '"started"' in first, first
    desk.kill_portal_backend()  # what an unplugged output does to xdpw's stream: pw_stream_destroy
    rest = probe.stdout.read().decode()
    probe.wait(timeout=30)
    answer = json.loads([line for line in rest.splitlines() if line.startswith("{")][-1])
    assert answer["lost"] is True and answer["error"] == "CaptureLost", answer
    assert "screen cast stopped" in answer["message"]
    assert answer["grabs"] >= 1
    desk.restart_portal_backend("none")
    assert OUTPUT in {o["name"] for o in desk.swaymsg("-t", "get_outputs")}
