"""Session directories on disk, built the way the recorder and the queue leave them.

Two builders over one writer, named for what a test needs:

- `make_session_dir`: a session in any state (no zip, an empty zip, not exported, any upload
  status or a corrupt upload-state.json), for the store, listing and orphan-cleanup tests;
- `make_exported_session`: an exported session whose zip is random bytes with its SHA-256 in the
  meta, for the upload tests. The recorder writes real exports; upload tests only need valid ones.

    from tests.support.sessions import make_exported_session, make_session_dir, set_tree_mtime
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.support.platforms import UTIME_FOLLOWS
from traycap.context import Context
from traycap.models import SessionMeta, UploadConfig, UploadState, UploadStatus
from traycap.paths import EXPORTED_MARKER, META_FILE, STATE_FILE, Paths
from traycap.storage.atomic import write_json_atomic
from traycap.storage.config_store import save_config
from traycap.storage.session_store import SessionStore

TEST_CONFIG = UploadConfig(
    bucket="traycap-test",
    region="us-east-1",
    accessKeyId="AKIATRAYCAPTEST",
    secretAccessKey="not-a-real-secret-0123",
)
CORRUPT = "corrupt"  # a `state` value: upload-state.json holds invalid JSON
EMPTY_ZIP = b"PK\x05\x06" + b"\0" * 18


def _paths(target: Context | Paths) -> Paths:
    return target.paths if isinstance(target, Context) else target


def make_session_dir(
    target: Context | Paths,
    session_id: str,
    *,
    created_ms: int,
    state: UploadStatus | str | None = None,
    exported: bool = False,
    zip_bytes: bytes | None = EMPTY_ZIP,
    sha256: str | None = None,
    action_count: int = 3,
    raw_files: bool = True,
) -> Path:
    """A session dir with meta, optional upload state (a status, CORRUPT, or None), optional .exported,
    and (raw_files) a screenshot and actions file as a recording leaves before its export."""
    directory = _paths(target).session_dir(session_id)
    directory.mkdir(parents=True, exist_ok=True)
    if raw_files:
        (directory / "screenshots").mkdir(exist_ok=True)
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
        sha256=sha256,
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


def make_exported_session(
    target: Context | Paths,
    session_id: str,
    size: int = 10_000,
    *,
    exported: bool = True,
    created_at: int = 1_700_000_000_000,
    data: bytes | None = None,
) -> SessionMeta:
    """An exported session whose zip is `size` random bytes (or `data`), with its SHA-256 in the meta;
    like every exported session (one copy on disk), it holds no raw files beside the zip."""
    paths = _paths(target).ensure()
    payload = data if data is not None else os.urandom(size)
    make_session_dir(paths, session_id, created_ms=created_at, exported=exported, zip_bytes=payload,
                     sha256=hashlib.sha256(payload).hexdigest(), raw_files=False)
    return SessionStore(paths).read_meta(session_id)


def zip_bytes(target: Context | Paths, session_id: str) -> bytes:
    return (_paths(target).session_dir(session_id) / f"{session_id}.zip").read_bytes()


def write_config(target: Context | Paths, config: UploadConfig = TEST_CONFIG) -> UploadConfig:
    save_config(_paths(target).config, config)
    return config


def set_tree_mtime(directory: Path, mtime_ms: int) -> None:
    """Set atime/mtime of a dir and everything under it (deepest first, so parents keep the time)."""
    ns = mtime_ms * 1_000_000
    for dirpath, dirs, files in os.walk(directory, topdown=False):
        for name in (*files, *dirs):
            os.utime(os.path.join(dirpath, name), ns=(ns, ns), follow_symlinks=UTIME_FOLLOWS)
        os.utime(dirpath, ns=(ns, ns))
