"""Exported-session fixtures for upload tests: meta, a random-bytes zip, the .exported marker.

The recorder writes real exports; upload tests only need valid ones.
"""

from __future__ import annotations

import hashlib
import os

from traycap.context import Context
from traycap.models import SessionMeta, UploadConfig
from traycap.paths import Paths
from traycap.storage.config_store import save_config
from traycap.storage.session_store import SessionStore

TEST_CONFIG = UploadConfig(
    bucket="traycap-test",
    region="us-east-1",
    accessKeyId="AKIATRAYCAPTEST",
    secretAccessKey="not-a-real-secret-0123",
)


def _paths(target: Context | Paths) -> Paths:
    return target.paths if isinstance(target, Context) else target


def make_session(
    target: Context | Paths,
    session_id: str,
    size: int = 10_000,
    *,
    exported: bool = True,
    created_at: int = 1_700_000_000_000,
    data: bytes | None = None,
) -> SessionMeta:
    """An exported session whose zip is `size` random bytes (or `data`), saved via SessionStore.save_meta."""
    paths = _paths(target).ensure()
    payload = data if data is not None else os.urandom(size)
    directory = paths.session_dir(session_id)
    directory.mkdir(parents=True, exist_ok=True)
    zip_name = f"{session_id}.zip"
    (directory / zip_name).write_bytes(payload)
    meta = SessionMeta(
        sessionId=session_id,
        createdAt=created_at,
        endedAt=created_at + 60_000,
        actionCount=3,
        zipPath=zip_name,
        fileSizeBytes=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
    )
    SessionStore(paths).save_meta(meta)
    if exported:
        paths.exported_marker(session_id).touch()
    return meta


def zip_bytes(target: Context | Paths, session_id: str) -> bytes:
    return (_paths(target).session_dir(session_id) / f"{session_id}.zip").read_bytes()


def write_config(target: Context | Paths, config: UploadConfig = TEST_CONFIG) -> UploadConfig:
    save_config(_paths(target).config, config)
    return config
