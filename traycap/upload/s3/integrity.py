"""Is what is in the bucket the zip's bytes? Part checksums, S3's composite checksum,
and the checks on HeadObject after an upload (pure).

An ETag is never taken for an MD5 of the object: multipart and SSE-KMS
objects have ETags that are not. What is checked is the size, the SHA-256
traycap stores as metadata (x-amz-meta-sha256), S3's own CRC32 checksum (of the
parts' CRC32s, or of the whole object after a copy) and the server-side
encryption, each where the store reports it.

The store verifies each part by its CRC32 (x-amz-checksum-crc32): it catches
what a checksum on the wire is for, and costs 0.25 CPU-s per GiB here where a
SHA-256 costs 0.6 (docs/performance.md). The zip's own identity stays its
SHA-256, computed once per byte by the upload's source (sources.py).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from traycap.errors import VerificationFailed
from traycap.models import CompletedPart

META_SHA256 = "sha256"  # x-amz-meta-sha256


CRC32_BYTES = 4
MD5_BYTES = 16


@dataclass(frozen=True)
class Checksum:
    """What the store verifies for one request: CRC32 (x-amz-checksum-crc32) or, in compatibility
    mode (stores that refuse the flexible checksum headers), Content-MD5."""

    md5: bool
    value: str  # base64

    @classmethod
    def of(cls, data: memoryview | bytes, *, md5: bool) -> Checksum:
        if md5:
            return cls(True, b64(hashlib.md5(data).digest()))  # noqa: S324  # Content-MD5 is what the store verifies
        return cls(False, b64(zlib.crc32(data).to_bytes(CRC32_BYTES, "big")))


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def norm_etag(etag: str) -> str:
    return etag.strip().strip('"')


def digest_size(checksum: str) -> int:
    """Bytes in a base64 digest (4: CRC32, 16: MD5, 32: SHA-256); -1 when it is not base64."""
    try:
        return len(base64.b64decode(checksum, validate=True))
    except ValueError:  # binascii.Error: not base64 (a hand-edited state file)
        return -1


def composite_crc32(parts: list[CompletedPart]) -> str | None:
    """S3's checksum of a multipart object: the CRC32 of the parts' CRC32s (base64)."""
    digests = _crc32s(parts)
    if digests is None:
        return None
    return b64(zlib.crc32(b"".join(digests)).to_bytes(CRC32_BYTES, "big"))


def full_crc32(parts: list[CompletedPart]) -> str | None:
    """The whole object's CRC32 (what a store reports after a copy computes a full-object checksum),
    from the parts' CRC32s and sizes: no byte is read again."""
    digests = _crc32s(parts)
    if digests is None:
        return None
    crc = 0
    for part, digest in zip(sorted(parts, key=lambda p: p.partNumber), digests, strict=True):
        crc = crc32_combine(crc, int.from_bytes(digest, "big"), part.size)
    return b64(crc.to_bytes(CRC32_BYTES, "big"))


def _crc32s(parts: list[CompletedPart]) -> list[bytes] | None:
    digests = []
    for part in sorted(parts, key=lambda p: p.partNumber):
        digest = base64.b64decode(part.checksum) if part.checksum else b""
        if len(digest) != CRC32_BYTES:
            return None
        digests.append(digest)
    return digests


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC32 of A + B from CRC32(A), CRC32(B) and len(B) (zlib's crc32_combine, which Python's zlib
    does not expose): B's length of zeros is run through CRC1 as a GF(2) matrix, squared per bit."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four
    while True:
        even = _gf2_square(odd)  # one zero byte, then 2, 4, ... as len2's bits are taken
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    for row in matrix:
        if not vector:
            break
        if vector & 1:
            total ^= row
        vector >>= 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def _metadata(head: Mapping[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}


def already_there(head: Mapping[str, Any], size: int, sha256: str) -> bool:
    """The object in the bucket has this size and the same SHA-256 metadata: nothing to send."""
    return int(head.get("ContentLength", -1)) == size and _metadata(head).get(META_SHA256) == sha256


def verify_stored(
    head: Mapping[str, Any] | None,
    key: str,
    *,
    size: int,
    sha256: str,
    single_checksum: str | None,
    parts: list[CompletedPart] | None,
    check_checksum: bool,
    encryption: Encryption | None = None,
) -> None:
    """Raise VerificationFailed unless HeadObject after the upload shows the zip's bytes
    (and the encryption asked for, when the store says how it encrypted the object)."""
    if head is None:
        raise VerificationFailed(f"{key} is not in the bucket after the upload completed")
    stored = int(head.get("ContentLength", -1))
    if stored != size:
        raise VerificationFailed(f"{key} has {stored} bytes in the bucket, the zip has {size}")
    meta = _metadata(head)
    if META_SHA256 in meta and meta[META_SHA256] != sha256:
        raise VerificationFailed(f"{key} in the bucket has another SHA-256 than the zip")
    reported = head.get("ChecksumCRC32")
    if reported and check_checksum:
        value, _, count = str(reported).partition("-")
        expected = {single_checksum} if single_checksum else set()
        if parts:
            expected |= {c for c in (composite_crc32(parts), full_crc32(parts)) if c}
        if expected and value not in expected:
            raise VerificationFailed(f"{key} in the bucket has another checksum than the zip")
        if parts and count and int(count) != len(parts):
            raise VerificationFailed(f"{key} was assembled from {count} parts, not {len(parts)}")
    if encryption is not None:
        encryption.verify(head, key)


def unstamped(head: Mapping[str, Any] | None, size: int) -> bool:
    """The object has the zip's size but no x-amz-meta-sha256: completed, not stamped yet."""
    return head is not None and int(head.get("ContentLength", -1)) == size and META_SHA256 not in _metadata(head)


def verify_stamped(
    head: Mapping[str, Any] | None,
    key: str,
    *,
    size: int,
    sha256: str,
    parts: list[CompletedPart] | None,
    check_checksum: bool,
    encryption: Encryption | None = None,
) -> None:
    """After the self-copy that stamps x-amz-meta-sha256: size and that metadata, and S3's checksum
    where reported (a copy may keep the composite one, or compute a full-object CRC32). The
    ETag changes with a copy and is not compared."""
    verify_stored(
        head, key, size=size, sha256=sha256, single_checksum=None, parts=parts,
        check_checksum=check_checksum, encryption=encryption,
    )
    assert head is not None
    if _metadata(head).get(META_SHA256) != sha256:
        raise VerificationFailed(
            f"{key} in the bucket has no SHA-256 metadata after it was stamped",
            "the store may not keep metadata on a copy (CopyObject with MetadataDirective=REPLACE)",
        )


@dataclass(frozen=True)
class Encryption:
    """The server-side encryption an upload asked for."""

    mode: str  # "AES256" or "aws:kms"
    kms_key_id: str | None = None

    def verify(self, head: Mapping[str, Any], key: str) -> None:
        """A store that reports another encryption fails; one that reports none is trusted (many
        S3-compatible stores encrypt at rest without saying so), and the caller logs it."""
        reported = head.get("ServerSideEncryption")
        if reported and reported != self.mode:
            raise VerificationFailed(
                f"{key} is stored with {reported} encryption, not the {self.mode} asked for",
                "check the bucket's default encryption and the sse setting",
            )
        stored = str(head.get("SSEKMSKeyId") or "")
        wanted = self.kms_key_id or ""
        # S3 reports the key's ARN: an alias cannot be compared with it, a key id or ARN can.
        alias = wanted.startswith("alias/") or ":alias/" in wanted
        if stored and wanted and not alias and stored != wanted and not stored.endswith("/" + wanted):
            raise VerificationFailed(
                f"{key} is encrypted with another KMS key than sseKmsKeyId",
                "check sseKmsKeyId and the bucket's default encryption",
            )
