"""An in-memory bucket with the player package's `Bucket` protocol (traycap/player/bucket.py), for
unit tests: objects with their content type and metadata, listing, presigned-looking URLs, the
calls made, and scripted failures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from traycap.player.bucket import ListedObject, StoredObject

SIGNED_AT = "20270115T080000Z"


@dataclass
class Stored:
    data: bytes
    content_type: str
    metadata: dict[str, str]


@dataclass
class FakeBucket:
    name: str = "bucket"
    endpoint: str = "https://s3.example"
    objects: dict[str, Stored] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, key or prefix)
    fail: dict[str, Exception] = field(default_factory=dict)  # method -> error raised (once)

    def _call(self, method: str, key: str) -> None:
        self.calls.append((method, key))
        error = self.fail.pop(method, None)
        if error is not None:
            raise error

    def head(self, key: str) -> StoredObject | None:
        self._call("head", key)
        found = self.objects.get(key)
        return None if found is None else StoredObject(len(found.data), found.content_type, dict(found.metadata))

    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]) -> None:
        self._call("put", key)
        self.objects[key] = Stored(bytes(data), content_type, dict(metadata))

    def get(self, key: str, *, limit: int) -> bytes | None:
        self._call("get", key)
        found = self.objects.get(key)
        return None if found is None else found.data[:limit]

    def list(self, prefix: str) -> Iterator[ListedObject]:
        self._call("list", prefix)
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield ListedObject(key, len(self.objects[key].data), 1_700_000_000_000)

    def presign_get(self, key: str, expires_s: int) -> str:
        self._call("presign", key)
        return (f"{self.endpoint}/{self.name}/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={SIGNED_AT}"
                f"&X-Amz-Expires={expires_s}&X-Amz-SignedHeaders=host&X-Amz-Signature=abc%2B%3D")

    def close(self) -> None:
        self.calls.append(("close", ""))
