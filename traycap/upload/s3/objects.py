"""Small objects beside the uploads: the player page, the sidecars, listing a prefix, presigned links.

`BucketObjects(config)` is what the player package needs of a bucket (traycap/player/bucket.py's
`Bucket` protocol); the composition builds it. Every call goes through the one boto3
adapter (client.py), so errors arrive as the traycap error tree, translated by classify.py.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from traycap.errors import BadRequest
from traycap.logs import register_secret
from traycap.models import UploadConfig
from traycap.player.bucket import ListedObject, StoredObject
from traycap.upload.s3.client import S3Client
from traycap.upload.s3.service import MAX_LINK_S


class BucketObjects:
    """One bucket's small-object calls (thread-safe: the listing reads sidecars from a pool)."""

    def __init__(self, config: UploadConfig, *, client: S3Client | None = None) -> None:
        register_secret(config.secretAccessKey)
        register_secret(config.sessionToken)
        self.config = config
        self._client = client or S3Client(config, pool_size=8)

    def __repr__(self) -> str:  # never shows a secret
        return f"BucketObjects(bucket={self.config.bucket!r}, endpoint={self.config.endpointUrl!r})"

    @property
    def name(self) -> str:
        return self.config.bucket

    @property
    def endpoint(self) -> str:
        return self._client.endpoint

    def head(self, key: str) -> StoredObject | None:
        found = self._client.head_object(key)
        if found is None:
            return None
        metadata = {str(k).lower(): str(v) for k, v in (found.get("Metadata") or {}).items()}
        return StoredObject(int(found.get("ContentLength", -1)), str(found.get("ContentType") or ""), metadata)

    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]) -> None:
        self._client.put_bytes(key, data, content_type=content_type, metadata=metadata)

    def get(self, key: str, *, limit: int) -> bytes | None:
        return self._client.get_bytes(key, limit=limit)

    def list(self, prefix: str) -> Iterator[ListedObject]:
        token: str | None = None
        while True:
            page, token = self._client.list_page(prefix, token)
            for o in page:
                modified = o["modified"]
                ms = int(modified.timestamp() * 1000) if isinstance(modified, datetime.datetime) else None
                yield ListedObject(o["key"], o["size"], ms)
            if token is None:
                return

    def presign_get(self, key: str, expires_s: int) -> str:
        if not 1 <= expires_s <= MAX_LINK_S:
            raise BadRequest(f"A share link can last 1 s to 7 days, not {expires_s} s")
        return self._client.presign_get(key, expires_s)

    def close(self) -> None:
        self._client.close()
