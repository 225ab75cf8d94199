"""`traycap record [--duration S] [--fps N] [--monitor N]`: record without the tray.

Stops at the end of --duration, on Ctrl-C / SIGTERM, or when recording
fails (disk full, display lost); always exports what was recorded and prints
the session id on stdout. stderr gets a "recording <id>" line once the first
frame is captured and the input listeners are ready (scripts wait for it).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from traycap.commands.common import EXIT_FAIL, EXIT_OK, fail
from traycap.context import Context
from traycap.errors import CorruptFile, TraycapError
from traycap.models import AppSettings, SessionMeta
from traycap.osutil import signals

log = logging.getLogger(__name__)


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
    from traycap.recorder.controller import RecorderEvent, RecordingController
    from traycap.recorder.recover import recover_unfinished
    from traycap.recorder.screen import check_display

    check_display()  # NoDisplay: readable message + hint, exit 1 (cli.py)
    settings = _settings(args, ctx)
    if args.monitor is not None and args.monitor < 0:
        return fail("--monitor must be 0 (all), 1 (primary) or a monitor number")
    report = recover_unfinished(ctx)
    for session_id in report.exported:
        print(f"traycap: exported session {session_id}, which had been interrupted", file=sys.stderr)

    problems: list[str] = []

    def on_event(event: RecorderEvent) -> None:
        if event.kind == "failed" and event.message:
            problems.append(event.message)
            print(f"traycap: {event.message}", file=sys.stderr, flush=True)
        elif event.kind == "exported" and event.message:
            print(f"traycap: {event.message}", file=sys.stderr, flush=True)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # SIGHUP: the terminal running it was closed; stop and export like Ctrl-C (unless ignored: nohup).
    previous = signals.install_stop_handler(on_signal)
    try:
        controller = RecordingController(ctx, settings, on_event=on_event)
        session_id = controller.start()
        print(f"traycap: recording {session_id} (Ctrl-C to stop)", file=sys.stderr, flush=True)
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
    finally:
        signals.restore(previous)
    print(session_id, flush=True)
    if meta is None or not meta.zipPath:
        return fail(f"session {session_id} was recorded but not exported; it is exported at the next start")
    return EXIT_FAIL if problems else EXIT_OK
