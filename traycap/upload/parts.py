"""Multipart arithmetic (pure)."""

from __future__ import annotations

from traycap.models import MAX_PARTS, MIN_PART_SIZE


def part_size_for(file_size: int, preferred: int) -> int:
    """`preferred` (at least 5 MiB), doubled until the file fits in 10,000 parts."""
    size = max(preferred, MIN_PART_SIZE)
    while file_size > size * MAX_PARTS:
        size *= 2
    return size


def part_ranges(file_size: int, part_size: int) -> list[tuple[int, int, int]]:
    """(part number, offset, length) for every part; one empty part for an empty file."""
    if file_size == 0:
        return [(1, 0, 0)]
    count = (file_size + part_size - 1) // part_size
    if count > MAX_PARTS:
        raise ValueError(f"{file_size} bytes in {part_size}-byte parts needs {count} parts (max {MAX_PARTS})")
    return [(n + 1, n * part_size, min(part_size, file_size - n * part_size)) for n in range(count)]
