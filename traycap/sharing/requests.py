"""UploadRequests: upload / retry / cancel of a session, to the queue of this process when it runs
one, else written to the session's upload-state.json for the process that runs it (upload/requests.py;
it acts within 2 s). One object per process, named methods: no string-keyed dispatch."""

from __future__ import annotations

import threading
from typing import Protocol

from traycap.context import Context
from traycap.models import UploadState
from traycap.upload.requests import request_cancel, request_retry, request_upload


class QueueDoor(Protocol):
    """What UploadRequests needs of the queue (upload/queue.py UploadQueue)."""

    def enqueue(self, session_id: str) -> UploadState: ...
    def retry(self, session_id: str) -> UploadState: ...
    def cancel(self, session_id: str) -> UploadState: ...


class UploadRequests:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()
        self._queue: QueueDoor | None = None

    def attach(self, queue: QueueDoor | None) -> None:
        """This process now runs `queue` (None: it does not, or no more)."""
        with self._lock:
            self._queue = queue

    @property
    def in_process(self) -> bool:
        with self._lock:
            return self._queue is not None

    def upload(self, session_id: str) -> UploadState:
        queue = self._current()
        return queue.enqueue(session_id) if queue is not None else request_upload(self._ctx, session_id)

    def retry(self, session_id: str) -> UploadState:
        queue = self._current()
        return queue.retry(session_id) if queue is not None else request_retry(self._ctx, session_id)

    def cancel(self, session_id: str) -> UploadState:
        queue = self._current()
        return queue.cancel(session_id) if queue is not None else request_cancel(self._ctx, session_id)[1]

    def _current(self) -> QueueDoor | None:
        with self._lock:
            return self._queue
