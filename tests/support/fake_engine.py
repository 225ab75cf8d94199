"""An in-memory UploadEngine for pure queue tests: scripted failures, real callbacks.

It reads the zip, "uploads" it in parts, calls on_progress/on_checkpoint the
way the S3 engine does, honours the CancelToken between parts (CANCEL aborts
the multipart upload, SHUTDOWN keeps it) and resumes from a ResumePoint.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from traycap.cancel import CancelToken, StopKind
from traycap.errors import UploadCancelled, ZipMissing
from traycap.models import CompletedPart, UploadConfig
from traycap.upload.engine import CheckpointFn, CredentialCheck, PartPacing, ProgressFn, ResumePoint, UploadResult
from traycap.upload.parts import part_ranges


@dataclass(frozen=True)
class Call:
    key: str
    zip_path: Path
    sha256: str | None
    resume: ResumePoint | None


@dataclass(frozen=True)
class Scripted:
    error: Exception
    after_parts: int  # parts uploaded (and checkpointed) before the error


class FakeEngine:
    def __init__(self, part_size: int = 1024) -> None:
        self.part_size = part_size
        self.calls: list[Call] = []
        self.objects: dict[str, bytes] = {}
        self.aborted: list[tuple[str, str]] = []
        self.configs: list[UploadConfig] = []
        self.tokens: list[CancelToken] = []  # the CancelToken of every call, in order
        self.pacings: list[PartPacing | None] = []  # the pacing of every call (the live lanes' priority)
        self.closed = 0  # close() calls (a paused queue closes its connections)
        self._script: dict[str, deque[Scripted]] = defaultdict(deque)
        self._always: dict[str, Exception] = {}
        self._uploads = 0
        self._lock = threading.Lock()
        # Called before each part with (key, part number): tests cancel/stop mid-upload here.
        self.before_part: Callable[[str, int], None] | None = None

    def factory(self, config: UploadConfig) -> FakeEngine:
        """Use as the queue's engine_factory; records the configs it was built with."""
        self.configs.append(config)
        return self

    def fail(self, key: str, *errors: Exception, after_parts: int = 0) -> None:
        """The next len(errors) attempts at `key` raise these, in order."""
        for error in errors:
            self._script[key].append(Scripted(error, after_parts))

    def always_fail(self, key: str, error: Exception | None) -> None:
        if error is None:
            self._always.pop(key, None)
        else:
            self._always[key] = error

    def attempts(self, key: str) -> int:
        return sum(1 for c in self.calls if c.key == key)

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
        self.calls.append(Call(key, zip_path, sha256, resume))
        self.pacings.append(pacing)
        self.tokens.append(cancel)
        scripted = self._script[key].popleft() if self._script[key] else None
        if scripted is None and key in self._always:
            scripted = Scripted(self._always[key], 0)
        try:
            data = zip_path.read_bytes()
        except FileNotFoundError:
            raise ZipMissing(f"{zip_path} is missing") from None
        if resume is not None:
            upload_id, part_size, parts = resume.uploadId, resume.partSize, list(resume.parts)
        else:
            with self._lock:
                self._uploads += 1
                upload_id = f"upload-{self._uploads}"
            part_size, parts = self.part_size, []
        have = {p.partNumber for p in parts}
        sent = 0
        new_parts = 0
        for number, offset, length in part_ranges(len(data), part_size):
            if number in have:
                continue
            if scripted is not None and new_parts >= scripted.after_parts:
                raise scripted.error
            if self.before_part is not None:
                self.before_part(key, number)
            if cancel.cancelled:
                if cancel.kind is StopKind.CANCEL:
                    self.aborted.append((key, upload_id))
                raise UploadCancelled("the upload was stopped")
            done = sum(p.size for p in parts)
            on_progress(done + length // 2, len(data))
            chunk = data[offset : offset + length]
            parts.append(CompletedPart(number, hashlib.md5(chunk).hexdigest(), length))  # noqa: S324 - ETag
            sent += length
            new_parts += 1
            on_progress(done + length, len(data))
            on_checkpoint(ResumePoint(upload_id, part_size, tuple(sorted(parts, key=lambda p: p.partNumber))))
        if scripted is not None:
            raise scripted.error
        on_checkpoint(None)
        self.objects[key] = data
        return UploadResult(key=key, size=len(data), sha256=hashlib.sha256(data).hexdigest(), bytesSent=sent)

    def abort(self, key: str, upload_id: str) -> None:
        self.aborted.append((key, upload_id))

    def validate_credentials(self) -> CredentialCheck:
        return CredentialCheck(valid=True)

    def share_link(self, key: str, expires_s: int) -> str:
        return f"https://example.invalid/{key}?expires={expires_s}"

    def close(self) -> None:
        self.closed += 1
