"""Every session's menu row, in memory, so a progress tick never re-lists the disk."""

from __future__ import annotations

import dataclasses
import threading

from traycap.models import SessionListItem, UploadProgress, UploadStatus
from traycap.ui.menu import (
    RECENT_LIMIT,
)


class SessionCache:
    """Every session's list row, in memory; newest-first order recomputed only when rows come or go."""

    def __init__(self) -> None:
        self._items: dict[str, SessionListItem] = {}
        self._order: list[str] | None = None
        self._lock = threading.Lock()

    def replace_all(self, items: list[SessionListItem]) -> None:
        with self._lock:
            self._items = {i.sessionId: i for i in items}
            self._order = None

    def upsert(self, item: SessionListItem) -> None:
        with self._lock:
            old = self._items.get(item.sessionId)
            self._items[item.sessionId] = item
            if old is None or old.createdAt != item.createdAt:
                self._order = None

    def get(self, session_id: str) -> SessionListItem | None:
        with self._lock:
            return self._items.get(session_id)

    def apply_progress(self, p: UploadProgress) -> SessionListItem | None:
        """Update one row from a queue event; None when the session is not known yet."""
        with self._lock:
            old = self._items.get(p.sessionId)
            if old is None:
                return None
            error = p.error if p.status in (UploadStatus.FAILED, UploadStatus.PENDING) else old.lastUploadError
            if p.status is UploadStatus.DONE:
                error = None
            new = dataclasses.replace(
                old, uploadStatus=p.status, uploadProgress=p.progress, lastUploadError=error,
                uploadedBytes=p.bytesUploaded,
            )
            self._items[p.sessionId] = new
            return new

    def recent(self, n: int = RECENT_LIMIT) -> tuple[SessionListItem, ...]:
        with self._lock:
            if self._order is None:
                rows = sorted(self._items.values(), key=lambda i: (i.createdAt, i.sessionId), reverse=True)
                self._order = [i.sessionId for i in rows]
            return tuple(self._items[sid] for sid in self._order[:n])

    def counts(self) -> tuple[int, int]:
        """(pending or uploading, failed)."""
        pending = failed = 0
        with self._lock:
            for item in self._items.values():
                if item.uploadStatus in (UploadStatus.PENDING, UploadStatus.UPLOADING):
                    pending += 1
                elif item.uploadStatus is UploadStatus.FAILED:
                    failed += 1
        return pending, failed

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
