"""The live lanes of one process (the tray, or `traycap record`), and the one rate cap they share
with its queue (docs/instant-share.md).

    rate = SharedRate(ctx.clock)                      # one maxUploadMBps cap: queue + lanes
    UploadQueue(ctx, rate.service)
    lanes = LiveLanes(ctx, rate=rate)
    lanes.subscribe(router.on_progress)               # the lanes' progress, as the queue's
    lane = lanes.open(session_id, config)             # Sharing, at Start (recordings.py)
    lanes.hand_over_all()                             # the process exits: the queue finishes them

Which recordings get a lane is decided by Sharing (policy.py); this module only makes and keeps them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import TraycapError
from traycap.models import UploadConfig, UploadProgress
from traycap.sharing.sidecars import LiveSidecar
from traycap.upload.bandwidth import TokenBucket
from traycap.upload.events import ProgressBus
from traycap.upload.live import LiveEngine, LiveUpload

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
    def __init__(self, ctx: Context, *, rate: SharedRate | None = None,
                 engine_factory: EngineFactory | None = None) -> None:
        self._ctx = ctx
        self._rate = rate or SharedRate(ctx.clock)
        self._engine_factory: EngineFactory = engine_factory or self._rate.service
        self._bus = ProgressBus(ctx.clock, interval_s=0.0)  # each lane paces its own progress
        self._lock = threading.Lock()
        self._lanes: dict[str, LiveUpload] = {}

    def subscribe(self, fn: Callable[[UploadProgress], None]) -> Callable[[], None]:
        """`fn` gets every lane's progress (the same events the queue publishes); returns the unsubscribe."""
        return self._bus.subscribe(fn)

    def open(self, session_id: str, config: UploadConfig) -> LiveUpload | None:
        """A lane for a recording that starts now; None when it cannot be made (the session's state
        cannot be written): the recording is then exported and queued as usual."""
        zip_path = self._ctx.paths.session_dir(session_id) / f"{session_id}.zip"
        try:
            engine = LiveSidecar(self._engine_factory(config), zip_path, self._ctx.clock)  # its sidecar once verified
            lane = LiveUpload(self._ctx, session_id, zip_path, engine=engine, limiter=self._rate.bucket(config),
                              on_progress=self._bus.publish)
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

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._lanes.pop(session_id, None)

    def abort(self, key: str, upload_id: str) -> None:
        """Abort a multipart upload with the current settings (a live bundle that was dropped)."""
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
