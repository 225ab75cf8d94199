"""Multipart arithmetic: part sizes, ranges, the 10,000-part limit, composite checksums."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest

from traycap.models import MAX_PARTS, MIB, MIN_PART_SIZE, CompletedPart
from traycap.upload.parts import part_ranges, part_size_for
from traycap.upload.s3 import composite_crc32
from traycap.upload.s3.integrity import crc32_combine, full_crc32

GIB = 1024 * MIB


def test_small_files_keep_the_preferred_part_size() -> None:
    assert part_size_for(1, 10 * MIB) == 10 * MIB
    assert part_size_for(100 * GIB // 1024, 10 * MIB) == 10 * MIB


def test_preferred_below_the_s3_minimum_is_raised_to_5_mib() -> None:
    assert part_size_for(1, 1) == MIN_PART_SIZE
    assert part_size_for(0, 0) == MIN_PART_SIZE


def test_exactly_10000_parts_keeps_the_part_size() -> None:
    size = 5 * MIB * MAX_PARTS
    assert part_size_for(size, 5 * MIB) == 5 * MIB
    ranges = part_ranges(size, 5 * MIB)
    assert len(ranges) == MAX_PARTS
    assert ranges[-1] == (MAX_PARTS, size - 5 * MIB, 5 * MIB)


def test_one_byte_over_10000_parts_doubles_the_part_size() -> None:
    size = 5 * MIB * MAX_PARTS + 1
    part = part_size_for(size, 5 * MIB)
    assert part == 10 * MIB
    ranges = part_ranges(size, part)
    assert len(ranges) == 5001
    assert ranges[-1][2] == 1


@pytest.mark.parametrize("size", [1, MIB, 5 * GIB, 48_828 * MIB + 7, 5 * 1024 * GIB])
def test_any_size_up_to_5_tib_fits_in_10000_parts(size: int) -> None:
    part = part_size_for(size, 10 * MIB)
    ranges = part_ranges(size, part)
    assert len(ranges) <= MAX_PARTS
    assert all(length == part for _, _, length in ranges[:-1])
    assert sum(length for _, _, length in ranges) == size
    # contiguous, 1-based
    assert [n for n, _, _ in ranges] == list(range(1, len(ranges) + 1))
    assert all(ranges[i][1] + ranges[i][2] == ranges[i + 1][1] for i in range(len(ranges) - 1))


def test_ranges_refuse_more_than_10000_parts() -> None:
    with pytest.raises(ValueError, match="max 10000"):
        part_ranges(5 * MIB * MAX_PARTS + 1, 5 * MIB)


def test_exactly_one_part_and_the_empty_file() -> None:
    assert part_ranges(5 * MIB, 5 * MIB) == [(1, 0, 5 * MIB)]
    assert part_ranges(5 * MIB + 1, 5 * MIB) == [(1, 0, 5 * MIB), (2, 5 * MIB, 1)]
    assert part_ranges(0, 5 * MIB) == [(1, 0, 0)]


def test_composite_checksum_is_the_crc32_of_the_part_crc32s_and_the_full_one_combines_them() -> None:
    a, b, c = b"a" * 10, b"b" * 3, bytes(range(256)) * 41

    def crc(data: bytes) -> bytes:
        return zlib.crc32(data).to_bytes(4, "big")

    parts = [CompletedPart(2, "e2", len(b), base64.b64encode(crc(b)).decode()),
             CompletedPart(1, "e1", len(a), base64.b64encode(crc(a)).decode()),
             CompletedPart(3, "e3", len(c), base64.b64encode(crc(c)).decode())]
    assert composite_crc32(parts) == base64.b64encode(crc(crc(a) + crc(b) + crc(c))).decode()
    assert full_crc32(parts) == base64.b64encode(crc(a + b + c)).decode()  # no byte read again
    assert composite_crc32([CompletedPart(1, "e1", 10, None)]) is None
    sha_part = CompletedPart(1, "e1", 10, base64.b64encode(hashlib.sha256(a).digest()).decode())
    assert composite_crc32([sha_part]) is None and full_crc32([sha_part]) is None  # an older upload's kind
    for n in (0, 1, 7, 4096, 10 * 2**20 + 3):
        tail = bytes([n % 251]) * n
        assert crc32_combine(zlib.crc32(a), zlib.crc32(tail), n) == zlib.crc32(a + tail)
