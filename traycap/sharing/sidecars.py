"""Every verified upload gets its sidecar before it is marked done (traycap/player/sidecar.py).

The composition wraps the engines it builds; the upload package does not know sidecars exist:

    UploadQueue(ctx, with_sidecars(rate.service, ctx.clock))          # the queue: after upload_file
    LiveUpload(..., engine=LiveSidecar(engine, zip_path, ctx.clock))   # a live lane: after verify

Both engines return only once the zip is verified (HeadObject: size, SHA-256, checksum); the
wrapper then puts the sidecar, and only after that does the queue or the lane write `done`
(transitions.succeeded). A sidecar that cannot be written for a passing reason (network, 5xx)
fails the step like any other request, so it is tried again: the next queue attempt finds the
zip already there (nothing is sent again) and writes the sidecar; the lane completes again with
the zip verified again (HeadObject) and writes it. A permanent refusal (a bucket policy that
allows the zip's key but not the .json) is logged and the session is done without a sidecar:
`traycap sessions --remote` still lists its zip.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from traycap.cancel import CancelToken
from traycap.clock import Clock
from traycap.errors import UploadError
from traycap.models import CompletedPart, UploadConfig
from traycap.player import sidecar
from traycap.player.bucket import Bucket
from traycap.upload.engine import CheckpointFn, CredentialCheck, ProgressFn, ResumePoint, UploadEngine, UploadResult
from traycap.upload.live import LiveEngine

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from traycap.upload.bandwidth import TokenBucket
    from traycap.upload.engine import PartPacing
    from traycap.upload.s3.multipart import DriverSink, MultipartDriver
    from traycap.upload.s3.sources import PartSource

log = logging.getLogger(__name__)


BucketFor = Callable[[UploadConfig], Bucket]


def bucket_objects(config: UploadConfig) -> Bucket:
    from traycap.upload.s3.objects import BucketObjects  # boto3 only when an upload has happened

    return BucketObjects(config)


def _write(bucket: Bucket, key: str, zip_path: Path, *, size: int, sha256: str, clock: Clock) -> None:
    try:
        written = sidecar.write(bucket, key, zip_path, size=size, sha256=sha256, uploaded_at=clock.now_ms())
    except UploadError as exc:
        if exc.transient:
            raise
        log.warning("%s is uploaded and verified, but its sidecar could not be written: %s", key, exc.user_text())
        return
    log.info("sidecar %s written", written)


class SidecarEngine:
    """The queue's engine, writing the sidecar after each verified upload."""

    def __init__(self, engine: UploadEngine, bucket: Bucket, clock: Clock) -> None:
        self._engine = engine
        self._bucket = bucket
        self._clock = clock

    def upload_file(
        self, zip_path: Path, key: str, *, sha256: str | None, resume: ResumePoint | None, on_progress: ProgressFn,
        on_checkpoint: CheckpointFn, cancel: CancelToken, pacing: PartPacing | None = None, crc32: str | None = None,
    ) -> UploadResult:
        result = self._engine.upload_file(zip_path, key, sha256=sha256, resume=resume, on_progress=on_progress,
                                          on_checkpoint=on_checkpoint, cancel=cancel, pacing=pacing, crc32=crc32)
        _write(self._bucket, result.key, Path(zip_path), size=result.size, sha256=result.sha256, clock=self._clock)
        return result

    def abort(self, key: str, upload_id: str) -> None:
        self._engine.abort(key, upload_id)

    def validate_credentials(self) -> CredentialCheck:
        return self._engine.validate_credentials()

    def share_link(self, key: str, expires_s: int) -> str:
        return self._engine.share_link(key, expires_s)

    def close(self) -> None:
        self._engine.close()
        self._bucket.close()


EngineFactory = Callable[[UploadConfig], UploadEngine]


def with_sidecars(factory: EngineFactory, clock: Clock, *, bucket_for: BucketFor = bucket_objects) -> EngineFactory:
    """The queue's engine factory, its engines writing sidecars (to `bucket_for(config)`)."""
    return lambda config: SidecarEngine(factory(config), bucket_for(config), clock)


class LiveSidecar:
    """A live lane's engine, writing the sidecar once the completed upload is verified."""

    def __init__(
        self, engine: LiveEngine, zip_path: Path, clock: Clock, *, bucket_for: BucketFor = bucket_objects,
    ) -> None:
        self._engine = engine
        self._zip_path = zip_path
        self._clock = clock
        self._bucket = bucket_for(engine.config)
        self.config: UploadConfig = engine.config
        self.bandwidth: TokenBucket | None = engine.bandwidth

    def multipart(
        self, source: PartSource, key: str, *, sink: DriverSink, token: CancelToken, pacing: PartPacing | None = None,
        limiter: TokenBucket | None = None, concurrency: int | None = None, executor: Executor | None = None,
        wake: threading.Event | None = None,
    ) -> MultipartDriver:
        return self._engine.multipart(source, key, sink=sink, token=token, pacing=pacing, limiter=limiter,
                                      concurrency=concurrency, executor=executor, wake=wake)

    def verify(
        self, key: str, *, size: int, sha256: str, parts: list[CompletedPart] | None,
        single_checksum: str | None = None,
    ) -> None:
        self._engine.verify(key, size=size, sha256=sha256, parts=parts, single_checksum=single_checksum)
        _write(self._bucket, key, self._zip_path, size=size, sha256=sha256, clock=self._clock)

    def stamp(
        self, key: str, *, size: int, sha256: str, parts: list[CompletedPart], wake: threading.Event | None = None,
    ) -> None:
        self._engine.stamp(key, size=size, sha256=sha256, parts=parts, wake=wake)

    def abort(self, key: str, upload_id: str) -> None:
        self._engine.abort(key, upload_id)
