"""The upload queue: FIFO, one session at a time, crash-proof.

The disk is the truth. A session is queued when its upload-state.json says
`pending`; every step re-reads the states, so requests written by other
processes (`traycap upload` while the tray runs the queue) are picked up by
the next step. Only the process holding the QueueLock (traycap/upload/lock.py)
may run a queue; the caller takes the lock, this class assumes it.

Each transition is written (atomically, under `state_lock`) before it is
announced to subscribers. `process_one()` is one synchronous step: tests call
it directly with a FakeClock; `start()` runs it in a small worker thread that
sleeps on the injected clock between steps and is woken by enqueue/retry/
cancel/stop.

Rules worth knowing:
- FIFO by the state's createdAt (the moment it was enqueued), ties by the order
  this process learnt of the sessions. A session waiting out its backoff does
  not block the others, except when the endpoint is unreachable or throttling
  (NetworkError, Throttled): then the whole queue waits for that backoff, so a
  network outage spends the retries of one session only, at the backoff's pace.
- Quitting (`stop()`) stops the running upload at a part boundary
  (StopKind.SHUTDOWN) and writes it back as pending with its multipart upload
  kept, without spending a retry; the next start resumes it.
- Cancel from another process writes not_uploaded; the running upload checks
  its state on disk between chunks (every 0.5 s) and at every checkpoint, and
  stops with StopKind.CANCEL, which aborts the multipart upload.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Callable

from traycap.cancel import CancelToken, StopKind
from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import (
    CorruptFile,
    NetworkError,
    SessionError,
    Throttled,
    TraycapError,
    UploadCancelled,
    UploadRetryable,
    VerificationFailed,
)
from traycap.logs import redact
from traycap.models import UploadConfig, UploadProgress, UploadState, UploadStatus
from traycap.storage.config_store import require_config
from traycap.upload import transitions
from traycap.upload.engine import ResumePoint, UploadEngine, UploadResult
from traycap.upload.events import ProgressBus
from traycap.upload.requests import (
    check_uploadable,
    request_cancel,
    request_retry,
    request_upload,
    s3_key,
    update_state,
)

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often an idle worker looks for sessions queued by other processes
FULL_SCAN_S = 30.0  # an idle worker re-reads every state file at least this often, changed or not
DISK_CHECK_S = 0.5  # how often a running upload checks whether it was cancelled on disk
_ACTIVE = (UploadStatus.PENDING, UploadStatus.UPLOADING)

EngineFactory = Callable[[UploadConfig], UploadEngine]


class UploadQueue:
    def __init__(
        self,
        ctx: Context,
        engine_factory: EngineFactory,
        *,
        clock: Clock | None = None,
        progress_interval_s: float = 0.25,
    ) -> None:
        self._clock = clock or ctx.clock
        self._ctx = ctx if clock is None else dataclasses.replace(ctx, clock=clock)
        self._factory = engine_factory
        self._bus = ProgressBus(self._clock, progress_interval_s)
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}
        self._current: tuple[str, CancelToken] | None = None
        self._aborts: deque[tuple[str, str]] = deque()  # (key, uploadId) to abort, best effort
        self._hold_until_ms = 0
        self._hold_session: str | None = None  # whose outage/throttling set the hold
        self._next_due_ms: int | None = None
        # The state files as they were when a scan last found nothing to do: while they are
        # unchanged and no backoff is over, an idle step need not read them all again.
        self._idle_fingerprint: tuple[object, ...] | None = None
        self._idle_since = 0.0
        self._engine: tuple[UploadConfig, UploadEngine] | None = None
        self._problems: dict[str, str] = {}
        self._unfinished: set[str] = set()  # attempts whose outcome could not be written
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # --- requests (any thread) --------------------------------------------
    def subscribe(self, fn: Callable[[UploadProgress], None]) -> Callable[[], None]:
        return self._bus.subscribe(fn)

    def enqueue(self, session_id: str) -> UploadState:
        state = request_upload(self._ctx, session_id)
        self._remember(session_id)
        self._announce(state)
        self._wake.set()
        return state

    def retry(self, session_id: str) -> UploadState:
        state = request_retry(self._ctx, session_id)
        self._remember(session_id)
        self._announce(state)
        self._wake.set()
        return state

    def cancel(self, session_id: str) -> UploadState:
        before, after = request_cancel(self._ctx, session_id)
        with self._lock:
            running = self._current is not None and self._current[0] == session_id
            if running and self._current is not None:
                self._current[1].cancel(StopKind.CANCEL)  # the engine aborts its multipart upload
            if self._hold_session == session_id:  # the others need not wait out its backoff
                self._hold_until_ms, self._hold_session = 0, None
            # Nobody else will abort a multipart upload of a pending session (or of
            # an "uploading" one left behind by a process that died).
            if before.uploadId and before.s3Key and (before.status is UploadStatus.PENDING or not running):
                self._aborts.append((before.s3Key, before.uploadId))
        log.info("session %s: %s -> not_uploaded (cancelled)", session_id, before.status.value)
        self._announce(after)
        self._wake.set()
        return after

    def pending_count(self) -> int:
        return sum(1 for s in self._ctx.states.scan() if s.state is not None and s.state.status in _ACTIVE)

    @property
    def problems(self) -> dict[str, str]:
        """Sessions whose upload-state.json could not be read, with the reason."""
        with self._lock:
            return dict(self._problems)

    # --- start-up -----------------------------------------------------------
    def restore(self) -> None:
        """uploading -> pending, failed with retries left -> pending (backoff kept); others stay."""
        now = self._clock.now_ms()
        for scanned in self._scan():
            if scanned.state is None:
                continue
            sid = scanned.sessionId
            try:
                before, after = update_state(
                    self._ctx, sid, lambda s: transitions.restored(s, now) if s is not None else None
                )
            except TraycapError as exc:
                self._report(sid, exc)
                continue
            if after is not None and before is not None and after.status is not before.status:
                log.info("session %s: %s -> %s (restored at start-up)", sid, before.status.value, after.status.value)
                self._announce(after)
            if after is not None and after.status is UploadStatus.PENDING:
                self._remember(sid)
        with self._lock:
            self._hold_until_ms = 0

    # --- one step -------------------------------------------------------------
    def process_one(self) -> bool:
        """Abort what cancel left behind, or make one upload attempt. True if it did work."""
        if self._stopping.is_set():
            return False
        if self._run_one_abort():
            return True
        if self._requeue_unfinished():
            return True
        now = self._clock.now_ms()
        with self._lock:
            hold = self._hold_until_ms
        if not transitions.backoff_over(hold, now):
            self._next_due_ms = hold
            return False
        session_id = self._next_eligible(now)
        if session_id is None:
            return False
        return self._attempt(session_id)

    # --- the worker thread ----------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="traycap-upload-queue", daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the worker: the running upload stops at a part boundary and is kept for resume."""
        self._stopping.set()
        with self._lock:
            if self._current is not None:
                self._current[1].cancel(StopKind.SHUTDOWN)
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the upload worker did not stop within %.0f s", timeout)
            else:
                self._thread = None
        error, self._error = self._error, None
        if error is not None:
            raise error

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                did_work = self.process_one()
            except Exception as exc:  # a bug or a full disk: keep the worker alive, report on stop()
                log.exception("the upload worker hit an error; it keeps going")
                if self._error is None:
                    self._error = exc
                did_work = False
            if did_work or self._stopping.is_set():
                continue
            self._clock.sleep(self._idle_delay(), wake=self._wake)

    def _idle_delay(self) -> float:
        due = self._next_due_ms
        if due is None:
            return POLL_S
        return min(POLL_S, max(0.01, (due - self._clock.now_ms()) / 1000))

    # --- internals --------------------------------------------------------------
    def _remember(self, session_id: str) -> None:
        with self._lock:
            if session_id not in self._seq:
                self._seq[session_id] = len(self._seq)

    def _announce(self, state: UploadState) -> None:
        self._bus.publish(UploadProgress.of(state))

    def _report(self, session_id: str, exc: TraycapError) -> None:
        text = exc.user_text()
        with self._lock:
            known = self._problems.get(session_id) == text
            self._problems[session_id] = text
        if not known:
            log.warning("session %s skipped: %s", session_id, text)

    def _scan(self) -> list[_Scanned]:
        out: list[_Scanned] = []
        readable: set[str] = set()
        for scanned in self._ctx.states.scan():
            if scanned.error is not None:
                self._report(scanned.sessionId, scanned.error)
                continue
            readable.add(scanned.sessionId)
            out.append(_Scanned(scanned.sessionId, scanned.state))
        with self._lock:
            for sid in [s for s in self._problems if s in readable]:
                del self._problems[sid]
        return out

    def _next_eligible(self, now: int) -> str | None:
        fingerprint = self._ctx.states.fingerprint()
        due_before = self._next_due_ms
        if (
            fingerprint == self._idle_fingerprint
            and (due_before is None or now < due_before)
            and self._clock.monotonic() - self._idle_since < FULL_SCAN_S
        ):
            return None
        candidates: list[tuple[int, int, str]] = []
        due: int | None = None
        for scanned in self._scan():
            state = scanned.state
            if state is None or state.status is not UploadStatus.PENDING:
                continue
            self._remember(scanned.sessionId)
            if transitions.eligible(state, now):
                with self._lock:
                    seq = self._seq[scanned.sessionId]
                candidates.append((state.createdAt, seq, scanned.sessionId))
            elif state.nextAttemptAt is not None:
                due = state.nextAttemptAt if due is None else min(due, state.nextAttemptAt)
        self._next_due_ms = due
        if candidates:
            self._idle_fingerprint = None
            return min(candidates)[2]
        self._idle_fingerprint, self._idle_since = fingerprint, self._clock.monotonic()
        return None

    def _run_one_abort(self) -> bool:
        with self._lock:
            if not self._aborts:
                return False
            key, upload_id = self._aborts.popleft()
        try:
            self._engine_for(require_config(self._ctx.paths.config)).abort(key, upload_id)
            log.info("aborted the multipart upload of %s", key)
        except Exception as exc:  # best effort: S3 lifecycle rules clean up what is left
            log.warning("could not abort the multipart upload of %s: %s", key, redact(str(exc)))
        return True

    def _engine_for(self, config: UploadConfig) -> UploadEngine:
        with self._lock:
            cached = self._engine
        if cached is not None and cached[0] == config:
            return cached[1]
        engine = self._factory(config)
        with self._lock:
            self._engine = (config, engine)
        return engine

    def _attempt(self, session_id: str) -> bool:
        token = CancelToken()
        with self._lock:
            self._current = (session_id, token)
        try:
            return self._attempt_with(session_id, token)
        except TraycapError as exc:
            # Its outcome could not be written (a full disk, a file corrupted meanwhile), so
            # upload-state.json still says uploading: put it back to pending as soon as the
            # disk takes writes again. The next attempt finds what is already in the bucket.
            self._report(session_id, exc)
            with self._lock:
                self._unfinished.add(session_id)
            return False
        finally:
            with self._lock:
                self._current = None

    def _requeue_unfinished(self) -> bool:
        with self._lock:
            waiting = sorted(self._unfinished)
        now = self._clock.now_ms()
        for session_id in waiting:

            def change(s: UploadState | None) -> UploadState | None:
                return transitions.interrupted(s, now) if s is not None and s.status is UploadStatus.UPLOADING else None

            try:
                before, after = update_state(self._ctx, session_id, change)
            except TraycapError as exc:
                self._report(session_id, exc)
                continue
            with self._lock:
                self._unfinished.discard(session_id)
            if after is not None and after != before:
                log.info("session %s: uploading -> pending (its last attempt could not be saved)", session_id)
                self._announce(after)
                return True
        return False

    def _attempt_with(self, session_id: str, token: CancelToken) -> bool:
        now = self._clock.now_ms()
        started: list[UploadState] = []

        def begin(state: UploadState | None) -> UploadState | None:
            if state is None or not transitions.eligible(state, now):
                return None  # cancelled or changed by another process since the scan
            started.append(transitions.attempt_started(state, now))
            return started[0]

        try:
            update_state(self._ctx, session_id, begin)
        except TraycapError as exc:  # e.g. a full disk: nothing was done, so the worker waits before trying again
            self._report(session_id, exc)
            return False
        if not started:
            return True
        state = started[0]
        log.info(
            "session %s: pending -> uploading (attempt %d of at most %d)",
            session_id, state.retryCount + 1, state.maxRetries + 1,
        )
        self._announce(state)
        # The multipart upload this attempt works on, kept current by its checkpoints:
        # after a cancel the state on disk no longer names it, but it must be aborted.
        multipart: dict[str, str | None] = {"key": state.s3Key, "uploadId": state.uploadId}
        if token.cancelled:
            self._finish_stopped(session_id, token, multipart)
            return True
        try:
            result = self._upload(state, token, multipart)
        except Exception as exc:
            if token.cancelled:
                self._finish_stopped(session_id, token, multipart)
            else:
                self._finish_failed(session_id, state, exc)
            return True
        self._finish_done(session_id, result)
        return True

    def _upload(self, state: UploadState, token: CancelToken, multipart: dict[str, str | None]) -> UploadResult:
        session_id = state.sessionId
        source = check_uploadable(self._ctx, session_id)
        engine = self._engine_for(source.config)
        key = state.s3Key or s3_key(source.config, session_id)
        multipart["key"] = key
        last_check = [float("-inf")]

        def cancelled_on_disk() -> bool:
            try:
                current = self._ctx.states.read(session_id)
            except CorruptFile:
                return False  # keep going; the checkpoint write will replace it
            return current is None or current.status is not UploadStatus.UPLOADING

        def on_progress(done: int, total: int) -> None:
            pct = 100 if total <= 0 else max(0, min(100, done * 100 // total))
            self._bus.publish(UploadProgress(session_id, UploadStatus.UPLOADING, done, total, pct))
            mono = self._clock.monotonic()
            if mono - last_check[0] >= DISK_CHECK_S:
                last_check[0] = mono
                if not token.cancelled and cancelled_on_disk():
                    log.info("session %s was cancelled by another process; stopping its upload", session_id)
                    token.cancel(StopKind.CANCEL)

        def on_checkpoint(point: ResumePoint | None) -> None:
            multipart["uploadId"] = point.uploadId if point is not None else None
            now = self._clock.now_ms()
            stale: list[bool] = []

            def change(s: UploadState | None) -> UploadState | None:
                if s is None or s.status is not UploadStatus.UPLOADING:
                    stale.append(True)
                    return None
                return transitions.checkpointed(s, point, now)

            try:
                update_state(self._ctx, session_id, change)
            except TraycapError as exc:  # e.g. disk full: the upload can still finish
                log.warning("session %s: could not save upload progress: %s", session_id, exc.user_text())
                return
            if stale and not token.cancelled:
                log.info("session %s was cancelled by another process; stopping its upload", session_id)
                token.cancel(StopKind.CANCEL)

        result = engine.upload_file(
            source.zip_path, key, sha256=source.meta.sha256, resume=transitions.resume_point(state),
            on_progress=on_progress, on_checkpoint=on_checkpoint, cancel=token,
        )
        if source.meta.sha256 and result.sha256.lower() != source.meta.sha256.lower():
            raise VerificationFailed(
                f"The uploaded object's SHA-256 ({result.sha256[:12]}…) differs from the exported zip's"
            )
        return result

    def _finish_done(self, session_id: str, result: UploadResult) -> None:
        now = self._clock.now_ms()

        def change(s: UploadState | None) -> UploadState | None:
            if s is None or s.status is not UploadStatus.UPLOADING:
                return None
            return transitions.succeeded(s, result, now)

        before, after = update_state(self._ctx, session_id, change)
        if after is None or after.status is not UploadStatus.DONE or after == before:
            log.warning("session %s finished uploading after it was cancelled; its state stays as it is", session_id)
            return
        log.info("session %s: uploading -> done (%s, %d bytes)", session_id, result.key, result.size)
        self._announce(after)

    def _finish_stopped(self, session_id: str, token: CancelToken, multipart: dict[str, str | None]) -> None:
        now = self._clock.now_ms()
        if token.kind is StopKind.SHUTDOWN:
            def change(s: UploadState | None) -> UploadState | None:
                if s is None or s.status is not UploadStatus.UPLOADING:
                    return None
                return transitions.interrupted(s, now)

            _, after = update_state(self._ctx, session_id, change)
            if after is not None:
                log.info("session %s: uploading -> pending (stopped; resumes on the next start)", session_id)
                self._announce(after)
            return

        def cancel_change(s: UploadState | None) -> UploadState | None:
            if s is None or s.status is not UploadStatus.UPLOADING:
                return None  # cancel() already wrote not_uploaded
            return transitions.cancelled(s, now)

        _, after = update_state(self._ctx, session_id, cancel_change)
        if after is not None:
            self._announce(after)
        # The engine aborts on CANCEL too; this makes sure (abort is idempotent) even
        # when its own abort raced a connection it had just cut.
        key, upload_id = multipart.get("key"), multipart.get("uploadId")
        if key and upload_id:
            with self._lock:
                self._aborts.appendleft((key, upload_id))
            self._run_one_abort()

    def _finish_failed(self, session_id: str, state: UploadState, exc: Exception) -> None:
        now = self._clock.now_ms()
        if isinstance(exc, TraycapError):
            text, transient = exc.user_text(), exc.transient
            if isinstance(exc, UploadCancelled):
                transient = True  # the engine stopped without being asked: try again later
        else:
            log.error("session %s: unexpected upload error", session_id, exc_info=exc)
            text, transient = f"Unexpected error: {type(exc).__name__}: {exc}", True
        text = redact(text)
        # Parts of a different or bad file are worth nothing: drop them.
        drop_parts = isinstance(exc, (SessionError, VerificationFailed))
        abort: list[tuple[str, str]] = []

        def change(s: UploadState | None) -> UploadState | None:
            if s is None or s.status is not UploadStatus.UPLOADING:
                return None
            new = transitions.attempt_failed(
                s, text, transient=transient, now_ms=now, offline=isinstance(exc, NetworkError)
            )
            if new.status is UploadStatus.FAILED and isinstance(exc, UploadRetryable):
                # "traycap will retry automatically" is untrue after the last retry.
                new = new.with_(lastError=redact(exc.gave_up_text(s.retryCount + 1)))
            if drop_parts and new.uploadId and new.s3Key:
                abort.append((new.s3Key, new.uploadId))
                new = new.with_(uploadId=None, partSize=None, parts=(), bytesUploaded=0)
            return new

        _, after = update_state(self._ctx, session_id, change)
        with self._lock:
            self._aborts.extend(abort)
            if after is not None and after.nextAttemptAt and isinstance(exc, (NetworkError, Throttled)):
                self._hold_until_ms, self._hold_session = after.nextAttemptAt, session_id
        if after is None:
            return
        if after.status is UploadStatus.FAILED:
            log.warning("session %s: uploading -> failed: %s", session_id, after.lastError)
        else:
            log.info(
                "session %s: uploading -> pending (retry %d of %d in %.0f s): %s",
                session_id, after.retryCount, after.maxRetries, ((after.nextAttemptAt or now) - now) / 1000, text,
            )
        self._announce(after)


@dataclasses.dataclass(frozen=True)
class _Scanned:
    sessionId: str
    state: UploadState | None
