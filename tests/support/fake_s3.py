"""An in-memory S3Calls (traycap/upload/s3/calls.py) for unit tests of the S3 engine's algorithm.

It keeps objects and multipart uploads in dicts, reads every request body the
way urllib3 does (so progress, rate limits and stops run for real), and fails
requests on cue:

    s3 = FakeS3()
    s3.fail("upload_part", NetworkError("reset"), part=2)      # the next UploadPart of part 2 fails once
    s3.fail("complete_multipart_upload", NetworkError("lost"), after=True)   # completes, then the answer is lost
    s3 = FakeS3(clock)
    s3.fail("upload_part", NetworkError("timed out"), part=2, silent_s=30)   # takes the body, then says
                                                                             # nothing for 30 s (the clock's)
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from traycap.clock import FakeClock
from traycap.errors import UploadError, UploadGone
from traycap.models import CompletedPart
from traycap.upload.s3.body import PartBody
from traycap.upload.s3.calls import ListedPart
from traycap.upload.s3.integrity import META_SHA256, Checksum


@dataclass
class _Upload:
    key: str
    sha256: str | None
    parts: dict[int, tuple[str, bytes]] = field(default_factory=dict)  # number -> (etag, bytes)


@dataclass(frozen=True)
class _Failure:
    error: UploadError
    part: int | None  # only this part number (UploadPart), or any
    after: bool  # the request takes effect, then the answer is lost
    silent_s: float  # UploadPart: the body is taken, then no answer for this long (a read timeout)


def _gone(upload_id: str) -> UploadGone:
    return UploadGone(f"no such upload {upload_id}", code="NoSuchUpload", status=404)


class FakeS3:
    endpoint = "http://fake-s3.invalid"

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.objects: dict[str, tuple[bytes, dict[str, str]]] = {}
        self.uploads: dict[str, _Upload] = {}
        self.calls: list[tuple[str, Any]] = []  # (operation, part number or key)
        self.aborted: list[str] = []
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._next_id = 0
        self._lock = threading.Lock()
        # Called with (part number, bytes read so far) as an UploadPart body is read.
        self.on_part_read: Callable[[int, int], None] | None = None

    def fail(
        self, op: str, error: UploadError, *, part: int | None = None, times: int = 1, after: bool = False,
        silent_s: float = 0.0,
    ) -> None:
        assert not silent_s or (op == "upload_part" and self.clock is not None), "silence takes a part and a clock"
        for _ in range(times):
            self._failures[op].append(_Failure(error, part, after, silent_s))

    def count(self, op: str) -> int:
        return sum(1 for name, _ in self.calls if name == op)

    def parts_sent(self) -> list[int]:
        return [arg for name, arg in self.calls if name == "upload_part"]

    def _take_failure(self, op: str, part: int | None = None) -> _Failure | None:
        with self._lock:
            queue = self._failures[op]
            for failure in list(queue):
                if failure.part is None or failure.part == part:
                    queue.remove(failure)
                    return failure
        return None

    def _record(self, op: str, arg: Any) -> _Failure | None:
        with self._lock:
            self.calls.append((op, arg))
        failure = self._take_failure(op, arg if op == "upload_part" else None)
        if failure is not None and not failure.after and not failure.silent_s:
            raise failure.error
        return failure

    # --- S3Calls -------------------------------------------------------------
    def head_object(self, key: str, *, forbidden_is_missing: bool = False) -> dict[str, Any] | None:
        self._record("head_object", key)
        if key not in self.objects:
            return None
        data, meta = self.objects[key]
        return {"ContentLength": len(data), "Metadata": dict(meta)}

    def put_object(self, key: str, body: PartBody, *, sha256: str, checksum: Checksum) -> None:
        failure = self._record("put_object", key)
        self.objects[key] = (_read(body), {META_SHA256: sha256})
        if failure is not None:
            raise failure.error

    def create_multipart_upload(self, key: str, *, sha256: str | None) -> str:
        self._record("create_multipart_upload", key)
        with self._lock:
            self._next_id += 1
            upload_id = f"upload-{self._next_id}"
            self.uploads[upload_id] = _Upload(key, sha256)
        return upload_id

    def upload_part(self, key: str, upload_id: str, number: int, body: PartBody, checksum: Checksum) -> str:
        failure = self._record("upload_part", number)
        upload = self.uploads.get(upload_id)
        if upload is None:
            raise _gone(upload_id)
        data = _read(body, lambda got: self.on_part_read(number, got) if self.on_part_read else None)
        if failure is not None and failure.silent_s:
            assert self.clock is not None
            self.clock.advance(failure.silent_s)
            raise failure.error
        if Checksum.of(data, md5=checksum.md5) != checksum:
            raise UploadError("BadDigest", code="BadDigest", status=400)
        etag = hashlib.md5(data).hexdigest()  # noqa: S324 - what S3 uses as a part's ETag
        with self._lock:
            upload.parts[number] = (etag, data)
        if failure is not None:
            raise failure.error
        return etag

    def list_parts(self, key: str, upload_id: str) -> dict[int, ListedPart]:
        self._record("list_parts", upload_id)
        upload = self.uploads.get(upload_id)
        if upload is None:
            raise _gone(upload_id)
        return {n: ListedPart(n, etag, len(data)) for n, (etag, data) in upload.parts.items()}

    def complete_multipart_upload(self, key: str, upload_id: str, parts: list[CompletedPart]) -> None:
        failure = self._record("complete_multipart_upload", upload_id)
        upload = self.uploads.pop(upload_id, None)
        if upload is None:
            raise _gone(upload_id)
        data = b"".join(upload.parts[p.partNumber][1] for p in sorted(parts, key=lambda p: p.partNumber))
        self.objects[key] = (data, {META_SHA256: upload.sha256} if upload.sha256 else {})
        if failure is not None:
            raise failure.error

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        self._record("abort_multipart_upload", upload_id)
        if self.uploads.pop(upload_id, None) is None:
            raise _gone(upload_id)
        self.aborted.append(upload_id)

    def stamp_sha256(self, key: str, *, sha256: str) -> None:
        failure = self._record("stamp_sha256", key)
        if key not in self.objects:
            raise UploadError("NoSuchKey", code="NoSuchKey", status=404)
        data, _ = self.objects[key]
        self.objects[key] = (data, {META_SHA256: sha256})  # REPLACE: the old metadata goes
        if failure is not None:
            raise failure.error


def _read(body: PartBody, on_chunk: Callable[[int], None] | None = None) -> bytes:
    out = bytearray()
    while chunk := body.read(64 * 1024):
        out += chunk
        if on_chunk is not None:
            on_chunk(len(out))
    return bytes(out)
