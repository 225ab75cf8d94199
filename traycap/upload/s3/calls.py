"""The S3 calls the engine makes, as a protocol: S3Client implements it on boto3, and the
engine's unit tests drive the multipart algorithm with an in-memory fake of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from traycap.models import CompletedPart
from traycap.upload.s3.body import PartBody
from traycap.upload.s3.integrity import Checksum


@dataclass(frozen=True)
class ListedPart:
    """A part S3 holds for a multipart upload (ListParts)."""

    number: int
    etag: str  # without quotes
    size: int


class S3Calls(Protocol):
    """Every method raises a traycap UploadError on failure; a body told to stop raises Stopped."""

    @property
    def endpoint(self) -> str:
        """The endpoint URL for messages ("S3" for AWS itself)."""
        ...

    def head_object(self, key: str, *, forbidden_is_missing: bool = False) -> dict[str, Any] | None: ...

    def put_object(self, key: str, body: PartBody, *, sha256: str, checksum: Checksum) -> None: ...

    def create_multipart_upload(self, key: str, *, sha256: str | None) -> str:
        """sha256 None: no x-amz-meta-sha256 (not known yet: uploaded while recording)."""
        ...

    def upload_part(self, key: str, upload_id: str, number: int, body: PartBody, checksum: Checksum) -> str: ...

    def list_parts(self, key: str, upload_id: str) -> dict[int, ListedPart]: ...

    def complete_multipart_upload(self, key: str, upload_id: str, parts: list[CompletedPart]) -> None: ...

    def abort_multipart_upload(self, key: str, upload_id: str) -> None: ...

    def stamp_sha256(self, key: str, *, sha256: str) -> None:
        """Set x-amz-meta-sha256 on an object already in the bucket: a self CopyObject with
        MetadataDirective=REPLACE (Content-Type and encryption given again: REPLACE drops them)."""
        ...
