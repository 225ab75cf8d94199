"""upload-state.json per session: read, atomic write, scan all."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from traycap.errors import CorruptFile
from traycap.models import UploadState
from traycap.paths import META_FILE, STATE_FILE, Paths, is_valid_session_id
from traycap.storage.atomic import read_json, write_json_atomic


@dataclass(frozen=True)
class ScannedState:
    sessionId: str
    state: UploadState | None
    error: CorruptFile | None = None


class StateStore:
    def __init__(self, paths: Paths) -> None:
        self._paths = paths

    def read(self, session_id: str) -> UploadState | None:
        """None when the session has no upload state; CorruptFile when unreadable."""
        path = self._paths.state(session_id)
        data = read_json(path)
        if data is None:
            return None
        try:
            state = UploadState.from_json(data)
        except ValueError as exc:
            raise CorruptFile(str(path), str(exc)) from exc
        if state.sessionId != session_id:
            raise CorruptFile(str(path), f"it belongs to session {state.sessionId!r}")
        return state

    def write(self, state: UploadState) -> None:
        write_json_atomic(self._paths.state(state.sessionId), state.to_json())

    def fingerprint(self) -> tuple[object, ...]:
        """A cheap value that changes whenever a session dir or an upload-state.json appears,
        goes or is rewritten (an atomic rewrite is a new inode), so a caller can skip a full
        `scan()` when nothing changed: one stat per session instead of reading its JSON."""
        try:
            entries = sorted(os.scandir(self._paths.sessions), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return ()
        parts: list[object] = []
        for entry in entries:
            if not is_valid_session_id(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            try:
                st = os.stat(os.path.join(entry.path, STATE_FILE))
            except OSError:
                parts.append((entry.name, entry.stat(follow_symlinks=False).st_mtime_ns))
                continue
            parts.append((entry.name, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        return tuple(parts)

    def scan(self) -> list[ScannedState]:
        """Every session dir's state (missing ones skipped); corrupt ones reported, not raised.

        Same rule as the session listing: a dir whose name is a valid session id,
        not a symlink, with a session-meta.json (what is not listed is never uploaded).
        """
        out: list[ScannedState] = []
        try:
            entries = sorted(os.scandir(self._paths.sessions), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return out
        for entry in entries:
            if not is_valid_session_id(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            if not os.path.exists(os.path.join(entry.path, META_FILE)):
                continue  # not a session: the recorder writes the meta when a recording starts
            try:
                state = self.read(entry.name)
            except CorruptFile as exc:
                out.append(ScannedState(entry.name, None, exc))
                continue
            if state is not None:
                out.append(ScannedState(entry.name, state))
        return out

    def path(self, session_id: str) -> Path:
        return self._paths.state(session_id)
