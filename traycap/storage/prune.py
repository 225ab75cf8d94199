"""Retention on disk: measure the data dir, plan (retention.py), delete local copies of `done` sessions.

A session's local copy is everything in its dir except the files that describe
it (session-meta.json, upload-state.json, `.exported`, quarantined copies of
those): the zip, and raw files an older version left next to it. What stays is
a few KB, so the session is still listed and `traycap link ID` still works.

`RetentionRunner` is what the long-running processes hold: `run()` at
start-up, `on_upload_event` after each verified upload, `tick()` hourly on the
injected clock. It re-reads the settings every run, so a change made from the
CLI or the dialog applies at the next run.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from traycap.clock import Clock
from traycap.errors import CorruptFile, TraycapError
from traycap.models import AppSettings, UploadProgress, UploadState, UploadStatus
from traycap.paths import EXPORTED_MARKER, META_FILE, RECORDING_LOCK, STATE_FILE, Paths, is_valid_session_id
from traycap.storage.filelock import PidLock
from traycap.storage.retention import Deletion, Policy, RetentionPlan, SessionUsage, plan
from traycap.storage.state_store import StateStore

log = logging.getLogger(__name__)


class Stores(Protocol):
    """What retention needs of the data dir (traycap.context.Context is one; storage never imports it)."""

    @property
    def paths(self) -> Paths: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def states(self) -> StateStore: ...

    def load_settings(self) -> AppSettings: ...


HOURLY_S = 3600.0
_DESCRIBING = (META_FILE, STATE_FILE, EXPORTED_MARKER)


def _describes(name: str) -> bool:
    """Kept when a local copy goes: the files that make the session a listed, linkable session."""
    return any(name == keep or name.startswith(keep + ".corrupt-") for keep in _DESCRIBING)


def _tree_bytes(path: str) -> int:
    """Apparent size of everything under `path` (symlinks counted as links, never followed)."""
    total = 0
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                total += _tree_bytes(entry.path)
            else:
                total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return total


def _usage(ctx: Stores, session_id: str, directory: str) -> SessionUsage:
    total = copy = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        entries = []
    for entry in entries:
        try:
            size = _tree_bytes(entry.path) if entry.is_dir(follow_symlinks=False) else \
                entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
        total += size
        if not _describes(entry.name):
            copy += size
    try:
        state = ctx.states.read(session_id)
    except CorruptFile:
        state = None  # unreadable: treated as not uploaded, so never deleted
    status = state.status if state is not None else None
    uploaded = _uploaded_at(state) if state is not None and status is UploadStatus.DONE else None
    return SessionUsage(session_id, status, uploaded, total, copy)


def _uploaded_at(state: UploadState) -> int:
    """When the upload was verified (completedAt; a state written without it: its last change)."""
    return state.completedAt if state.completedAt is not None else state.updatedAt


def measure(ctx: Stores) -> tuple[list[SessionUsage], int]:
    """Every session dir's usage, and the bytes of the data dir outside session dirs."""
    sessions_dir = os.fspath(ctx.paths.sessions)
    rows: list[SessionUsage] = []
    other = 0
    try:
        entries = list(os.scandir(sessions_dir))
    except OSError:
        entries = []
    for entry in entries:
        if is_valid_session_id(entry.name) and entry.is_dir(follow_symlinks=False) \
                and os.path.exists(os.path.join(entry.path, META_FILE)):
            rows.append(_usage(ctx, entry.name, entry.path))
        else:
            other += _tree_bytes(entry.path) if entry.is_dir(follow_symlinks=False) else _size(entry.path)
    try:
        top = list(os.scandir(ctx.paths.root))
    except OSError:
        top = []
    for entry in top:
        if entry.path == sessions_dir:
            continue
        other += _tree_bytes(entry.path) if entry.is_dir(follow_symlinks=False) else _size(entry.path)
    return rows, other


def _size(path: str) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


@dataclass(frozen=True)
class Removed:
    deletion: Deletion
    freed: int


@dataclass(frozen=True)
class PruneReport:
    plan: RetentionPlan
    removed: tuple[Removed, ...] = ()
    skipped: dict[str, str] = field(default_factory=dict)  # session id -> why it was not deleted after all
    dry_run: bool = False

    @property
    def freedBytes(self) -> int:
        return sum(r.freed for r in self.removed) if not self.dry_run else self.plan.freedBytes


class _NotDone(Exception):
    pass


def remove_local_copy(ctx: Stores, session_id: str, uploaded_at: int) -> int:
    """Delete the session's local copy if it is still `done` with the same upload; returns the bytes freed."""
    state = ctx.states.read(session_id)
    if state is None or state.status is not UploadStatus.DONE:
        raise _NotDone(f"it is {state.status.value if state else 'not uploaded'} now")
    if _uploaded_at(state) != uploaded_at:
        raise _NotDone("its upload state changed since it was measured")
    directory = ctx.paths.session_dir(session_id)
    if PidLock.is_held(directory / RECORDING_LOCK):
        # Uploaded while it recorded and done before its export finished removing the raw files:
        # the next run takes it (the recorder's lock goes once its export is complete).
        raise _NotDone("its export is still finishing")
    freed = 0
    names = sorted(os.scandir(directory), key=lambda e: not e.name.endswith(".zip"))  # the big one first
    for entry in names:
        if _describes(entry.name):
            continue
        if entry.is_dir(follow_symlinks=False):
            size = _tree_bytes(entry.path)
            shutil.rmtree(entry.path)
        else:
            size = entry.stat(follow_symlinks=False).st_size
            os.unlink(entry.path)
        freed += size
    return freed


def apply(ctx: Stores, the_plan: RetentionPlan) -> PruneReport:
    removed: list[Removed] = []
    skipped: dict[str, str] = {}
    for deletion in the_plan.deletions:
        try:
            freed = remove_local_copy(ctx, deletion.sessionId, deletion.uploadedAt)
        except _NotDone as exc:
            skipped[deletion.sessionId] = str(exc)
            continue
        except (TraycapError, OSError) as exc:
            skipped[deletion.sessionId] = str(exc)
            log.warning("could not remove the local copy of %s: %s", deletion.sessionId, exc)
            continue
        log.info("removed the local copy of uploaded session %s (%d bytes; %s)", deletion.sessionId, freed,
                 "kept days over" if deletion.reason.value == "age" else "over the local disk budget")
        removed.append(Removed(deletion, freed))
    return PruneReport(the_plan, tuple(removed), skipped)


def prune(ctx: Stores, settings: AppSettings, *, dry_run: bool = False) -> PruneReport:
    rows, other = measure(ctx)
    the_plan = plan(rows, Policy.of(settings), ctx.clock.now_ms(), other_bytes=other)
    if dry_run:
        return PruneReport(the_plan, dry_run=True)
    return apply(ctx, the_plan)


class RetentionRunner:
    """Runs the rules at start-up, after every verified upload and hourly; one run at a time."""

    def __init__(
        self,
        ctx: Stores,
        *,
        load_settings: Callable[[], AppSettings] | None = None,
        on_report: Callable[[PruneReport], None] | None = None,
        interval_s: float = HOURLY_S,
    ) -> None:
        self._ctx = ctx
        self._load = load_settings or ctx.load_settings
        self._on_report = on_report
        self._interval_ms = round(interval_s * 1000)
        self._lock = threading.Lock()
        self._last_ms: int | None = None
        self.last: PruneReport | None = None

    def run(self) -> PruneReport | None:
        """Apply the rules now; None when the settings cannot be read (nothing is deleted then)."""
        with self._lock:
            self._last_ms = self._ctx.clock.now_ms()
            try:
                settings = self._load()
            except TraycapError as exc:
                log.warning("retention skipped: %s", exc.user_text())
                return None
            report = prune(self._ctx, settings)
            self.last = report
        if self._on_report is not None:
            try:
                self._on_report(report)
            except Exception:
                log.exception("the retention report handler failed")
        return report

    def due(self) -> bool:
        return self._last_ms is None or self._ctx.clock.now_ms() - self._last_ms >= self._interval_ms

    def tick(self) -> PruneReport | None:
        """The hourly run, when an hour (on the injected clock) has passed since the last one."""
        return self.run() if self.due() else None

    def on_upload_event(self, event: UploadProgress) -> None:
        """A queue subscriber: every verified upload (status done) runs the rules."""
        if event.status is UploadStatus.DONE:
            self.run()
