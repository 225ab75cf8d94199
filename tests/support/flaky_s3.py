"""An in-memory S3 that fails like a real one, on the injected clock: outages and random errors (seeded).

For the retention soak (tests/support/retention_soak.py): the queue's real code drives it
through the UploadEngine protocol; it keeps every object so the soak can check each
`done` session's bytes against the SHA-256 its meta recorded.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from traycap.cancel import CancelToken
from traycap.errors import AccessDenied, NetworkError, ServerError, ZipMissing
from traycap.models import UploadConfig
from traycap.upload.engine import CheckpointFn, CredentialCheck, PartPacing, ProgressFn, ResumePoint, UploadResult


@dataclass(frozen=True)
class Outage:
    start_ms: int
    end_ms: int


@dataclass
class FlakyS3:
    now_ms: Callable[[], int]
    rng: random.Random
    server_error_rate: float = 0.1  # per attempt: a 5xx (retried)
    denied_rate: float = 0.0  # per attempt: a permanent error (the session fails, stays on disk)
    outages: list[Outage] = field(default_factory=list)
    objects: dict[str, bytes] = field(default_factory=dict)
    attempts: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # error kind -> count

    def factory(self, config: UploadConfig) -> FlakyS3:
        return self

    def in_outage(self, now_ms: int) -> bool:
        return any(o.start_ms <= now_ms < o.end_ms for o in self.outages)

    def _fail(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1

    def upload_file(self, zip_path: Path, key: str, *, sha256: str | None, resume: ResumePoint | None,
                    on_progress: ProgressFn, on_checkpoint: CheckpointFn, cancel: CancelToken,
                    pacing: PartPacing | None = None, crc32: str | None = None) -> UploadResult:
        self.attempts += 1
        if self.in_outage(self.now_ms()):
            self._fail("outage")
            raise NetworkError("Could not connect to the endpoint (simulated outage)")
        roll = self.rng.random()
        if roll < self.denied_rate:
            self._fail("denied")
            raise AccessDenied("Access denied (simulated)")
        if roll < self.denied_rate + self.server_error_rate:
            self._fail("5xx")
            raise ServerError("The server answered 500 (simulated)")
        try:
            data = zip_path.read_bytes()
        except FileNotFoundError:
            raise ZipMissing(f"{zip_path} is missing") from None
        on_progress(len(data), len(data))
        on_checkpoint(None)
        self.objects[key] = data
        return UploadResult(key=key, size=len(data), sha256=hashlib.sha256(data).hexdigest(), bytesSent=len(data))

    def abort(self, key: str, upload_id: str) -> None:
        pass

    def validate_credentials(self) -> CredentialCheck:
        return CredentialCheck(valid=True)

    def share_link(self, key: str, expires_s: int) -> str:
        return f"https://example.invalid/{key}?expires={expires_s}"
