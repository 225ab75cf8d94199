"""The MP4 box parser (traycap/media/mp4.py) on bytes, and on a real fragmented MP4 of the encoder."""

from __future__ import annotations

import struct
from pathlib import Path

from traycap.media.capture.null import NullScreen
from traycap.media.mp4 import boxes_in, fragment_samples
from traycap.media.video import VideoEncoder, video_frame_count


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def _big(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 1) + kind + struct.pack(">Q", 16 + len(body)) + body


def test_boxes_complete_torn_and_64_bit() -> None:
    data = _box(b"ftyp", b"x" * 20) + _box(b"moov", b"m" * 100) + _big(b"moof", b"f" * 30) + _box(b"mdat", b"d" * 50)
    boxes = boxes_in(data)
    assert [(b.type, b.end - b.start) for b in boxes] == [("ftyp", 28), ("moov", 108), ("moof", 46), ("mdat", 58)]
    assert boxes[-1].end == len(data)
    for cut in range(len(data)):  # torn anywhere: only the boxes wholly before the tear
        got = boxes_in(data[:cut])
        assert all(b.end <= cut for b in got)
        assert len(got) == sum(1 for b in boxes if b.end <= cut)


def test_size_zero_is_to_the_end_only_once_closed_and_nonsense_stops() -> None:
    data = _box(b"ftyp", b"x" * 4) + struct.pack(">I", 0) + b"mdat" + b"z" * 10
    assert [b.type for b in boxes_in(data)] == ["ftyp"]
    assert [(b.type, b.end) for b in boxes_in(data, closed=True)] == [("ftyp", 12), ("mdat", len(data))]
    bad = _box(b"ftyp", b"") + struct.pack(">I", 4) + b"free" + b"rest"
    assert [b.type for b in boxes_in(bad, closed=True)] == ["ftyp"]


def test_fragment_samples_counts_the_frames_of_a_real_fragmented_mp4(tmp_path: Path) -> None:
    path = tmp_path / "screen.mp4"
    screen, encoder = NullScreen(64, 48), VideoEncoder(path, 64, 48, 10)
    for i in range(33):
        encoder.write(screen.grab(), i * 100)
    encoder.close()
    data = path.read_bytes()
    assert fragment_samples(lambda o, n: data[o:o + n], boxes_in(data)) == 33 == video_frame_count(path)


def test_fragment_samples_counts_only_the_video_track_when_there_is_sound(tmp_path: Path) -> None:
    """A recording with sound has AAC packets in the same fragments (track 2): the live bundle's frame
    count must not take them for frames."""
    import numpy as np

    path = tmp_path / "screen.mp4"
    screen, encoder = NullScreen(64, 48), VideoEncoder(path, 64, 48, 10, audio_rate=48_000)
    for i in range(33):
        encoder.write(screen.grab(), i * 100)
        encoder.write_audio(np.zeros(4800, np.float32), i * 4800)
    encoder.close()
    data = path.read_bytes()
    read_at = lambda o, n: data[o:o + n]  # noqa: E731
    assert fragment_samples(read_at, boxes_in(data)) == 33 == video_frame_count(path)
    assert fragment_samples(read_at, boxes_in(data), track=2) > 100  # ~155 AAC frames of 1024 samples
