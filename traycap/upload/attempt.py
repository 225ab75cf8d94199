"""One upload attempt of one session, and its bookkeeping on disk.

    begin      pending -> uploading (only if still eligible: another process may have cancelled it)
    upload     the engine's upload_file; every checkpoint is written to upload-state.json, and
               every DISK_CHECK_S the state on disk is read: a cancel written by another
               process stops the upload (StopKind.CANCEL), paused uploads stop it at the
               next part boundary (StopKind.PAUSE, it stays pending). Before every part the
               live lanes of every process are asked how many parts may be in flight
               (upload/priority.py: one while a live session records, none from its Stop
               until it is verified)
    finish     uploading -> done | pending (backoff, or stopped by quit) | failed | not_uploaded

Each transition is written (atomically, under `state_lock`) before it is
announced. Every write after `begin` applies only while the state on disk
still says uploading (`transitions.while_uploading`): a cancel by another
process always wins.
"""

from __future__ import annotations

import logging
import threading
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
    UploadStalled,
    VerificationFailed,
)
from traycap.logs import redact
from traycap.models import UploadProgress, UploadState, UploadStatus
from traycap.upload import transitions
from traycap.upload.aborts import PendingAborts
from traycap.upload.engine import EngineCache, PartPacing, ResumePoint, UploadResult
from traycap.upload.pause import uploads_paused
from traycap.upload.requests import DISK_CHECK_S, check_uploadable, s3_key, update_state
from traycap.upload.scheduler import Problems, Scheduler
from traycap.upload.transitions import while_uploading

log = logging.getLogger(__name__)

Announce = Callable[[UploadState], None]
Publish = Callable[[UploadProgress], object]


class Multipart:
    """The multipart upload an attempt works on, kept current by its checkpoints: after a
    cancel the state on disk no longer names it, but it must be aborted."""

    def __init__(self, key: str | None, upload_id: str | None) -> None:
        self.key = key
        self.upload_id = upload_id


class _Pacing:
    """The engine's PartPacing for one attempt: the disk is looked at (a cancel, a pause) before
    every part and while parts wait, then the live lanes say how many parts may be in flight."""

    def __init__(self, check_disk: Callable[[], None], priority: PartPacing) -> None:
        self._check_disk = check_disk
        self._priority = priority

    def parts_allowed(self) -> int | None:
        self._check_disk()
        return self._priority.parts_allowed()


class AttemptRunner:
    def __init__(
        self,
        ctx: Context,
        clock: Clock,
        *,
        engines: EngineCache,
        aborts: PendingAborts,
        scheduler: Scheduler,
        problems: Problems,
        announce: Announce,
        publish: Publish,
        priority: PartPacing,
    ) -> None:
        self._ctx = ctx
        self._priority = priority
        self._clock = clock
        self._engines = engines
        self._aborts = aborts
        self._scheduler = scheduler
        self._problems = problems
        self._announce = announce
        self._publish = publish
        self._lock = threading.Lock()
        self._unfinished: set[str] = set()  # attempts whose outcome could not be written

    def run(self, session_id: str, token: CancelToken) -> bool:
        """One attempt; True if it did something (even if the session turned out not to be eligible)."""
        try:
            return self._run(session_id, token)
        except TraycapError as exc:
            # Its outcome could not be written (a full disk, a file corrupted meanwhile), so
            # upload-state.json still says uploading: put it back to pending as soon as the
            # disk takes writes again. The next attempt finds what is already in the bucket.
            self._problems.report(session_id, exc)
            with self._lock:
                self._unfinished.add(session_id)
            return False

    def requeue_unfinished(self) -> bool:
        """uploading -> pending for an attempt whose outcome could not be written; True if one was."""
        with self._lock:
            waiting = sorted(self._unfinished)
        now = self._clock.now_ms()
        for session_id in waiting:
            try:
                before, after = update_state(
                    self._ctx, session_id, while_uploading(lambda s: transitions.interrupted(s, now))
                )
            except TraycapError as exc:
                self._problems.report(session_id, exc)
                continue
            with self._lock:
                self._unfinished.discard(session_id)
            if after is not None and after != before:
                log.info("session %s: uploading -> pending (its last attempt could not be saved)", session_id)
                self._announce(after)
                return True
        return False

    # --- the steps ----------------------------------------------------------------
    def _run(self, session_id: str, token: CancelToken) -> bool:
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
            self._problems.report(session_id, exc)
            return False
        if not started:
            return True
        state = started[0]
        log.info(
            "session %s: pending -> uploading (attempt %d of at most %d)",
            session_id, state.retryCount + 1, state.maxRetries + 1,
        )
        self._announce(state)
        multipart = Multipart(state.s3Key, state.uploadId)
        if token.cancelled:
            self._finish_stopped(session_id, token, multipart)
            return True
        try:
            result = self._upload(state, token, multipart)
        except Exception as exc:
            if token.cancelled:
                self._finish_stopped(session_id, token, multipart)
            else:
                self._finish_failed(session_id, exc)
            return True
        self._finish_done(session_id, result)
        return True

    def _upload(self, state: UploadState, token: CancelToken, multipart: Multipart) -> UploadResult:
        session_id = state.sessionId
        source = check_uploadable(self._ctx, session_id)
        engine = self._engines.get(source.config)
        key = state.s3Key or s3_key(source.config, source.meta)
        multipart.key = key
        last_check = float("-inf")

        def stop_cancelled() -> None:
            if not token.cancelled:
                log.info("session %s was cancelled by another process; stopping its upload", session_id)
                token.cancel(StopKind.CANCEL)

        def cancelled_on_disk() -> bool:
            try:
                current = self._ctx.states.read(session_id)
            except CorruptFile:
                return False  # keep going; the checkpoint write will replace it
            return current is None or current.status is not UploadStatus.UPLOADING

        def check_disk() -> None:
            nonlocal last_check
            mono = self._clock.monotonic()
            if mono - last_check < DISK_CHECK_S:
                return
            last_check = mono
            if not token.cancelled and cancelled_on_disk():
                stop_cancelled()
            elif not token.cancelled and uploads_paused(self._ctx.paths):
                log.info("uploads were paused; session %s stops at the next part boundary", session_id)
                token.cancel(StopKind.PAUSE)

        def on_progress(done: int, total: int) -> None:
            pct = 100 if total <= 0 else max(0, min(100, done * 100 // total))
            self._publish(UploadProgress(session_id, UploadStatus.UPLOADING, done, total, pct))
            check_disk()

        def on_checkpoint(point: ResumePoint | None) -> None:
            multipart.upload_id = point.uploadId if point is not None else None
            now = self._clock.now_ms()
            try:
                before, _ = update_state(
                    self._ctx, session_id, while_uploading(lambda s: transitions.checkpointed(s, point, now))
                )
            except TraycapError as exc:  # e.g. disk full: the upload can still finish
                log.warning("session %s: could not save upload progress: %s", session_id, exc.user_text())
                return
            if before is None or before.status is not UploadStatus.UPLOADING:
                stop_cancelled()

        result = engine.upload_file(
            source.zip_path, key, sha256=source.meta.sha256, resume=transitions.resume_point(state),
            on_progress=on_progress, on_checkpoint=on_checkpoint, cancel=token,
            pacing=_Pacing(check_disk, self._priority), crc32=source.meta.crc32,
        )
        if source.meta.sha256 and result.sha256.lower() != source.meta.sha256.lower():
            raise VerificationFailed(
                f"The uploaded object's SHA-256 ({result.sha256[:12]}…) differs from the exported zip's"
            )
        return result

    def _finish_done(self, session_id: str, result: UploadResult) -> None:
        now = self._clock.now_ms()
        before, after = update_state(
            self._ctx, session_id, while_uploading(lambda s: transitions.succeeded(s, result, now))
        )
        if after is None or after.status is not UploadStatus.DONE or after == before:
            log.warning("session %s finished uploading after it was cancelled; its state stays as it is", session_id)
            return
        log.info("session %s: uploading -> done (%s, %d bytes)", session_id, result.key, result.size)
        self._announce(after)

    def _finish_stopped(self, session_id: str, token: CancelToken, multipart: Multipart) -> None:
        now = self._clock.now_ms()
        if token.kind in (StopKind.SHUTDOWN, StopKind.PAUSE):
            _, after = update_state(self._ctx, session_id, while_uploading(lambda s: transitions.interrupted(s, now)))
            if after is not None:
                why = "uploads paused" if token.kind is StopKind.PAUSE else "stopped; resumes on the next start"
                log.info("session %s: uploading -> pending (%s)", session_id, why)
                self._announce(after)
            return
        # cancel() may already have written not_uploaded
        _, after = update_state(self._ctx, session_id, while_uploading(lambda s: transitions.cancelled(s, now)))
        if after is not None:
            self._announce(after)
        # The engine aborts on CANCEL too; this makes sure (abort is idempotent) even
        # when its own abort raced a connection it had just cut.
        if multipart.key and multipart.upload_id:
            self._aborts.add(multipart.key, multipart.upload_id, first=True)
            self._aborts.run_one()

    def _finish_failed(self, session_id: str, exc: Exception) -> None:
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

        def move(s: UploadState) -> UploadState:
            if isinstance(exc, UploadStalled):
                gave_up = f"Part {exc.part} was never accepted by {exc.endpoint}; the server may be faulty"
                new = transitions.stalled(s, text, now_ms=now, gave_up=redact(gave_up))
            else:
                new = transitions.attempt_failed(
                    s, text, transient=transient, now_ms=now, offline=isinstance(exc, NetworkError)
                )
                if new.status is UploadStatus.FAILED and isinstance(exc, UploadRetryable):
                    # "traycap will retry automatically" is untrue after the last retry.
                    new = new.with_(lastError=redact(exc.gave_up_text(s.retryCount + 1)))
                if drop_parts:
                    new = new.with_(uploadId=None, partSize=None, parts=(), bytesUploaded=0, stampAfterComplete=False)
            if s.uploadId and s.s3Key and new.uploadId is None:
                abort.append((s.s3Key, s.uploadId))
            return new

        _, after = update_state(self._ctx, session_id, while_uploading(move))
        self._aborts.extend(abort)
        if after is not None and after.nextAttemptAt and isinstance(exc, (NetworkError, Throttled)):
            self._scheduler.hold(after.nextAttemptAt, session_id)
        if after is None:
            return
        if after.status is UploadStatus.FAILED:
            log.warning("session %s: uploading -> failed: %s", session_id, after.lastError)
        elif isinstance(exc, UploadStalled):
            log.warning("session %s: uploading -> pending (stalled; %d fresh start(s)): %s",
                        session_id, after.freshStarts, text)
        else:
            log.info(
                "session %s: uploading -> pending (retry %d of %d in %.0f s): %s",
                session_id, after.retryCount, after.maxRetries, ((after.nextAttemptAt or now) - now) / 1000, text,
            )
        self._announce(after)
