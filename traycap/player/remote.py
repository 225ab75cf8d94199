"""The sessions a bucket holds under a keyPrefix: its own and other machines', from their sidecars.

One ListObjectsV2 walk under the template's fixed part (everything before its first placeholder,
so `team/{host}/` lists every machine's `team/<host>/`), then one small GetObject per sidecar, a
few at a time. A zip without a sidecar (uploaded by an older traycap) is listed too, with what
the listing says of it (key, size, time).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from traycap.object_keys import PLAYER_DIR, SIDECAR_SUFFIX, ZIP_SUFFIX, fixed_prefix, sidecar_key
from traycap.player import sidecar
from traycap.player.bucket import Bucket, ListedObject

READERS = 8


@dataclass(frozen=True)
class RemoteSession:
    key: str  # the zip's key
    size: int
    modified_ms: int | None
    sidecar: dict[str, Any] | None  # None: no (readable) sidecar beside the zip

    @property
    def session_id(self) -> str:
        if self.sidecar is not None:
            return str(self.sidecar.get("sessionId") or "")
        return self.key.rsplit("/", 1)[-1].removesuffix(ZIP_SUFFIX)

    @property
    def created_ms(self) -> int | None:
        value = self.info.get("createdAt")
        return value if isinstance(value, int) else self.modified_ms

    @property
    def info(self) -> dict[str, Any]:
        return dict(self.sidecar.get("session") or {}) if self.sidecar is not None else {}

    def to_json(self) -> dict[str, Any]:
        counts = self.info.get("counts") or {}
        return {
            "key": self.key, "sessionId": self.session_id, "size": self.size, "createdAt": self.created_ms,
            "durationMs": self.info.get("durationMs"), "actions": counts.get("actions"),
            "format": self.sidecar.get("format") if self.sidecar else None,
            "sha256": self.sidecar.get("sha256") if self.sidecar else None,
            "uploadedAt": self.sidecar.get("uploadedAt") if self.sidecar else None,
            "sidecar": self.sidecar is not None,
        }


def pair(listed: Iterable[ListedObject], prefix: str) -> tuple[list[ListedObject], set[str]]:
    """The zips under `prefix` (not the player pages) and the keys of the sidecars beside them."""
    zips: list[ListedObject] = []
    jsons: set[str] = set()
    for o in listed:
        if o.key.startswith(prefix + PLAYER_DIR):
            continue
        if o.key.endswith(ZIP_SUFFIX):
            zips.append(o)
        elif o.key.endswith(SIDECAR_SUFFIX):
            jsons.add(o.key)
    return zips, {sidecar_key(z.key) for z in zips} & jsons


def list_sessions(bucket: Bucket, template: str) -> list[RemoteSession]:
    """Every session under the template's fixed prefix, newest first."""
    prefix = fixed_prefix(template)
    zips, with_sidecar = pair(bucket.list(prefix), prefix)

    def read(key: str) -> dict[str, Any] | None:
        data = bucket.get(key, limit=sidecar.MAX_BYTES)
        return sidecar.parse(data) if data is not None else None

    with ThreadPoolExecutor(READERS, thread_name_prefix="traycap-sidecar") as pool:
        found = dict(zip(sorted(with_sidecar), pool.map(read, sorted(with_sidecar)), strict=True))
    sessions = [RemoteSession(z.key, z.size, z.modified_ms, found.get(sidecar_key(z.key))) for z in zips]
    return sorted(sessions, key=lambda s: (s.created_ms or 0, s.key), reverse=True)
