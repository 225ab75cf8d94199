"""The live upload lane: a recording's bundle uploaded while it is recorded (issue: instant share).

One LiveUpload per recording, in the recording process, beside the serial queue (not in it).
It implements the recorder's LiveSink protocol (traycap/recorder/api.py) structurally:

    lane = LiveUpload(ctx, session_id, zip_path, engine=..., clock=..., limiter=..., on_progress=...)
    lane.committed(size)          # bundler: bytes [0, size) of the zip are final -> whole parts go
    lane.finished(size, sha256)   # bundler at Stop: the zip is complete -> last part, Complete,
                                  # verify, stamp x-amz-meta-sha256 (self-copy), state done
    lane.abandon()                # recording ended without a finished zip: keep state for resume
    lane.cancel()                 # user: abort the multipart upload, recording goes on
    lane.wait(timeout)            # until done / failed / handed over (`traycap record`, tests)
    lane.handover()               # process exits: state `pending` with the resume point (the queue
                                  # completes the same multipart upload), or stays `live` if the
                                  # zip is not finished (recovery finishes it first)

Constructing the lane writes not_uploaded -> live (upload-state.json) and starts its thread.

The parts go through the queue's multipart driver (upload/s3/multipart.py) with a GrowingSource:
part n of LIVE_PART_SIZE is sent once n*P bytes are committed, the short last part after
`finished`; at most `concurrency` parts are read into memory at once; every accepted part is
checkpointed (its state file: live_state.py). What is left here is the lane's policy:
- when: not before the first whole part (CreateMultipartUpload, without x-amz-meta-sha256 unless
  the zip is finished already), not while uploads are paused, not during a backoff;
- an outage (a retryable error): tried again after a backoff capped at RETRY_CAP_S, for as long
  as it takes (the backlog is on disk); a permanent error (credentials, bucket): live -> failed,
  the multipart upload kept, the recording goes on;
- a stall (the driver's rule): a fresh multipart upload from part 1, within the budget of
  transitions.FRESH_STARTS; past it nothing more is sent while recording (the queue takes over
  after the hand-over);
- before each part and every DISK_CHECK_S while waiting, the state file: a `traycap cancel ID`
  from another process (live -> not_uploaded) stops the lane and aborts the multipart upload;
- at Stop: Complete, verify (size + the parts' checksums), stamp (self-copy with
  x-amz-meta-sha256) and HEAD, then live -> done with the same UploadProgress event the queue
  emits, so the tray offers the link as after a queued upload;
- queue priority (upload/priority.py): the lane marks itself in the data dir while it runs, and
  as stopped from `finished`, so every process's queue holds back its parts.

`step()` is one synchronous round (like the queue's process_one): tests drive it with a
FakeClock and an inline executor; the thread calls it until the lane ends.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Protocol

from traycap.cancel import CancelToken, StopKind
from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import CorruptFile, TraycapError, UploadCancelled, UploadError, UploadGone, UploadStalled
from traycap.models import MIB, CompletedPart, UploadConfig, UploadProgress, UploadState, UploadStatus
from traycap.upload import transitions
from traycap.upload.backoff import backoff_ms
from traycap.upload.bandwidth import TokenBucket
from traycap.upload.engine import PartPacing, ResumePoint, UploadResult
from traycap.upload.live_state import LiveState
from traycap.upload.pause import uploads_paused
from traycap.upload.priority import LaneMarker, remove_stale
from traycap.upload.requests import DISK_CHECK_S, s3_key, update_state
from traycap.upload.s3.multipart import DriverSink, MultipartDriver
from traycap.upload.s3.sources import GrowingSource, PartSource

log = logging.getLogger(__name__)

LIVE_PART_SIZE = 8 * MIB
LIVE_CONCURRENCY = 2
RETRY_CAP_S = 30.0  # an outage while recording: tried again at least this often, to catch up soon after
HANDOVER_S = 10.0  # how long handover() waits for the parts in flight

ProgressSink = Callable[[UploadProgress], object]


class LiveEngine(Protocol):
    """What the lane needs of the S3 engine (upload/s3/service.py UploadService)."""

    config: UploadConfig
    bandwidth: TokenBucket | None

    def multipart(
        self,
        source: PartSource,
        key: str,
        *,
        sink: DriverSink,
        token: CancelToken,
        pacing: PartPacing | None = None,
        limiter: TokenBucket | None = None,
        concurrency: int | None = None,
        executor: Executor | None = None,
        wake: threading.Event | None = None,
    ) -> MultipartDriver: ...

    def verify(
        self, key: str, *, size: int, sha256: str, parts: list[CompletedPart] | None,
        single_checksum: str | None = None,
    ) -> None: ...

    def stamp(
        self, key: str, *, size: int, sha256: str, parts: list[CompletedPart], wake: threading.Event | None = None,
    ) -> None: ...

    def abort(self, key: str, upload_id: str) -> None: ...


class _Stop(enum.Enum):
    ABANDON = "abandon"  # no new part; the state stays live
    HANDOVER = "handover"  # the same, then live -> pending if the zip is finished
    CANCEL = "cancel"  # abort the multipart upload, live -> not_uploaded
    CANCELLED = "cancelled elsewhere"  # another process wrote not_uploaded: abort, write nothing


def hand_over(ctx: Context, session_id: str, *, total: int, now_ms: int | None = None) -> UploadState | None:
    """live -> pending for a recording whose zip is finished (`total` bytes) but whose lane is gone
    or did not finish (the process exits, or start-up recovery after a crash). The queue resumes
    the same multipart upload and stamps x-amz-meta-sha256. Returns the new state, or None when the
    session is not live (nothing to do)."""
    now = ctx.clock.now_ms() if now_ms is None else now_ms

    def change(state: UploadState | None) -> UploadState | None:
        if state is None or state.status is not UploadStatus.LIVE:
            return None
        return transitions.handed_over(state, total=total, now_ms=now)

    before, after = update_state(ctx, session_id, change)
    remove_stale(ctx.paths, session_id)  # a crashed lane's priority marker
    if after is None or after == before:
        return None
    log.info("session %s: live -> pending (the queue finishes its upload, %d bytes)", session_id, total)
    return after


class LiveUpload:
    def __init__(
        self,
        ctx: Context,
        session_id: str,
        zip_path: Path,
        *,
        engine: LiveEngine,
        clock: Clock | None = None,
        limiter: TokenBucket | None = None,
        on_progress: ProgressSink | None = None,
        part_size: int = LIVE_PART_SIZE,
        concurrency: int = LIVE_CONCURRENCY,
        executor: Executor | None = None,
        start: bool = True,
    ) -> None:
        """`limiter`: the rate cap to share with the queue (None: the engine's own). `executor`:
        where parts are sent (tests pass an inline one; by default `concurrency` threads).
        `start=False`: no thread; the caller drives `step()`.

        Writes not_uploaded -> live at once (a live state of this session is taken over with its
        multipart upload). Raises IllegalTransition for a session in another state (queued,
        uploaded, failed) and a StorageError when the state cannot be written: the composition
        then records without a lane."""
        self._ctx = ctx
        self._sid = session_id
        self._clock: Clock = clock or ctx.clock
        self._state = LiveState(ctx, session_id, self._clock)
        self._engine = engine
        self._on_progress = on_progress
        self._part_size = part_size
        self._key = s3_key(engine.config, ctx.sessions.read_meta(session_id))
        self._lock = threading.Lock()
        self._wake = threading.Event()  # committed / finished / a part's result / a stop
        self._ended = threading.Event()
        self._source = GrowingSource(Path(zip_path), part_size)
        self._token = CancelToken()
        self._driver = engine.multipart(
            self._source, self._key, sink=self, token=self._token, pacing=self,
            limiter=limiter if limiter is not None else engine.bandwidth, concurrency=concurrency,
            executor=executor, wake=self._wake,
        )
        self._stop: _Stop | None = None  # under _lock
        self._finished_at: int | None = None  # when the zip was finished (Stop): "done in 2 s" counts from it
        # the lane thread's own
        self._resume: ResumePoint | None = None  # a live state taken over, resumed at the first round
        self._begun = False  # the driver has an upload (created or resumed)
        self._parts_saved = 0
        self._verified = False
        self._failures = 0
        self._retry_at = float("-inf")
        self._last_check = float("-inf")
        self._error: str | None = None  # the trouble shown in the state (an outage), None when sending
        self._fresh_starts = 0  # the stall budget (transitions.FRESH_STARTS), in memory
        self._stuck = False  # a fresh upload stalled too: nothing more is sent while recording
        self._outcome: UploadState | None = None
        self._begin()
        self._marker = LaneMarker(ctx.paths, session_id, self._clock)
        self._marker.hold()
        self._thread: threading.Thread | None = None
        if start:
            self._thread = threading.Thread(target=self._run, name=f"traycap-live-{session_id}", daemon=True)
            self._thread.start()

    # --- LiveSink (any thread; all return at once) ------------------------------------
    def committed(self, size: int) -> None:
        self._source.committed(size)
        self._wake.set()

    def finished(self, size: int, sha256: str) -> None:
        self._source.finished(size, sha256)
        with self._lock:
            self._finished_at = self._clock.now_ms()
        self._marker.stopped()  # the queue starts no new part until this one is verified
        self._wake.set()

    def abandon(self) -> None:
        self._request_stop(_Stop.ABANDON)

    @property
    def abandoned(self) -> bool:
        """The recorder gave up its live bundle (abandon): what was sent is not known to be the zip."""
        with self._lock:
            return self._stop is _Stop.ABANDON

    # --- the user, the composition ----------------------------------------------------
    def cancel(self) -> None:
        """Abort the multipart upload; nothing more is sent. The recording goes on."""
        self._request_stop(_Stop.CANCEL)

    def wait(self, timeout: float | None = None) -> bool:
        """True once the lane ended: done, failed, cancelled, abandoned or handed over."""
        return self._ended.wait(timeout)

    def handover(self, timeout: float = HANDOVER_S) -> UploadState | None:
        """The process exits: parts in flight finish (up to `timeout`), no new part goes; with a
        finished zip the session goes live -> pending for the queue. Returns the state on disk."""
        self._request_stop(_Stop.HANDOVER)
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            for _ in range(1000):
                if self._ended.is_set():
                    break
                self.step()
        size = self._source.size
        if size is not None and self._outcome is None:
            state = hand_over(self._ctx, self._sid, total=size, now_ms=self._clock.now_ms())
            if state is not None:
                self._publish(UploadProgress.of(state))
        return self._read()

    @property
    def outcome(self) -> UploadState | None:
        """The state the lane ended with (done, failed, not_uploaded), None while it runs or when
        it stopped without an end of its own (abandoned, handed over)."""
        return self._outcome

    @property
    def bytes_sent(self) -> int:
        """Request-body bytes this lane put on the wire (a part tried twice counts twice)."""
        return self._driver.bytes_sent

    @property
    def upload_id(self) -> str | None:
        if self._resume is not None:
            return self._resume.uploadId
        return self._driver.upload_id

    # --- one round ----------------------------------------------------------------------
    def step(self) -> bool:
        """Harvest finished parts, notice stops and cancels, send what is ready, or finish.
        True if it did something."""
        if self._ended.is_set():
            return False
        if not self._token.cancelled and self._check_disk(force=False):
            return True
        try:
            return self._round()
        except UploadCancelled:
            self._stopped()
        except UploadStalled as exc:
            self._stalled(exc)
        except UploadGone:
            self._gone()
        except Exception as exc:
            self._handle_error(exc, "the live upload")
        return True

    def idle_delay(self) -> float:
        """How long the thread waits for a wake-up before the next round."""
        left = self._retry_at - self._clock.monotonic()
        return max(0.0, min(DISK_CHECK_S, left)) if left > 0 else DISK_CHECK_S

    def _round(self) -> bool:
        driver = self._driver
        did = False
        stopping = self._token.cancelled
        if self._begun or stopping:
            did = driver.step()  # harvest; stops raise UploadCancelled; ready parts go as paced
        if self._token.cancelled or self._ended.is_set():
            # a stop is carried out by a next round, once no part is in flight
            return did or not stopping
        if self._held():
            return did
        if not self._begun:
            if self._source.ready() == 0:
                return did  # no whole part yet: nothing asked of S3
            self._sending_again()
            driver.begin(self._resume)
            self._begun, self._resume = True, None
            return True
        if driver.all_sent:
            self._finish()
            return True
        return did

    # --- PartPacing: asked by the driver before every part ------------------------------
    def parts_allowed(self) -> int | None:
        # Before each part: a cancel written by another process, or a pause, stops it here.
        if self._check_disk(force=True) or self._held():
            return 0
        return None

    def _held(self) -> bool:
        """No request now: uploads are paused, a backoff runs, or the upload stalls for good."""
        return uploads_paused(self._ctx.paths) or self._clock.monotonic() < self._retry_at or self._stuck

    # --- DriverSink: the driver's checkpoints (on the lane thread) ------------------------
    def checkpoint(self, point: ResumePoint | None) -> None:
        accepted = point is not None and len(point.parts) > self._parts_saved
        self._parts_saved = len(point.parts) if point is not None else 0
        if accepted:
            self._sending_again()
        try:
            after = self._state.checkpoint(point, committed=self._source.committed_size, error=self._error)
        except TraycapError as exc:  # e.g. a full disk: the parts are in the bucket, saved at the next one
            log.warning("session %s: live upload: %s", self._sid, exc.user_text())
            self._retry_later(exc.user_text())
            return
        if after is None or after.status is not UploadStatus.LIVE:
            self._check_disk(force=True)
        elif accepted:
            self._live_progress()

    def progress(self, done: int) -> None:
        """Bytes within a part: the lane reports whole parts only (checkpoint)."""

    # --- internals ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._ended.is_set():
                self._wake.clear()
                if not self.step():
                    self._clock.sleep(self.idle_delay(), wake=self._wake)
        except Exception:
            log.exception("session %s: the live upload lane failed; the recording goes on", self._sid)
            self._end(None)

    def _begin(self) -> None:
        """not_uploaded -> live, or take over a live state (this process's earlier lane)."""
        written, taken = self._state.go_live(key=self._key, max_retries=self._engine.config.maxRetries)
        point = transitions.resume_point(taken) if taken is not None else None
        if taken is not None and point is not None and point.partSize == self._part_size and taken.s3Key == self._key:
            self._resume = point
            log.info("session %s: live upload %s taken over with %d parts", self._sid, point.uploadId,
                     len(point.parts))
        elif taken is not None and point is not None and taken.s3Key:
            # Parts of another size (or key) cannot go on: a fresh upload replaces it at the first part.
            try:
                self._engine.abort(taken.s3Key, point.uploadId)
            except TraycapError as exc:
                log.warning("session %s: could not abort its earlier live upload: %s", self._sid, exc.user_text())
        elif written is not None:
            log.info("session %s: not_uploaded -> live (uploading while recording to %s)", self._sid, self._key)
            self._publish(UploadProgress.of(written))

    def _request_stop(self, stop: _Stop) -> None:
        with self._lock:
            # a cancel wins over everything, handover over abandon
            if self._stop in (_Stop.CANCEL, _Stop.CANCELLED):
                return
            if self._stop is None or stop is not _Stop.ABANDON:
                self._stop = stop
        cancelling = stop in (_Stop.CANCEL, _Stop.CANCELLED)
        self._token.cancel(StopKind.CANCEL if cancelling else StopKind.SHUTDOWN)
        self._wake.set()

    def _stopped(self) -> None:
        """The driver stopped as asked (a CANCEL aborted the multipart upload first)."""
        with self._lock:
            stop = self._stop
        if stop is _Stop.CANCEL or stop is _Stop.CANCELLED:
            if self._driver.upload_id is not None:  # a hand-over's stop came first: not aborted yet
                self._driver.drop()
            written = self._state.cancelled() if stop is _Stop.CANCEL else None
            log.info("session %s: live -> not_uploaded (cancelled; the recording goes on)", self._sid)
            self._end(written or self._read(), announce=True)
            return
        log.info("session %s: live upload stopped (%s); sent so far is kept for resume", self._sid,
                 stop.value if stop else "stop")
        self._end(None)

    def _end(self, outcome: UploadState | None, *, announce: bool = False) -> None:
        if announce and outcome is not None:
            self._publish(UploadProgress.of(outcome))
        self._outcome = outcome
        self._ended.set()
        self._wake.set()
        self._marker.release()
        self._driver.close()

    def _publish(self, event: UploadProgress) -> None:
        if self._on_progress is None:
            return
        try:
            self._on_progress(event)
        except Exception:
            log.exception("a live upload progress subscriber failed on %s", self._sid)

    def _live_progress(self) -> None:
        total = self._source.size or self._source.committed_size
        done = self._driver.done_bytes()
        pct = 0 if total <= 0 else max(0, min(100, done * 100 // total))
        self._publish(UploadProgress(self._sid, UploadStatus.LIVE, done, total, pct, self._error))

    def _check_disk(self, *, force: bool) -> bool:
        """Read the state file (every DISK_CHECK_S, or now): True if the session is no longer live
        (cancelled by another process: the next round aborts; taken by another: the lane ends)."""
        mono = self._clock.monotonic()
        if not force and mono - self._last_check < DISK_CHECK_S:
            return False
        self._last_check = mono
        try:
            state = self._state.read()
        except CorruptFile:
            return False  # the next checkpoint replaces it
        if state is not None and state.status is UploadStatus.LIVE:
            return False
        if state is None or state.status is UploadStatus.NOT_UPLOADED:
            if not self._token.cancelled:
                log.info("session %s was cancelled by another process; its live upload stops", self._sid)
            self._request_stop(_Stop.CANCELLED)
        elif not self._ended.is_set():
            log.info("session %s is %s now; its live upload stops", self._sid, state.status.value)
            self._end(None)
        return True

    def _read(self) -> UploadState | None:
        try:
            return self._state.read()
        except CorruptFile:
            return None

    def _retry_later(self, error: str) -> None:
        self._failures += 1
        delay = min(backoff_ms(self._failures - 1) / 1000, RETRY_CAP_S)
        self._retry_at = self._clock.monotonic() + delay
        if error != self._error:
            self._error = error
            log.warning("session %s: live upload: %s; trying again in %.0f s", self._sid, error, delay)
            with contextlib.suppress(TraycapError):
                self._state.note(committed=self._source.committed_size, error=error)
            self._live_progress()

    def _sending_again(self) -> None:
        if self._failures or self._error:
            log.info("session %s: the live upload sends again", self._sid)
        self._failures = 0
        self._error = None

    def _handle_error(self, exc: BaseException, what: str) -> None:
        """A permanent error: live -> failed, nothing more is sent (the multipart upload is kept).
        Any other: tried again after a backoff."""
        if isinstance(exc, UploadError) and not exc.transient:
            text = exc.user_text()
            log.warning("session %s: live -> failed: %s (the recording goes on)", self._sid, text)
            self._end(self._state.failed(text), announce=True)
        elif isinstance(exc, TraycapError):
            self._retry_later(exc.user_text())
        else:
            log.error("session %s: %s failed unexpectedly", self._sid, what, exc_info=exc)
            self._retry_later(f"Unexpected error: {type(exc).__name__}")

    def _stalled(self, exc: UploadStalled) -> None:
        """The stall rule's consequence (the same budget as the queue's): a fresh multipart upload
        from part 1, or, once a fresh one stalled too, nothing more until Stop and the hand-over."""
        if transitions.gives_up_stalling(self._fresh_starts):
            self._stuck = True
            log.warning("session %s: the live upload stalls again (%s); the rest is sent after Stop",
                        self._sid, exc.message)
            return
        self._fresh_starts += 1
        log.warning("session %s: live upload %s abandoned for stalling (%s); starting a fresh one", self._sid,
                    self._driver.upload_id, exc.message)
        self._driver.drop()
        self._begun = False
        self._retry_at = float("-inf")

    def _gone(self) -> None:
        """NoSuchUpload: aborted by a cancel (another process) or expired: cancelled, or start afresh."""
        self._begun = False
        if self._check_disk(force=True):
            return
        log.warning("session %s: its live upload is gone; starting a new one", self._sid)

    def _finish(self) -> None:
        size, sha256 = self._source.size, self._source.sha256
        assert size is not None and sha256 is not None
        driver = self._driver
        parts = driver.parts()
        if not driver.completed:
            driver.complete()
        if not self._verified:
            self._engine.verify(self._key, size=size, sha256=sha256, parts=parts)
            self._verified = True
            log.info("session %s: live upload complete and verified (%d bytes, %d parts)", self._sid, size, len(parts))
            self._publish(UploadProgress(self._sid, UploadStatus.LIVE, size, size, 100))
        if driver.stamp_after_complete:
            try:
                self._engine.stamp(self._key, size=size, sha256=sha256, parts=parts)
            except UploadError as exc:
                if exc.transient:
                    self._retry_later(exc.user_text())
                    return
                log.warning("session %s: %s is uploaded and verified but its SHA-256 metadata could not be set: %s",
                            self._sid, self._key, exc.user_text())
        with self._lock:
            stopped = self._finished_at or self._clock.now_ms()
        after = self._state.done(UploadResult(self._key, size, sha256, self.bytes_sent), stopped_ms=stopped)
        if after is None or after.status is not UploadStatus.DONE:
            self._check_disk(force=True)
            if not self._ended.is_set():
                self._end(after)
            return
        log.info("session %s: live -> done (%s, %d bytes)", self._sid, self._key, size)
        self._end(after, announce=True)
