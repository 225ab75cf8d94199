"""The ScreenCast restore token: saved after every session, sent with the next (so the picker shows once).

The portal hands out a token when a session starts with persist_mode=2; sending it back with the
next SelectSources restores the person's choice without a dialog. The token can change at every
session (GNOME issues a new one each time and forgets the old), so it is rewritten after each,
atomically: a crash leaves the old token or the new one, never half of one. The file is 0600 in
traycap's data dir: the token is what lets traycap record the screen without asking.

A token restores what was picked for the source types asked then (a screen, or a window); it is kept
with them, and a session asking for other types gets no token (the picker shows, once, for the new
choice).
"""

from __future__ import annotations

import logging
from pathlib import Path

from traycap.errors import CorruptFile, StorageError
from traycap.storage.atomic import read_json, write_json_atomic

log = logging.getLogger(__name__)

FILE_NAME = "wayland-restore-token.json"
KEY = "restoreToken"
TYPES_KEY = "sourceTypes"


class RestoreTokenStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_dir(cls, data_dir: Path) -> RestoreTokenStore:
        return cls(data_dir / FILE_NAME)

    def load(self, types: int | None = None) -> str | None:
        """The saved token (for `types`, when given); None when there is none, it was given for other source
        types, or the file is unreadable (the picker then shows again)."""
        try:
            data = read_json(self.path)
        except CorruptFile as exc:
            log.warning("ignoring the screen-cast restore token: %s", exc)
            return None
        if not isinstance(data, dict):
            return None
        token = data.get(KEY)
        saved_types = data.get(TYPES_KEY)
        if types is not None and isinstance(saved_types, int) and saved_types != types:
            return None
        return token if isinstance(token, str) and token else None

    def save(self, token: str | None, types: int | None = None) -> None:
        """Keep `token` (given for source `types`) for the next session; None forgets the saved one (the portal
        gave none back)."""
        if token is None:
            try:
                self.path.unlink(missing_ok=True)
            except OSError as exc:
                raise StorageError(f"Could not remove {self.path}: {exc.strerror or exc}") from exc
            return
        data: dict[str, object] = {KEY: token}
        if types is not None:
            data[TYPES_KEY] = types
        write_json_atomic(self.path, data, mode=0o600)
