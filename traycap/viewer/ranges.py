"""HTTP byte ranges (RFC 9110 §14) for the video: a browser seeks only in a resource served with them.

Pure: `parse_range` turns a Range header and the resource size into the one
span to send, or says the request cannot be satisfied (416). A multi-range
request is answered with its first range, which browsers never mind (they
only ask for one).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ByteSpan:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class Unsatisfiable(Exception):
    """The range lies outside the resource: answer 416 with `Content-Range: bytes */size`."""


def parse_range(header: str | None, size: int) -> ByteSpan | None:
    """The span a Range header asks for; None = send the whole resource (no or unusable header)."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or not spec:
        return None
    first = spec.split(",")[0].strip()
    start_text, dash, end_text = first.partition("-")
    if not dash:
        return None
    start_text, end_text = start_text.strip(), end_text.strip()
    try:
        if not start_text:  # "-N": the last N bytes
            suffix = int(end_text)
            if suffix <= 0:
                raise Unsatisfiable(header)
            if size == 0:
                raise Unsatisfiable(header)
            return ByteSpan(max(0, size - suffix), size - 1)
        start = int(start_text)
        end = int(end_text) if end_text else size - 1
    except ValueError:
        return None  # garbage: ignoring the header is what RFC 9110 allows
    if start >= size:
        raise Unsatisfiable(header)
    if end < start:
        return None
    return ByteSpan(start, min(end, size - 1))
