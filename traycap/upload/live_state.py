"""A live session's upload-state.json as its lane keeps it (the lane's bookkeeping; its policy is
live.py). Every write is one atomic read-modify-write under the state lock (requests.py) and
applies only while the state on disk still says live: a `traycap cancel ID` written by another
process always wins, as `transitions.while_uploading` makes it win over the queue's attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from traycap.clock import Clock
from traycap.context import Context
from traycap.models import UploadState, UploadStatus
from traycap.upload import transitions
from traycap.upload.engine import ResumePoint, UploadResult
from traycap.upload.requests import update_state

log = logging.getLogger(__name__)


class LiveState:
    def __init__(self, ctx: Context, session_id: str, clock: Clock) -> None:
        self._ctx = ctx
        self._sid = session_id
        self._clock = clock

    def go_live(self, *, key: str, max_retries: int) -> tuple[UploadState | None, UploadState | None]:
        """not_uploaded -> live; returns (the state written, None) or, when the session is live
        already (an earlier lane of this process), (None, that state) to take it over. Raises
        IllegalTransition for a session in another state, StorageError when it cannot be written."""
        now = self._clock.now_ms()
        taken: list[UploadState] = []

        def change(state: UploadState | None) -> UploadState | None:
            if state is not None and state.status is UploadStatus.LIVE:
                taken.append(state)
                return None
            return transitions.went_live(
                state or transitions.new_state(self._sid, now), key=key, max_retries=max_retries, now_ms=now
            )

        _, after = update_state(self._ctx, self._sid, change)
        return (None, taken[0]) if taken else (after, None)

    def checkpoint(self, point: ResumePoint | None, *, committed: int, error: str | None) -> UploadState | None:
        """The multipart upload to resume from, how much of the zip is final, the lane's trouble."""
        now = self._clock.now_ms()

        def move(s: UploadState) -> UploadState:
            s = transitions.live_progress(s, committed=committed, error=error, now_ms=now)
            return transitions.checkpointed(s, point, now)

        return self._write(move)

    def note(self, *, committed: int, error: str | None) -> UploadState | None:
        now = self._clock.now_ms()
        return self._write(lambda s: transitions.live_progress(s, committed=committed, error=error, now_ms=now))

    def done(self, result: UploadResult, *, stopped_ms: int) -> UploadState | None:
        now = self._clock.now_ms()
        # lastAttemptAt = Stop: the tray's "Upload done … in 2 s" is Stop -> done, not the recording.
        return self._write(lambda s: transitions.succeeded(s, result, now).with_(lastAttemptAt=stopped_ms))

    def failed(self, error: str) -> UploadState | None:
        now = self._clock.now_ms()
        return self._write(lambda s: transitions.live_failed(s, error, now))

    def cancelled(self) -> UploadState | None:
        now = self._clock.now_ms()
        return self._write(lambda s: transitions.cancelled(s, now))

    def read(self) -> UploadState | None:
        """The state on disk (None: there is none). Raises CorruptFile."""
        return self._ctx.states.read(self._sid)

    def _write(self, move: Callable[[UploadState], UploadState]) -> UploadState | None:
        """Apply `move` if the state on disk is still live; returns the state on disk after
        (unchanged, and not live, when another process cancelled or took the session)."""
        _, after = update_state(
            self._ctx, self._sid,
            lambda s: move(s) if s is not None and s.status is UploadStatus.LIVE else None,
        )
        return after
