"""`traycap upload ID [--wait]`, `retry ID`, `cancel ID`, `worker`, `link ID [--expires S] [--zip]`,
`pause-uploads`, `resume-uploads`.

Exactly one process runs the queue: the one holding the QueueLock (the tray
app, `traycap worker`, or `traycap upload --wait` while nothing else runs it).
Every other command only writes its request into the session's
upload-state.json; the process running the queue acts on it within 2 s.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TextIO

from traycap.commands.common import EXIT_FAIL, EXIT_OK, fail
from traycap.context import Context
from traycap.errors import CorruptFile, IllegalTransition, TraycapError
from traycap.format import human_size
from traycap.models import UploadConfig, UploadProgress, UploadState, UploadStatus
from traycap.osutil import signals
from traycap.sharing.links import ShareLinks
from traycap.sharing.sidecars import with_sidecars
from traycap.storage.prune import PruneReport, RetentionRunner
from traycap.upload.engine import UploadEngine
from traycap.upload.lock import QueueLock
from traycap.upload.pause import set_uploads_paused, uploads_paused
from traycap.upload.queue import UploadQueue
from traycap.upload.requests import request_cancel, request_retry, request_upload

log = logging.getLogger(__name__)

WAIT_POLL_S = 0.25  # `upload --wait` reading the state another process writes
TAKEOVER_EVERY_S = 1.0  # ... and checking whether that process is still there
STOP_TIMEOUT_S = 30.0
PAUSED_NOTE = "Uploads are paused: it starts when they are resumed (`traycap resume-uploads`)."
_FINAL = (UploadStatus.DONE, UploadStatus.FAILED, UploadStatus.NOT_UPLOADED)


def engine_factory(config: UploadConfig) -> UploadEngine:
    from traycap.upload.s3 import UploadService  # boto3 only for commands that talk to S3

    return UploadService(config)


# --- progress output ---------------------------------------------------------------
class ProgressPrinter:
    """A bar redrawn in place on a terminal; plain lines (status changes, every 10 %) otherwise."""

    WIDTH = 30

    def __init__(self, session_id: str, out: TextIO, *, tty: bool) -> None:
        self.session_id = session_id
        self.out = out
        self.tty = tty
        self._last: tuple[UploadStatus, int] | None = None
        self._bar_open = False
        self._lock = threading.Lock()

    def __call__(self, event: UploadProgress) -> None:
        if event.sessionId != self.session_id:
            return
        with self._lock:
            self._show(event)

    def _show(self, event: UploadProgress) -> None:
        last = self._last
        status_changed = last is None or last[0] is not event.status
        if self.tty and event.status is UploadStatus.UPLOADING:
            filled = event.progress * self.WIDTH // 100
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            sizes = f"{human_size(event.bytesUploaded)} / {human_size(event.totalBytes)}"
            self.out.write(f"\r{self.session_id} [{bar}] {event.progress:3d}%  {sizes}   ")
            self.out.flush()
            self._bar_open = True
        elif status_changed or (
            event.status is UploadStatus.UPLOADING and last is not None and event.progress // 10 > last[1] // 10
        ):
            self._line(self._describe(event))
        self._last = (event.status, event.progress)

    def _describe(self, event: UploadProgress) -> str:
        s = event.status
        if s is UploadStatus.UPLOADING:
            return (f"{self.session_id}: uploading {event.progress}% "
                    f"({human_size(event.bytesUploaded)} of {human_size(event.totalBytes)})")
        if s is UploadStatus.DONE:
            return f"{self.session_id}: done ({human_size(event.totalBytes)})"
        if s is UploadStatus.PENDING and event.error:
            return f"{self.session_id}: waiting to retry: {event.error}"
        if s is UploadStatus.FAILED:
            return f"{self.session_id}: failed: {event.error or 'unknown error'}"
        if s is UploadStatus.NOT_UPLOADED:
            return f"{self.session_id}: cancelled"
        return f"{self.session_id}: {s.value}"

    def message(self, text: str) -> None:
        with self._lock:
            self._line(text)

    def _line(self, text: str) -> None:
        if self._bar_open:
            self.out.write("\n")
            self._bar_open = False
        self.out.write(text + "\n")
        self.out.flush()


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """The stop signals (traycap.osutil.signals) set `stop`; the main thread then stops the queue cleanly."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("got %s; stopping at the next part boundary", signal.Signals(signum).name)
        stop.set()

    with signals.stop_signals_caught(handler):
        yield


def _exit_for(state: UploadState | None, printer: ProgressPrinter) -> int:
    if state is not None and state.status is UploadStatus.DONE:
        return EXIT_OK
    if state is None or state.status is UploadStatus.NOT_UPLOADED:
        return fail(f"the upload of {printer.session_id} was cancelled")
    return fail(f"the upload of {printer.session_id} failed: {state.lastError or 'unknown error'}")


# --- upload ---------------------------------------------------------------------------
def run_upload(args: argparse.Namespace, ctx: Context) -> int:
    session_id: str = args.session_id
    lock = QueueLock(ctx.paths)
    ctx.sessions.read_meta(session_id)  # SessionNotFound / InvalidSessionId before anything else
    try:
        current = ctx.states.read(session_id)
    except CorruptFile:
        current = None  # request_upload sets the unreadable file aside and queues the session afresh
    if current is not None and current.status is UploadStatus.DONE:
        # Scripts may run `upload --wait` twice: the goal is reached, so it is a success.
        print(f"{session_id} is already uploaded ({current.s3Key})")
        return EXIT_OK
    if uploads_paused(ctx.paths):
        state = request_upload(ctx, session_id)
        print(f"Queued {session_id} ({human_size(state.totalBytes)}). {PAUSED_NOTE}")
        # --wait would wait for as long as the pause lasts: a script is better told now.
        return EXIT_FAIL if args.wait else EXIT_OK
    if not args.wait:
        state = request_upload(ctx, session_id)
        if lock.try_acquire():
            lock.release()
            print(f"Queued {session_id} ({human_size(state.totalBytes)}). No traycap process is uploading right now:"
                  f" start the tray app or `traycap worker`, or run `traycap upload {session_id} --wait`.")
        else:
            pid = lock.holder_pid()
            print(f"Queued {session_id} ({human_size(state.totalBytes)}); "
                  f"the running traycap{f' (pid {pid})' if pid else ''} uploads it.")
        return EXIT_OK
    printer = ProgressPrinter(session_id, sys.stdout, tty=sys.stdout.isatty())
    stop = threading.Event()
    with _stop_on_signals(stop):
        return _upload_and_wait(ctx, session_id, lock, printer, stop)


def _upload_and_wait(
    ctx: Context, session_id: str, lock: QueueLock, printer: ProgressPrinter, stop: threading.Event
) -> int:
    requested = False
    while not stop.is_set():
        if lock.try_acquire():
            try:
                return _run_queue_until(ctx, session_id, printer, stop)
            finally:
                lock.release()
        if not requested:
            state = request_upload(ctx, session_id)
            requested = True
            pid = lock.holder_pid()
            printer.message(f"{session_id}: queued; traycap{f' (pid {pid})' if pid else ''} is uploading it")
            printer(UploadProgress.of(state))
        final = _watch_other_process(ctx, session_id, printer, stop)
        if final is not None:
            return _exit_for(final, printer)
    printer.message(f"{session_id}: stopped waiting; the upload continues in the other traycap process")
    return 130


def _watch_other_process(
    ctx: Context, session_id: str, printer: ProgressPrinter, stop: threading.Event
) -> UploadState | None:
    """Follow the state file for about a second; the final state, or None to check the lock again."""
    deadline = ctx.clock.monotonic() + TAKEOVER_EVERY_S
    while ctx.clock.monotonic() < deadline:
        try:
            state = ctx.states.read(session_id)
        except CorruptFile as exc:
            raise TraycapError(exc.message, "the upload state of this session is unreadable") from exc
        if state is not None:
            printer(UploadProgress.of(state))
            if state.status in _FINAL:
                return state
        if ctx.clock.sleep(WAIT_POLL_S, wake=stop):
            return None
    return None


def _run_queue_until(ctx: Context, session_id: str, printer: ProgressPrinter, stop: threading.Event) -> int:
    """This process holds the lock: run the queue here until `session_id` is finished.

    The queue is FIFO, so sessions queued before this one are uploaded first.
    """
    queue = UploadQueue(ctx, with_sidecars(engine_factory, ctx.clock))
    queue.restore()
    finished = threading.Event()

    def on_event(event: UploadProgress) -> None:
        printer(event)
        if event.sessionId == session_id and event.status in _FINAL:
            finished.set()

    queue.subscribe(on_event)
    queue.subscribe(RetentionRunner(ctx).on_upload_event)  # a verified upload: the retention rules run
    state = queue.enqueue(session_id)
    if state.status in _FINAL:  # pragma: no cover - enqueue only returns pending/uploading
        return _exit_for(state, printer)
    queue.start()
    try:
        while not finished.is_set() and not stop.is_set():
            # The state may also end through another process (`traycap cancel`).
            current = ctx.states.read(session_id)
            if current is not None and current.status in _FINAL:
                break
            ctx.clock.sleep(WAIT_POLL_S, wake=finished)
    finally:
        try:
            queue.stop(timeout=STOP_TIMEOUT_S)
        except Exception:
            log.exception("the upload worker reported an error")
    if stop.is_set() and not finished.is_set():
        printer.message(f"{session_id}: stopped; the upload resumes the next time traycap uploads")
        return 130
    return _exit_for(ctx.states.read(session_id), printer)


# --- retry / cancel -----------------------------------------------------------------------
def _runner_note(ctx: Context) -> str:
    if uploads_paused(ctx.paths):
        return PAUSED_NOTE[0].lower() + PAUSED_NOTE[1:]
    lock = QueueLock(ctx.paths)
    if lock.try_acquire():
        lock.release()
        return "no traycap process is uploading right now (start the tray app or `traycap worker`)"
    pid = lock.holder_pid()
    return f"the running traycap{f' (pid {pid})' if pid else ''} picks it up"


def run_retry(args: argparse.Namespace, ctx: Context) -> int:
    state = request_retry(ctx, args.session_id)
    print(f"{state.sessionId}: queued again (retry count reset); {_runner_note(ctx)}")
    return EXIT_OK


def _nothing_to_cancel(session_id: str, state: UploadState | None) -> str:
    """Why a session has no upload to cancel, in one sentence with what to do instead."""
    status = state.status if state is not None else UploadStatus.NOT_UPLOADED
    if status is UploadStatus.DONE:
        return (f"{session_id} is already uploaded, so there is nothing to cancel "
                f"(`traycap link {session_id}` prints its link)")
    if status is UploadStatus.FAILED:
        return f"{session_id}'s upload failed, so there is nothing to cancel (`traycap retry {session_id}` tries again)"
    return f"{session_id} is not queued, so there is nothing to cancel"


def run_cancel(args: argparse.Namespace, ctx: Context) -> int:
    lock = QueueLock(ctx.paths)
    try:
        before, after = request_cancel(ctx, args.session_id)
    except IllegalTransition:
        try:
            state = ctx.states.read(args.session_id)
        except CorruptFile:
            state = None
        return fail(_nothing_to_cancel(args.session_id, state))
    owner_running = not lock.try_acquire()
    try:
        # An upload running in the queue process is aborted there (it sees the
        # change on disk). Anything else left a multipart upload nobody will finish.
        needs_abort = before.uploadId and before.s3Key and (
            before.status in (UploadStatus.PENDING, UploadStatus.LIVE) or not owner_running
        )
        if needs_abort and before.s3Key and before.uploadId:
            try:
                engine_factory(ctx.require_config()).abort(before.s3Key, before.uploadId)
            except TraycapError as exc:
                print(f"traycap: warning: could not abort the partial upload in the bucket: {exc.user_text()}",
                      file=sys.stderr)
    finally:
        if not owner_running:
            lock.release()
    where = " (the running traycap stops it within 2 s)" if before.status is UploadStatus.UPLOADING and \
        owner_running else ""
    if before.status is UploadStatus.LIVE:
        where = " (the recording goes on; nothing more of it is uploaded)"
    print(f"{after.sessionId}: cancelled{where}")
    return EXIT_OK


# --- worker -------------------------------------------------------------------------------
def run_worker(args: argparse.Namespace, ctx: Context) -> int:
    lock = QueueLock(ctx.paths)
    if not lock.acquire_as_owner():
        return fail(lock.busy_error().user_text())
    stop = threading.Event()
    try:
        with _stop_on_signals(stop):
            _settle_at_start(ctx)
            report = ctx.sessions.cleanup_orphans(ctx.clock.now_ms())
            for session_id in report.deleted:
                log.info("removed orphaned session %s", session_id)
            queue = UploadQueue(ctx, with_sidecars(engine_factory, ctx.clock))
            queue.restore()
            # Retention (docs/retention.md): at start-up, after every verified upload, hourly
            # (and `traycap record` runs it after each export).
            retention = RetentionRunner(ctx, on_report=_over_budget_logger())
            retention.run()
            queue.subscribe(retention.on_upload_event)
            log.info("upload worker running (pid %d); %d session(s) queued", os.getpid(), queue.pending_count())
            queue.start()
            while not stop.is_set():
                ctx.clock.sleep(0.5, wake=stop)
                retention.tick()
            log.info("stopping the upload worker")
            try:
                queue.stop(timeout=STOP_TIMEOUT_S)
            except Exception as exc:
                log.error("the upload worker reported an error: %s", exc)
                return EXIT_FAIL
            log.info("upload worker stopped")
    finally:
        lock.release()
    return EXIT_OK


def _settle_at_start(ctx: Context) -> None:
    """What a crash left, as the tray does at start-up (traycap/sharing/startup.py): recordings
    recovered, a live upload handed to this queue, the others queued (autoUpload). Before the queue
    is restored: the requests go to disk and restore picks them up."""
    from traycap.sharing.requests import UploadRequests
    from traycap.sharing.startup import settle_at_start

    def abort(key: str, upload_id: str) -> None:
        engine_factory(ctx.require_config()).abort(key, upload_id)

    try:
        report = settle_at_start(ctx, UploadRequests(ctx), abort=abort)
    except Exception:
        log.exception("recovering unfinished recordings failed")
        return
    for session_id in report.recovered:
        log.info("session %s had been interrupted: recovered%s", session_id,
                 ", its upload continues" if session_id in report.handed_over else "")


def _over_budget_logger() -> Callable[[PruneReport], None]:
    """Logs once each time sessions not uploaded start to fill the budget (not at every run)."""
    was_over = False

    def on_report(report: PruneReport) -> None:
        nonlocal was_over
        plan = report.plan
        if plan.over_budget and not was_over:
            log.warning("sessions not uploaded yet hold %s, more than the local budget of %s; nothing that is "
                        "not uploaded is deleted", human_size(plan.notUploadedBytes), human_size(plan.budgetBytes))
        was_over = plan.over_budget

    return on_report


# --- link ---------------------------------------------------------------------------------
def run_link(args: argparse.Namespace, ctx: Context) -> int:
    session_id: str = args.session_id
    ctx.sessions.read_meta(session_id)  # SessionNotFound / InvalidSessionId with the usual text
    state = ctx.states.read(session_id)
    if state is None or state.status is not UploadStatus.DONE or not state.s3Key:
        status = state.status.value if state else UploadStatus.NOT_UPLOADED.value
        return fail(f"session {session_id} is not uploaded (status: {status}); "
                    f"a share link exists only after `traycap upload {session_id}` is done")
    expires = args.expires if args.expires is not None else ctx.load_settings().linkExpiresS
    links = ShareLinks()
    make = links.zip if args.zip else links.player
    print(make(ctx.require_config(), state.s3Key, expires))
    return EXIT_OK


def run_pause(args: argparse.Namespace, ctx: Context) -> int:
    if not set_uploads_paused(ctx.paths, True, now_ms=ctx.clock.now_ms()):
        print("Uploads were already paused; `traycap resume-uploads` resumes them.")
        return EXIT_OK
    running = [s.sessionId for s in ctx.states.scan() if s.state and s.state.status is UploadStatus.UPLOADING]
    tail = f" {running[0]} stops at its next part boundary and stays queued." if running else ""
    print(f"Uploads paused (also after a restart); `traycap resume-uploads` resumes them.{tail}")
    return EXIT_OK


def run_resume(args: argparse.Namespace, ctx: Context) -> int:
    if not set_uploads_paused(ctx.paths, False, now_ms=ctx.clock.now_ms()):
        print("Uploads are not paused.")
        return EXIT_OK
    print(f"Uploads resumed; {_runner_note(ctx)}.")
    return EXIT_OK
