"""SessionCache (traycap/ui/session_cache.py): the tray's in-memory rows, one updated per progress tick."""

from __future__ import annotations

from traycap.models import SessionListItem, UploadProgress, UploadStatus
from traycap.ui.session_cache import SessionCache

T0 = 1_700_000_000_000


def test_cache_updates_one_row_per_progress_tick() -> None:
    """Moved from the tray app's tests: the cache is its own unit."""
    cache = SessionCache()
    cache.replace_all([
        SessionListItem(sessionId=f"s{i:04d}", createdAt=T0 + i, actionCount=0, isExported=True,
                        uploadStatus=UploadStatus.PENDING)
        for i in range(1000)
    ])
    assert [i.sessionId for i in cache.recent(3)] == ["s0999", "s0998", "s0997"]
    for pct in range(100):
        row = cache.apply_progress(UploadProgress("s0500", UploadStatus.UPLOADING, pct, 100, pct))
        assert row is not None and row.uploadProgress == pct
    assert cache.counts() == (1000, 0)
    assert cache.apply_progress(UploadProgress("unknown", UploadStatus.DONE, 1, 1, 100)) is None
