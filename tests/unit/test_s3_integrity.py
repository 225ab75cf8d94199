"""The checks on the stored object after an upload (traycap/upload/s3/integrity.py), pure."""

from __future__ import annotations

import pytest

from traycap.errors import VerificationFailed
from traycap.upload.s3.integrity import Encryption, verify_stored

SHA = "ab" * 32
ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def check(head: dict[str, object], encryption: Encryption | None = None) -> None:
    verify_stored(head, "k", size=10, sha256=SHA, single_checksum=None, parts=None, check_checksum=True,
                  encryption=encryption)


def test_size_and_sha256_metadata_are_checked_and_the_etag_is_not() -> None:
    check({"ContentLength": 10, "Metadata": {"sha256": SHA}, "ETag": '"not-an-md5-with-sse-kms"'})
    with pytest.raises(VerificationFailed, match="has 9 bytes"):
        check({"ContentLength": 9, "Metadata": {"sha256": SHA}})
    with pytest.raises(VerificationFailed, match="another SHA-256"):
        check({"ContentLength": 10, "Metadata": {"sha256": "00" * 32}})


@pytest.mark.parametrize(
    ("reported", "key_id", "ok"),
    [
        ({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": ARN}, ARN, True),
        ({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": ARN}, "1234abcd-12ab-34cd-56ef-1234567890ab", True),
        ({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": ARN}, "alias/traycap", True),  # not comparable
        ({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": ARN}, "ffff0000-12ab-34cd-56ef-1234567890ab", False),
        ({"ServerSideEncryption": "AES256"}, None, False),
        ({}, ARN, True),  # the store does not say: trusted, and logged by the service
    ],
)
def test_the_encryption_the_store_reports_must_be_the_one_asked_for(
    reported: dict[str, object], key_id: str | None, ok: bool
) -> None:
    head = {"ContentLength": 10, "Metadata": {"sha256": SHA}, **reported}
    if ok:
        check(head, Encryption("aws:kms", key_id))
    else:
        with pytest.raises(VerificationFailed):
            check(head, Encryption("aws:kms", key_id))
