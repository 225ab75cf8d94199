"""Re-pack a format-1 bundle zip as its format-2 twin (traycap/bundle/layout.py), for tests.

The video is split at top-level MP4 box boundaries: segment 00000.mp4 holds every box before
the first `moof` (ftyp + moov), then each .m4s segment holds `pairs_per_segment` moof+mdat
pairs, and any trailing box (mfra) goes into the last one. Each JSON array becomes `*.jsonl`
chunks of `lines_per_chunk` lines. Entries interleave as a live recording writes them
(a video segment, then the lines and screenshots of that time), preview.jpg and session.json
(formatVersion 2) come last. The zip is written to an unseekable stream, so every entry has a
data descriptor (general-purpose bit 3) as LiveZip writes them; ZIP64 sizes are forced.
"""

from __future__ import annotations

import json
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from traycap.bundle import layout


def top_level_boxes(mp4: bytes) -> list[tuple[str, int, int]]:
    """(type, start, end) of each top-level box, in order; AssertionError when the boxes do not tile the file."""
    boxes: list[tuple[str, int, int]] = []
    pos = 0
    while pos < len(mp4):
        assert pos + 8 <= len(mp4), f"truncated box header at {pos}"
        size, kind = struct.unpack(">I4s", mp4[pos: pos + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", mp4[pos + 8: pos + 16])
        elif size == 0:
            size = len(mp4) - pos
        assert size >= 8 and pos + size <= len(mp4), f"bad box size {size} at {pos}"
        boxes.append((kind.decode("latin-1"), pos, pos + size))
        pos += size
    return boxes


def split_mp4(mp4: bytes, pairs_per_segment: int = 1) -> list[bytes]:
    """The MP4 as segments whose concatenation is the MP4: [ftyp+moov, moof+mdat (xN), ...]."""
    boxes = top_level_boxes(mp4)
    first_moof = next((i for i, b in enumerate(boxes) if b[0] == "moof"), len(boxes))
    cuts = [0, boxes[first_moof][1]] if first_moof < len(boxes) else [0]
    pairs = 0
    for kind, start, _end in boxes[first_moof + 1:]:
        if kind == "moof":
            pairs += 1
            if pairs % pairs_per_segment == 0:
                cuts.append(start)
    segments = [mp4[a:b] for a, b in zip(cuts, [*cuts[1:], len(mp4)], strict=True)]
    segments = [s for s in segments if s]
    assert b"".join(segments) == mp4
    return segments


def jsonl_chunks(records: list[Any], lines_per_chunk: int) -> list[bytes]:
    lines = [json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in records]
    return ["".join(lines[i: i + lines_per_chunk]).encode("utf-8")
            for i in range(0, len(lines), max(1, lines_per_chunk))]


class _Unseekable:
    """A write-only stream without tell/seek: zipfile then writes data descriptors, as LiveZip does."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh

    def write(self, data: bytes) -> int:
        return self._fh.write(data)

    def flush(self) -> None:
        self._fh.flush()


@dataclass(frozen=True)
class Repacked:
    path: Path
    segments: list[bytes]  # the video segments, in order
    video: bytes  # the original MP4
    members: list[str]  # in the order written


def repack_v2(src: Path, dst: Path, *, pairs_per_segment: int = 1, lines_per_chunk: int = 50) -> Repacked:
    """Write the format-2 twin of format-1 bundle `src` to `dst`."""
    with zipfile.ZipFile(src) as zf:
        names = set(zf.namelist())
        info = json.loads(zf.read(layout.SESSION_JSON))
        video = zf.read(layout.VIDEO_MP4) if layout.VIDEO_MP4 in names else b""
        arrays = {prefix: json.loads(zf.read(single)) if single in names else []
                  for single, prefix in ((layout.ACTIONS_JSON, layout.ACTIONS_CHUNKS),
                                         (layout.FRAMES_JSON, layout.FRAMES_CHUNKS),
                                         (layout.SHOTS_INDEX_JSON, layout.SHOTS_INDEX_CHUNKS))}
        shots = {n: zf.read(n) for n in sorted(names) if n.startswith(layout.SHOTS_PREFIX)
                 and "/" not in n[len(layout.SHOTS_PREFIX):] and n != layout.SHOTS_INDEX_JSON}
        preview = zf.read(layout.PREVIEW_JPG) if layout.PREVIEW_JPG in names else None

    segments = split_mp4(video, pairs_per_segment) if video else []
    chunks = {prefix: jsonl_chunks(records, lines_per_chunk) for prefix, records in arrays.items()}
    # Interleave: round k writes video segment k, then chunk k of each kind, then a screenshot.
    entries: list[tuple[str, bytes, bool]] = []  # (name, data, deflate)
    shot_items = list(shots.items())
    rounds = max([len(segments), len(shot_items), *(len(c) for c in chunks.values())], default=0)
    for k in range(rounds):
        if k < len(segments):
            entries.append((layout.video_segment(k), segments[k], False))
        for prefix, parts in chunks.items():
            if k < len(parts):
                entries.append((layout.chunk(prefix, k), parts[k], True))
        if k < len(shot_items):
            entries.append((shot_items[k][0], shot_items[k][1], False))
    if preview is not None:
        entries.append((layout.PREVIEW_JPG, preview, False))
    info = {**info, "formatVersion": layout.FORMAT_LIVE}
    entries.append((layout.SESSION_JSON, (json.dumps(info, indent=1) + "\n").encode(), True))

    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "wb") as fh, zipfile.ZipFile(_Unseekable(fh), "w", allowZip64=True) as out:  # type: ignore[arg-type]
        for name, data, deflate in entries:
            zinfo = zipfile.ZipInfo(name, date_time=(2027, 1, 1, 0, 0, 0))
            zinfo.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            with out.open(zinfo, "w", force_zip64=True) as w:
                w.write(data)
    return Repacked(dst, segments, video, [e[0] for e in entries])


def write_raw_files(bundle: Path, directory: Path) -> dict[str, bytes]:
    """The raw recording files a format-1 bundle was exported from, written back into `directory`
    (video/screen.mp4, *.jsonl one compact record a line, screenshots/*.png); returns them by relative path."""
    out: dict[str, bytes] = {}
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        if layout.VIDEO_MP4 in names:
            out["video/screen.mp4"] = zf.read(layout.VIDEO_MP4)
        for single, raw in ((layout.ACTIONS_JSON, "actions.jsonl"), (layout.FRAMES_JSON, "video/frames.jsonl"),
                            (layout.SHOTS_INDEX_JSON, "screenshots/index.jsonl")):
            if single in names:
                out[raw] = b"".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
                                    for r in json.loads(zf.read(single)))
        for name in names:
            if name.startswith(layout.SHOTS_PREFIX) and name.endswith(".png") and name.count("/") == 1:
                out[name] = zf.read(name)
    for rel, data in out.items():
        (directory / rel).parent.mkdir(parents=True, exist_ok=True)
        (directory / rel).write_bytes(data)
    return out


def rewrite_zip(src: Path, dst: Path, *, video: Callable[[bytes], bytes] | None = None,
                deflate_video: bool = False, zip64: bool = False) -> Path:
    """A copy of bundle `src` with its format-1 video changed by `video` (e.g. its mfra cut off),
    deflated instead of stored, and/or with ZIP64 records everywhere a reader could meet them:
    every entry's local header and central-directory offset, and the end of the central directory
    (whose 32-bit fields then say 0xFFFF / 0xFFFFFFFF, as a zip past 4 GB or 65,535 entries has them)."""
    limit = zipfile.ZIP64_LIMIT
    if zip64:
        zipfile.ZIP64_LIMIT = 16  # the stdlib writer's own switch: every offset and size is "large" now
    try:
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", allowZip64=True) as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename == layout.VIDEO_MP4 and video is not None:
                    data = video(data)
                out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                is_video = info.filename == layout.VIDEO_MP4
                deflate = info.compress_type == zipfile.ZIP_DEFLATED or (deflate_video and is_video)
                out.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
                with zout.open(out, "w", force_zip64=zip64) as w:
                    w.write(data)
    finally:
        zipfile.ZIP64_LIMIT = limit
    if zip64:
        data = bytearray(dst.read_bytes())
        end = data.rindex(b"PK\x05\x06")
        assert data[end - 20: end - 16] == b"PK\x06\x07", "no ZIP64 locator before the end record"
        data[end + 8: end + 20] = b"\xff" * 12  # entries (this disk, total), directory size and offset
        dst.write_bytes(bytes(data))
    return dst


def without_mfra(mp4: bytes) -> bytes:
    """The MP4 as a crash leaves it: the fragments, but no index (mfra) at the end."""
    return b"".join(mp4[a:b] for kind, a, b in top_level_boxes(mp4) if kind != "mfra")
