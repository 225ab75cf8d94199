"""traycap/viewer/ranges.py: Range headers -> the byte span to send."""

from __future__ import annotations

import pytest

from traycap.viewer.ranges import ByteSpan, Unsatisfiable, parse_range


@pytest.mark.parametrize(("header", "size", "span"), [
    (None, 100, None),
    ("", 100, None),
    ("bytes=0-", 100, ByteSpan(0, 99)),
    ("bytes=0-9", 100, ByteSpan(0, 9)),
    ("bytes=90-200", 100, ByteSpan(90, 99)),  # the end is clamped to the resource
    ("bytes=-10", 100, ByteSpan(90, 99)),  # the last 10 bytes
    ("bytes=-500", 100, ByteSpan(0, 99)),
    ("bytes=5-9, 20-30", 100, ByteSpan(5, 9)),  # first range only
    ("items=0-9", 100, None),  # another unit: ignored, whole resource
    ("bytes=abc", 100, None),
    ("bytes=9-5", 100, None),
])
def test_parse_range(header: str | None, size: int, span: ByteSpan | None) -> None:
    assert parse_range(header, size) == span


@pytest.mark.parametrize(("header", "size"), [("bytes=100-", 100), ("bytes=500-600", 100), ("bytes=-0", 100),
                                                ("bytes=-5", 0)])
def test_a_range_outside_the_resource_is_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, size)


def test_content_range_and_length() -> None:
    span = ByteSpan(10, 19)
    assert span.length == 10
    assert span.content_range(100) == "bytes 10-19/100"
