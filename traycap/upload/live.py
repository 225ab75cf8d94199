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

The rules (docs/upload.md, "Uploading while recording"):
- Fixed parts of LIVE_PART_SIZE, numbered 1..N: part n is zip bytes [(n-1)P, nP) and is sent
  once n*P <= committed; the short last part only after `finished`. The ranges are those of
  upload/parts.py part_ranges(size, P), so the queue's resume (ListParts) can finish the upload.
- CreateMultipartUpload (no x-amz-meta-sha256: the SHA-256 is known at Stop) when the first
  part is whole, checkpointed before any part; every accepted part is checkpointed too
  (upload-state.json, atomically, under state_lock, as the queue does).
- A part is read from disk when it is sent: at most `concurrency` parts in memory.
- Network errors: tried again after a backoff (capped at RETRY_CAP_S), for as long as it takes:
  an outage ends nothing; the lane catches up once the endpoint answers. Permanent errors
  (credentials, bucket): live -> failed, the recording goes on.
- Paused uploads (upload/pause.py): no new part; parts in flight finish.
- Before each part, and every DISK_CHECK_S while waiting, the lane reads its state file: a
  `traycap cancel ID` from another process (live -> not_uploaded) stops it and the multipart
  upload is aborted.
- After `finished`: Complete, verify (size + the parts' checksums), stamp (self-copy with
  x-amz-meta-sha256), HEAD (size + sha256), then live -> done with the same UploadProgress
  event the queue emits, so the tray offers the link as after a queued upload.

The stall rule of docs/queue.md applies (a part never accepted while the server answers
other requests): 3 stalls -> a fresh multipart upload from part 1; if that stalls too, nothing
more is sent until Stop and the queue takes over after the hand-over.

`step()` is one synchronous round (like the queue's process_one): tests drive it with a
FakeClock and an inline executor; the thread calls it until the lane ends.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import CorruptFile, NetworkError, TraycapError, UploadError, UploadGone
from traycap.models import MAX_PARTS, MIB, CompletedPart, UploadConfig, UploadProgress, UploadState, UploadStatus
from traycap.upload import transitions
from traycap.upload.backoff import backoff_ms
from traycap.upload.bandwidth import TokenBucket
from traycap.upload.engine import ResumePoint, UploadResult
from traycap.upload.pause import uploads_paused
from traycap.upload.requests import s3_key, update_state

log = logging.getLogger(__name__)

LIVE_PART_SIZE = 8 * MIB
LIVE_CONCURRENCY = 2
MAX_LIVE_PARTS = MAX_PARTS - 1  # 9,999 whole parts (78 GiB): past that the lane waits for Stop
DISK_CHECK_S = 0.5  # how often a waiting lane reads its state file (a cancel by another process)
RETRY_CAP_S = 30.0  # an outage while recording: tried again at least this often, to catch up soon after
HANDOVER_S = 10.0  # how long handover() waits for the parts in flight

ProgressSink = Callable[[UploadProgress], object]


class LiveEngine(Protocol):
    """What the lane needs of the S3 engine (upload/s3/service.py UploadService)."""

    config: UploadConfig
    bandwidth: TokenBucket | None

    def start_live(self, key: str) -> str: ...

    def send_part(
        self,
        key: str,
        upload_id: str,
        number: int,
        data: memoryview,
        *,
        stop: Callable[[], bool],
        wake: threading.Event | None,
        count: Callable[[int], None],
        report: Callable[[int], None],
        limiter: TokenBucket | None,
    ) -> CompletedPart: ...

    def complete_live(
        self, key: str, upload_id: str, parts: list[CompletedPart], *, size: int, sha256: str,
        wake: threading.Event | None = None, maybe_done: bool = False,
    ) -> None: ...

    def stamp(
        self, key: str, *, size: int, sha256: str, parts: list[CompletedPart], wake: threading.Event | None = None,
    ) -> None: ...

    def abort(self, key: str, upload_id: str) -> None: ...

    def answers(self, key: str, upload_id: str) -> bool: ...


class _Stop(enum.Enum):
    ABANDON = "abandon"  # no new part; the state stays live
    HANDOVER = "handover"  # the same, then live -> pending if the zip is finished
    CANCEL = "cancel"  # abort the multipart upload, live -> not_uploaded


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
        self._path = Path(zip_path)
        self._engine = engine
        self._clock: Clock = clock or ctx.clock
        self._limiter = limiter if limiter is not None else engine.bandwidth
        self._on_progress = on_progress
        self._part_size = part_size
        self._concurrency = max(1, concurrency)
        self._key = s3_key(engine.config, ctx.sessions.read_meta(session_id))
        self._lock = threading.Lock()
        self._wake = threading.Event()  # committed / finished / a part done / a stop
        self._stop_bodies = threading.Event()  # cancel: request bodies stop at once
        self._ended = threading.Event()
        # what the bundler said (under _lock)
        self._committed = 0
        self._final: tuple[int, str] | None = None
        self._finished_at: int | None = None  # when the zip was finished (Stop): "done in 2 s" counts from it
        self._stop: _Stop | None = None
        # the lane thread's own (results come back under _lock)
        self._results: list[tuple[str, int, CompletedPart | BaseException]] = []
        self._in_flight: set[tuple[str, int]] = set()  # (upload id, part number): memory is bounded by all of them
        self._done: dict[int, CompletedPart] = {}
        self._upload_id: str | None = None
        self._failures = 0
        self._retry_at = float("-inf")
        self._last_check = float("-inf")
        self._completed = False  # Complete + verify went through
        self._complete_tried = False
        self._error: str | None = None  # the trouble shown in the state (an outage), None when sending
        self._sent = 0
        self._warned_max = False
        self._stalls = 0  # the stall rule (docs/queue.md), in memory: a restarted lane starts again
        self._fresh_starts = 0
        self._stuck = False  # a fresh upload stalled too: nothing more is sent while recording
        self._outcome: UploadState | None = None
        self._executor = executor or ThreadPoolExecutor(self._concurrency, thread_name_prefix="traycap-live-part")
        self._owns_executor = executor is None
        self._begin()
        self._thread: threading.Thread | None = None
        if start:
            self._thread = threading.Thread(target=self._run, name=f"traycap-live-{session_id}", daemon=True)
            self._thread.start()

    # --- LiveSink (any thread; all return at once) ------------------------------------
    def committed(self, size: int) -> None:
        with self._lock:
            if self._final is None and size > self._committed:
                self._committed = size
        self._wake.set()

    def finished(self, size: int, sha256: str) -> None:
        with self._lock:
            self._final = (size, sha256.lower())
            self._committed = size
            self._finished_at = self._clock.now_ms()
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
        self._stop_bodies.set()

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
        with self._lock:
            final = self._final
        state: UploadState | None
        if final is not None and self._outcome is None:
            state = hand_over(self._ctx, self._sid, total=final[0], now_ms=self._clock.now_ms())
            if state is not None:
                self._publish(UploadProgress.of(state))
        try:
            state = self._ctx.states.read(self._sid)
        except CorruptFile:
            state = None
        return state

    @property
    def outcome(self) -> UploadState | None:
        """The state the lane ended with (done, failed, not_uploaded), None while it runs or when
        it stopped without an end of its own (abandoned, handed over)."""
        return self._outcome

    @property
    def bytes_sent(self) -> int:
        """Request-body bytes this lane put on the wire (a part tried twice counts twice)."""
        with self._lock:
            return self._sent

    @property
    def upload_id(self) -> str | None:
        return self._upload_id

    # --- one round ----------------------------------------------------------------------
    def step(self) -> bool:
        """Harvest finished parts, notice stops and cancels, send what is ready, or finish.
        True if it did something."""
        if self._ended.is_set():
            return False
        did = self._harvest()
        if self._ended.is_set():
            return True
        with self._lock:
            stop, committed, final = self._stop, self._committed, self._final
        if stop is _Stop.CANCEL:
            self._cancel_now(write=True)
            return True
        if stop is not None:
            if self._in_flight:
                return did  # parts in flight finish (their checkpoint makes them count)
            log.info("session %s: live upload stopped (%s); sent so far is kept for resume", self._sid, stop.value)
            self._end(None)
            return True
        if self._check_disk(force=False):
            return True
        if uploads_paused(self._ctx.paths) or self._clock.monotonic() < self._retry_at or self._stuck:
            return did
        if self._upload_id is None:
            if final is None and committed < self._part_size:
                return did
            return self._create() or did
        did = self._send_ready(committed, final) or did
        if final is not None and not self._in_flight and self._all_sent(final[0]):  # none of an old upload either
            self._finish(*final)
            return True
        return did

    def idle_delay(self) -> float:
        """How long the thread waits for a wake-up before the next round."""
        left = self._retry_at - self._clock.monotonic()
        return max(0.0, min(DISK_CHECK_S, left)) if left > 0 else DISK_CHECK_S

    # --- internals ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._ended.is_set():
                self._wake.clear()
                try:
                    did = self.step()
                except TraycapError as exc:  # e.g. a full disk when checkpointing: keep going
                    log.warning("session %s: live upload: %s", self._sid, exc.user_text())
                    self._retry_later(exc.user_text())
                    did = False
                if not did:
                    self._clock.sleep(self.idle_delay(), wake=self._wake)
        except Exception:
            log.exception("session %s: the live upload lane failed; the recording goes on", self._sid)
            self._end(None)

    def _begin(self) -> None:
        """not_uploaded -> live, or take over a live state (this process's earlier lane)."""
        now = self._clock.now_ms()
        key, retries = self._key, self._engine.config.maxRetries
        taken: list[UploadState] = []

        def change(state: UploadState | None) -> UploadState | None:
            if state is not None and state.status is UploadStatus.LIVE:
                taken.append(state)
                return None
            return transitions.went_live(
                state or transitions.new_state(self._sid, now), key=key, max_retries=retries, now_ms=now
            )

        _, after = update_state(self._ctx, self._sid, change)
        if taken and taken[0].uploadId and taken[0].partSize == self._part_size and taken[0].s3Key == key:
            self._upload_id = taken[0].uploadId
            self._done = {p.partNumber: p for p in taken[0].parts}
            log.info("session %s: live upload %s taken over with %d parts", self._sid, self._upload_id,
                     len(self._done))
        elif taken and taken[0].uploadId and taken[0].s3Key:
            # Parts of another size (or key) cannot go on: a fresh upload replaces it at the first part.
            try:
                self._engine.abort(taken[0].s3Key, taken[0].uploadId)
            except TraycapError as exc:
                log.warning("session %s: could not abort its earlier live upload: %s", self._sid, exc.user_text())
        elif after is not None:
            log.info("session %s: not_uploaded -> live (uploading while recording to %s)", self._sid, key)
            self._publish(UploadProgress.of(after))

    def _request_stop(self, stop: _Stop) -> None:
        with self._lock:
            # cancel wins over everything, handover over abandon
            if self._stop is not _Stop.CANCEL and (self._stop is None or stop is not _Stop.ABANDON):
                self._stop = stop
        self._wake.set()

    def _end(self, outcome: UploadState | None) -> None:
        self._outcome = outcome
        self._ended.set()
        self._wake.set()
        if self._owns_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _publish(self, event: UploadProgress) -> None:
        if self._on_progress is None:
            return
        try:
            self._on_progress(event)
        except Exception:
            log.exception("a live upload progress subscriber failed on %s", self._sid)

    def _live_progress(self) -> None:
        with self._lock:
            total = self._final[0] if self._final else self._committed
        done = sum(p.size for p in self._done.values())
        pct = 0 if total <= 0 else max(0, min(100, done * 100 // total))
        self._publish(UploadProgress(self._sid, UploadStatus.LIVE, done, total, pct, self._error))

    def _write(self, move: Callable[[UploadState], UploadState]) -> UploadState | None:
        """Apply `move` to the state on disk if it is still live; returns the state on disk after
        (unchanged, and not live, when another process cancelled or took the session)."""
        _, after = update_state(
            self._ctx, self._sid,
            lambda s: move(s) if s is not None and s.status is UploadStatus.LIVE else None,
        )
        return after

    def _checkpoint(self) -> bool:
        """Save the multipart upload and its parts; False when the state is no longer live."""
        now = self._clock.now_ms()
        point = None
        if self._upload_id is not None:
            parts = tuple(sorted(self._done.values(), key=lambda p: p.partNumber))
            point = ResumePoint(self._upload_id, self._part_size, parts, stampAfterComplete=True)
        with self._lock:
            committed = self._committed
        error = self._error

        def move(s: UploadState) -> UploadState:
            s = transitions.live_progress(s, committed=committed, error=error, now_ms=now)
            return transitions.checkpointed(s, point, now)

        after = self._write(move)
        if after is None or after.status is not UploadStatus.LIVE:
            self._check_disk(force=True)
            return False
        return True

    def _check_disk(self, *, force: bool) -> bool:
        """Read the state file (every DISK_CHECK_S, or now): True if the lane ended because the
        session is no longer live (cancelled by another process, or taken over)."""
        mono = self._clock.monotonic()
        if not force and mono - self._last_check < DISK_CHECK_S:
            return False
        self._last_check = mono
        try:
            state = self._ctx.states.read(self._sid)
        except CorruptFile:
            return False  # the next checkpoint replaces it
        if state is not None and state.status is UploadStatus.LIVE:
            return False
        if state is None or state.status is UploadStatus.NOT_UPLOADED:
            log.info("session %s was cancelled by another process; its live upload stops", self._sid)
            self._cancel_now(write=False)
        else:
            log.info("session %s is %s now; its live upload stops", self._sid, state.status.value)
            self._end(None)
        return True

    def _cancel_now(self, *, write: bool) -> None:
        self._stop_bodies.set()
        if self._upload_id is not None:
            try:
                self._engine.abort(self._key, self._upload_id)
            except TraycapError as exc:
                log.warning("session %s: could not abort its live upload: %s", self._sid, exc.user_text())
        after: UploadState | None = None
        if write:
            now = self._clock.now_ms()
            after = self._write(lambda s: transitions.cancelled(s, now))
        if after is None:
            try:
                after = self._ctx.states.read(self._sid)
            except CorruptFile:
                after = None
        log.info("session %s: live -> not_uploaded (cancelled; the recording goes on)", self._sid)
        if after is not None:
            self._publish(UploadProgress.of(after))
        self._end(after)

    def _retry_later(self, error: str) -> None:
        self._failures += 1
        delay = min(backoff_ms(self._failures - 1) / 1000, RETRY_CAP_S)
        self._retry_at = self._clock.monotonic() + delay
        if error != self._error:
            self._error = error
            log.warning("session %s: live upload: %s; trying again in %.0f s", self._sid, error, delay)
            try:
                now = self._clock.now_ms()
                with self._lock:
                    committed = self._committed
                self._write(lambda s: transitions.live_progress(s, committed=committed, error=error, now_ms=now))
            except TraycapError:
                pass
            self._live_progress()

    def _fail(self, exc: UploadError) -> None:
        """A permanent error: live -> failed, nothing more is sent (the multipart upload is kept)."""
        now = self._clock.now_ms()
        text = exc.user_text()
        self._stop_bodies.set()
        after = self._write(lambda s: transitions.live_failed(s, text, now))
        log.warning("session %s: live -> failed: %s (the recording goes on)", self._sid, text)
        if after is not None:
            self._publish(UploadProgress.of(after))
        self._end(after)

    def _handle_error(self, exc: BaseException, what: str) -> None:
        if isinstance(exc, UploadError) and not exc.transient:
            self._fail(exc)
        elif isinstance(exc, TraycapError):
            self._retry_later(exc.user_text())
        else:
            log.error("session %s: %s failed unexpectedly", self._sid, what, exc_info=exc)
            self._retry_later(f"Unexpected error: {type(exc).__name__}")

    def _create(self) -> bool:
        try:
            self._upload_id = self._engine.start_live(self._key)
        except Exception as exc:
            self._handle_error(exc, "CreateMultipartUpload")
            return True
        self._done = {}
        log.info("session %s: live multipart upload %s started", self._sid, self._upload_id)
        self._sending_again()
        self._checkpoint()
        return True

    def _sending_again(self) -> None:
        if self._failures or self._error:
            log.info("session %s: the live upload sends again", self._sid)
        self._failures = 0
        self._error = None

    def _ready_parts(self, committed: int, final: tuple[int, str] | None) -> int:
        """The highest part number that may be sent now."""
        if final is not None:
            return max(1, -(-final[0] // self._part_size))
        whole = committed // self._part_size
        if whole > MAX_LIVE_PARTS and not self._warned_max:
            self._warned_max = True
            log.warning("session %s: %d parts sent while recording; the rest goes at Stop", self._sid, MAX_LIVE_PARTS)
        return min(whole, MAX_LIVE_PARTS)

    def _all_sent(self, size: int) -> bool:
        count = max(1, -(-size // self._part_size))
        return len(self._done) == count and all(n in self._done for n in range(1, count + 1))

    def _send_ready(self, committed: int, final: tuple[int, str] | None) -> bool:
        upto = self._ready_parts(committed, final)
        did = False
        number = 1
        while len(self._in_flight) < self._concurrency:
            while number <= upto and (number in self._done or (self._upload_id or "", number) in self._in_flight):
                number += 1
            if number > upto:
                break
            # Before each part: a cancel written by another process, or a pause, stops it here.
            if self._check_disk(force=True) or uploads_paused(self._ctx.paths):
                return True
            data = self._read_part(number, final)
            if data is None:
                return True
            self._submit(number, data)
            did = True
        return did

    def _read_part(self, number: int, final: tuple[int, str] | None) -> memoryview | None:
        offset = (number - 1) * self._part_size
        length = self._part_size if final is None else min(self._part_size, final[0] - offset)
        buf = bytearray(length)
        try:
            with self._path.open("rb") as f:
                f.seek(offset)
                got = f.readinto(buf)
        except OSError as exc:
            self._retry_later(f"The live zip {self._path} cannot be read: {exc.strerror}")
            return None
        if got != length:
            self._retry_later(f"The live zip {self._path} is shorter than its committed size")
            return None
        return memoryview(buf)

    def _submit(self, number: int, data: memoryview) -> None:
        upload_id = self._upload_id
        assert upload_id is not None
        self._in_flight.add((upload_id, number))

        def count(n: int) -> None:
            with self._lock:
                self._sent += n

        def send() -> CompletedPart:
            return self._engine.send_part(
                self._key, upload_id, number, data, stop=self._stop_bodies.is_set, wake=self._stop_bodies,
                count=count, report=lambda sent: None, limiter=self._limiter,
            )

        def done(future: Future[CompletedPart]) -> None:
            exc = future.exception() if not future.cancelled() else UploadError("part not sent")
            with self._lock:
                self._results.append((upload_id, number, exc if exc is not None else future.result()))
            self._wake.set()

        try:
            self._executor.submit(send).add_done_callback(done)
        except RuntimeError:  # the executor is shut down: the lane has ended
            self._in_flight.discard((upload_id, number))

    def _harvest(self) -> bool:
        with self._lock:
            results, self._results = self._results, []
        if not results:
            return False
        accepted = False
        for upload_id, number, outcome in results:
            self._in_flight.discard((upload_id, number))
            if upload_id != self._upload_id or self._ended.is_set():
                continue  # a part of an upload given up on (gone, cancelled)
            if isinstance(outcome, CompletedPart):
                self._done[number] = outcome
                accepted = True
            elif isinstance(outcome, UploadGone):
                self._gone()
            elif self._stop_bodies.is_set():
                continue  # stopped on purpose
            else:
                self._handle_error(outcome, f"part {number}")
                if isinstance(outcome, NetworkError) and not accepted and not self._ended.is_set():
                    self._maybe_stalled(number)
        if accepted and not self._ended.is_set():
            self._stalls = 0
            self._sending_again()
            if self._checkpoint():
                self._live_progress()
        return True

    def _maybe_stalled(self, number: int) -> None:
        """The stall rule of docs/queue.md: a part that fails without an answer while the endpoint
        answers a ListParts for the same upload, with no part accepted meanwhile. STALLS_PER_UPLOAD
        of them: that multipart upload is aborted and a fresh one sent from part 1; a fresh one that
        stalls as often too: no new part until Stop (the queue takes over with its own rule)."""
        upload_id = self._upload_id
        if upload_id is None or not self._engine.answers(self._key, upload_id):
            return  # nothing answers: an outage, not a stall
        self._stalls += 1
        log.warning("session %s: part %d of the live upload was not accepted while %s answers (%d of %d)",
                    self._sid, number, self._key, self._stalls, transitions.STALLS_PER_UPLOAD)
        if self._stalls < transitions.STALLS_PER_UPLOAD:
            return
        self._stalls = 0
        if self._fresh_starts >= transitions.FRESH_STARTS:
            self._stuck = True
            log.warning("session %s: the live upload stalls again; the rest is sent after Stop", self._sid)
            return
        self._fresh_starts += 1
        try:
            self._engine.abort(self._key, upload_id)
        except TraycapError as exc:
            log.warning("session %s: could not abort the stalled upload: %s", self._sid, exc.user_text())
        log.warning("session %s: live upload %s abandoned for stalling; starting a fresh one", self._sid, upload_id)
        self._upload_id = None
        self._done = {}
        self._retry_at = float("-inf")
        self._checkpoint()

    def _gone(self) -> None:
        """NoSuchUpload: aborted by a cancel (another process) or expired: cancelled, or start afresh."""
        if self._check_disk(force=True):
            return
        log.warning("session %s: live upload %s is gone; starting a new one", self._sid, self._upload_id)
        self._upload_id = None
        self._done = {}
        self._checkpoint()

    def _finish(self, size: int, sha256: str) -> None:
        assert self._upload_id is not None
        parts = [self._done[n] for n in sorted(self._done)]
        if not self._completed:
            maybe_done = self._complete_tried
            self._complete_tried = True
            try:
                self._engine.complete_live(
                    self._key, self._upload_id, parts, size=size, sha256=sha256, maybe_done=maybe_done
                )
            except UploadGone:
                self._gone()
                return
            except Exception as exc:
                self._handle_error(exc, "Complete")
                return
            self._completed = True
            log.info("session %s: live upload complete and verified (%d bytes, %d parts)", self._sid, size, len(parts))
            self._publish(UploadProgress(self._sid, UploadStatus.LIVE, size, size, 100))
        try:
            self._engine.stamp(self._key, size=size, sha256=sha256, parts=parts)
        except UploadError as exc:
            if exc.transient:
                self._retry_later(exc.user_text())
                return
            log.warning("session %s: %s is uploaded and verified but its SHA-256 metadata could not be set: %s",
                        self._sid, self._key, exc.user_text())
        now = self._clock.now_ms()
        result = UploadResult(self._key, size, sha256, self.bytes_sent)
        started = self._finished_at or now
        # lastAttemptAt = Stop: the tray's "Upload done … in 2 s" is Stop -> done, not the recording.
        after = self._write(lambda s: transitions.succeeded(s, result, now).with_(lastAttemptAt=started))
        if after is None or after.status is not UploadStatus.DONE:
            self._check_disk(force=True)
            if not self._ended.is_set():
                self._end(after)
            return
        log.info("session %s: live -> done (%s, %d bytes)", self._sid, self._key, size)
        self._publish(UploadProgress.of(after))
        self._end(after)
