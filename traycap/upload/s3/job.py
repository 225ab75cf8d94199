"""One upload_file call's own state: the zip on disk, its SHA-256, the caller's callbacks
and cancel token, and the bytes sent. The (shared) service keeps none of it."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

from traycap.cancel import CancelToken, StopKind
from traycap.errors import UploadCancelled, ZipChanged, ZipMissing
from traycap.upload.bandwidth import TokenBucket
from traycap.upload.engine import CheckpointFn, ProgressFn, ResumePoint

_HASH_CHUNK = 1024 * 1024


def cancelled_error(kind: StopKind | None) -> UploadCancelled:
    """What an upload stopped by its CancelToken raises."""
    if kind is StopKind.SHUTDOWN:
        return UploadCancelled("Upload paused because traycap is quitting", "it continues at the next start")
    if kind is StopKind.PAUSE:
        return UploadCancelled("Upload paused", "`traycap resume-uploads` (or Resume uploads) continues it")
    return UploadCancelled("Upload cancelled", "")


class UploadJob:
    def __init__(
        self,
        path: Path,
        key: str,
        *,
        sha256: str | None,
        on_progress: ProgressFn,
        on_checkpoint: CheckpointFn,
        cancel: CancelToken,
        bandwidth: TokenBucket | None = None,
        crc32: str | None = None,
    ) -> None:
        self.path = path
        self._bandwidth = bandwidth
        self.key = key
        self.sha256 = sha256.lower() if sha256 else None
        self.crc32 = crc32.lower() if crc32 else None  # the export's, hex: see sources.FileSource
        self.on_checkpoint = on_checkpoint
        self.cancel = cancel
        self.size = 0
        self._on_progress = on_progress
        self._reported = -1
        self._sent = 0
        self._sent_lock = threading.Lock()

    # --- the caller's view (the driver's sink) ---------------------------------
    def checkpoint(self, point: ResumePoint | None) -> None:
        self.on_checkpoint(point)

    def progress(self, done: int) -> None:
        """Report bytes done, never backwards; call on the caller's thread only."""
        done = min(self.size, done)
        if done > self._reported:
            self._reported = done
            self._on_progress(done, self.size)

    def count_sent(self, n: int) -> None:
        with self._sent_lock:
            self._sent += n

    def throttle(self, n: int) -> None:
        """Wait as the upload rate cap asks before `n` more bytes go out (a cancel ends the wait)."""
        if self._bandwidth is not None:
            self._bandwidth.take(n, wake=self.cancel.event, stop=lambda: self.cancelled_now)

    @property
    def bytes_sent(self) -> int:
        with self._sent_lock:
            return self._sent

    @property
    def cancelled_now(self) -> bool:
        """The user cancelled: stop sending at once (a SHUTDOWN waits for parts in flight)."""
        return self.cancel.kind is StopKind.CANCEL

    def cancelled(self) -> UploadCancelled:
        return cancelled_error(self.cancel.kind)

    # --- the file ------------------------------------------------------------
    def stat(self) -> int:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise ZipMissing(f"The session zip {self.path} is missing") from None
        except OSError as exc:
            raise ZipMissing(f"The session zip {self.path} cannot be read: {exc.strerror}") from exc
        return st.st_size

    def open(self) -> io.BufferedReader:
        try:
            return self.path.open("rb")
        except FileNotFoundError:
            raise ZipMissing(f"The session zip {self.path} is missing") from None
        except OSError as exc:
            raise ZipMissing(f"The session zip {self.path} cannot be read: {exc.strerror}") from exc

    def file_sha256(self) -> str:
        digest = hashlib.sha256()
        with self.open() as f:
            while chunk := f.read(_HASH_CHUNK):
                if self.cancel.cancelled:
                    raise self.cancelled()
                digest.update(chunk)
        return digest.hexdigest()

    def changed(self) -> ZipChanged:
        return ZipChanged(f"The session zip {self.path} changed after it was exported")
