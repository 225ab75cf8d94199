"""`traycap record [--duration S] [--fps N] [--monitor N]`: record without the tray.

Stops at the end of --duration, on Ctrl-C / SIGTERM, or when recording
fails (disk full, display lost, the Wayland screen cast stopped); always exports
what was recorded and prints the session id on stdout. On Wayland the desktop's
screen picker shows the first time; closing it ends the command with exit 1 and
no session (nothing was recorded). stderr gets a "recording <id>" line once the first
frame is captured and the input listeners are ready (scripts wait for it).
What is uploaded, and how, is traycap/sharing/'s, as in the tray: start-up
settles what a crash left, the recorder gets `Sharing.live_sink`, the export
event asks `Sharing.exported`; requests go to disk for the process that runs
the queue. The OS keyring is asked on a background thread while the first
frame is taken (`_settle_secrets_meanwhile`), never before it.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from traycap.commands.common import EXIT_FAIL, EXIT_OK, fail
from traycap.context import Context
from traycap.errors import CorruptFile, TraycapError
from traycap.models import AppSettings, SessionMeta, UploadStatus
from traycap.osutil import signals

if TYPE_CHECKING:
    from traycap.sharing.recordings import Sharing

log = logging.getLogger(__name__)

LIVE_WAIT_S = 120.0  # `record` waits this long for a live upload to be verified, then hands it over
LIVE_TROUBLE_GRACE_S = 10.0  # ... or this long while the lane reports an outage (it retries at once at Stop)


def _settings(args: argparse.Namespace, ctx: Context) -> AppSettings:
    try:
        settings = ctx.load_settings()
    except CorruptFile as exc:
        log.warning("%s; recording with default settings", exc.user_text())
        settings = AppSettings()
    if args.fps is not None:
        settings = settings.with_(fps=args.fps)
    if args.monitor is not None:
        settings = settings.with_(monitor=args.monitor)
    return settings


def run(args: argparse.Namespace, ctx: Context) -> int:
    from traycap.media.capture import check_display
    from traycap.recorder.api import RecorderEvent, RecorderEventKind
    from traycap.recorder.controller import RecordingController
    from traycap.recorder.tracks import summary
    from traycap.sharing.lanes import LiveLanes
    from traycap.sharing.recordings import Sharing
    from traycap.sharing.requests import UploadRequests
    from traycap.sharing.startup import settle_at_start

    check_display()  # NoDisplay: readable message + hint, exit 1 (cli.py)
    ctx = _settle_secrets_meanwhile(ctx)
    settings = _settings(args, ctx)
    if args.monitor is not None and args.monitor < 0:
        return fail("--monitor must be 0 (all), 1 (primary) or a monitor number")
    requests = UploadRequests(ctx)  # this process runs no queue: requests go to disk
    lanes = LiveLanes(ctx)  # upload while recording (autoUpload + uploadWhileRecording)
    started = settle_at_start(ctx, requests, abort=lanes.abort)
    for session_id in started.recovered:
        print(f"traycap: exported session {session_id}, which had been interrupted", file=sys.stderr)
    sharing = Sharing(ctx, requests, lanes)

    problems: list[str] = []
    notes: list[str] = []

    def on_event(event: RecorderEvent) -> None:
        if event.kind is RecorderEventKind.STARTED:
            recorder_info = event.meta.extra.get("recorder") if event.meta is not None else None
            notes.extend(n for n in (summary((recorder_info or {}).get("tracks")), event.message) if n)
        elif event.kind is RecorderEventKind.FAILED and event.message:
            problems.append(event.message)
            print(f"traycap: {event.message}", file=sys.stderr, flush=True)
        elif event.kind is RecorderEventKind.WARNING and event.message:  # it goes on, without that sound
            print(f"traycap: the recording goes on without sound: {event.message}", file=sys.stderr, flush=True)
        elif event.kind is RecorderEventKind.EXPORTED:
            note = sharing.exported(event.sessionId)
            if note:
                print(f"traycap: {note}", file=sys.stderr, flush=True)

    stop = threading.Event()
    controller: RecordingController | None = None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if controller is not None:
            controller.abort_start()  # Ctrl-C while the desktop's screen picker is open

    # SIGHUP: the terminal running it was closed; stop and export like Ctrl-C (unless ignored: nohup).
    previous = signals.install_stop_handler(on_signal)
    try:
        controller = RecordingController(ctx, settings, on_event=on_event, live=sharing.live_sink)
        session_id = controller.start()
        print(f"traycap: recording {session_id} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        for note in notes:  # what the recording holds (Wayland: no clicks or keys), and why
            print(f"traycap: {note}", file=sys.stderr, flush=True)
        deadline = None if args.duration is None else ctx.clock.monotonic() + args.duration
        while not stop.is_set() and not controller.wait_idle(0):
            remaining = 0.25 if deadline is None else min(0.25, deadline - ctx.clock.monotonic())
            if remaining <= 0:
                break
            stop.wait(remaining)
        # From here on, Ctrl-C must not interrupt the export.
        for sig in previous:
            signal.signal(sig, on_signal)
        meta: SessionMeta | None
        try:
            meta = controller.stop()
        except TraycapError:
            controller.wait_idle()
            meta = controller.last_meta  # a failure already stopped and exported it
        _finish_live_upload(ctx, sharing, session_id, stop)
    finally:
        lanes.hand_over_all()  # whatever is not finished goes on in the queue (tray or `traycap worker`)
        signals.restore(previous)
    print(session_id, flush=True)
    _apply_retention(ctx)
    if meta is None or not meta.zipPath:
        return fail(f"session {session_id} was recorded but not exported; it is exported at the next start")
    return EXIT_FAIL if problems else EXIT_OK


def _settle_secrets_meanwhile(ctx: Context) -> Context:
    """`ctx` with a secret store that is asked on a background thread from now on: the recording starts
    at once; a live lane waits for the answer a little (Sharing.live_sink), after the first frame."""
    from traycap.storage.config_store import log_secret_location
    from traycap.storage.secrets import SettlingStore

    secrets = SettlingStore(ctx.secrets)

    def settle() -> None:
        secrets.settle()
        log_secret_location(ctx.paths.config, secrets)

    threading.Thread(target=settle, name="traycap-secrets", daemon=True).start()
    return dataclasses.replace(ctx, secrets=secrets)


def _finish_live_upload(ctx: Context, sharing: Sharing, session_id: str, stop: threading.Event) -> None:
    """Uploaded while recording: wait for the tail, Complete and verify (seconds), so the link
    exists when this command returns. Another Ctrl-C, or LIVE_WAIT_S, hands it to the queue."""
    lane = sharing.lane(session_id)
    if lane is None:
        return
    stop.clear()
    started = ctx.clock.monotonic()
    deadline = started + LIVE_WAIT_S
    trouble: str | None = None
    while not stop.is_set() and not lane.wait(0.1):
        now = ctx.clock.monotonic()
        trouble = _lane_trouble(ctx, session_id)
        if (trouble is not None and now - started > LIVE_TROUBLE_GRACE_S) or now > deadline:
            break  # still offline (or very slow): the queue finishes it when it can; no point in waiting here
    state = lane.outcome
    if state is not None and state.status is UploadStatus.DONE:
        print(f"traycap: uploaded while recording: {state.s3Key}, verified "
              f"{ctx.clock.monotonic() - started:.1f} s after the recording stopped "
              f"(`traycap link {session_id}` prints its link)", file=sys.stderr, flush=True)
    elif state is not None and state.status is UploadStatus.FAILED:
        print(f"traycap: the upload failed: {state.lastError}; `traycap retry {session_id}` tries again",
              file=sys.stderr, flush=True)
    elif state is None or state.status is UploadStatus.LIVE:
        why = f" ({trouble})" if trouble else ""
        print(f"traycap: the rest of the upload continues in the background{why}: the tray or `traycap worker` "
              "finishes it", file=sys.stderr, flush=True)


def _lane_trouble(ctx: Context, session_id: str) -> str | None:
    """What keeps a live upload from finishing now (an outage the lane is retrying), or None."""
    try:
        state = ctx.states.read(session_id)
    except TraycapError:
        return None
    if state is None or state.status is not UploadStatus.LIVE:
        return None
    return state.lastError


def _apply_retention(ctx: Context) -> None:
    """The disk just grew by a session: the retention rules run (docs/retention.md)."""
    from traycap.storage.prune import RetentionRunner

    try:
        report = RetentionRunner(ctx).run()
    except (TraycapError, OSError) as exc:
        log.warning("applying the retention rules failed: %s", exc)
        return
    if report is not None and report.plan.over_budget:
        print("traycap: warning: sessions not uploaded yet fill the local disk budget (localBudgetMB); "
              "nothing that is not uploaded is deleted", file=sys.stderr)
