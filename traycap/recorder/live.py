"""Upload while recording, as the recorder does its part: a format-2 bundle written as the session
grows (bundle/bundler.py), whose final bytes go to the recording's LiveSink (api.py).

The recorder decides nothing about uploads: the composition hands it a sink for the sessions it
uploads live. Here: start the bundle and tell the sink what is final (`committed`); at Stop finish
the zip, tell the sink its size and SHA-256 (`finished`: the last part may go), then remove the raw
files the bundle took. Anything going wrong only means the recording is exported as format 1, as
always, and the sink is told to stop (`abandon`).
"""

from __future__ import annotations

import contextlib
import logging

from traycap.bundle.bundler import Bundler, discard_live_zip, finish_live, start_live
from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import RecorderError, StorageError, TraycapError
from traycap.models import SessionMeta
from traycap.recorder.api import LiveFactory, LiveSink

log = logging.getLogger(__name__)


class LiveBundle:
    """One recording's live bundle and its sink."""

    def __init__(self, ctx: Context, session_id: str, bundler: Bundler, sink: LiveSink) -> None:
        self._ctx = ctx
        self._sid = session_id
        self.bundler = bundler
        self._sink = sink

    @classmethod
    def open(cls, ctx: Context, session_id: str, factory: LiveFactory | None, clock: Clock) -> LiveBundle | None:
        """When the composition gives the session a sink: its live bundle, the bundler thread running.
        None: the recording is exported as format 1 at Stop (no sink, or the bundle could not start)."""
        if factory is None:
            return None
        try:
            sink = factory(session_id)
        except Exception:
            log.exception("session %s: no upload while recording", session_id)
            return None
        return cls.start(ctx, session_id, sink, clock) if sink is not None else None

    @classmethod
    def start(cls, ctx: Context, session_id: str, sink: LiveSink, clock: Clock) -> LiveBundle | None:
        """The bundler thread running, or None (the sink abandoned): the recording goes on classic."""
        try:
            bundler = start_live(ctx, session_id, clock, on_commit=lambda size: _committed(sink, size),
                                 on_failure=lambda exc: _abandon(sink))
        except Exception as exc:
            log.error("session %s: the live bundle could not start (%s): recorded as usual", session_id, exc)
            _abandon(sink)
            discard_live_zip(ctx.paths.session_dir(session_id), session_id)
            return None
        return cls(ctx, session_id, bundler, sink)

    def finish(self) -> SessionMeta | None:
        """At Stop, once the recording's files are closed: the bundler thread stops (a cut in progress
        ends first; a cut after the files closed only takes complete boxes and lines, as always), the
        last cut finishes the zip, the sink is told, the raw files the bundle took are removed.

        The finished zip's meta; None when the live bundle cannot be finished (it is then discarded:
        the caller exports format 1). A zip that is complete but whose meta or marker could not be
        written raises: recovery records it at the next start."""
        bundler = self.bundler
        try:
            bundler.stop()
        except RecorderError as exc:
            log.error("session %s: %s", self._sid, exc.user_text())
            bundler.failure = exc
        if not bundler.failed:
            try:
                done = finish_live(self._ctx, self._sid, bundler)
            except Exception as exc:
                _abandon(self._sink)
                if bundler.zf.final is not None:
                    if isinstance(exc, TraycapError):
                        raise
                    raise StorageError(f"Could not record the finished bundle of {self._sid}: {exc}") from exc
                log.error("session %s: the live bundle could not be finished (%s): exporting it as usual",
                          self._sid, exc)
                bundler.failure = exc
            else:
                try:  # the zip, its meta and the marker are on disk: the last part may go
                    self._sink.finished(done.final.size, done.final.sha256)
                except Exception:
                    log.exception("session %s: the upload lane did not take the finished zip", self._sid)
                done.remove_raw_files()
                return done.meta
        with contextlib.suppress(Exception):
            bundler.zf.close()
        discard_live_zip(self._ctx.paths.session_dir(self._sid), self._sid)
        return None


def _committed(sink: LiveSink, size: int) -> None:
    try:
        sink.committed(size)
    except Exception:  # the lane's problem, not the bundle's: it stays resumable either way
        log.exception("the upload lane failed on a commit")


def _abandon(sink: LiveSink) -> None:
    try:
        sink.abandon()
    except Exception:
        log.exception("the upload lane failed to stop")
