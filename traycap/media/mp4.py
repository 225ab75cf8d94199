"""The MP4 box parser (pure: bytes in, offsets out).

A recording's screen.mp4 is fragmented (media/video.py): ftyp, moov, then moof+mdat pairs as the
encoder flushes them, and an mfra at the end once it is closed. The live bundle (bundle/bundler.py)
cuts the growing file at box boundaries; these functions say where the boxes are and how many
frames the fragments hold, reading through a `read_at(offset, n)` so a file is never read whole.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

ReadAt = Callable[[int, int], bytes]  # (offset, n) -> up to n bytes at offset


@dataclass(frozen=True)
class Box:
    type: str
    start: int
    end: int


def boxes(read_at: ReadAt, start: int, end: int, *, closed: bool) -> list[Box]:
    """The complete top-level boxes from `start` up to `end` (the file's size).

    A box header is 4 bytes size + 4 bytes type; size 1 means a 64-bit size follows, size 0 means
    "to the end of the file", which is only known once the file is `closed`. A box that runs past
    `end` (torn, or still being written) ends the list, as does a header that makes no sense.
    """
    out: list[Box] = []
    pos = start
    while end - pos >= 8:
        head = read_at(pos, 16)
        if len(head) < 8:
            break
        size, kind = struct.unpack(">I4s", head[:8])
        header = 8
        if size == 1:
            if len(head) < 16:
                break
            size = struct.unpack(">Q", head[8:16])[0]
            header = 16
        elif size == 0:
            if not closed:
                break
            size = end - pos
        if size < header or pos + size > end:
            break
        out.append(Box(kind.decode("latin-1"), pos, pos + size))
        pos += size
    return out


def boxes_in(data: bytes, *, start: int = 0, closed: bool = False) -> list[Box]:
    """`boxes` over bytes in memory."""
    return boxes(lambda off, n: data[off:off + n], start, len(data), closed=closed)


VIDEO_TRACK = 1  # the recorder adds the video first; a sound track is track 2


def fragment_samples(read_at: ReadAt, among: list[Box], track: int = VIDEO_TRACK) -> int:
    """Samples of track `track` (video frames: one packet per frame) the `moof` boxes among `among`
    describe: the sum of the sample counts of that track's traf/trun boxes."""
    total = 0
    for box in among:
        if box.type != "moof":
            continue
        body = read_at(box.start, box.end - box.start)
        for traf in boxes_in(body, start=8):
            if traf.type != "traf":
                continue
            inner = boxes_in(body[:traf.end], start=traf.start + 8)
            tfhd = next((b for b in inner if b.type == "tfhd" and b.end - b.start >= 16), None)
            if tfhd is not None and struct.unpack(">I", body[tfhd.start + 12:tfhd.start + 16])[0] != track:
                continue
            for trun in inner:
                if trun.type == "trun" and trun.end - trun.start >= 16:
                    total += struct.unpack(">I", body[trun.start + 12:trun.start + 16])[0]
    return total
