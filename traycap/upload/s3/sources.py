"""Where the multipart driver's parts come from: the one thing that differs between the queue and
the live lane (as s3transfer feeds one upload task from several input managers).

    FileSource     a finished zip (the queue): its size and SHA-256 are known up front; it is read
                   once, in part order, and a zip that changed since export is never completed
                   (ZipChanged): the parts' CRC32s, combined, must be the CRC32 the export recorded
                   (no byte hashed twice); without one (an older export, Content-MD5 parts) the
                   file is hashed whole (SHA-256) on the way
    GrowingSource  a zip still being written (the live lane): part n is ready once n * P bytes are
                   committed (final on disk); the short last part and the SHA-256 only at `finished`

Both number parts 1..N as part_ranges(size, P) does, so either can finish the other's upload.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from pathlib import Path
from typing import Protocol

from traycap.errors import ZipChanged, ZipMissing
from traycap.models import MAX_PARTS, CompletedPart
from traycap.upload.s3.integrity import CRC32_BYTES, Checksum, b64, full_crc32
from traycap.upload.s3.job import UploadJob

log = logging.getLogger(__name__)

MAX_GROWING_PARTS = MAX_PARTS - 1  # whole parts sent while growing; past that the rest waits for Stop


class PartSource(Protocol):
    @property
    def part_size(self) -> int: ...

    @property
    def size(self) -> int | None:
        """The whole size once it is known (None while the zip grows)."""
        ...

    @property
    def sha256(self) -> str | None:
        """The whole SHA-256 once it is known (None while the zip grows)."""
        ...

    def ready(self) -> int:
        """How many parts (1..n) have their final bytes now."""
        ...

    def length(self, number: int) -> int | None:
        """Part `number`'s length, None while it is not known (the last part of a growing zip)."""
        ...

    def read(self, number: int) -> memoryview:
        """Part `number`'s bytes (a ready part). Raises ZipMissing / ZipChanged."""
        ...

    def release(self, data: memoryview) -> None:
        """A part's bytes from `read` are no longer needed (sent, or failed: a retry reads again)."""
        ...

    def kept(self, number: int, part: CompletedPart, *, md5: bool) -> None:
        """Part `number` is in the bucket already (resumed); called in part order like `read`."""
        ...

    def check_complete(self, parts: list[CompletedPart]) -> None:
        """Before CompleteMultipartUpload of `parts`: raise ZipChanged unless they are the whole zip."""
        ...

    def rewind(self) -> None:
        """A fresh multipart upload sends everything again from part 1."""
        ...


def part_count(size: int, part_size: int) -> int:
    return max(1, -(-size // part_size))


class PartBuffers:
    """Part buffers used again: a fresh 10 MiB bytearray costs 2,560 page faults, and zeroing, per part
    (about a tenth of an upload's CPU here), and the allocator keeps what was freed anyway."""

    def __init__(self, keep: int = 4) -> None:
        self._keep = keep
        self._free: list[bytearray] = []
        self._lock = threading.Lock()

    def take(self, size: int) -> memoryview:
        with self._lock:
            found = next((i for i, b in enumerate(self._free) if len(b) >= size), None)
            buf = self._free.pop(found) if found is not None else bytearray(size)
        return memoryview(buf)[:size]

    def give(self, data: memoryview) -> None:
        buf = data.obj
        if isinstance(buf, bytearray):
            with self._lock:
                if len(self._free) < self._keep:
                    self._free.append(buf)


class FileSource:
    def __init__(self, job: UploadJob, part_size: int, *, md5: bool = False) -> None:
        assert job.sha256 is not None
        self._job = job
        self._part_size = part_size
        self._file: io.BufferedReader | None = None
        self._buffers = PartBuffers()
        # The parts' CRC32s tell whether this is the exported zip, when the export recorded its CRC32.
        self._crc32 = job.crc32 if not md5 else None
        self._whole = hashlib.sha256() if self._crc32 is None else None
        self._hashed = 0  # parts 1..hashed went through the whole-file hash

    @property
    def part_size(self) -> int:
        return self._part_size

    @property
    def size(self) -> int:
        return self._job.size

    @property
    def sha256(self) -> str | None:
        return self._job.sha256

    def ready(self) -> int:
        return part_count(self._job.size, self._part_size)

    def length(self, number: int) -> int:
        return max(0, min(self._part_size, self._job.size - (number - 1) * self._part_size))

    def read(self, number: int) -> memoryview:
        length = self.length(number)
        view = self._buffers.take(length)
        if self._file is None:
            self._file = self._job.open()
        self._file.seek((number - 1) * self._part_size)
        if self._file.readinto(view) != length:
            raise self._job.changed()
        if self._whole is None:
            return view
        if number == self._hashed + 1:
            self._whole.update(view)
            self._hashed = number
        elif number > self._hashed:
            raise AssertionError(f"part {number} read before part {self._hashed + 1}")
        return view

    def kept(self, number: int, part: CompletedPart, *, md5: bool) -> None:
        # A resumed part holds the bytes of an earlier attempt: if the file changed since,
        # completing would put a corrupt bundle in the bucket.
        view = self.read(number)
        same = not part.checksum or Checksum.of(view, md5=md5).value == part.checksum
        self.release(view)
        if not same:
            raise self._job.changed()

    def release(self, data: memoryview) -> None:
        self._buffers.give(data)

    def check_complete(self, parts: list[CompletedPart]) -> None:
        if self._job.stat() != self._job.size:
            raise self._job.changed()
        if self._whole is None:
            assert self._crc32 is not None
            if full_crc32(parts) != b64(int(self._crc32, 16).to_bytes(CRC32_BYTES, "big")):
                raise self._job.changed()
        elif self._hashed != self.ready() or self._whole.hexdigest() != self._job.sha256:
            raise self._job.changed()

    def rewind(self) -> None:
        self._whole = hashlib.sha256() if self._whole is not None else None
        self._hashed = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class GrowingSource:
    def __init__(self, path: Path, part_size: int, *, max_parts: int = MAX_GROWING_PARTS) -> None:
        self._path = path
        self._part_size = part_size
        self._max_parts = max_parts
        self._lock = threading.Lock()
        self._committed = 0
        self._final: tuple[int, str] | None = None
        self._warned = False
        self._buffers = PartBuffers()

    # --- what the bundler says (any thread) ---------------------------------------------
    def committed(self, size: int) -> None:
        with self._lock:
            if self._final is None and size > self._committed:
                self._committed = size

    def finished(self, size: int, sha256: str) -> None:
        with self._lock:
            self._final = (size, sha256.lower())
            self._committed = size

    @property
    def committed_size(self) -> int:
        with self._lock:
            return self._committed

    # --- PartSource ---------------------------------------------------------------------
    @property
    def part_size(self) -> int:
        return self._part_size

    @property
    def size(self) -> int | None:
        with self._lock:
            return self._final[0] if self._final else None

    @property
    def sha256(self) -> str | None:
        with self._lock:
            return self._final[1] if self._final else None

    def ready(self) -> int:
        with self._lock:
            committed, final = self._committed, self._final
        if final is not None:
            return part_count(final[0], self._part_size)
        whole = committed // self._part_size
        if whole > self._max_parts and not self._warned:
            self._warned = True
            log.warning("%s: %d parts sent while recording; the rest goes at Stop", self._path.name, self._max_parts)
        return min(whole, self._max_parts)

    def length(self, number: int) -> int | None:
        size = self.size
        if size is None:
            return self._part_size if number <= self.ready() else None
        return max(0, min(self._part_size, size - (number - 1) * self._part_size))

    def read(self, number: int) -> memoryview:
        length = self.length(number)
        assert length is not None, f"part {number} is not ready"
        view = self._buffers.take(length)
        try:
            with self._path.open("rb") as f:
                f.seek((number - 1) * self._part_size)
                got = f.readinto(view)
        except OSError as exc:
            raise ZipMissing(f"The live zip {self._path} cannot be read: {exc.strerror}", "") from exc
        if got != length:
            raise ZipChanged(f"The live zip {self._path} is shorter than its committed size", "")
        return view

    def release(self, data: memoryview) -> None:
        self._buffers.give(data)

    def kept(self, number: int, part: CompletedPart, *, md5: bool) -> None:
        """Bytes before the committed size never change (the journal's promise): nothing to check."""

    def check_complete(self, parts: list[CompletedPart]) -> None:
        assert self.size is not None, "completed before the zip was finished"

    def rewind(self) -> None:
        """Parts are read from disk when sent: nothing to start again."""
