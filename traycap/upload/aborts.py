"""Multipart uploads to abort, best effort, one per queue step.

A cancelled session leaves its multipart upload in the bucket; so does a
failure that makes its parts worthless. The queue aborts them between
uploads; what cannot be aborted is logged and left to the bucket's lifecycle
rules (parts of an unfinished upload are never visible as an object).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable

from traycap.logs import redact
from traycap.upload.engine import UploadEngine

log = logging.getLogger(__name__)


class PendingAborts:
    def __init__(self, engine: Callable[[], UploadEngine]) -> None:
        """`engine()`: the engine for the current settings (it may raise: nothing is aborted then)."""
        self._engine = engine
        self._lock = threading.Lock()
        self._todo: deque[tuple[str, str]] = deque()  # (key, uploadId)

    def add(self, key: str, upload_id: str, *, first: bool = False) -> None:
        with self._lock:
            if first:
                self._todo.appendleft((key, upload_id))
            else:
                self._todo.append((key, upload_id))

    def extend(self, items: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            self._todo.extend(items)

    def run_one(self) -> bool:
        """Abort the oldest one; True if there was one."""
        with self._lock:
            if not self._todo:
                return False
            key, upload_id = self._todo.popleft()
        try:
            self._engine().abort(key, upload_id)
            log.info("aborted the multipart upload of %s", key)
        except Exception as exc:  # best effort: S3 lifecycle rules clean up what is left
            log.warning("could not abort the multipart upload of %s: %s", key, redact(str(exc)))
        return True
