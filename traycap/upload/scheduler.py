"""Which session the queue uploads next, and when an idle queue looks again.

FIFO by the state's createdAt (the moment it was enqueued), ties by the order
this process learnt of the sessions. A session waiting out its backoff does not
block the others, except when the endpoint is unreachable or throttling: then
a *hold* makes the whole queue wait for that backoff, so an outage spends the
retries of one session only, at the backoff's pace.

The disk is the truth: every pick scans the upload-state.json files, except
that an idle queue skips the scan while nothing changed on disk (one stat per
session), no backoff is over and a full scan is less than FULL_SCAN_S old.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from traycap.clock import Clock
from traycap.errors import TraycapError
from traycap.models import UploadState, UploadStatus
from traycap.storage.state_store import StateStore
from traycap.upload import transitions

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often an idle worker looks for sessions queued by other processes
FULL_SCAN_S = 30.0  # an idle worker re-reads every state file at least this often, changed or not


@dataclass(frozen=True)
class Scanned:
    sessionId: str
    state: UploadState | None


class Problems:
    """Sessions whose upload-state.json could not be read, with the reason (logged once each)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._texts: dict[str, str] = {}

    def report(self, session_id: str, exc: TraycapError) -> None:
        text = exc.user_text()
        with self._lock:
            known = self._texts.get(session_id) == text
            self._texts[session_id] = text
        if not known:
            log.warning("session %s skipped: %s", session_id, text)

    def clear(self, readable: set[str]) -> None:
        with self._lock:
            for sid in [s for s in self._texts if s in readable]:
                del self._texts[sid]

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self._texts)


class Scheduler:
    def __init__(self, states: StateStore, clock: Clock, problems: Problems) -> None:
        self._states = states
        self._clock = clock
        self._problems = problems
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}
        self._hold_until_ms = 0
        self._hold_session: str | None = None  # whose outage/throttling set the hold
        self._next_due_ms: int | None = None
        # The state files as they were when a scan last found nothing to do: while they are
        # unchanged and no backoff is over, an idle step need not read them all again.
        self._idle_fingerprint: tuple[object, ...] | None = None
        self._idle_since = 0.0

    # --- what the queue tells it ------------------------------------------------
    def remember(self, session_id: str) -> None:
        with self._lock:
            if session_id not in self._seq:
                self._seq[session_id] = len(self._seq)

    def hold(self, until_ms: int, session_id: str) -> None:
        """The endpoint is unreachable or throttling: nobody starts before `until_ms`."""
        with self._lock:
            self._hold_until_ms, self._hold_session = until_ms, session_id

    def release(self, session_id: str | None = None) -> None:
        """End the hold (only if `session_id` set it, when given): e.g. that session was cancelled."""
        with self._lock:
            if session_id is None or self._hold_session == session_id:
                self._hold_until_ms, self._hold_session = 0, None

    # --- what it answers -----------------------------------------------------------
    def held(self, now_ms: int) -> bool:
        with self._lock:
            hold = self._hold_until_ms
        if transitions.backoff_over(hold, now_ms):
            return False
        self._next_due_ms = hold
        return True

    def idle_delay(self) -> float:
        """How long an idle worker sleeps before the next step (it is woken earlier by requests)."""
        due = self._next_due_ms
        if due is None:
            return POLL_S
        return min(POLL_S, max(0.01, (due - self._clock.now_ms()) / 1000))

    def scan(self) -> list[Scanned]:
        """Every readable state; unreadable ones are reported as problems and skipped."""
        out: list[Scanned] = []
        readable: set[str] = set()
        for scanned in self._states.scan():
            if scanned.error is not None:
                self._problems.report(scanned.sessionId, scanned.error)
                continue
            readable.add(scanned.sessionId)
            out.append(Scanned(scanned.sessionId, scanned.state))
        self._problems.clear(readable)
        return out

    def next_eligible(self, now: int) -> str | None:
        """The session to upload now, if any (the first pending one whose backoff is over)."""
        fingerprint = self._states.fingerprint()
        due_before = self._next_due_ms
        if (
            fingerprint == self._idle_fingerprint
            and (due_before is None or now < due_before)
            and self._clock.monotonic() - self._idle_since < FULL_SCAN_S
        ):
            return None
        candidates: list[tuple[int, int, str]] = []
        due: int | None = None
        for scanned in self.scan():
            state = scanned.state
            if state is None or state.status is not UploadStatus.PENDING:
                continue
            self.remember(scanned.sessionId)
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
