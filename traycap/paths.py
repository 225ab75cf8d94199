"""Where traycap keeps its files. `TRAYCAP_HOME` overrides the platform data dir.

Session ids are checked here and only here; no path is ever built from an
unchecked name.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from traycap.errors import InvalidSessionId
from traycap.osutil.private import make_private_dir

APP_NAME = "traycap"
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

CONFIG_FILE = "upload-config.json"
SETTINGS_FILE = "app-settings.json"
META_FILE = "session-meta.json"
STATE_FILE = "upload-state.json"
EXPORTED_MARKER = ".exported"
RECORDING_LOCK = ".recording.lock"  # held by the process recording (then exporting) the session
LOCK_FILE = "queue.lock"
INSTANCE_LOCK_FILE = "tray.lock"


def is_valid_session_id(name: str) -> bool:
    return bool(SESSION_ID_RE.fullmatch(name))


def check_session_id(name: str) -> str:
    if not is_valid_session_id(name):
        raise InvalidSessionId(f"{name!r} is not a valid session id")
    return name


def new_session_id(now_ms: int) -> str:
    """`YYYYMMDD-HHMMSS-<6 hex>` in UTC."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now_ms / 1000))
    return f"{stamp}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Paths:
    root: Path
    logs: Path

    @property
    def sessions(self) -> Path:
        return self.root / "sessions"

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def settings(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def queue_lock(self) -> Path:
        return self.root / LOCK_FILE

    @property
    def instance_lock(self) -> Path:
        return self.root / INSTANCE_LOCK_FILE

    def session_dir(self, session_id: str) -> Path:
        return self.sessions / check_session_id(session_id)

    def meta(self, session_id: str) -> Path:
        return self.session_dir(session_id) / META_FILE

    def state(self, session_id: str) -> Path:
        return self.session_dir(session_id) / STATE_FILE

    @property
    def uploads_paused(self) -> Path:
        """Present while uploads are paused (`traycap pause-uploads`, the tray menu)."""
        return self.root / "uploads-paused.json"

    @property
    def keyring_unanswered(self) -> Path:
        """Present for a day after the OS keyring did not answer a start (storage/keyring_memory.py)."""
        return self.root / "keyring-unanswered.json"

    def exported_marker(self, session_id: str) -> Path:
        return self.session_dir(session_id) / EXPORTED_MARKER

    def ensure(self) -> Paths:
        """Create the data dir and its sessions dir user-only (what is recorded is private)."""
        make_private_dir(self.root)
        make_private_dir(self.sessions)
        return self


def default_paths() -> Paths:
    home = os.environ.get("TRAYCAP_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(root=root, logs=root / "logs")
    import platformdirs  # the only importer of platformdirs

    return Paths(
        root=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        logs=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
