"""Build session directories on disk the way the recorder and the queue leave them.

    from tests.support.session_dirs import make_session, set_tree_mtime
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.platforms import UTIME_FOLLOWS
from traycap.models import SessionMeta, UploadState, UploadStatus
from traycap.paths import EXPORTED_MARKER, META_FILE, STATE_FILE, Paths
from traycap.storage.atomic import write_json_atomic

CORRUPT = "corrupt"  # a `state` value: upload-state.json holds invalid JSON


def make_session(
    paths: Paths,
    session_id: str,
    *,
    created_ms: int,
    state: UploadStatus | str | None = None,
    exported: bool = False,
    zip_bytes: bytes | None = b"PK\x05\x06" + b"\0" * 18,  # an empty zip
    action_count: int = 3,
) -> Path:
    """A session dir with meta, optional upload state (a status, CORRUPT, or None), optional .exported."""
    directory = paths.session_dir(session_id)
    (directory / "screenshots").mkdir(parents=True, exist_ok=True)
    (directory / "screenshots" / "0001.png").write_bytes(b"\x89PNG fake")
    (directory / "actions.json").write_text("[]")
    meta = SessionMeta(
        sessionId=session_id,
        createdAt=created_ms,
        endedAt=created_ms + 60_000,
        actionCount=action_count,
        screenshotCount=1,
        fileSizeBytes=len(zip_bytes) if zip_bytes is not None else None,
        zipPath=f"{session_id}.zip" if zip_bytes is not None else None,
    )
    write_json_atomic(directory / META_FILE, meta.to_json())
    if zip_bytes is not None:
        (directory / f"{session_id}.zip").write_bytes(zip_bytes)
    if exported:
        (directory / EXPORTED_MARKER).write_bytes(b"")
    if state == CORRUPT:
        (directory / STATE_FILE).write_text('{"sessionId": "' + session_id + '", "status": "pend')
    elif state is not None:
        status = UploadStatus(state)
        upload = UploadState(sessionId=session_id, status=status, createdAt=created_ms, updatedAt=created_ms)
        write_json_atomic(directory / STATE_FILE, upload.to_json())
    return directory


def set_tree_mtime(directory: Path, mtime_ms: int) -> None:
    """Set atime/mtime of a dir and everything under it (deepest first, so parents keep the time)."""
    ns = mtime_ms * 1_000_000
    for dirpath, dirs, files in os.walk(directory, topdown=False):
        for name in (*files, *dirs):
            os.utime(os.path.join(dirpath, name), ns=(ns, ns), follow_symlinks=UTIME_FOLLOWS)
        os.utime(dirpath, ns=(ns, ns))
