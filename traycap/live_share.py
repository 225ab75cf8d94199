"""Upload while recording, wired (docs/upload.md, "Uploading while recording").

The recorder writes a live bundle and tells a LiveSink how far it is final; the upload package
sends it. Neither knows the other: this module (composition layer) decides which recordings get
a live lane, builds the lane for the recorder, and settles the lanes of a process that stops and
the live sessions a crash left behind.

    rate = SharedRate(ctx.clock)                               # one rate cap: queue + lanes
    UploadQueue(ctx, rate.service)
    lanes = LiveLanes(ctx, on_progress=router.on_progress, rate=rate)
    RecordingController(ctx, settings, live=lanes.factory)     # a lane per recording
    lanes.lane(session_id).wait(timeout)                       # `traycap record`: the link, then exit
    lanes.hand_over_all()                                      # the process exits: the queue finishes
    settle_recovered(ctx, report)                              # start-up after a crash
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import CorruptFile, TraycapError
from traycap.models import UploadConfig, UploadProgress
from traycap.sidecars import LiveSidecar
from traycap.upload.bandwidth import TokenBucket
from traycap.upload.live import LiveEngine, LiveUpload, hand_over
from traycap.upload.requests import request_cancel

if TYPE_CHECKING:
    from traycap.upload.s3 import UploadService

log = logging.getLogger(__name__)

EngineFactory = Callable[[UploadConfig], LiveEngine]


class SharedRate:
    """One maxUploadMBps cap per process, shared by the queue's engine and every live lane, so the
    two lanes together never go past it (the live lane takes its parts first: they are few)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[float, TokenBucket] = {}

    def bucket(self, config: UploadConfig) -> TokenBucket | None:
        mbps = config.maxUploadMBps
        with self._lock:
            if mbps not in self._buckets:
                made = TokenBucket.for_mbps(mbps, self._clock)
                if made is None:
                    return None
                self._buckets[mbps] = made
            return self._buckets[mbps]

    def service(self, config: UploadConfig) -> UploadService:
        """An S3 engine whose rate cap is the shared one: the queue's and the lanes' engine factory."""
        from traycap.upload.s3 import UploadService

        return UploadService(config, bandwidth=self.bucket(config))


class LiveLanes:
    """The live lanes of one process (the tray, or `traycap record`)."""

    def __init__(
        self,
        ctx: Context,
        *,
        on_progress: Callable[[UploadProgress], object] | None = None,
        rate: SharedRate | None = None,
        engine_factory: EngineFactory | None = None,
    ) -> None:
        self._ctx = ctx
        self._on_progress = on_progress
        self._rate = rate or SharedRate(ctx.clock)
        self._engine_factory: EngineFactory = engine_factory or self._rate.service
        self._lock = threading.Lock()
        self._lanes: dict[str, LiveUpload] = {}

    def factory(self, session_id: str) -> LiveUpload | None:
        """The recorder's LiveFactory: a lane when autoUpload and uploadWhileRecording are on and the
        upload settings are usable; None records the classic way (exported and queued at Stop)."""
        try:
            config = self._ctx.load_config()
        except TraycapError as exc:
            log.warning("session %s: not uploading while recording: %s", session_id, exc.user_text())
            return None
        if config is None or not config.autoUpload or not config.uploadWhileRecording:
            return None
        zip_path = self._ctx.paths.session_dir(session_id) / f"{session_id}.zip"
        try:
            engine = LiveSidecar(self._engine_factory(config), zip_path, self._ctx.clock)  # traycap/sidecars.py
            lane = LiveUpload(self._ctx, session_id, zip_path, engine=engine, limiter=self._rate.bucket(config),
                              on_progress=self._on_progress)
        except TraycapError as exc:
            log.warning("session %s: not uploading while recording: %s", session_id, exc.user_text())
            return None
        with self._lock:
            self._lanes[session_id] = lane
        log.info("session %s: uploading while recording", session_id)
        return lane

    def lane(self, session_id: str) -> LiveUpload | None:
        with self._lock:
            return self._lanes.get(session_id)

    def settle_export(self, session_id: str) -> None:
        """Before the auto-upload rule, at the export event: a lane the recorder abandoned (its live
        bundle broke and the session was exported in format 1 instead) has a multipart upload of
        bytes that are not the zip any more: abort it and forget its state, so the classic rule
        queues the new zip."""
        lane = self.lane(session_id)
        if lane is None or not lane.abandoned:
            return
        with self._lock:
            self._lanes.pop(session_id, None)
        log.info("session %s: its live bundle was replaced by a classic export; uploading that instead", session_id)
        settle_recovered(self._ctx, (), (session_id,), abort=self.abort)

    def abort(self, key: str, upload_id: str) -> None:
        """Abort a multipart upload with the current settings (live bundles that were dropped)."""
        config = self._ctx.load_config()
        if config is not None:
            self._engine_factory(config).abort(key, upload_id)

    def hand_over_all(self) -> None:
        """The process stops: every lane stops sending; a finished bundle goes to the queue (the same
        multipart upload, stamped when completed), an unfinished one stays live for recovery."""
        with self._lock:
            lanes, self._lanes = list(self._lanes.values()), {}
        for lane in lanes:
            try:
                lane.handover()
            except Exception:
                log.exception("handing a live upload over to the queue went wrong")


def settle_recovered(ctx: Context, live: Iterable[str], dropped: Iterable[str],
                     abort: Callable[[str, str], None] | None = None) -> list[str]:
    """After recovery finished the live bundles a crash left: their upload goes to the queue (live ->
    pending, the same multipart upload). A live bundle recovery had to drop (unreadable journal, the
    session re-exported in format 1) gets its multipart upload aborted and its state reset, so the
    classic rule (auto_upload) queues the new zip. Returns the sessions that need that rule: the
    dropped ones, and finished live bundles that never had an upload state."""
    classic: list[str] = []
    for session_id in live:
        try:
            meta = ctx.sessions.read_meta(session_id)
            after = hand_over(ctx, session_id, total=meta.fileSizeBytes or 0)
            state = after or ctx.states.read(session_id)
        except (TraycapError, CorruptFile) as exc:
            log.warning("session %s: its upload could not be handed to the queue: %s", session_id, exc.user_text())
            continue
        if state is None:
            classic.append(session_id)
    for session_id in dropped:
        try:
            before, _after = request_cancel(ctx, session_id)
        except TraycapError:
            classic.append(session_id)  # no upload state to reset: the classic rule applies
            continue
        if abort is not None and before.s3Key and before.uploadId:
            try:
                abort(before.s3Key, before.uploadId)
            except TraycapError as exc:
                log.warning("session %s: the partial upload could not be aborted: %s", session_id, exc.user_text())
        _forget_cancel(ctx, session_id)
        classic.append(session_id)
    return classic


def _forget_cancel(ctx: Context, session_id: str) -> None:
    """A dropped live bundle's reset state must not read as "cancelled by the user" (auto_upload skips those)."""
    ctx.paths.state(session_id).unlink(missing_ok=True)

