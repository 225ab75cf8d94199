"""What the player package needs of a bucket: a few small-object calls.

A protocol, so the pure parts are tested with an in-memory bucket; the real one is
traycap/upload/s3/objects.py (boto3, through the upload package's one adapter), built by the
composition. Every method raises a traycap UploadError on failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StoredObject:
    """What HeadObject says of an object."""

    size: int
    content_type: str
    metadata: dict[str, str]  # user metadata, names in lower case (rclone answers in Go's header case)


@dataclass(frozen=True)
class ListedObject:
    key: str
    size: int
    modified_ms: int | None


class Bucket(Protocol):
    @property
    def name(self) -> str:
        """The bucket's name."""
        ...

    @property
    def endpoint(self) -> str:
        """The endpoint URL for messages ("S3" for AWS itself)."""
        ...

    def head(self, key: str) -> StoredObject | None:
        """HeadObject; None when there is no such object."""
        ...

    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]) -> None: ...

    def get(self, key: str, *, limit: int) -> bytes | None:
        """The first `limit` bytes of an object; None when there is no such object."""
        ...

    def list(self, prefix: str) -> Iterator[ListedObject]:
        """Every object whose key starts with `prefix` (ListObjectsV2, all pages)."""
        ...

    def presign_get(self, key: str, expires_s: int) -> str:
        """A presigned GET URL (SigV4: 1 s to 7 days)."""
        ...

    def close(self) -> None:
        """Close idle connections (the next call opens new ones)."""
        ...
