"""The sidecar: `<prefix><id>.json` beside each uploaded zip, so that anyone who may read the bucket
can list its sessions without downloading a zip (`traycap sessions --remote`).

    {"kind": "traycap-session", "version": 1, "sessionId": "...", "zipKey": "team/alice/ID.zip",
     "size": 3312345, "sha256": "...", "format": 2, "uploadedAt": 1796000000000,
     "session": {...session.json of the zip...}}

`session` is the bundle's own session.json (when, how long, counts, fps, video size, keystroke
privacy, app version): nothing that the zip does not already hold. The sidecar is written after
the zip is verified and before the upload is marked done (traycap/sharing/sidecars.py wires it), so a
session that is done has its sidecar: a crash in between leaves the upload unfinished, and its
next attempt finds the zip already there and writes the sidecar then.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from traycap.bundle import layout
from traycap.bundle.reader import BundleZip
from traycap.errors import CorruptFile
from traycap.object_keys import sidecar_key
from traycap.player.bucket import Bucket

KIND = "traycap-session"
VERSION = 1
CONTENT_TYPE = "application/json"
MAX_BYTES = 256 * 1024  # a sidecar is a few KB; anything larger is not one


def sidecar(info: dict[str, Any], *, session_id: str, zip_key: str, size: int, sha256: str, bundle_format: int,
            uploaded_at: int) -> dict[str, Any]:
    return {"kind": KIND, "version": VERSION, "sessionId": session_id, "zipKey": zip_key, "size": size,
            "sha256": sha256, "format": bundle_format, "uploadedAt": uploaded_at, "session": info}


def parse(data: bytes) -> dict[str, Any] | None:
    """A sidecar's fields, or None when the bytes are not a traycap sidecar."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(value, dict) or value.get("kind") != KIND or not isinstance(value.get("zipKey"), str):
        return None
    if not isinstance(value.get("session"), dict):
        value["session"] = {}
    return value


def of_zip(zip_path: Path, *, zip_key: str, size: int, sha256: str, uploaded_at: int) -> dict[str, Any]:
    """The sidecar of a local zip (its session.json and format read from the zip itself; a zip that
    is not a readable bundle gets an empty `session`: the upload it describes is verified already)."""
    info: dict[str, Any] = {}
    fmt = layout.FORMAT_CLASSIC
    try:
        with BundleZip(zip_path) as bundle:
            fmt = bundle.format
            info = bundle.info
    except CorruptFile:
        pass
    session_id = str(info.get("sessionId") or zip_path.stem)
    return sidecar(info, session_id=session_id, zip_key=zip_key, size=size, sha256=sha256, bundle_format=fmt,
                   uploaded_at=uploaded_at)


def write(bucket: Bucket, zip_key: str, zip_path: Path, *, size: int, sha256: str, uploaded_at: int) -> str:
    """PutObject of the sidecar beside `zip_key`; returns its key."""
    key = sidecar_key(zip_key)
    body = json.dumps(of_zip(zip_path, zip_key=zip_key, size=size, sha256=sha256, uploaded_at=uploaded_at),
                      separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    bucket.put(key, body, content_type=CONTENT_TYPE, metadata={})
    return key
