"""The upload queue: FIFO, one session at a time, crash-proof.

The disk is the truth. A session is queued when its upload-state.json says
`pending`; every step re-reads the states, so requests written by other
processes (`traycap upload` while the tray runs the queue) are picked up by
the next step. Only the process holding the QueueLock (traycap/upload/lock.py)
may run a queue; the caller takes the lock, this class assumes it.

`UploadQueue` is the facade the app and the commands use; the work is done by
    requests.py   the requests written to disk (upload, retry, cancel)
    scheduler.py  which session is next, the outage hold, idle polling
    attempt.py    one attempt and its transitions on disk
    aborts.py     multipart uploads left to abort, best effort
    worker.py     the thread that runs `process_one()` until stopped

`process_one()` is one synchronous step: tests call it directly with a
FakeClock; `start()` runs it in the worker thread, which sleeps on the injected
clock between steps and is woken by enqueue/retry/cancel/stop.

Rules worth knowing:
- Quitting (`stop()`) stops the running upload at a part boundary
  (StopKind.SHUTDOWN) and writes it back as pending with its multipart upload
  kept, without spending a retry; the next start resumes it.
- Cancel from another process writes not_uploaded; the running upload checks
  its state on disk between chunks (every 0.5 s) and at every checkpoint, and
  stops with StopKind.CANCEL, which aborts the multipart upload.
- Paused uploads (pause.py, a flag on disk): a step does nothing and the
  engine's connections are closed; the running upload notices within 0.5 s and
  stops at a part boundary (StopKind.PAUSE), pending, its multipart upload kept.
- Live sessions first (priority.py, marks in the data dir): while one records,
  the running upload has one part in flight; from its Stop until it is
  verified, no new part starts.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable

from traycap.cancel import CancelToken, StopKind
from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import TraycapError
from traycap.models import UploadProgress, UploadState, UploadStatus
from traycap.upload import transitions
from traycap.upload.aborts import PendingAborts
from traycap.upload.attempt import AttemptRunner
from traycap.upload.engine import EngineCache, EngineFactory, PartPacing, UploadEngine
from traycap.upload.events import ProgressBus
from traycap.upload.pause import uploads_paused
from traycap.upload.priority import LivePriority
from traycap.upload.requests import request_cancel, request_retry, request_upload, update_state
from traycap.upload.scheduler import Problems, Scheduler
from traycap.upload.worker import Worker

log = logging.getLogger(__name__)

_ACTIVE = (UploadStatus.PENDING, UploadStatus.UPLOADING)

__all__ = ["EngineFactory", "UploadQueue"]


class UploadQueue:
    def __init__(
        self,
        ctx: Context,
        engine_factory: EngineFactory,
        *,
        clock: Clock | None = None,
        progress_interval_s: float = 0.25,
        priority: PartPacing | None = None,
    ) -> None:
        """`priority`: what the live lanes allow the queue (upload/priority.py); by default read
        from the data dir, where the lanes of every process mark themselves."""
        self._clock = clock or ctx.clock
        self._ctx = ctx if clock is None else dataclasses.replace(ctx, clock=clock)
        self._bus = ProgressBus(self._clock, progress_interval_s)
        self._lock = threading.Lock()
        self._current: tuple[str, CancelToken] | None = None
        self._paused = False
        self._engines = EngineCache(engine_factory)
        self._problems = Problems()
        self._scheduler = Scheduler(self._ctx.states, self._clock, self._problems)
        self._aborts = PendingAborts(self._current_engine)
        self._attempts = AttemptRunner(
            self._ctx, self._clock, engines=self._engines, aborts=self._aborts, scheduler=self._scheduler,
            problems=self._problems, announce=self._announce, publish=self._bus.publish,
            priority=priority or LivePriority(self._ctx.paths, self._clock),
        )
        self._worker = Worker(self.process_one, self._scheduler.idle_delay, self._clock)

    # --- requests (any thread) --------------------------------------------
    def subscribe(self, fn: Callable[[UploadProgress], None]) -> Callable[[], None]:
        return self._bus.subscribe(fn)

    def enqueue(self, session_id: str) -> UploadState:
        return self._requested(session_id, request_upload(self._ctx, session_id))

    def retry(self, session_id: str) -> UploadState:
        return self._requested(session_id, request_retry(self._ctx, session_id))

    def cancel(self, session_id: str) -> UploadState:
        before, after = request_cancel(self._ctx, session_id)
        with self._lock:
            running = self._current is not None and self._current[0] == session_id
            if running and self._current is not None:
                self._current[1].cancel(StopKind.CANCEL)  # the engine aborts its multipart upload
        self._scheduler.release(session_id)  # the others need not wait out its backoff
        # Nobody else will abort a multipart upload of a pending session (or of
        # an "uploading" one left behind by a process that died).
        if before.uploadId and before.s3Key and (
            before.status in (UploadStatus.PENDING, UploadStatus.LIVE) or not running
        ):
            self._aborts.add(before.s3Key, before.uploadId)
        log.info("session %s: %s -> not_uploaded (cancelled)", session_id, before.status.value)
        self._announce(after)
        self._worker.wake()
        return after

    def pending_count(self) -> int:
        return sum(1 for s in self._ctx.states.scan() if s.state is not None and s.state.status in _ACTIVE)

    @property
    def problems(self) -> dict[str, str]:
        """Sessions whose upload-state.json could not be read, with the reason."""
        return self._problems.snapshot()

    # --- start-up -----------------------------------------------------------
    def restore(self) -> None:
        """uploading -> pending, failed with retries left -> pending (backoff kept); others stay."""
        now = self._clock.now_ms()
        for scanned in self._scheduler.scan():
            if scanned.state is None:
                continue
            sid = scanned.sessionId
            try:
                before, after = update_state(
                    self._ctx, sid, lambda s: transitions.restored(s, now) if s is not None else None
                )
            except TraycapError as exc:
                self._problems.report(sid, exc)
                continue
            if after is not None and before is not None and after.status is not before.status:
                log.info("session %s: %s -> %s (restored at start-up)", sid, before.status.value, after.status.value)
                self._announce(after)
            if after is not None and after.status is UploadStatus.PENDING:
                self._scheduler.remember(sid)
        self._scheduler.release()

    # --- one step -------------------------------------------------------------
    def process_one(self) -> bool:
        """Abort what cancel left behind, or make one upload attempt. True if it did work."""
        if self._worker.stopping:
            return False
        if self._paused_now():
            return False
        if self._aborts.run_one():
            return True
        if self._attempts.requeue_unfinished():
            return True
        now = self._clock.now_ms()
        if self._scheduler.held(now):
            return False
        session_id = self._scheduler.next_eligible(now)
        if session_id is None:
            return False
        token = CancelToken()
        with self._lock:
            self._current = (session_id, token)
        try:
            return self._attempts.run(session_id, token)
        finally:
            with self._lock:
                self._current = None

    # --- the worker thread ----------------------------------------------------
    def start(self) -> None:
        self._worker.start()

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the worker: the running upload stops at a part boundary and is kept for resume."""
        self._worker.request_stop()
        with self._lock:
            if self._current is not None:
                self._current[1].cancel(StopKind.SHUTDOWN)
        self._worker.join(timeout)

    @property
    def running(self) -> bool:
        return self._worker.running

    # --- internals --------------------------------------------------------------
    def _requested(self, session_id: str, state: UploadState) -> UploadState:
        self._scheduler.remember(session_id)
        self._announce(state)
        self._worker.wake()
        return state

    def _announce(self, state: UploadState) -> None:
        self._bus.publish(UploadProgress.of(state))

    def _paused_now(self) -> bool:
        """Paused uploads: no request at all, and no connection left open (checked every step)."""
        paused = uploads_paused(self._ctx.paths)
        if paused and not self._paused:
            log.info("uploads are paused: nothing is sent until they are resumed")
            self._engines.close()
        elif self._paused and not paused:
            log.info("uploads resumed")
        self._paused = paused
        return paused

    def _current_engine(self) -> UploadEngine:
        return self._engines.get(self._ctx.require_config())  # the secret may be in the OS keyring
