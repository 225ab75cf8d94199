"""What the queue needs from an uploader (implemented by upload/s3/service.py).

The queue depends on this protocol, not on boto3, so its tests drive a fake.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from traycap.cancel import CancelToken
from traycap.models import CompletedPart, UploadConfig


@dataclass(frozen=True)
class ResumePoint:
    """A multipart upload in progress: persisted in upload-state.json after every part."""

    uploadId: str
    partSize: int
    parts: tuple[CompletedPart, ...]
    # Created without x-amz-meta-sha256 (the live lane, while recording): after Complete and
    # verification a self-copy stamps it, then HeadObject checks size and SHA-256 again.
    stampAfterComplete: bool = False


@dataclass(frozen=True)
class UploadResult:
    key: str
    size: int
    sha256: str  # hex, of the bytes that are now in the bucket
    bytesSent: int  # by this call (resume and "already there" send less)
    alreadyPresent: bool = False


@dataclass(frozen=True)
class CredentialCheck:
    valid: bool
    error: str | None = None


ProgressFn = Callable[[int, int], None]  # (bytes uploaded so far, total bytes)
CheckpointFn = Callable[["ResumePoint | None"], None]  # None: no multipart upload to resume any more


class PartPacing(Protocol):
    """How many parts an upload may have in flight now, asked before every new part (so an
    implementation may look at the disk there) and at least every 0.1 s while parts wait."""

    def parts_allowed(self) -> int | None:
        """None: as many as the engine's concurrency; 0: no new part for now."""
        ...


class UploadEngine(Protocol):
    def upload_file(
        self,
        zip_path: Path,
        key: str,
        *,
        sha256: str | None,
        resume: ResumePoint | None,
        on_progress: ProgressFn,
        on_checkpoint: CheckpointFn,
        cancel: CancelToken,
        pacing: PartPacing | None = None,
        crc32: str | None = None,
    ) -> UploadResult:
        """Upload and verify. `crc32`: the export's CRC32 of the zip (hex), when it has one: the parts'
        CRC32s then show that the zip did not change, without hashing it whole again. Raises a traycap
        UploadError (retryable/permanent),
        ZipMissing/ZipChanged, or UploadCancelled. On StopKind.CANCEL the
        multipart upload is aborted; on StopKind.SHUTDOWN or PAUSE it is kept for resume.
        `pacing` holds parts back (upload/priority.py: a live session records or finishes)."""
        ...

    def abort(self, key: str, upload_id: str) -> None: ...

    def validate_credentials(self) -> CredentialCheck: ...

    def share_link(self, key: str, expires_s: int) -> str: ...

    def close(self) -> None:
        """Close idle connections (a paused queue holds none open); the next request reconnects."""
        ...


EngineFactory = Callable[[UploadConfig], UploadEngine]


class EngineCache:
    """The queue's one engine, built again only when the upload settings change."""

    def __init__(self, factory: EngineFactory) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._cached: tuple[UploadConfig, UploadEngine] | None = None

    def get(self, config: UploadConfig) -> UploadEngine:
        with self._lock:
            cached = self._cached
        if cached is not None and cached[0] == config:
            return cached[1]
        engine = self._factory(config)
        with self._lock:
            self._cached = (config, engine)
        return engine

    def close(self) -> None:
        """Close the cached engine's connections (it stays cached and reconnects when used)."""
        with self._lock:
            cached = self._cached
        if cached is not None:
            cached[1].close()
